import LanternModel

/// A drift test by name.
public enum DriftTest: String, Sendable, CaseIterable, Codable {
    case ks, mannWhitney = "mann_whitney", psi, jensenShannon = "jensen_shannon", chiSquare = "chi_square"

    /// The tests that apply to a numeric metric, and to a categorical one.
    public static let numeric: [DriftTest] = [.ks, .mannWhitney, .psi, .jensenShannon]
    public static let categorical: [DriftTest] = [.chiSquare, .jensenShannon]
}

/// What a drift analysis compares: a per-span number or a per-span category.
public enum DriftSubject: Sendable, Hashable, CustomStringConvertible {
    case numeric(SampleMetric)
    case categorical(CategoryMetric)

    /// Parses `ttft`, `latency`, `tpot`, `output_tokens`, `score:<name>`, `finish_reason`, `error_type` or `outcome`.
    public init?(_ text: String) {
        if let c = CategoryMetric(rawValue: text) { self = .categorical(c) } else if let s = SampleMetric(text) { self = .numeric(s) } else { return nil }
    }

    public var description: String {
        switch self {
        case .numeric(let m): return m.description
        case .categorical(let c): return c.rawValue
        }
    }

    public var defaultTests: [DriftTest] {
        switch self {
        case .numeric: return DriftTest.numeric
        case .categorical: return DriftTest.categorical
        }
    }

    /// The unit of the values, for verdicts.
    var unit: String {
        switch self {
        case .numeric(.ttft), .numeric(.latency), .numeric(.tpot): return "s"
        case .numeric(.outputTokens): return "tokens"
        default: return ""
        }
    }
}

/// One test's result: its statistic, p-value where it has one, whether it calls the difference
/// significant, and a sentence saying so.
public struct DriftTestResult: Sendable, Equatable, Codable {
    public var test: DriftTest
    public var statistic: Double
    public var pValue: Double?
    /// p < alpha for the hypothesis tests; PSI ≥ 0.25 (a major shift); Jensen–Shannon distance ≥ 0.1.
    public var drifted: Bool
    public var verdict: String
    /// Mann–Whitney only: Hodges–Lehmann shift candidate − reference and its confidence interval.
    public var shift: Double?
    public var shiftLower: Double?
    public var shiftUpper: Double?
    /// `exact` or `asymptotic` where the test chooses.
    public var method: String?
}

/// The outcome of comparing one subject between a reference and a candidate set of spans.
public struct DriftOutcome: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        case ok
        /// One side has fewer values than the minimum: no test was run (never a pass).
        case notEnoughData = "not_enough_data"
    }

    public var subject: String
    public var referenceLabel: String
    public var candidateLabel: String
    public var referenceCount: Int
    public var candidateCount: Int
    public var minimumSamples: Int
    public var status: Status
    public var tests: [DriftTestResult]
    /// True when any test found drift.
    public var drifted: Bool { tests.contains { $0.drifted } }
}

/// Runs drift tests (pure over values; `run` fetches them from a store).
public enum DriftAnalysis {
    public static let psiThreshold = 0.25
    public static let jensenShannonThreshold = 0.1

