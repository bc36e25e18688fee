import LanternModel

/// The state of one monitor for one group.
public enum MonitorState: String, Sendable, Codable, CaseIterable {
    case ok = "OK"
    case warning = "WARNING"
    case alert = "ALERT"
    /// Too few samples (or no figure) to judge: never counted as OK.
    case noData = "NO_DATA"
}

/// One group's result of one evaluation of a monitor.
public struct MonitorEvaluation: Sendable, Equatable {
    /// Dimension -> value of the group (`[:]` for a rule without `group_by`).
    public var group: [String: String]
    public var state: MonitorState
    /// The figure (threshold rules), or the p-value or statistic (drift rules); nil when there was none.
    public var value: Double?
    /// The samples the value rests on (for drift, the smaller side's count).
    public var sampleCount: Int
    public var message: String

    public init(group: [String: String], state: MonitorState, value: Double?, sampleCount: Int, message: String) {
        self.group = group
        self.state = state
        self.value = value
        self.sampleCount = sampleCount
        self.message = message
    }
}

/// A drift test's outcome for one group of a drift rule.
public struct GroupDriftOutcome: Sendable, Equatable {
    public var group: [String: String]
    /// Nil when the group's spans cannot be selected on their own (a dimension without a value).
    public var outcome: DriftOutcome?

    public init(group: [String: String], outcome: DriftOutcome?) {
        self.group = group
        self.outcome = outcome
    }
}

/// What a monitor is judged on: the rows of the current window, or the drift outcomes per group.
public enum MonitorInputs: Sendable, Equatable {
    case rows([ReportRow])
    case drift([GroupDriftOutcome])
}

/// Decides monitor states (pure), and fetches what they are decided on from a store.
public enum MonitorEvaluator {
    /// The state of every group of `inputs`, sorted by group. Inputs of the other kind than the
    /// rule's condition give no evaluations.
    public static func evaluate(_ rule: MonitorRule, inputs: MonitorInputs) -> [MonitorEvaluation] {
        let out: [MonitorEvaluation]
        switch (rule.condition, inputs) {
        case (.threshold(let threshold), .rows(let rows)):
            out = rows.map { evaluate(rule, threshold: threshold, row: $0) }
        case (.drift(let drift), .drift(let outcomes)):
            out = outcomes.map { evaluate(rule, drift: drift, group: $0.group, outcome: $0.outcome) }
        default:
            out = []
        }
        return out.sorted { describe($0.group) < describe($1.group) }
    }

    /// The state a value reaches under a threshold (no sample-size check).
    public static func state(of value: Double, under threshold: MonitorRule.Threshold) -> MonitorState {
        if threshold.isBeyond(value, threshold.alert) { return .alert }
        if let warning = threshold.warning, threshold.isBeyond(value, warning) { return .warning }
        return .ok
    }

    /// The headline figure of a row by name (`Comparison.headlines`), nil when the row has none.
    public static func figure(_ metric: String, in row: ReportRow) -> Double? {
        Comparison.headlines.first { $0.0 == metric }?.1(row)
    }

    /// How many values a figure rests on: the count of its distribution for percentiles, the priced
    /// spans for cost, the model calls for refusal and feedback rates, else the requests.
    public static func sampleCount(of metric: String, in row: ReportRow) -> Int {
        if metric.hasPrefix("ttft_") { return row.ttft?.count ?? 0 }
        if metric.hasPrefix("latency_") { return row.latency?.count ?? 0 }
        if metric.hasPrefix("tpot_") { return row.tpot?.count ?? 0 }
        if metric.hasPrefix("output_tokens_") { return row.outputTokens?.count ?? 0 }
        switch metric {
        case "cost_per_request": return row.cost.spansCosted
        case "refusal_rate", "feedback_rate": return row.modelCalls
        default: return row.requests
        }
    }

    static func evaluate(_ rule: MonitorRule, threshold: MonitorRule.Threshold, row: ReportRow) -> MonitorEvaluation {
        let count = sampleCount(of: rule.metric, in: row)
        let detail = suffix(row.key, count)
        guard let value = figure(rule.metric, in: row), !value.isNaN else {
            return MonitorEvaluation(group: row.key, state: .noData, value: nil, sampleCount: count,
                                     message: "\(rule.name): no \(rule.metric) in the window\(detail)")
        }
        guard count >= rule.minSamples else {
            return MonitorEvaluation(group: row.key, state: .noData, value: value, sampleCount: count,
                                     message: "\(rule.name): \(count) samples, fewer than the minimum \(rule.minSamples)\(suffix(row.key, nil))")
        }
        let state = state(of: value, under: threshold)
        let message: String
        switch state {
        case .alert: message = "\(rule.metric) = \(format(value)) is \(threshold.direction.rawValue) the alert threshold \(format(threshold.alert))"
        case .warning: message = "\(rule.metric) = \(format(value)) is \(threshold.direction.rawValue) the warning threshold \(format(threshold.warning ?? 0))"
        case .ok, .noData: message = "\(rule.metric) = \(format(value)) is within the thresholds"
        }
        return MonitorEvaluation(group: row.key, state: state, value: value, sampleCount: count, message: "\(rule.name): \(message)\(detail)")
    }

