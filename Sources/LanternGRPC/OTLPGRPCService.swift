import GRPCCore
import LanternCollector
import LanternServer
import Logging

/// OTLP/gRPC: the unary `Export` of `opentelemetry.proto.collector.{trace,metrics,logs}.v1`'s
/// `TraceService`, `MetricsService` and `LogsService`, with OTLP/HTTP's semantics. Each call goes
/// through the same steps as an HTTP request (an ingest key, back-pressure, the body limit) and then
/// the same transport-neutral ingest core (`TraceIngest.ingest`, `SignalIngest.ingestLogs` /
/// `ingestMetrics`); only the reply differs:
///
/// | outcome | gRPC status |
/// |---|---|
/// | stored (rejected items in `partial_success`) | OK, an `Export…ServiceResponse` |
/// | no or wrong ingest key | UNAUTHENTICATED |
/// | undecodable | INVALID_ARGUMENT (never retried) |
/// | past the body limit | RESOURCE_EXHAUSTED without RetryInfo (so not retried); see `OTLPGRPCServer.transportLimit` |
/// | queue or in-flight bytes full, store failed | UNAVAILABLE with RetryInfo (retry after 1 s) |
///
/// The ingest key comes from the metadata `authorization: Bearer <key>` or `x-lantern-key: <key>`.
/// RetryInfo goes in the `grpc-status-details-bin` trailer (a `google.rpc.Status` whose details
/// carry it) and, for exporters that read only that, alone in `google.rpc.retryinfo-bin`.
public struct OTLPGRPCService: RegistrableRPCService {
    let context: LanternServer.ServerContext

    public init(context: LanternServer.ServerContext) {
        self.context = context
    }

    /// The `Export` method of a signal's collector service.
    public static func method(_ signal: ServerMetrics.Signal) -> MethodDescriptor {
        let service: String
        switch signal {
        case .traces: service = "opentelemetry.proto.collector.trace.v1.TraceService"
        case .metrics: service = "opentelemetry.proto.collector.metrics.v1.MetricsService"
        case .logs: service = "opentelemetry.proto.collector.logs.v1.LogsService"
        }
        return MethodDescriptor(fullyQualifiedService: service, method: "Export", type: .unary)
    }

    public func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        for signal in ServerMetrics.Signal.allCases {
            router.registerHandler(forMethod: Self.method(signal), deserializer: RawMessageCoding(), serializer: RawMessageCoding()) { request, _ in
                StreamingServerResponse(single: await export(signal, request))
            }
        }
    }

    /// One `Export` call: the ingest key and the queue are checked before the message is taken from the transport.
    func export(_ signal: ServerMetrics.Signal, _ request: StreamingServerRequest<[UInt8]>) async -> ServerResponse<[UInt8]> {
        let metadata = request.metadata
        let authorization = metadata[stringValues: "authorization"].first { _ in true }
        let key = metadata[stringValues: "x-lantern-key"].first { _ in true }
        switch context.authenticator.ingest(authorization: authorization, keyHeader: key) {
        case .allowed: break
        case .missing, .closed:
            return refuse(signal, .unauthenticated, "an ingest key is required: send the metadata authorization: Bearer <key> or x-lantern-key: <key>",
                          .unauthorized)
        case .invalid:
            return refuse(signal, .unauthenticated, "the ingest key is not valid", .unauthorized)
        }
        let limits = context.configuration.limits
        if context.ingest.queuedSpans >= limits.maxQueuedSpans {
            return refuse(signal, .unavailable, "the ingest queue is full (\(limits.maxQueuedSpans) spans waiting for the journal); retry later",
                          .overloaded, retryAfter: 1)
        }
        let message: [UInt8]
        do {
            message = try await ServerRequest(stream: request).message
        } catch {
            // Past the transport's own bound (`OTLPGRPCServer.transportLimit`) the transport resets the stream.
            return ServerResponse(error: error as? RPCError ?? RPCError(code: .internalError, message: "the request could not be read: \(error)"))
        }
        // The message as the transport inflated it; refused before it is admitted, so the answer does not
        // depend on what else is in flight.
        if message.count > limits.maxBodyBytes {
            context.metrics.refused(.tooLarge)
            return Self.response(.tooLarge("the message of \(message.count) bytes (after decompression) exceeds the limit of \(limits.maxBodyBytes) bytes"))
        }
        guard let ticket = context.admission.admit(bytes: message.count) else {
            return refuse(signal, .unavailable, "the server holds \(context.admission.inFlightBytes) bytes of requests in flight (limit \(limits.maxInFlightBytes)); retry later",
                          .overloaded, retryAfter: 1)
        }
        defer { context.admission.release(ticket) }
        // The transport has already inflated a gzip- or deflate-compressed message.
        let outcome: IngestOutcome
        switch signal {
        case .traces: outcome = await context.ingest.ingest(message, format: .protobuf, encoding: .identity)
        case .logs: outcome = await context.signals.ingestLogs(message, format: .protobuf, encoding: .identity)
        case .metrics: outcome = await context.signals.ingestMetrics(message, format: .protobuf, encoding: .identity)
        }
        return Self.response(outcome)
    }

    /// A refusal before the ingest core ran: counted and logged like OTLP/HTTP's.
    private func refuse(_ signal: ServerMetrics.Signal, _ code: RPCError.Code, _ message: String, _ outcome: ServerMetrics.RequestOutcome,
                        retryAfter: Int? = nil) -> ServerResponse<[UInt8]> {
        context.metrics.refused(outcome)
        context.logger.notice("refused an OTLP request", metadata: [
            "transport": "grpc", "signal": "\(signal.rawValue)", "status": "\(code)", "reason": "\(message)",
        ])
        return ServerResponse(error: Self.error(code, message, retryAfter: retryAfter))
    }

    /// The gRPC reply for what the ingest core decided (it has counted the outcome already).
    public static func response(_ outcome: IngestOutcome) -> ServerResponse<[UInt8]> {
        switch outcome {
        case .accepted(let rejections):
            return ServerResponse(message: OTLPResponseEncoder.export(rejected: rejections.count, message: rejections.partialSuccessMessage,
                                                                      format: .protobuf))
        case .undecodable(let why): return ServerResponse(error: error(.invalidArgument, why))
        case .tooLarge(let why): return ServerResponse(error: error(.resourceExhausted, why))
        case .overloaded(let why), .storeFailed(let why):
            return ServerResponse(error: error(.unavailable, why, retryAfter: outcome.retryAfterSeconds))
        }
    }

    /// An error status; with `retryAfter`, RetryInfo in the trailers.
    static func error(_ code: RPCError.Code, _ message: String, retryAfter: Int? = nil) -> RPCError {
        var metadata = Metadata()
        if let seconds = retryAfter {
            metadata.addBinary(OTLPResponseEncoder.status(code: code.rawValue, message: message, retryAfterSeconds: seconds),
                               forKey: "grpc-status-details-bin")
            metadata.addBinary(OTLPResponseEncoder.retryInfo(seconds: seconds), forKey: "google.rpc.retryinfo-bin")
        }
        return RPCError(code: code, message: message, metadata: metadata)
    }
}