    /// Tests numeric samples. The candidate is the subject of the verdicts; shifts are candidate − reference.
    public static func compare(reference: [Double], candidate: [Double], subject: DriftSubject = .numeric(.latency),
                               tests: [DriftTest] = DriftTest.numeric, labels: (String, String) = ("reference", "candidate"),
                               minimumSamples: Int = 30, alpha: Double = 0.05) throws -> DriftOutcome {
        var outcome = DriftOutcome(subject: subject.description, referenceLabel: labels.0, candidateLabel: labels.1,
                                   referenceCount: reference.count, candidateCount: candidate.count,
                                   minimumSamples: minimumSamples, status: .ok, tests: [])
        guard reference.count >= max(1, minimumSamples), candidate.count >= max(1, minimumSamples) else {
            outcome.status = .notEnoughData
            return outcome
        }
        let (ref, cand) = try SortedSample.pair(reference, candidate, names: labels)
        let unit = subject.unit
        for test in tests {
            switch test {
            case .ks:
                let r = KolmogorovSmirnov.test(ref, cand)
                outcome.tests.append(DriftTestResult(test: .ks, statistic: r.statistic, pValue: r.pValue, drifted: r.pValue < alpha,
                                                     verdict: r.verdict(alpha: alpha, labels: labels), method: r.method.rawValue))
            case .mannWhitney:
                let r = MannWhitney.test(cand, ref)
                outcome.tests.append(DriftTestResult(test: .mannWhitney, statistic: r.statistic, pValue: r.pValue, drifted: r.pValue < alpha,
                                                     verdict: r.verdict(subject: "\(labels.1)'s \(subject)", unit: unit, alpha: alpha),
                                                     shift: r.shift, shiftLower: r.shiftLower, shiftUpper: r.shiftUpper, method: r.method.rawValue))
            case .psi:
                let r = PopulationStability.test(reference: ref, current: cand)
                outcome.tests.append(DriftTestResult(test: .psi, statistic: r.psi, drifted: r.psi >= psiThreshold,
                                                     verdict: r.verdict(subject: "\(labels.1)'s \(subject)")))
            case .jensenShannon:
                let r = try JensenShannon.distance(reference: ref.values, current: cand.values)
                outcome.tests.append(DriftTestResult(test: .jensenShannon, statistic: r.distance, drifted: r.distance >= jensenShannonThreshold,
                                                     verdict: r.verdict(subject: "\(subject)")))
            case .chiSquare:
                throw DriftError.invalidCounts("chi-square compares categories; \(subject) is numeric")
            }
        }
        return outcome
    }

    /// Tests category mixes (counts per category).
    public static func compare(reference: [String: Int], candidate: [String: Int], subject: CategoryMetric,
                               tests: [DriftTest] = DriftTest.categorical, labels: (String, String) = ("reference", "candidate"),
                               minimumSamples: Int = 30, alpha: Double = 0.05) throws -> DriftOutcome {
        let n1 = reference.values.reduce(0, +), n2 = candidate.values.reduce(0, +)
        var outcome = DriftOutcome(subject: subject.rawValue, referenceLabel: labels.0, candidateLabel: labels.1,
                                   referenceCount: n1, candidateCount: n2, minimumSamples: minimumSamples, status: .ok, tests: [])
        guard n1 >= max(1, minimumSamples), n2 >= max(1, minimumSamples) else {
            outcome.status = .notEnoughData
            return outcome
        }
        for test in tests {
            switch test {
            case .chiSquare:
                let r = try ChiSquare.test(reference, candidate)
                outcome.tests.append(DriftTestResult(test: .chiSquare, statistic: r.statistic, pValue: r.pValue, drifted: r.pValue < alpha,
                                                     verdict: r.verdict(alpha: alpha, subject: "the \(subject.rawValue) mix")))
            case .jensenShannon:
                let r = try JensenShannon.distance(reference, candidate)
                outcome.tests.append(DriftTestResult(test: .jensenShannon, statistic: r.distance, drifted: r.distance >= jensenShannonThreshold,
                                                     verdict: r.verdict(subject: "the \(subject.rawValue) mix")))
            case .ks, .mannWhitney, .psi:
                throw DriftError.invalidCounts("\(test.rawValue) compares numbers; \(subject.rawValue) is categorical")
            }
        }
        return outcome
    }

    /// Fetches both sides from a store and tests them.
    public static func run(_ subject: DriftSubject, reference: ComparisonSide, candidate: ComparisonSide, tests: [DriftTest]? = nil,
                           store: any SpanStore, minimumSamples: Int = 30, alpha: Double = 0.05) async throws -> DriftOutcome {
        let labels = (reference.label, candidate.label)
        switch subject {
        case .numeric(let metric):
            let a = try await store.samples(metric, filter: reference.filter)
            let b = try await store.samples(metric, filter: candidate.filter)
            return try compare(reference: a, candidate: b, subject: subject, tests: tests ?? subject.defaultTests, labels: labels,
                               minimumSamples: minimumSamples, alpha: alpha)
        case .categorical(let metric):
            func mix(_ f: SpanFilter) async throws -> [String: Int] {
                let r = try await store.query(SpanQuery(filter: f, groupBy: [], metrics: [.count, .errors, .mixes]), prices: .empty)
                return r.groups.first.map { metric.counts(in: $0) } ?? [:]
            }
            return try compare(reference: try await mix(reference.filter), candidate: try await mix(candidate.filter), subject: metric,
                               tests: tests ?? subject.defaultTests, labels: labels, minimumSamples: minimumSamples, alpha: alpha)
        }
    }
}
