import Foundation
import LanternCollector
import LanternModel
import LanternStore

/// The part every OTLP/HTTP endpoint shares: the format from `Content-Type`, the encoding from
/// `Content-Encoding`, and replies in the request's format.
struct OTLPRequest {
    let format: OTLPFormat
    let encoding: ContentEncoding

    /// A request ready to decode, or the reply that refuses it.
    enum Prepared {
        case ready(OTLPRequest)
        case refused(IngestReply)
    }

    /// The request's format and encoding, or the 415 reply that refuses it.
    static func prepare(contentType: String?, contentEncoding: String?, metrics: ServerMetrics) -> Prepared {
        guard let format = contentType.flatMap(OTLPFormat.init(contentType:)) else {
            metrics.refused(.unsupported)
            let message = "unsupported Content-Type '\(contentType ?? "")': send application/x-protobuf or application/json"
            return .refused(IngestReply(status: 415, body: OTLPResponseEncoder.status(code: 3, message: message, format: .json), contentType: "application/json"))
        }
        let name = (contentEncoding ?? "identity").trimmingCharacters(in: .whitespaces).lowercased()
        guard let encoding = name.isEmpty ? .identity : ContentEncoding(rawValue: name) else {
            return .refused(failure(415, 3, "unsupported Content-Encoding '\(name)': send gzip, deflate or none", .unsupported, format, metrics))
        }
        return .ready(OTLPRequest(format: format, encoding: encoding))
    }

    /// A failure reply with a `google.rpc.Status`, counted in the metrics (for the refusals made
    /// before the ingest core runs; the core counts its own outcomes).
    static func failure(_ status: Int, _ code: Int, _ message: String, _ outcome: ServerMetrics.RequestOutcome, _ format: OTLPFormat,
                        _ metrics: ServerMetrics, retryAfter: Int? = nil) -> IngestReply {
        metrics.refused(outcome)
        return statusReply(status, code, message, format, retryAfter: retryAfter)
    }

    private static func statusReply(_ status: Int, _ code: Int, _ message: String, _ format: OTLPFormat, retryAfter: Int? = nil) -> IngestReply {
        IngestReply(status: status, body: OTLPResponseEncoder.status(code: code, message: message, format: format),
                    contentType: format.mimeType, retryAfterSeconds: retryAfter)
    }

    /// The HTTP reply for what the ingest core decided: 200 with `partial_success` naming up to five
    /// rejections; 400 undecodable, 413 too large, 503 + Retry-After overloaded or not stored.
    func reply(_ outcome: IngestOutcome, rejectedKey: String) -> IngestReply {
        switch outcome {
        case .accepted(let rejections):
            return IngestReply(status: 200, body: OTLPResponseEncoder.export(rejected: rejections.count, message: rejections.partialSuccessMessage,
                                                                             format: format, rejectedKey: rejectedKey),
                               contentType: format.mimeType)
        case .undecodable(let why): return Self.statusReply(400, 3, why, format)
        case .tooLarge(let why): return Self.statusReply(413, 8, why, format)
        case .overloaded(let why), .storeFailed(let why): return Self.statusReply(503, 14, why, format, retryAfter: outcome.retryAfterSeconds)
        }
    }
}

/// OTLP logs and metrics export requests: every log record and data point is kept (log records tied
/// to their spans by id, GenAI content in them redacted), durably before they are acknowledged.
/// `ingestLogs`/`ingestMetrics` are the transport-neutral core; `handleLogs`/`handleMetrics` serve
/// OTLP/HTTP `POST /v1/logs` and `POST /v1/metrics`.
public struct SignalIngest: Sendable {
    public let store: SQLiteSpanStore
    let limits: ServerConfiguration.Limits
    let redactor: Redactor
    let metrics: ServerMetrics
    private let writer = DispatchQueue(label: "lantern-signal-writer")

    public init(store: SQLiteSpanStore, limits: ServerConfiguration.Limits, redactor: Redactor, metrics: ServerMetrics) {
        self.store = store
        self.limits = limits
        self.redactor = redactor
        self.metrics = metrics
    }

