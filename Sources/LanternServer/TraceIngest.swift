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

/// Decodes, normalizes, processes (redaction, variant tagging) and durably appends one OTLP trace
/// export request. `ingest` is the transport-neutral core; `handle` is OTLP/HTTP's use of it. Spans
/// are accepted only after the store has committed them.
public struct TraceIngest: Sendable {
    public let store: SQLiteSpanStore
    public let limits: ServerConfiguration.Limits
    public let processors: SpanProcessors
    private let commits: CommitQueue
    private let metrics: ServerMetrics
    /// Spans admitted and not yet durable: being processed, encoded or waiting for the journal.
    private let pending = PendingSpans()

    /// Fails when the configuration's processors cannot be built (an invalid redaction pattern).
    public init(store: SQLiteSpanStore, configuration: ServerConfiguration = .init(), metrics: ServerMetrics = ServerMetrics()) throws {
        self.store = store
        limits = configuration.limits
        processors = try SpanProcessors(configuration: configuration)
        self.metrics = metrics
        commits = CommitQueue(store: store) { spans, nanos in metrics.committed(spans: spans, nanoseconds: nanos) }
    }

    /// Spans decoded and not yet durable (processed, encoded or waiting for the journal).
    public var queuedSpans: Int { pending.count }

    /// OTLP/HTTP: a request body with its `Content-Type` and `Content-Encoding` headers.
    public func handle(body: [UInt8], contentType: String?, contentEncoding: String?) async -> IngestReply {
        switch OTLPRequest.prepare(contentType: contentType, contentEncoding: contentEncoding, metrics: metrics) {
        case .refused(let reply): return reply
        case .ready(let request):
            return request.reply(await ingest(body, format: request.format, encoding: request.encoding), rejectedKey: "rejectedSpans")
        }
    }

    /// The core, for any transport: decodes an `ExportTraceServiceRequest` body, counts what it
    /// holds, refuses it when the commit queue is full, processes the spans and waits until they
    /// are durable. Every outcome is counted in the metrics.
    public func ingest(_ body: [UInt8], format: OTLPFormat, encoding: ContentEncoding) async -> IngestOutcome {
        var decoded: NormalizedTraces
        do {
            decoded = try OTLPTraceBodyDecoder(limits: limits.decoding, maxBodyBytes: limits.maxBodyBytes)
                .decodeNormalized(body, format: format, encoding: encoding)
        } catch {
            return metrics.counting(IngestOutcome(error))
        }
        var spans = decoded.spans
        decoded.spans = []  // the only reference left: the processors then write in place, not into a copy of every span
        let rejected = decoded.rejections.count
        metrics.received(spans.count + rejected, .traces)
        for (reason, count) in Dictionary(grouping: decoded.rejections, by: { ServerMetrics.category(ofRejection: $0.reason) }).mapValues(\.count) {
            metrics.rejected(count, .traces, reason: reason)
        }
        guard let queued = pending.admit(spans.count, limit: limits.maxQueuedSpans) else {
            return metrics.counting(.overloaded(
                "the ingest queue is full (\(pending.count) spans waiting for the journal, limit \(limits.maxQueuedSpans)); retry later"))
        }
        defer { pending.release(queued) }
        metrics.redacted(processors.process(&spans))
        do {
            // Encoded here, on this request's thread: the commit writer only writes.
            try await commits.append(SQLiteSpanStore.encode(spans))
        } catch {
            return metrics.counting(.storeFailed("the spans could not be stored: \(error)"))
        }
        metrics.accepted(spans.count, .traces)
        return .accepted(rejections: decoded.rejections)
    }
}

/// A count of spans in the ingest pipeline, admitted against a limit.
final class PendingSpans: @unchecked Sendable {
    private let lock = NSLock()
    private var spans = 0

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return spans
    }

    /// Adds `incoming` spans and returns them when they fit under `limit` (see
    /// `Admission.queueHasRoom`), or nil.
    func admit(_ incoming: Int, limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard Admission.queueHasRoom(queued: spans, incoming: incoming, limit: limit) else { return nil }
        spans += incoming
        return incoming
    }

    func release(_ admitted: Int) {
        lock.lock()
        spans -= admitted
        lock.unlock()
    }
}
