/// A dimension spans can be grouped by.
public enum GroupKey: String, Sendable, CaseIterable, Codable {
    case service, serviceVersion = "service_version", environment, operation, provider
    /// The serving model: the response model; for a call that names only its request model (a
    /// failed call, usually), the response model that answers that request model in more than half
    /// of the query's calls, else the request model.
    case model
    case requestModel = "request_model", responseModel = "response_model"
    case variant, rollout, errorType = "error_type", finishReason = "finish_reason"
    case minute, hour, day

    /// Time buckets in nanoseconds (UTC, from the epoch).
    public var bucketNanos: Int64? {
        switch self {
        case .minute: return 60_000_000_000
        case .hour: return 3_600_000_000_000
        case .day: return 86_400_000_000_000
        default: return nil
        }
    }
}

/// Which spans a query covers. Empty lists mean "any".
public struct SpanFilter: Sendable, Equatable {
    /// Start time range, Unix nanoseconds, `from` inclusive and `until` exclusive.
    public var from: Int64?
    public var until: Int64?
    public var services: [String] = []
    public var models: [String] = []
    public var variants: [String] = []
    public var environments: [String] = []
    public var operations: [String] = []
    /// Only spans with GenAI facts (an operation, provider, model or token count).
    public var genAIOnly = false

    public init(from: Int64? = nil, until: Int64? = nil, services: [String] = [], models: [String] = [], variants: [String] = [],
                environments: [String] = [], operations: [String] = [], genAIOnly: Bool = false) {
        self.from = from
        self.until = until
        self.services = services
        self.models = models
        self.variants = variants
        self.environments = environments
        self.operations = operations
        self.genAIOnly = genAIOnly
    }
}

/// What to compute per group.
public enum QueryMetric: String, Sendable, CaseIterable, Codable {
    case count, errors, tokens, cost, ttft, latency
    /// Time per output token: (duration − TTFT) / (output tokens − 1), for spans with both and more than one token.
    case tpot
    /// The distribution of output tokens per span.
    case outputLength = "output_length"
    /// Finish-reason and error-type mixes, and refusals.
    case mixes
    /// Score distributions per name and the feedback rate (scores joined to spans by id).
    case quality
}

/// Finish reasons that mean the model refused or was stopped by a content filter, across
/// providers (OpenAI `content_filter`, Anthropic `refusal`, Gemini `SAFETY` and friends).
public enum RefusalReasons {
    public static let all: Set<String> = [
        "content_filter", "refusal", "safety", "SAFETY", "RECITATION", "recitation", "BLOCKLIST", "blocklist",
        "PROHIBITED_CONTENT", "prohibited_content", "SPII", "spii", "IMAGE_SAFETY",
    ]
    public static func contains(_ reason: String) -> Bool { all.contains(reason) }
}

/// A per-span number whose distribution can be compared between two sets of spans (drift).
public enum SampleMetric: Sendable, Hashable, CustomStringConvertible {
    case ttft, latency, tpot, outputTokens
    /// The numeric values of one score name.
    case score(String)

    /// Parses `ttft`, `latency`, `tpot`, `output_tokens` or `score:<name>`.
    public init?(_ text: String) {
        switch text {
        case "ttft": self = .ttft
        case "latency": self = .latency
        case "tpot": self = .tpot
        case "output_tokens": self = .outputTokens
        default:
            guard text.hasPrefix("score:"), text.count > 6 else { return nil }
            self = .score(String(text.dropFirst(6)))
        }
    }

    public var description: String {
        switch self {
        case .ttft: return "ttft"
        case .latency: return "latency"
        case .tpot: return "tpot"
        case .outputTokens: return "output_tokens"
        case .score(let name): return "score:\(name)"
        }
    }

    /// The query metric that collects these values.
    public var queryMetric: QueryMetric {
        switch self {
        case .ttft: return .ttft
        case .latency: return .latency
        case .tpot: return .tpot
        case .outputTokens: return .outputLength
        case .score: return .quality
        }
    }
}

/// A per-span category whose mix can be compared between two sets of spans (chi-square).
public enum CategoryMetric: String, Sendable, CaseIterable, Codable {
    /// Finish reasons of the spans that reported one.
    case finishReason = "finish_reason"
    /// Error types of the failed spans.
    case errorType = "error_type"
    /// `ok` or `error` per span.
    case outcome

    /// The mix of a group's spans.
    public func counts(in g: GroupResult) -> [String: Int] {
        switch self {
        case .finishReason: return g.finishReasons
        case .errorType: return g.errorTypes
        case .outcome: return ["ok": g.spans - g.errors, "error": g.errors]
        }
    }
}

