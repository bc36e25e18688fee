/// The semantic convention a canonical field was read from, recorded per field.
public enum Convention: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case absent = 0
    /// Current OpenTelemetry GenAI semantic conventions (`gen_ai.*`, v1.37+).
    case otelGenAI = 1
    /// Deprecated OpenTelemetry GenAI names (`gen_ai.system`, `gen_ai.usage.prompt_tokens`, ...).
    case otelGenAIDeprecated = 2
    /// OpenInference (`llm.*`, `openinference.*`).
    case openInference = 3
    /// Traceloop / OpenLLMetry (`llm.usage.*`, `traceloop.*`, underscored cache names).
    case openLLMetry = 4
    /// Langfuse (`langfuse.*`).
    case langfuse = 5
    /// Vercel AI SDK (`ai.*`).
    case vercelAI = 6
    /// Derived from span events (first streaming chunk, `exception` events).
    case spanEvent = 7
    /// Read from the resource (`service.*`, `deployment.*`).
    case resource = 8
    /// Lantern's own attributes (`lantern.*`).
    case lantern = 9
    /// Generic OpenTelemetry attributes (`error.type`, `user.id`, `session.id`).
    case otelGeneral = 10
    /// Parsed out of structured content (`gen_ai.output.messages`).
    case content = 11
    /// Assigned by a rollout's variant mapping (service version or model to variant), not sent by the client.
    case rolloutMapping = 12

    public var description: String {
        switch self {
        case .absent: return "absent"
        case .otelGenAI: return "otel-genai"
        case .otelGenAIDeprecated: return "otel-genai-deprecated"
        case .openInference: return "openinference"
        case .openLLMetry: return "openllmetry"
        case .langfuse: return "langfuse"
        case .vercelAI: return "vercel-ai"
        case .spanEvent: return "span-event"
        case .resource: return "resource"
        case .lantern: return "lantern"
        case .otelGeneral: return "otel"
        case .content: return "content"
        case .rolloutMapping: return "rollout-mapping"
        }
    }
}

/// The canonical fields Lantern promotes out of attributes into their own columns.
public enum CanonicalField: Int, Sendable, CaseIterable, CustomStringConvertible {
    case operation, provider, requestModel, responseModel
    case inputTokens, outputTokens, cacheReadTokens, cacheCreationTokens, reasoningTokens
    case timeToFirstToken, finishReason, errorType, conversationID, userID, promptName, promptVersion
    case reportedCost, variant, rollout, serviceName, serviceVersion, environment

    public var description: String {
        switch self {
        case .operation: return "operation"
        case .provider: return "provider"
        case .requestModel: return "request_model"
        case .responseModel: return "response_model"
        case .inputTokens: return "input_tokens"
        case .outputTokens: return "output_tokens"
        case .cacheReadTokens: return "cache_read_tokens"
        case .cacheCreationTokens: return "cache_creation_tokens"
        case .reasoningTokens: return "reasoning_tokens"
        case .timeToFirstToken: return "ttft"
        case .finishReason: return "finish_reason"
        case .errorType: return "error_type"
        case .conversationID: return "conversation_id"
        case .userID: return "user_id"
        case .promptName: return "prompt_name"
        case .promptVersion: return "prompt_version"
        case .reportedCost: return "reported_cost"
        case .variant: return "variant"
        case .rollout: return "rollout"
        case .serviceName: return "service_name"
        case .serviceVersion: return "service_version"
        case .environment: return "environment"
        }
    }
}

/// Where each canonical field came from: its convention and, when it was read from one span
/// attribute verbatim, that attribute's index (so the store need not keep the value twice).
/// Packed in three words so that carrying it costs no allocation.
public struct FieldProvenance: Sendable, Equatable {
    public static let fieldCount = CanonicalField.allCases.count
    /// 4 bits per field.
    @usableFromInline var conventions: UInt128 = 0
    /// 8 bits per field: attribute index + 1 (0 = none); fields 0-15 and 16-31.
    @usableFromInline var indexesLow: UInt128 = 0
    @usableFromInline var indexesHigh: UInt128 = 0

    @inlinable public init() {}

