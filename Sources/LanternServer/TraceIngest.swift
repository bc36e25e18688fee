import Foundation
import LanternCollector
import LanternModel
import LanternStore

/// What an OTLP/HTTP endpoint answers, decided from the request alone (no HTTP types), so it
/// can be tested directly: status, body, content type and, for back-pressure, Retry-After.
public struct IngestReply: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]
    public var contentType: String
    public var retryAfterSeconds: Int?

    public init(status: Int, body: [UInt8], contentType: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.retryAfterSeconds = retryAfterSeconds
    }
}

/// Decodes, normalizes, processes (redaction, variant tagging) and durably appends one OTLP/HTTP
/// trace request. A 200 is returned only after the store has committed the spans.
public struct TraceIngest: Sendable {
    public let store: SQLiteSpanStore
    public let limits: ServerConfiguration.Limits
    public let processors: SpanProcessors
    private let commits: CommitQueue
    private let metrics: ServerMetrics

    /// Fails when the configuration's processors cannot be built (an invalid redaction pattern).
    public init(store: SQLiteSpanStore, configuration: ServerConfiguration = .init(), metrics: ServerMetrics = ServerMetrics()) throws {
        self.store = store
        limits = configuration.limits
        processors = try SpanProcessors(configuration: configuration)
        self.metrics = metrics
        commits = CommitQueue(store: store) { spans, nanos in metrics.committed(spans: spans, nanoseconds: nanos) }
    }

    /// Spans decoded and waiting for the journal.
    public var queuedSpans: Int { commits.depth }

    /// Handles a request body with its `Content-Type` and `Content-Encoding` headers.
    public func handle(body: [UInt8], contentType: String?, contentEncoding: String?) async -> IngestReply {
        let request: OTLPRequest
        switch OTLPRequest.prepare(contentType: contentType, contentEncoding: contentEncoding, metrics: metrics) {
        case .refused(let reply): return reply
        case .ready(let r): request = r
        }
        let format = request.format
        func fail(_ status: Int, _ code: Int, _ message: String, _ outcome: ServerMetrics.RequestOutcome, retryAfter: Int? = nil) -> IngestReply {
            OTLPRequest.failure(status, code, message, outcome, format, metrics, retryAfter: retryAfter)
        }
        let decoded: DecodedTraces
        do {
            decoded = try OTLPTraceBodyDecoder(limits: limits.decoding, maxBodyBytes: limits.maxBodyBytes)
                .decode(body, format: format, encoding: request.encoding)
        } catch {
            return request.decodingFailure(error, metrics: metrics)
        }
        var spans = Normalizer().normalize(decoded.export)
        let rejected = decoded.rejections.count
        metrics.received(spans.count + rejected, .traces)
        for (reason, count) in Dictionary(grouping: decoded.rejections, by: { ServerMetrics.category(ofRejection: $0.reason) }).mapValues(\.count) {
            metrics.rejected(count, .traces, reason: reason)
        }
        let queued = commits.depth
        guard Admission.queueHasRoom(queued: queued, incoming: spans.count, limit: limits.maxQueuedSpans) else {
            return fail(503, 14, "the ingest queue is full (\(queued) spans waiting for the journal, limit \(limits.maxQueuedSpans)); retry later",
                        .overloaded, retryAfter: 1)
        }
        metrics.redacted(processors.process(&spans))
        do {
            try await commits.append(spans)
        } catch {
            return fail(503, 14, "the spans could not be stored: \(error)", .storeFailed, retryAfter: 1)
        }
        metrics.accepted(spans.count, .traces)
        return request.success(rejections: decoded.rejections, rejectedKey: "rejectedSpans")
    }
}