    /// OTLP/HTTP `POST /v1/logs`.
    public func handleLogs(body: [UInt8], contentType: String?, contentEncoding: String?) async -> IngestReply {
        switch OTLPRequest.prepare(contentType: contentType, contentEncoding: contentEncoding, metrics: metrics) {
        case .refused(let reply): return reply
        case .ready(let request):
            return request.reply(await ingestLogs(body, format: request.format, encoding: request.encoding), rejectedKey: "rejectedLogRecords")
        }
    }

    /// OTLP/HTTP `POST /v1/metrics`.
    public func handleMetrics(body: [UInt8], contentType: String?, contentEncoding: String?) async -> IngestReply {
        switch OTLPRequest.prepare(contentType: contentType, contentEncoding: contentEncoding, metrics: metrics) {
        case .refused(let reply): return reply
        case .ready(let request):
            return request.reply(await ingestMetrics(body, format: request.format, encoding: request.encoding), rejectedKey: "rejectedDataPoints")
        }
    }

    /// The core for an `ExportLogsServiceRequest` body, for any transport.
    public func ingestLogs(_ body: [UInt8], format: OTLPFormat, encoding: ContentEncoding) async -> IngestOutcome {
        let decoded: DecodedLogs
        do {
            decoded = try OTLPTraceBodyDecoder(limits: limits.decoding, maxBodyBytes: limits.maxBodyBytes)
                .decodeLogs(body, format: format, encoding: encoding)
        } catch {
            return metrics.counting(IngestOutcome(error))
        }
        var export = decoded.export
        var redactions = 0
        for i in export.entries.indices { redactions += redact(&export.entries[i].record) }
        metrics.redacted(redactions)
        let rows = SignalRows.logRows(export)
        let scores = EvaluationScores.scores(export)
        return await keep(rows.count, decoded.rejections, .logs, noun: "log records") {
            try store.appendLogsNow(rows)
            _ = try store.appendScoresNow(scores)
        }
    }

    /// The core for an `ExportMetricsServiceRequest` body, for any transport.
    public func ingestMetrics(_ body: [UInt8], format: OTLPFormat, encoding: ContentEncoding) async -> IngestOutcome {
        let decoded: DecodedMetrics
        do {
            decoded = try OTLPTraceBodyDecoder(limits: limits.decoding, maxBodyBytes: limits.maxBodyBytes)
                .decodeMetrics(body, format: format, encoding: encoding)
        } catch {
            return metrics.counting(IngestOutcome(error))
        }
        let rows = SignalRows.metricRows(decoded.export)
        return await keep(rows.count, decoded.rejections, .metrics, noun: "data points") {
            try store.appendMetricPointsNow(rows)
        }
    }

    /// Counts what arrived, writes it durably off the cooperative threads, and accepts it with its
    /// rejections, or reports that the store failed.
    private func keep(_ count: Int, _ rejections: [SpanRejection], _ signal: ServerMetrics.Signal, noun: String,
                      append: @escaping @Sendable () throws -> Void) async -> IngestOutcome {
        metrics.received(count + rejections.count, signal)
        metrics.rejected(rejections.count, signal, reason: "invalid")
        do {
            try await write(append)
        } catch {
            return metrics.counting(.storeFailed("the \(noun) could not be stored: \(error)"))
        }
        metrics.accepted(count, signal)
        return .accepted(rejections: rejections)
    }

    /// Redacts content in a log record: the body of GenAI events and attributes with content keys.
    private func redact(_ record: inout LogRecord) -> Int {
        var count = 0
        let name = record.resolvedEventName ?? ""
        if name.hasPrefix("gen_ai.") || ContentKeys.isContentEvent(name), var body = record.body {
            count += redactor.redact(&body)
            record.body = body
        }
        for i in record.attributes.indices where ContentKeys.isContent(record.attributes[i].key) {
            count += redactor.redact(&record.attributes[i].value)
        }
        return count
    }

    /// Runs a blocking store write off the cooperative threads.
    private func write(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            writer.async {
                do {
                    try body()
                    done.resume()
                } catch {
                    done.resume(throwing: error)
                }
            }
        }
    }
}