/// An aggregate query over stored spans.
public struct SpanQuery: Sendable, Equatable {
    public var filter: SpanFilter
    public var groupBy: [GroupKey]
    public var metrics: Set<QueryMetric>
    /// Quantiles to report for TTFT and latency (linear interpolation between order statistics).
    public var quantiles: [Double]

    public init(filter: SpanFilter = .init(), groupBy: [GroupKey] = [], metrics: Set<QueryMetric> = Set(QueryMetric.allCases),
                quantiles: [Double] = [0.5, 0.9, 0.95, 0.99]) {
        self.filter = filter
        self.groupBy = groupBy
        self.metrics = metrics
        self.quantiles = quantiles
    }
}

/// Exact quantiles of a sample and how many values they rest on.
public struct Distribution: Sendable, Equatable, Codable {
    public var count: Int
    /// Quantile -> value, in the query's order.
    public var quantiles: [Double]
    public var values: [Double]
    public var mean: Double

    public init(count: Int, quantiles: [Double], values: [Double], mean: Double) {
        self.count = count
        self.quantiles = quantiles
        self.values = values
        self.mean = mean
    }

    public func value(at q: Double) -> Double? {
        quantiles.firstIndex(of: q).map { values[$0] }
    }
}

/// The figures of one group.
public struct GroupResult: Sendable, Equatable, Codable {
    /// The group's value per `groupBy` dimension ("" where the span had none).
    public var key: [String]
    public var spans: Int
    /// Spans that name a model (GenAI inference calls): the base of the coverage shares.
    public var modelSpans: Int
    /// Of those, the spans that carried a TTFT, and those that carried token counts.
    public var modelSpansWithTTFT: Int
    public var modelSpansWithTokens: Int
    public var errors: Int
    /// Spans that carried token counts, and their sums.
    public var spansWithTokens: Int
    public var inputTokens: Int64
    public var outputTokens: Int64
    public var cacheReadTokens: Int64
    public var reasoningTokens: Int64
    /// Spans that were priced (by a price table or a cost the span carried) and their total in USD.
    public var spansCosted: Int
    public var costUSD: Double
    /// Priced spans that did not report cached tokens although their model prices them lower:
    /// their cost is an upper bound.
    public var spansCostUpperBound: Int
    /// Spans that could carry TTFT (GenAI spans) and the TTFT distribution in seconds.
    public var ttft: Distribution?
    /// Span duration distribution in seconds.
    public var latency: Distribution?
    /// Time per output token in seconds, over spans with a TTFT and more than one output token.
    public var tpot: Distribution?
    /// Output tokens per span, over spans that reported them.
    public var outputLength: Distribution?
    /// Finish reason -> spans (spans without one are not counted), and error type -> spans with status ERROR
    /// (`""` for errors without a type).
    public var finishReasons: [String: Int]
    public var errorTypes: [String: Int]
    /// Model calls whose finish reason is a refusal or a content filter (`RefusalReasons`).
    public var refusals: Int
    /// Score distributions by name, sorted by name.
    public var scores: [ScoreSummary]
    /// Model calls that received user feedback (on the span itself or on its trace).
    public var spansWithFeedback: Int

    public init(key: [String]) {
        self.key = key
        spans = 0; modelSpans = 0; modelSpansWithTTFT = 0; modelSpansWithTokens = 0; errors = 0; spansWithTokens = 0; inputTokens = 0; outputTokens = 0; cacheReadTokens = 0; reasoningTokens = 0
        spansCosted = 0; costUSD = 0; spansCostUpperBound = 0
        finishReasons = [:]; errorTypes = [:]; refusals = 0; scores = []; spansWithFeedback = 0
    }

    /// Refusals among the model-calling spans.
    public var refusalRate: Double { modelSpans == 0 ? 0 : Double(refusals) / Double(modelSpans) }
    /// Share of the model-calling spans that received user feedback.
    public var feedbackRate: Double { modelSpans == 0 ? 0 : Double(spansWithFeedback) / Double(modelSpans) }
    /// Mean cost of a priced span, nil when none was priced.
    public var costPerRequest: Double? { spansCosted == 0 ? nil : costUSD / Double(spansCosted) }

    public var errorRate: Double { spans == 0 ? 0 : Double(errors) / Double(spans) }
    /// Share of the model-calling spans that carried a TTFT (at most 1).
    public var ttftCoverage: Double { modelSpans == 0 ? 0 : Double(modelSpansWithTTFT) / Double(modelSpans) }
    /// Share of the model-calling spans that carried token counts (at most 1).
    public var tokenCoverage: Double { modelSpans == 0 ? 0 : Double(modelSpansWithTokens) / Double(modelSpans) }
}

