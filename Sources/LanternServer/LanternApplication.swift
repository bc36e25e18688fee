import Foundation
import HTTPTypes
import Hummingbird
import LanternAnalyzer
import LanternCollector
import LanternModel
import LanternStore
import Logging
import NIOCore
import ServiceLifecycle

/// Seals the journal in the background while the server runs; seals what is full on shutdown.
struct SealerService: Service {
    let store: SQLiteSpanStore

    func run() async throws {
        let sealer = BackgroundSealer(store: store)
        try? await gracefulShutdown()
        sealer.stop()
    }
}

/// Everything the routes share: the store, the ingest pipeline, back-pressure, auth and metrics.
public struct ServerContext: Sendable {
    public let store: SQLiteSpanStore
    public let configuration: ServerConfiguration
    public let ingest: TraceIngest
    public let signals: SignalIngest
    public let admission: Admission
    public let authenticator: Authenticator
    public let metrics: ServerMetrics
    public let logger: Logger
    /// Prometheus text for `GET /metrics`, when a Prometheus registry backs the metrics.
    public let exposition: (@Sendable () -> [UInt8])?
    /// The price tables costs are computed with.
    public let prices: PriceBook
    /// The monitors evaluated while serving, when a monitors file has rules.
    public let monitors: MonitorRunner?

    public init(store: SQLiteSpanStore, configuration: ServerConfiguration, metrics: ServerMetrics = ServerMetrics(),
                logger: Logger = Logger(label: "lantern"), exposition: (@Sendable () -> [UInt8])? = nil, prices: PriceBook = .empty,
                monitors: MonitorConfiguration = MonitorConfiguration(), clock: @escaping MonitorRunner.Clock = MonitorRunner.systemClock) throws {
        self.store = store
        self.prices = prices
        self.monitors = monitors.rules.isEmpty ? nil : MonitorRunner(configuration: monitors, store: store, prices: prices, clock: clock)
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.exposition = exposition
        admission = Admission(maxInFlightBytes: configuration.limits.maxInFlightBytes)
        authenticator = Authenticator(auth: configuration.auth)
        ingest = try TraceIngest(store: store, configuration: configuration, metrics: metrics)
        signals = SignalIngest(store: store, limits: configuration.limits, redactor: ingest.processors.redactor, metrics: metrics)
    }
}

/// The services that run beside the HTTP server: the sealer and, when configured, retention and the monitors.
public func backgroundServices(context: ServerContext) -> [any Service] {
    var services: [any Service] = [SealerService(store: context.store)]
    if context.configuration.retention.isEnabled {
        services.append(RetentionService(store: context.store, retention: context.configuration.retention, logger: context.logger))
    }
    if let runner = context.monitors {
        services.append(MonitorService(runner: runner, logger: context.logger))
    }
    return services
}

/// Builds the HTTP application: the routes of `buildRouter`, plus the background services unless
/// the caller runs them in a service group of its own, plus `services` (the `lantern` executable
/// adds the OTLP/gRPC server, which lives in the `LanternGRPC` target that depends on this one).
/// On shutdown the HTTP server stops first, then `services`, then the background services.
public func buildApplication(context: ServerContext, withBackgroundServices: Bool = true,
                             services extra: [any Service] = []) -> some ApplicationProtocol {
    let http = context.configuration.http
    return Application(
        router: buildRouter(context: context),
        configuration: .init(address: .hostname(http.host, port: http.port), serverName: "lantern"),
        services: (withBackgroundServices ? backgroundServices(context: context) : []) + extra,
        logger: context.logger
    )
}

