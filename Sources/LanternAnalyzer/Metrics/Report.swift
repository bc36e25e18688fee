import LanternModel

/// What a report covers: a time range, optional filters, and the dimensions its rows are split by.
public struct ReportRequest: Sendable, Equatable {
    /// Start-time range of the spans, Unix nanoseconds, `from` inclusive, `until` exclusive.
    public var from: Int64
    public var until: Int64
    /// Further filters (services, models, variants, ...); its time range is replaced by the one above.
    public var filter: SpanFilter
    /// Dimensions of the rows (model and variant by default).
    public var groupBy: [GroupKey]
    public var quantiles: [Double]

    public init(from: Int64, until: Int64, filter: SpanFilter = .init(), groupBy: [GroupKey] = [.model, .variant],
                quantiles: [Double] = [0.5, 0.9, 0.95, 0.99]) {
        self.from = from
        self.until = until
        self.filter = filter
        self.groupBy = groupBy
        self.quantiles = quantiles
    }

    /// The span filter of the request's range.
    public var spanFilter: SpanFilter {
        var f = filter
        f.from = from
        f.until = until
        return f
    }

    /// The time bucket of the report's timeline: minutes up to 3 hours, hours up to 4 days, else days.
    public var bucket: GroupKey {
        let span = until.subtractingReportingOverflow(from)
        guard !span.overflow else { return .day }
        if span.partialValue <= 3 * 3_600_000_000_000 { return .minute }
        if span.partialValue <= 4 * 86_400_000_000_000 { return .hour }
        return .day
    }
}

/// A summary of LLM traffic over a range: every figure per row (model × variant by default), a
/// total, and a timeline for charts.
public struct Report: Sendable, Equatable, Codable {
    public var from: Int64
    public var until: Int64
    public var groupBy: [GroupKey]
    public var quantiles: [Double]
    public var total: ReportRow
    public var rows: [ReportRow]
    /// The timeline's bucket (`minute`, `hour` or `day`) and its points, per bucket and variant.
    public var bucket: GroupKey
    public var timeline: [TimelinePoint]
}

/// One row of a report: a group's figures with the rates and shares derived from them.
public struct ReportRow: Sendable, Equatable, Codable {
    /// Dimension -> value ("" where the spans had none).
    public var key: [String: String]
    public var requests: Int
    /// Spans that called a model: the base of the coverage shares and of the refusal and feedback rates.
    public var modelCalls: Int
    public var errors: Int
    public var errorRate: Double
    public var ttft: Figure?
    public var latency: Figure?
    public var tpot: Figure?
    public var outputTokens: Figure?
    public var tokens: Tokens
    public var cost: Cost
    public var finishReasons: [String: Int]
    public var errorTypes: [String: Int]
    public var refusals: Int
    public var refusalRate: Double
    public var scores: [ScoreSummary]
    public var spansWithFeedback: Int
    public var feedbackRate: Double

    /// A distribution with the share of eligible spans it rests on.
    public struct Figure: Sendable, Equatable, Codable {
        public var count: Int
        /// count ÷ eligible spans (model calls), at most 1; nil where every span is eligible (latency).
        public var coverage: Double?
        public var mean: Double
        /// Quantile -> value, e.g. "p50", "p95".
        public var percentiles: [String: Double]

        public func percentile(_ q: Double) -> Double? { percentiles[ReportRow.label(q)] }
    }

    public struct Tokens: Sendable, Equatable, Codable {
        public var spansWithTokens: Int
        public var coverage: Double
        public var input: Int64
        public var output: Int64
        public var cacheRead: Int64
        public var reasoning: Int64
    }

    public struct Cost: Sendable, Equatable, Codable {
        public var usd: Double
        public var spansCosted: Int
        /// Share of the model calls that were priced.
        public var coverage: Double
        public var perRequest: Double?
        /// Priced spans that did not say how many input tokens were cached: their cost is an upper bound.
        public var upperBoundSpans: Int
        public var isUpperBound: Bool
    }

    /// "p50", "p95", "p99.9".
    public static func label(_ q: Double) -> String {
        let pct = q * 100
        return pct == pct.rounded() ? "p\(Int(pct))" : "p\(pct)"
    }

