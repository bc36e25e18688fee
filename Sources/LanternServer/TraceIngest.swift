import Foundation
import LanternCollector
import LanternModel
import LanternStore

/// What the OTLP/HTTP trace endpoint answers, decided from the request alone (no HTTP types), so
/// it can be tested directly: status, body and content type.
public struct IngestReply: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]
    public var contentType: String
}

/// Decodes, normalizes and durably appends one OTLP/HTTP trace request. A 200 is returned only
/// after the store has committed the spans.
public struct TraceIngest: Sendable {
    public struct Configuration: Sendable {
        /// Largest body accepted, compressed or not (the OTLP spec recommends 64 MiB).
        public var maxBodyBytes: Int = 64 << 20
        public var limits: DecodingLimits = .default
        public init() {}
    }

    public let store: SQLiteSpanStore
    public let configuration: Configuration
    private let commits: CommitQueue

    public init(store: SQLiteSpanStore, configuration: Configuration = .init()) {
        self.store = store
        self.configuration = configuration
        commits = CommitQueue(store: store)
    }

    /// Handles a request body with its `Content-Type` and `Content-Encoding` headers.
    public func handle(body: [UInt8], contentType: String?, contentEncoding: String?) async -> IngestReply {
        guard let format = contentType.flatMap(OTLPFormat.init(contentType:)) else {
            let message = "unsupported Content-Type '\(contentType ?? "")': send application/x-protobuf or application/json"
            return IngestReply(status: 415, body: OTLPResponseEncoder.status(code: 3, message: message, format: .json), contentType: "application/json")
        }
        let mime = format == .protobuf ? "application/x-protobuf" : "application/json"
        func fail(_ status: Int, _ code: Int, _ message: String) -> IngestReply {
            IngestReply(status: status, body: OTLPResponseEncoder.status(code: code, message: message, format: format), contentType: mime)
        }
        let encodingName = (contentEncoding ?? "identity").trimmingCharacters(in: .whitespaces).lowercased()
        guard let encoding = encodingName.isEmpty ? .identity : ContentEncoding(rawValue: encodingName) else {
            return fail(415, 3, "unsupported Content-Encoding '\(encodingName)': send gzip, deflate or none")
        }
        let decoder = OTLPTraceBodyDecoder(limits: configuration.limits, maxBodyBytes: configuration.maxBodyBytes)
        let decoded: DecodedTraces
        do {
            decoded = try decoder.decode(body, format: format, encoding: encoding)
        } catch {
            switch error {
            case .tooLarge(let why): return fail(413, 8, why)
            case .malformed(let why): return fail(400, 3, "the request could not be decoded: \(why)")
            }
        }
        let spans = Normalizer().normalize(decoded.export)
        do {
            try await append(spans)
        } catch {
            return fail(503, 14, "the spans could not be stored: \(error)")
        }
        let rejected = decoded.rejections.count
        let message = decoded.rejections.prefix(5).map(\.description).joined(separator: "; ")
            + (rejected > 5 ? "; and \(rejected - 5) more" : "")
        return IngestReply(status: 200, body: OTLPResponseEncoder.export(rejected: rejected, message: rejected > 0 ? message : "", format: format),
                           contentType: mime)
    }

    /// Appends through the group-commit queue, off the server's event loops; returns once the
    /// commit that holds these spans is durable.
    private func append(_ spans: [CanonicalSpan]) async throws {
        try await commits.append(spans)
    }
}
