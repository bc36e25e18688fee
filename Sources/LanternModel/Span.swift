/// OTLP `SpanKind`, kept as its raw number so values from newer protocol versions survive.
public struct SpanKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let unspecified = SpanKind(rawValue: 0)
    public static let `internal` = SpanKind(rawValue: 1)
    public static let server = SpanKind(rawValue: 2)
    public static let client = SpanKind(rawValue: 3)
    public static let producer = SpanKind(rawValue: 4)
    public static let consumer = SpanKind(rawValue: 5)

    public var description: String {
        switch rawValue {
        case 0: return "UNSPECIFIED"
        case 1: return "INTERNAL"
        case 2: return "SERVER"
        case 3: return "CLIENT"
        case 4: return "PRODUCER"
        case 5: return "CONSUMER"
        default: return "KIND(\(rawValue))"
        }
    }
}

/// OTLP `Status.StatusCode`, kept as its raw number.
public struct StatusCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let unset = StatusCode(rawValue: 0)
    public static let ok = StatusCode(rawValue: 1)
    public static let error = StatusCode(rawValue: 2)

    public var description: String {
        switch rawValue {
        case 0: return "UNSET"
        case 1: return "OK"
        case 2: return "ERROR"
        default: return "STATUS(\(rawValue))"
        }
    }
}

/// An event recorded on a span (`Span.Event`).
public struct SpanEvent: Sendable, Equatable {
    public var timeUnixNano: UInt64
    public var name: String
    public var attributes: [Attribute]
    public var droppedAttributesCount: UInt32

    public init(timeUnixNano: UInt64, name: String, attributes: [Attribute] = [], droppedAttributesCount: UInt32 = 0) {
        self.timeUnixNano = timeUnixNano
        self.name = name
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
    }
}

/// A link from a span to another span (`Span.Link`).
public struct SpanLink: Sendable, Equatable {
    public var traceID: TraceID
    public var spanID: SpanID
    public var traceState: String
    public var attributes: [Attribute]
    public var droppedAttributesCount: UInt32
    public var flags: UInt32

    public init(traceID: TraceID, spanID: SpanID, traceState: String = "", attributes: [Attribute] = [],
                droppedAttributesCount: UInt32 = 0, flags: UInt32 = 0) {
        self.traceID = traceID
        self.spanID = spanID
        self.traceState = traceState
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.flags = flags
    }
}

/// One OTLP span with every field of the protocol's data model.
public struct Span: Sendable, Equatable {
    public var traceID: TraceID
    public var spanID: SpanID
    public var traceState: String
    /// nil for a root span (empty `parent_span_id`).
    public var parentSpanID: SpanID?
    public var flags: UInt32
    public var name: String
    public var kind: SpanKind
    public var startTimeUnixNano: UInt64
    public var endTimeUnixNano: UInt64
    public var attributes: [Attribute]
    public var droppedAttributesCount: UInt32
    public var events: [SpanEvent]
    public var droppedEventsCount: UInt32
    public var links: [SpanLink]
    public var droppedLinksCount: UInt32
    public var statusCode: StatusCode
    public var statusMessage: String

    public init(traceID: TraceID, spanID: SpanID, traceState: String = "", parentSpanID: SpanID? = nil, flags: UInt32 = 0,
                name: String, kind: SpanKind = .internal, startTimeUnixNano: UInt64, endTimeUnixNano: UInt64,
                attributes: [Attribute] = [], droppedAttributesCount: UInt32 = 0, events: [SpanEvent] = [],
                droppedEventsCount: UInt32 = 0, links: [SpanLink] = [], droppedLinksCount: UInt32 = 0,
                statusCode: StatusCode = .unset, statusMessage: String = "") {
        self.traceID = traceID
        self.spanID = spanID
        self.traceState = traceState
        self.parentSpanID = parentSpanID
        self.flags = flags
        self.name = name
        self.kind = kind
        self.startTimeUnixNano = startTimeUnixNano
        self.endTimeUnixNano = endTimeUnixNano
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.events = events
        self.droppedEventsCount = droppedEventsCount
        self.links = links
        self.droppedLinksCount = droppedLinksCount
        self.statusCode = statusCode
        self.statusMessage = statusMessage
    }

    /// End minus start in nanoseconds; zero when the end precedes the start.
    public var durationNanos: Int64 {
        endTimeUnixNano >= startTimeUnixNano ? Int64(clamping: endTimeUnixNano - startTimeUnixNano) : 0
    }
}

