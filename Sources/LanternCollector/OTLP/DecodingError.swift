import LanternModel

/// Why an OTLP payload could not be decoded, and where: a field path and, for protobuf, the byte offset.
public struct OTLPDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong, in plain words.
    public var reason: String
    /// Field path from the request root, e.g. `resource_spans[0].scope_spans[1].spans[3].trace_id`.
    public var path: [String]
    /// Byte offset in the (decompressed) body, when known.
    public var offset: Int?
    /// True when only the enclosing span (or resource/scope) is invalid, not the whole request.
    public var rejectsSpansOnly = false

    public init(_ reason: String, path: [String] = [], offset: Int? = nil) {
        self.reason = reason
        self.path = path
        self.offset = offset
    }

    public var location: String { path.isEmpty ? "request" : path.joined(separator: ".") }

    /// The reason as said of one span: the field inside it that was wrong, then what was wrong.
    public var spanReason: String {
        var s = path.isEmpty ? reason : "\(path.joined(separator: ".")): \(reason)"
        if let offset { s += " (at byte \(offset))" }
        return s
    }

    public var description: String {
        var s = "\(location): \(reason)"
        if let offset { s += " (at byte \(offset))" }
        return s
    }

    func inside(_ component: String) -> OTLPDecodingError {
        var e = self
        e.path.insert(component, at: 0)
        return e
    }
}

/// A span that was dropped while the rest of its request was accepted.
public struct SpanRejection: Sendable, Equatable, CustomStringConvertible {
    /// Where the span sits in the request, e.g. `resource_spans[0].scope_spans[0].spans[7]`.
    public var location: String
    public var reason: String

    public init(location: String, reason: String) {
        self.location = location
        self.reason = reason
    }

    public var description: String { "\(location): \(reason)" }
}

/// Bounds on what one request may hold; anything past them is refused with a clear reason.
public struct DecodingLimits: Sendable, Equatable {
    /// Attributes on one span, event, link, resource or scope.
    public var maxAttributes: Int = 1_024
    /// Bytes in one string or bytes value, or one attribute key.
    public var maxValueBytes: Int = 1 << 20
    /// Nesting of array and kvlist values.
    public var maxDepth: Int = 16
    public var maxEventsPerSpan: Int = 10_000
    public var maxLinksPerSpan: Int = 1_000
    /// Bucket counts, explicit bounds (or exponential buckets per side) and quantile values in one metric data point.
    public var maxBucketsPerPoint: Int = 16_384
    public var maxExemplarsPerPoint: Int = 1_024

    public init() {}
    public static let `default` = DecodingLimits()
}

/// A decoded request: the spans that were valid and the reasons for those that were not.
public struct DecodedTraces: Sendable, Equatable {
    public var export: TraceExport
    public var rejections: [SpanRejection]

    public init(export: TraceExport = .init(), rejections: [SpanRejection] = []) {
        self.export = export
        self.rejections = rejections
    }
}