/// The answer to a `SpanQuery`.
public struct QueryResult: Sendable, Equatable, Codable {
    public var groupBy: [GroupKey]
    public var groups: [GroupResult]
    /// Segments read and skipped by their zone maps, and unsealed journal batches read.
    public var segmentsScanned: Int
    public var segmentsSkipped: Int
    public var journalBatchesScanned: Int
    /// Sealed segments answered from their rollups (pre-aggregates) instead of being scanned.
    public var segmentsFromRollups: Int

    public init(groupBy: [GroupKey], groups: [GroupResult], segmentsScanned: Int = 0, segmentsSkipped: Int = 0, journalBatchesScanned: Int = 0,
                segmentsFromRollups: Int = 0) {
        self.groupBy = groupBy
        self.groups = groups
        self.segmentsScanned = segmentsScanned
        self.segmentsSkipped = segmentsSkipped
        self.journalBatchesScanned = journalBatchesScanned
        self.segmentsFromRollups = segmentsFromRollups
    }
}

/// Drops data by age and by size.
public struct RetentionPolicy: Sendable, Equatable {
    /// Keep spans that started at most this long ago (nanoseconds); nil keeps all ages.
    public var maxAgeNanos: Int64?
    /// Keep the stored spans under this many bytes; nil means no size bound.
    public var maxBytes: Int64?
    public init(maxAgeNanos: Int64? = nil, maxBytes: Int64? = nil) {
        self.maxAgeNanos = maxAgeNanos
        self.maxBytes = maxBytes
    }
}

/// What a retention pass removed.
public struct RetentionResult: Sendable, Equatable {
    public var segmentsDeleted: Int
    public var spansDeleted: Int
    public var bytesDeleted: Int64
    public init(segmentsDeleted: Int = 0, spansDeleted: Int = 0, bytesDeleted: Int64 = 0) {
        self.segmentsDeleted = segmentsDeleted
        self.spansDeleted = spansDeleted
        self.bytesDeleted = bytesDeleted
    }
}

/// Counts and sizes of a store.
public struct StoreStats: Sendable, Equatable, Codable {
    public var sealedSpans: Int
    public var journalSpans: Int
    public var segments: Int
    public var journalBatches: Int
    public var fileBytes: Int64
    public var minStartUnixNano: Int64?
    public var maxStartUnixNano: Int64?
    public init(sealedSpans: Int, journalSpans: Int, segments: Int, journalBatches: Int, fileBytes: Int64,
                minStartUnixNano: Int64?, maxStartUnixNano: Int64?) {
        self.sealedSpans = sealedSpans
        self.journalSpans = journalSpans
        self.segments = segments
        self.journalBatches = journalBatches
        self.fileBytes = fileBytes
        self.minStartUnixNano = minStartUnixNano
        self.maxStartUnixNano = maxStartUnixNano
    }
    public var totalSpans: Int { sealedSpans + journalSpans }
}

/// Where spans are kept: the embedded SQLite store, or a ClickHouse cluster. Appends are durable
/// when they return; queries see every acknowledged span.
public protocol SpanStore: Sendable {
    /// Appends spans durably; returns once they would survive a crash.
    func append(_ spans: [CanonicalSpan]) async throws
    /// Aggregates spans; costs come from `prices` at each span's time.
    func query(_ query: SpanQuery, prices: PriceBook) async throws -> QueryResult
    /// Every stored span of one trace, in start order.
    func trace(_ id: TraceID) async throws -> [CanonicalSpan]
    func stats() async throws -> StoreStats
    /// Several aggregates; a store may answer queries that share a filter in one pass.
    func queryMany(_ queries: [SpanQuery], prices: PriceBook) async throws -> [QueryResult]
    /// Every value of a per-span metric over the spans a filter selects (a drift test's sample).
    func samples(_ metric: SampleMetric, filter: SpanFilter) async throws -> [Double]
    /// Stores scores and feedback, once per id.
    func appendScores(_ scores: [Score]) async throws -> [ScoreWriteOutcome]
    func applyRetention(_ policy: RetentionPolicy, nowUnixNano: Int64) async throws -> RetentionResult
}

extension SpanStore {
    /// One query after another.
    public func queryMany(_ queries: [SpanQuery], prices: PriceBook) async throws -> [QueryResult] {
        var out: [QueryResult] = []
        for q in queries { out.append(try await query(q, prices: prices)) }
        return out
    }
}