    static func evaluate(_ rule: MonitorRule, drift: MonitorRule.Drift, group: [String: String], outcome: DriftOutcome?) -> MonitorEvaluation {
        guard let outcome else {
            let missing = group.filter { $0.value.isEmpty }.keys.sorted().joined(separator: " or ")
            let why = missing.isEmpty ? "the group's spans cannot be selected by a filter" : "spans without a \(missing) cannot be selected"
            return MonitorEvaluation(group: group, state: .noData, value: nil, sampleCount: 0,
                                     message: "\(rule.name): \(why) for a drift test\(suffix(group, nil))")
        }
        let count = min(outcome.referenceCount, outcome.candidateCount)
        let detail = suffix(group, count)
        guard outcome.status == .ok, count >= rule.minSamples else {
            return MonitorEvaluation(group: group, state: .noData, value: nil, sampleCount: count,
                                     message: "\(rule.name): \(outcome.referenceCount) reference and \(outcome.candidateCount) current samples, "
                                         + "fewer than the minimum \(rule.minSamples) on a side\(detail)")
        }
        guard let result = outcome.tests.first(where: { $0.test == drift.test }) else {
            return MonitorEvaluation(group: group, state: .noData, value: nil, sampleCount: count,
                                     message: "\(rule.name): the \(drift.test.rawValue) test gave no result\(detail)")
        }
        let byP = MonitorRule.Drift.judgesPValue(drift.test)
        guard let value = byP ? result.pValue : result.statistic, !value.isNaN else {
            return MonitorEvaluation(group: group, state: .noData, value: nil, sampleCount: count,
                                     message: "\(rule.name): the \(drift.test.rawValue) test gave no \(byP ? "p-value" : "statistic")\(detail)")
        }
        let state = state(of: value, under: drift.threshold)
        let name = byP ? "p" : drift.test.rawValue
        return MonitorEvaluation(group: group, state: state, value: value, sampleCount: count,
                                 message: "\(rule.name): \(drift.test.rawValue) on \(outcome.subject), \(name) = \(format(value)): \(result.verdict)\(detail)")
    }

    /// ` (model=gpt-4o, variant=candidate; 412 samples)`.
    static func suffix(_ group: [String: String], _ count: Int?) -> String {
        var parts: [String] = []
        if !group.isEmpty { parts.append(describe(group)) }
        if let count { parts.append("\(count) samples") }
        return parts.isEmpty ? "" : " (\(parts.joined(separator: "; ")))"
    }

    /// `model=gpt-4o, variant=candidate`, keys sorted.
    public static func describe(_ group: [String: String]) -> String {
        group.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }

    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        let a = abs(v)
        if a >= 0.001, a < 1e6 {
            var s = String((v * 10_000).rounded() / 10_000)
            if s.contains("e") { s = "\(v)" }
            return s
        }
        return "\(v)"
    }
}

extension MonitorEvaluator {
    /// Fetches a rule's inputs for the window `[now − window, now)` and decides every group's state.
    public static func run(_ rule: MonitorRule, now: Int64, store: any SpanStore, prices: PriceBook) async throws -> [MonitorEvaluation] {
        evaluate(rule, inputs: try await inputs(for: rule, now: now, store: store, prices: prices))
    }

    /// A threshold rule's rows (one per group, or one empty row when a rule without `group_by` saw
    /// no spans); a drift rule's outcome for every group of the current window.
    public static func inputs(for rule: MonitorRule, now: Int64, store: any SpanStore, prices: PriceBook) async throws -> MonitorInputs {
        var filter = rule.filter
        filter.from = now - rule.windowNanos
        filter.until = now
        let names = rule.groupBy.map(\.rawValue)
        func key(_ g: GroupResult) -> [String: String] { Dictionary(zip(names, g.key), uniquingKeysWith: { a, _ in a }) }
        switch rule.condition {
        case .threshold:
            let result = try await store.query(SpanQuery(filter: filter, groupBy: rule.groupBy, metrics: ReportBuilder.metrics), prices: prices)
            var rows = result.groups.map { ReportRow(key: key($0), group: $0) }
            if rows.isEmpty && rule.groupBy.isEmpty { rows = [ReportRow(key: [:], group: GroupResult(key: []))] }
            return .rows(rows)
        case .drift(let drift):
            var groups: [[String: String]] = [[:]]
            if !rule.groupBy.isEmpty {
                let result = try await store.query(SpanQuery(filter: filter, groupBy: rule.groupBy, metrics: [.count]), prices: prices)
                groups = result.groups.map(key)
            }
            let windows = drift.windows(now: now, windowNanos: rule.windowNanos)
            var out: [GroupDriftOutcome] = []
            for group in groups {
                try Task.checkCancellation()
                guard let selected = restrict(rule.filter, to: group) else {
                    out.append(GroupDriftOutcome(group: group, outcome: nil))
                    continue
                }
                var reference = selected, candidate = selected
                reference.from = windows.reference.lowerBound
                reference.until = windows.reference.upperBound
                candidate.from = windows.candidate.lowerBound
                candidate.until = windows.candidate.upperBound
                let alpha = MonitorRule.Drift.judgesPValue(drift.test) ? drift.threshold.alert : 0.05
                let outcome = try await DriftAnalysis.run(drift.subject, reference: ComparisonSide(label: "reference", filter: reference),
                                                          candidate: ComparisonSide(label: "current", filter: candidate), tests: [drift.test],
                                                          store: store, minimumSamples: max(1, rule.minSamples), alpha: alpha)
                out.append(GroupDriftOutcome(group: group, outcome: outcome))
            }
            return .drift(out)
        }
    }

    /// The filter narrowed to one group's values; nil when a value is empty (spans without it
    /// cannot be selected) or a dimension is not filterable.
    public static func restrict(_ filter: SpanFilter, to group: [String: String]) -> SpanFilter? {
        var f = filter
        for (name, value) in group {
            guard !value.isEmpty, let key = GroupKey(rawValue: name) else { return nil }
            switch key {
            case .service: f.services = [value]
            case .model: f.models = [value]
            case .variant: f.variants = [value]
            case .environment: f.environments = [value]
            case .operation: f.operations = [value]
            default: return nil
            }
        }
        return f
    }
}