    public init(key: [String: String], group g: GroupResult) {
        self.key = key
        requests = g.spans
        modelCalls = g.modelSpans
        errors = g.errors
        errorRate = g.errorRate
        func figure(_ d: Distribution?, eligible: Int?) -> Figure? {
            guard let d else { return nil }
            var p: [String: Double] = [:]
            for (q, v) in zip(d.quantiles, d.values) { p[Self.label(q)] = v }
            let coverage = eligible.map { $0 == 0 ? 0 : min(1, Double(d.count) / Double($0)) }
            return Figure(count: d.count, coverage: coverage, mean: d.mean, percentiles: p)
        }
        ttft = figure(g.ttft, eligible: g.modelSpans)
        latency = figure(g.latency, eligible: nil)
        tpot = figure(g.tpot, eligible: g.modelSpans)
        outputTokens = figure(g.outputLength, eligible: g.modelSpans)
        tokens = Tokens(spansWithTokens: g.spansWithTokens, coverage: g.tokenCoverage, input: g.inputTokens,
                        output: g.outputTokens, cacheRead: g.cacheReadTokens, reasoning: g.reasoningTokens)
        cost = Cost(usd: g.costUSD, spansCosted: g.spansCosted,
                    coverage: g.modelSpans == 0 ? 0 : min(1, Double(g.spansCosted) / Double(g.modelSpans)),
                    perRequest: g.costPerRequest, upperBoundSpans: g.spansCostUpperBound, isUpperBound: g.spansCostUpperBound > 0)
        finishReasons = g.finishReasons
        errorTypes = g.errorTypes
        refusals = g.refusals
        refusalRate = g.refusalRate
        scores = g.scores
        spansWithFeedback = g.spansWithFeedback
        feedbackRate = g.feedbackRate
    }
}

/// One bucket of a report's timeline, for one variant (or "" when spans carry none).
public struct TimelinePoint: Sendable, Equatable, Codable {
    /// Bucket start, Unix nanoseconds.
    public var time: Int64
    public var variant: String
    public var requests: Int
    public var errors: Int
    public var ttftP95: Double?
    public var latencyP95: Double?
    public var costUSD: Double
}

/// Builds reports from a span store.
public enum ReportBuilder {
    /// Every metric a report shows.
    public static let metrics: Set<QueryMetric> = Set(QueryMetric.allCases)

    /// Runs the report's queries (rows, total, timeline; one pass over the store where it can) and assembles them.
    public static func build(_ request: ReportRequest, store: any SpanStore, prices: PriceBook) async throws -> Report {
        let filter = request.spanFilter
        let results = try await store.queryMany([
            SpanQuery(filter: filter, groupBy: request.groupBy, metrics: metrics, quantiles: request.quantiles),
            SpanQuery(filter: filter, groupBy: [], metrics: metrics, quantiles: request.quantiles),
            SpanQuery(filter: filter, groupBy: [request.bucket, .variant], metrics: [.count, .errors, .ttft, .latency, .cost], quantiles: [0.95]),
        ], prices: prices)
        return assemble(request, rows: results[0], total: results[1], timeline: results[2])
    }

    /// Assembles a report from query results (pure).
    public static func assemble(_ request: ReportRequest, rows: QueryResult, total: QueryResult, timeline: QueryResult) -> Report {
        let names = request.groupBy.map(\.rawValue)
        let reportRows = rows.groups.map { g in
            ReportRow(key: Dictionary(zip(names, g.key), uniquingKeysWith: { first, _ in first }), group: g)
        }
        let totalRow = ReportRow(key: [:], group: total.groups.first ?? GroupResult(key: []))
        let points = timeline.groups.map { g in
            TimelinePoint(time: Int64(g.key[0]) ?? 0, variant: g.key[1], requests: g.spans, errors: g.errors,
                          ttftP95: g.ttft?.value(at: 0.95), latencyP95: g.latency?.value(at: 0.95), costUSD: g.costUSD)
        }
        return Report(from: request.from, until: request.until, groupBy: request.groupBy, quantiles: request.quantiles,
                      total: totalRow, rows: reportRows, bucket: request.bucket, timeline: points)
    }
}
