import Hummingbird
import LanternCollector
import LanternStore
import Logging
import NIOCore
import ServiceLifecycle

/// Where `lantern serve` listens and what it accepts.
public struct ServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 4318
    public var ingest = TraceIngest.Configuration()
    public init() {}

    /// Every problem with the configuration, at once (empty when it is valid).
    public func problems() -> [String] {
        var out: [String] = []
        if !(0...65535).contains(port) { out.append("port \(port) is not between 0 and 65535") }
        let loopback = host == "127.0.0.1" || host == "localhost" || host == "::1" || host.hasPrefix("127.")
        if !loopback {
            out.append("refusing to listen on non-loopback address \(host): ingest keys are not supported yet, so only loopback is allowed")
        }
        if ingest.maxBodyBytes <= 0 { out.append("the body limit must be positive") }
        return out
    }
}

/// Seals the journal in the background while the server runs; seals what is full on shutdown.
struct SealerService: Service {
    let store: SQLiteSpanStore

    func run() async throws {
        let sealer = BackgroundSealer(store: store)
        try? await gracefulShutdown()
        sealer.stop()
    }
}

/// Builds the HTTP application: OTLP/HTTP `POST /v1/traces` and `GET /healthz`.
public func buildApplication(store: SQLiteSpanStore, configuration: ServerConfiguration, logger: Logger) -> some ApplicationProtocol {
    let router = buildRouter(store: store, configuration: configuration)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "lantern"),
        services: [SealerService(store: store)],
        logger: logger
    )
}

/// The routes, separate from the server so tests can drive them in-process.
public func buildRouter(store: SQLiteSpanStore, configuration: ServerConfiguration) -> Router<BasicRequestContext> {
    let ingest = TraceIngest(store: store, configuration: configuration.ingest)
    let router = Router()
    router.get("/healthz") { _, _ in "ok\n" }
    router.post("/v1/traces") { request, _ -> Response in
        var request = request
        let contentType = request.headers[.contentType]
        let format = contentType.flatMap(OTLPFormat.init(contentType:)) ?? .json
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: configuration.ingest.maxBodyBytes)
        } catch {
            let message = "the request body exceeds the limit of \(configuration.ingest.maxBodyBytes) bytes"
            return reply(IngestReply(status: 413, body: OTLPResponseEncoder.status(code: 8, message: message, format: format),
                                     contentType: format == .protobuf ? "application/x-protobuf" : "application/json"))
        }
        let answer = await ingest.handle(body: Array(buffer: body), contentType: contentType,
                                         contentEncoding: request.headers[.contentEncoding])
        return reply(answer)
    }
    return router
}

private func reply(_ r: IngestReply) -> Response {
    Response(status: HTTPResponse.Status(code: r.status), headers: [.contentType: r.contentType],
             body: ResponseBody(byteBuffer: ByteBuffer(bytes: r.body)))
}