    @inlinable public subscript(_ field: CanonicalField) -> Convention {
        get { Convention(rawValue: UInt8(truncatingIfNeeded: (conventions >> (4 * UInt128(field.rawValue))) & 0xF)) ?? .absent }
        set {
            let shift = 4 * UInt128(field.rawValue)
            conventions = (conventions & ~(0xF << shift)) | (UInt128(newValue.rawValue & 0xF) << shift)
        }
    }

    /// The index of the span attribute the field's value was copied from unchanged, if any.
    @inlinable public func attributeIndex(_ field: CanonicalField) -> Int? {
        let f = field.rawValue
        let word = f < 16 ? indexesLow : indexesHigh
        let v = Int((word >> (8 * UInt128(f & 15))) & 0xFF)
        return v == 0 ? nil : v - 1
    }

    /// Records the attribute a field was copied from; indexes past 254 are not recorded.
    @inlinable public mutating func setAttributeIndex(_ index: Int?, for field: CanonicalField) {
        let f = field.rawValue
        let stored = UInt128(index.map { $0 < 255 ? $0 + 1 : 0 } ?? 0)
        let shift = 8 * UInt128(f & 15)
        if f < 16 {
            indexesLow = (indexesLow & ~(0xFF << shift)) | (stored << shift)
        } else {
            indexesHigh = (indexesHigh & ~(0xFF << shift)) | (stored << shift)
        }
    }

    /// The conventions of all fields packed 4 bits each, for compact storage.
    public var packedConventions: UInt128 { conventions }

    public init(packedConventions v: UInt128) {
        conventions = v
    }
}

/// The GenAI facts of a span, normalized from whatever convention its instrumentation used.
public struct GenAIFields: Sendable, Equatable {
    public var operation: String?
    public var provider: String?
    public var requestModel: String?
    public var responseModel: String?
    /// Input tokens, cached tokens included (the OTel GenAI rule).
    public var inputTokens: Int64?
    /// Output tokens, reasoning tokens included.
    public var outputTokens: Int64?
    public var cacheReadTokens: Int64?
    public var cacheCreationTokens: Int64?
    public var reasoningTokens: Int64?
    /// Time to first token (first streamed chunk) in seconds from the span's start.
    public var timeToFirstToken: Double?
    public var finishReason: String?
    public var errorType: String?
    public var conversationID: String?
    public var userID: String?
    public var promptName: String?
    public var promptVersion: String?
    /// A cost in USD the span itself carried (it wins over Lantern's price tables).
    public var reportedCost: Double?

    public init() {}

    /// The model that served the request: the response model, else the requested one.
    public var model: String? { responseModel ?? requestModel }

    /// Time to first token in nanoseconds.
    public var timeToFirstTokenNanos: Int64? {
        timeToFirstToken.map { Int64(($0 * 1e9).rounded()) }
    }

    /// True when any GenAI fact was found.
    public var isGenAI: Bool {
        operation != nil || provider != nil || requestModel != nil || responseModel != nil || inputTokens != nil || outputTokens != nil
    }
}

/// Release facts: which variant of a rollout served the span.
public struct ReleaseFields: Sendable, Equatable {
    public var variant: String?
    public var rollout: String?
    public init(variant: String? = nil, rollout: String? = nil) {
        self.variant = variant
        self.rollout = rollout
    }
}

/// One span as Lantern keeps it: the original OTLP span (lossless) plus its promoted fields.
public struct CanonicalSpan: Sendable, Equatable {
    public var span: Span
    public var origin: SpanOrigin
    public var serviceName: String?
    public var serviceVersion: String?
    public var environment: String?
    public var genAI: GenAIFields
    public var release: ReleaseFields
    public var provenance: FieldProvenance

    public init(span: Span, origin: SpanOrigin, serviceName: String? = nil, serviceVersion: String? = nil,
                environment: String? = nil, genAI: GenAIFields = .init(), release: ReleaseFields = .init(),
                provenance: FieldProvenance = .init()) {
        self.span = span
        self.origin = origin
        self.serviceName = serviceName
        self.serviceVersion = serviceVersion
        self.environment = environment
        self.genAI = genAI
        self.release = release
        self.provenance = provenance
    }

    public var isError: Bool { span.statusCode == .error }
}
