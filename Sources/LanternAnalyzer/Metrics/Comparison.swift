import LanternModel

/// One side of a comparison: the spans a filter selects (a window, a variant, or both) and a label.
public struct ComparisonSide: Sendable, Equatable {
    public var label: String
    public var filter: SpanFilter
    public init(label: String, filter: SpanFilter) {
        self.label = label
        self.filter = filter
    }
}

/// Two sets of spans side by side (two windows, or two variants over one window): every figure
/// of each, and the change of the headline figures from the reference to the candidate.
public struct Comparison: Sendable, Equatable, Codable {
    public var referenceLabel: String
    public var candidateLabel: String
    public var reference: ReportRow
    public var candidate: ReportRow
    public var changes: [Change]

    /// A headline figure on both sides; `change` = candidate − reference, `relativeChange` = change ÷ |reference|.
    public struct Change: Sendable, Equatable, Codable {
        public var metric: String
        public var reference: Double?
        public var candidate: Double?
        public var change: Double?
        public var relativeChange: Double?

        public init(metric: String, reference: Double?, candidate: Double?) {
            self.metric = metric
            self.reference = reference
            self.candidate = candidate
            if let r = reference, let c = candidate {
                change = c - r
                relativeChange = r == 0 ? nil : (c - r) / abs(r)
            }
        }
    }

    /// Pairs two rows (pure).
    public init(reference: ReportRow, candidate: ReportRow, labels: (String, String)) {
        referenceLabel = labels.0
        candidateLabel = labels.1
        self.reference = reference
        self.candidate = candidate
        changes = Self.headlines.map { name, figure in Change(metric: name, reference: figure(reference), candidate: figure(candidate)) }
    }

    /// The figures compared, by name.
    public static let headlines: [(String, @Sendable (ReportRow) -> Double?)] = [
        ("requests", { Double($0.requests) }),
        ("error_rate", { $0.requests == 0 ? nil : $0.errorRate }),
        ("ttft_p50", { $0.ttft?.percentile(0.5) }), ("ttft_p95", { $0.ttft?.percentile(0.95) }), ("ttft_p99", { $0.ttft?.percentile(0.99) }),
        ("latency_p50", { $0.latency?.percentile(0.5) }), ("latency_p95", { $0.latency?.percentile(0.95) }), ("latency_p99", { $0.latency?.percentile(0.99) }),
        ("tpot_p50", { $0.tpot?.percentile(0.5) }), ("tpot_p95", { $0.tpot?.percentile(0.95) }),
        ("output_tokens_p50", { $0.outputTokens?.percentile(0.5) }),
        ("cost_per_request", { $0.cost.perRequest }),
        ("refusal_rate", { $0.modelCalls == 0 ? nil : $0.refusalRate }),
        ("feedback_rate", { $0.modelCalls == 0 ? nil : $0.feedbackRate }),
    ]

    /// Queries both sides and pairs them.
    public static func build(reference: ComparisonSide, candidate: ComparisonSide, store: any SpanStore, prices: PriceBook,
                             quantiles: [Double] = [0.5, 0.9, 0.95, 0.99]) async throws -> Comparison {
        func row(_ side: ComparisonSide) async throws -> ReportRow {
            let r = try await store.query(SpanQuery(filter: side.filter, groupBy: [], metrics: ReportBuilder.metrics, quantiles: quantiles), prices: prices)
            return ReportRow(key: [:], group: r.groups.first ?? GroupResult(key: []))
        }
        return Comparison(reference: try await row(reference), candidate: try await row(candidate), labels: (reference.label, candidate.label))
    }
}