/// OTLP `Resource`: who emitted the spans.
public struct Resource: Sendable, Equatable, Hashable {
    public var attributes: [Attribute]
    public var droppedAttributesCount: UInt32

    public init(attributes: [Attribute] = [], droppedAttributesCount: UInt32 = 0) {
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
    }

    public func hash(into h: inout Hasher) { h.combine(attributes.count); h.combine(droppedAttributesCount) }
}

/// OTLP `InstrumentationScope`: the library that made the spans.
public struct InstrumentationScope: Sendable, Equatable, Hashable {
    public var name: String
    public var version: String
    public var attributes: [Attribute]
    public var droppedAttributesCount: UInt32

    public init(name: String = "", version: String = "", attributes: [Attribute] = [], droppedAttributesCount: UInt32 = 0) {
        self.name = name
        self.version = version
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
    }

    public func hash(into h: inout Hasher) { h.combine(name); h.combine(version) }
}

/// The spans of one scope (`ScopeSpans`).
public struct ScopeSpans: Sendable, Equatable {
    public var scope: InstrumentationScope
    public var schemaURL: String
    public var spans: [Span]

    public init(scope: InstrumentationScope = .init(), schemaURL: String = "", spans: [Span] = []) {
        self.scope = scope
        self.schemaURL = schemaURL
        self.spans = spans
    }
}

/// The spans of one resource (`ResourceSpans`).
public struct ResourceSpans: Sendable, Equatable {
    public var resource: Resource
    public var schemaURL: String
    public var scopeSpans: [ScopeSpans]

    public init(resource: Resource = .init(), schemaURL: String = "", scopeSpans: [ScopeSpans] = []) {
        self.resource = resource
        self.schemaURL = schemaURL
        self.scopeSpans = scopeSpans
    }
}

/// An `ExportTraceServiceRequest` (or `TracesData`): the unit a client sends.
public struct TraceExport: Sendable, Equatable {
    public var resourceSpans: [ResourceSpans]

    public init(resourceSpans: [ResourceSpans] = []) { self.resourceSpans = resourceSpans }

    public var spanCount: Int { resourceSpans.reduce(0) { $0 + $1.scopeSpans.reduce(0) { $0 + $1.spans.count } } }
}

/// Where a span came from: its resource and scope, shared by every span of one `ScopeSpans`.
/// Held in one shared box, so that each of thousands of spans carries it for one reference count.
public struct SpanOrigin: Sendable, Equatable, Hashable {
    private final class Storage: Sendable {
        let resource: Resource
        let resourceSchemaURL: String
        let scope: InstrumentationScope
        let scopeSchemaURL: String

        init(_ resource: Resource, _ resourceSchemaURL: String, _ scope: InstrumentationScope, _ scopeSchemaURL: String) {
            self.resource = resource
            self.resourceSchemaURL = resourceSchemaURL
            self.scope = scope
            self.scopeSchemaURL = scopeSchemaURL
        }
    }

    private var storage: Storage

    public init(resource: Resource, resourceSchemaURL: String = "", scope: InstrumentationScope, scopeSchemaURL: String = "") {
        storage = Storage(resource, resourceSchemaURL, scope, scopeSchemaURL)
    }

    public var resource: Resource {
        get { storage.resource }
        set { storage = Storage(newValue, storage.resourceSchemaURL, storage.scope, storage.scopeSchemaURL) }
    }

    public var resourceSchemaURL: String {
        get { storage.resourceSchemaURL }
        set { storage = Storage(storage.resource, newValue, storage.scope, storage.scopeSchemaURL) }
    }

    public var scope: InstrumentationScope {
        get { storage.scope }
        set { storage = Storage(storage.resource, storage.resourceSchemaURL, newValue, storage.scopeSchemaURL) }
    }

    public var scopeSchemaURL: String {
        get { storage.scopeSchemaURL }
        set { storage = Storage(storage.resource, storage.resourceSchemaURL, storage.scope, newValue) }
    }

    /// True when both share one box (spans of one `ScopeSpans` do), so they are equal without comparing.
    public func isSameInstance(as other: SpanOrigin) -> Bool { storage === other.storage }

    public static func == (a: SpanOrigin, b: SpanOrigin) -> Bool {
        a.storage === b.storage
            || (a.resource == b.resource && a.resourceSchemaURL == b.resourceSchemaURL && a.scope == b.scope
                && a.scopeSchemaURL == b.scopeSchemaURL)
    }

    public func hash(into h: inout Hasher) {
        h.combine(resource)
        h.combine(resourceSchemaURL)
        h.combine(scope)
        h.combine(scopeSchemaURL)
    }
}
