import LanternCollector

/// What became of one OTLP export request, whatever transport carried it. The ingest core
/// (`TraceIngest.ingest`, `SignalIngest.ingestLogs`/`ingestMetrics`) decides it and counts it in
/// the metrics; OTLP/HTTP maps it to an `IngestReply` (`OTLPRequest.reply`), OTLP/gRPC to a status
/// code (the `LanternGRPC` target).
public enum IngestOutcome: Sendable, Equatable {
    /// Durably stored; the items in `rejections` were dropped and the rest kept (a partial success
    /// when there are any). HTTP 200, gRPC OK.
    case accepted(rejections: [SpanRejection])
    /// The body did not decode. HTTP 400, gRPC INVALID_ARGUMENT; never retried.
    case undecodable(String)
    /// The body, or what it inflates to, is past the body limit. HTTP 413, gRPC RESOURCE_EXHAUSTED
    /// without RetryInfo (so not retried).
    case tooLarge(String)
    /// The commit queue is full. HTTP 503 + Retry-After, gRPC UNAVAILABLE + RetryInfo.
    case overloaded(String)
    /// The store could not write the items. Retryable like `overloaded`.
    case storeFailed(String)

    /// Seconds a client should wait before retrying, for the outcomes that are worth a retry.
    public var retryAfterSeconds: Int? {
        switch self {
        case .overloaded, .storeFailed: return 1
        case .accepted, .undecodable, .tooLarge: return nil
        }
    }

    /// The English message for a refused request (empty when it was accepted).
    public var message: String {
        switch self {
        case .accepted: return ""
        case .undecodable(let m), .tooLarge(let m), .overloaded(let m), .storeFailed(let m): return m
        }
    }

    /// How a refused request is counted in `lantern_requests_refused_total`; nil when accepted.
    public var refusal: ServerMetrics.RequestOutcome? {
        switch self {
        case .accepted: return nil
        case .undecodable: return .undecodable
        case .tooLarge: return .tooLarge
        case .overloaded: return .overloaded
        case .storeFailed: return .storeFailed
        }
    }

    /// The outcome for a body the decoder refused: too large, or undecodable.
    init(_ failure: OTLPTraceBodyDecoder.Failure) {
        switch failure {
        case .tooLarge(let why): self = .tooLarge(why)
        case .malformed(let why): self = .undecodable("the request could not be decoded: \(why)")
        }
    }
}

extension ServerMetrics {
    /// Counts a refused outcome (an accepted one is counted item by item as it is kept) and returns it.
    func counting(_ outcome: IngestOutcome) -> IngestOutcome {
        if let refusal = outcome.refusal { refused(refusal) }
        return outcome
    }
}

extension [SpanRejection] {
    /// The `partial_success.error_message` for these rejections: up to five named, then a count;
    /// empty when there are none (full success).
    public var partialSuccessMessage: String {
        guard !isEmpty else { return "" }
        return prefix(5).map(\.description).joined(separator: "; ") + (count > 5 ? "; and \(count - 5) more" : "")
    }
}
