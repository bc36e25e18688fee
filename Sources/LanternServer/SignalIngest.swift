import Foundation
import LanternCollector
import LanternModel
import LanternStore

/// The part every OTLP/HTTP endpoint shares: the format from `Content-Type`, the encoding from
/// `Content-Encoding`, and failure replies in the request's format.
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

    /// A failure reply with a `google.rpc.Status`, counted in the metrics.
    static func failure(_ status: Int, _ code: Int, _ message: String, _ outcome: ServerMetrics.RequestOutcome, _ format: OTLPFormat,
                        _ metrics: ServerMetrics, retryAfter: Int? = nil) -> IngestReply {
        metrics.refused(outcome)
        return IngestReply(status: status, body: OTLPResponseEncoder.status(code: code, message: message, format: format),
                           contentType: format.mimeType, retryAfterSeconds: retryAfter)
    }

    /// The reply for a body that did not decode: 413 past a size limit, else 400.
    func decodingFailure(_ error: OTLPTraceBodyDecoder.Failure, metrics: ServerMetrics) -> IngestReply {
        switch error {
        case .tooLarge(let why): return Self.failure(413, 8, why, .tooLarge, format, metrics)
        case .malformed(let why): return Self.failure(400, 3, "the request could not be decoded: \(why)", .undecodable, format, metrics)
        }
    }

    /// A 200 with `partial_success` naming up to five rejections.
    func success(rejections: [SpanRejection], rejectedKey: String) -> IngestReply {
        let rejected = rejections.count
        let message = rejections.prefix(5).map(\.description).joined(separator: "; ") + (rejected > 5 ? "; and \(rejected - 5) more" : "")
        return IngestReply(status: 200, body: OTLPResponseEncoder.export(rejected: rejected, message: rejected > 0 ? message : "",
                                                                         format: format, rejectedKey: rejectedKey),
                           contentType: format.mimeType)
    }
}

/// OTLP/HTTP `POST /v1/logs` and `POST /v1/metrics`: every log record and data point is kept
/// (log records tied to their spans by id, GenAI content in them redacted), durably before the 200.
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

    public func handleLogs(body: [UInt8], contentType: String?, contentEncoding: String?) async -> IngestReply {
        let request: OTLPRequest
        switch OTLPRequest.prepare(contentType: contentType, contentEncoding: contentEncoding, metrics: metrics) {
        case .refused(let reply): return reply
        case .ready(let r): request = r
        }
        let decoded: DecodedLogs
        do {
            decoded = try OTLPTraceBodyDecoder(limits: limits.decoding, maxBodyBytes: limits.maxBodyBytes)
                .decodeLogs(body, format: request.format, encoding: request.encoding)
        } catch {
            return request.decodingFailure(error, metrics: metrics)
        }
        var export = decoded.export
        var redactions = 0
        for i in export.entries.indices { redactions += redact(&export.entries[i].record) }
        metrics.redacted(redactions)
        let rows = SignalRows.logRows(export)
        return await keep(rows.count, decoded.rejections, .logs, request, noun: "log records", rejectedKey: "rejectedLogRecords") {
            try store.appendLogsNow(rows)
        }
    }

    public func handleMetrics(body: [UInt8], contentType: String?, contentEncoding: String?) async -> IngestReply {
        let request: OTLPRequest
        switch OTLPRequest.prepare(contentType: contentType, contentEncoding: contentEncoding, metrics: metrics) {
        case .refused(let reply): return reply
        case .ready(let r): request = r
        }
        let decoded: DecodedMetrics
        do {
            decoded = try OTLPTraceBodyDecoder(limits: limits.decoding, maxBodyBytes: limits.maxBodyBytes)
                .decodeMetrics(body, format: request.format, encoding: request.encoding)
        } catch {
            return request.decodingFailure(error, metrics: metrics)
        }
        let rows = SignalRows.metricRows(decoded.export)
        return await keep(rows.count, decoded.rejections, .metrics, request, noun: "data points", rejectedKey: "rejectedDataPoints") {
            try store.appendMetricPointsNow(rows)
        }
    }

    /// Counts what arrived, writes it durably off the cooperative threads, and answers 200 with
    /// partial success, or 503 when the store failed.
    private func keep(_ count: Int, _ rejections: [SpanRejection], _ signal: ServerMetrics.Signal, _ request: OTLPRequest,
                      noun: String, rejectedKey: String, append: @escaping @Sendable () throws -> Void) async -> IngestReply {
        metrics.received(count + rejections.count, signal)
        metrics.rejected(rejections.count, signal, reason: "invalid")
        do {
            try await write(append)
        } catch {
            return OTLPRequest.failure(503, 14, "the \(noun) could not be stored: \(error)", .storeFailed, request.format, metrics, retryAfter: 1)
        }
        metrics.accepted(count, signal)
        return request.success(rejections: rejections, rejectedKey: rejectedKey)
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