/// The routes: OTLP/HTTP `POST /v1/traces`, `/v1/logs` and `/v1/metrics`, `GET /healthz`, `GET /metrics`, the admin
/// `POST /api/v1/admin/retention`, and the analysis API (`AnalysisRoutes`).
public func buildRouter(context: ServerContext) -> Router<BasicRequestContext> {
    let router = Router()
    router.add(middleware: MetricsMiddleware())
    router.get("/healthz") { _, _ in "ok\n" }
    router.get("/metrics") { _, _ -> Response in
        context.metrics.queue(spans: context.ingest.queuedSpans)
        context.metrics.inFlight(bytes: context.admission.inFlightBytes)
        let text = context.exposition?() ?? Array("# no Prometheus registry is configured\n".utf8)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
    }
    router.post("/v1/traces") { request, _ -> Response in
        try await receiveOTLP(request, signal: .traces, context: context) { body, type, encoding in
            await context.ingest.handle(body: body, contentType: type, contentEncoding: encoding)
        }
    }
    router.post("/v1/logs") { request, _ -> Response in
        try await receiveOTLP(request, signal: .logs, context: context) { body, type, encoding in
            await context.signals.handleLogs(body: body, contentType: type, contentEncoding: encoding)
        }
    }
    router.post("/v1/metrics") { request, _ -> Response in
        try await receiveOTLP(request, signal: .metrics, context: context) { body, type, encoding in
            await context.signals.handleMetrics(body: body, contentType: type, contentEncoding: encoding)
        }
    }
    router.post("/api/v1/admin/retention") { request, _ -> Response in
        switch context.authenticator.admin(authorization: request.headers[.authorization], keyHeader: request.headers[lanternKeyHeader]) {
        case .allowed: break
        case .closed: return jsonError(403, "admin routes are closed: configure auth.admin_token")
        case .missing: return jsonError(401, "send the admin token as Authorization: Bearer <token>")
        case .invalid: return jsonError(403, "the admin token is not valid")
        }
        let retention = context.configuration.retention
        guard retention.isEnabled else { return jsonError(409, "no retention is configured (retention.max_age or retention.max_size)") }
        let result = try context.store.applyRetentionNow(RetentionPolicy(maxAgeNanos: retention.maxAgeNanos, maxBytes: retention.maxBytes),
                                                         nowUnixNano: Int64(Date().timeIntervalSince1970 * 1e9))
        context.logger.notice("retention applied by admin", metadata: ["segments": "\(result.segmentsDeleted)", "spans": "\(result.spansDeleted)"])
        let body = #"{"segments_deleted":\#(result.segmentsDeleted),"spans_deleted":\#(result.spansDeleted),"bytes_deleted":\#(result.bytesDeleted)}"#
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
    AnalysisRoutes.register(on: router, context: context)
    return router
}

/// `X-Lantern-Key`: the header an exporter can use when it cannot set `Authorization`.
let lanternKeyHeader = HTTPField.Name("X-Lantern-Key")!

/// The steps every OTLP/HTTP route shares: authentication, back-pressure before the body is
/// read, the body limit, then the signal's own handler.
func receiveOTLP(_ request: Request, signal: ServerMetrics.Signal, context: ServerContext,
                 handle: @Sendable ([UInt8], String?, String?) async -> IngestReply) async throws -> Response {
    var request = request
    let contentType = request.headers[.contentType]
    let format = contentType.flatMap(OTLPFormat.init(contentType:)) ?? .json
    func refuse(_ status: Int, _ code: Int, _ message: String, _ outcome: ServerMetrics.RequestOutcome, retryAfter: Int? = nil) -> Response {
        context.metrics.refused(outcome)
        context.logger.notice("refused an OTLP request", metadata: ["signal": "\(signal.rawValue)", "status": "\(status)", "reason": "\(message)"])
        return reply(IngestReply(status: status, body: OTLPResponseEncoder.status(code: code, message: message, format: format),
                                 contentType: format.mimeType, retryAfterSeconds: retryAfter))
    }
    switch context.authenticator.ingest(authorization: request.headers[.authorization], keyHeader: request.headers[lanternKeyHeader]) {
    case .allowed: break
    case .missing, .closed:
        return refuse(401, 16, "an ingest key is required: send Authorization: Bearer <key> or X-Lantern-Key: <key>", .unauthorized)
    case .invalid:
        return refuse(401, 16, "the ingest key is not valid", .unauthorized)
    }
    let limits = context.configuration.limits
    if context.ingest.queuedSpans >= limits.maxQueuedSpans {
        return refuse(503, 14, "the ingest queue is full (\(limits.maxQueuedSpans) spans waiting for the journal); retry later", .overloaded, retryAfter: 1)
    }
    let declared = request.headers[.contentLength].flatMap { Int($0) }
    if let declared, declared > limits.maxBodyBytes {
        return refuse(413, 8, "the request body of \(declared) bytes exceeds the limit of \(limits.maxBodyBytes) bytes", .tooLarge)
    }
    guard var ticket = context.admission.admit(bytes: declared ?? limits.maxBodyBytes) else {
        return refuse(503, 14, "the server holds \(context.admission.inFlightBytes) bytes of requests in flight (limit \(limits.maxInFlightBytes)); retry later",
                      .overloaded, retryAfter: 1)
    }
    defer { context.admission.release(ticket) }
    let body: ByteBuffer
    do {
        body = try await request.collectBody(upTo: limits.maxBodyBytes)
    } catch {
        return refuse(413, 8, "the request body exceeds the limit of \(limits.maxBodyBytes) bytes", .tooLarge)
    }
    context.admission.shrink(&ticket, to: body.readableBytes)
    return reply(await handle(Array(buffer: body), contentType, request.headers[.contentEncoding]))
}

func reply(_ r: IngestReply) -> Response {
    var headers: HTTPFields = [.contentType: r.contentType]
    if let seconds = r.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
    return Response(status: HTTPResponse.Status(code: r.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: r.body)))
}

private func jsonError(_ status: Int, _ message: String) -> Response {
    Response(status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
             body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(#"{"error":\#(OTLPResponseEncoder.jsonString(message))}"#.utf8))))
}
