import Foundation
import LanternAnalyzer
import LanternModel

/// A bad query parameter: which one, and what was wrong with it.
public struct APIParameterError: Error, Sendable, Equatable, CustomStringConvertible {
    public var parameter: String
    public var message: String
    public var description: String { "\(parameter): \(message)" }
}

/// The query parameters of an analysis request, read into the analyzer's requests (pure: the
/// current time is passed in). Lists may repeat a parameter or separate values with commas.
public struct AnalysisParameters: Sendable {
    public let items: [(name: String, value: String)]
    public let nowUnixNano: Int64
    /// Most quantiles one request may ask for.
    public static let maxQuantiles = 20
    /// The range used when `from` is absent: the last day.
    public static let defaultRangeNanos: Int64 = 86_400_000_000_000

    public init(_ items: [(name: String, value: String)], nowUnixNano: Int64) {
        self.items = items
        self.nowUnixNano = nowUnixNano
    }

    /// Every value of a parameter, commas split, blanks dropped.
    public func list(_ name: String) -> [String] {
        items.filter { $0.name == name }.flatMap { $0.value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            .filter { !$0.isEmpty }
    }

    /// The one value of a parameter; repeating it is an error.
    public func single(_ name: String) throws(APIParameterError) -> String? {
        let values = items.filter { $0.name == name }.map(\.value)
        guard values.count <= 1 else { throw APIParameterError(parameter: name, message: "give it once, not \(values.count) times") }
        return values.first
    }

    func time(_ name: String) throws(APIParameterError) -> Int64? {
        guard let text = try single(name) else { return nil }
        guard let t = TimeExpression.parse(text, nowUnixNano: nowUnixNano) else {
            throw APIParameterError(parameter: name, message: "cannot read the time '\(text)': use \(TimeExpression.accepted)")
        }
        return t
    }

    func range(prefix: String = "") throws(APIParameterError) -> (from: Int64, until: Int64) {
        let until = try time(prefix + "until") ?? nowUnixNano
        let from = try time(prefix + "from") ?? max(TimeExpression.supported.lowerBound, until - Self.defaultRangeNanos)
        guard from < until else { throw APIParameterError(parameter: prefix + "from", message: "must be before \(prefix)until") }
        return (from, until)
    }

    func bool(_ name: String) throws(APIParameterError) -> Bool {
        guard let text = try single(name) else { return false }
        switch text.lowercased() {
        case "1", "true", "yes": return true
        case "0", "false", "no": return false
        default: throw APIParameterError(parameter: name, message: "expected true or false, got '\(text)'")
        }
    }

    func int(_ name: String, default value: Int, range: ClosedRange<Int>) throws(APIParameterError) -> Int {
        guard let text = try single(name) else { return value }
        guard let n = Int(text), range.contains(n) else {
            throw APIParameterError(parameter: name, message: "expected a whole number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return n
    }

    func double(_ name: String, default value: Double, range: ClosedRange<Double>) throws(APIParameterError) -> Double {
        guard let text = try single(name) else { return value }
        guard let d = Double(text), range.contains(d) else {
            throw APIParameterError(parameter: name, message: "expected a number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return d
    }

    /// Service, model, variant, environment and operation filters and the range.
    public func filter(prefix: String = "") throws(APIParameterError) -> SpanFilter {
        let (from, until) = try range(prefix: prefix)
        return SpanFilter(from: from, until: until, services: list("service"), models: list("model"), variants: list("variant"),
                          environments: list("environment"), operations: list("operation"), genAIOnly: !(try bool("all_spans")))
    }

    public func groupBy(default value: [GroupKey]) throws(APIParameterError) -> [GroupKey] {
        let names = list("group_by")
        guard !names.isEmpty else { return value }
        var keys: [GroupKey] = []
        for n in names {
            guard let k = GroupKey(rawValue: n) else {
                throw APIParameterError(parameter: "group_by", message: "unknown dimension '\(n)'; use any of \(GroupKey.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard !keys.contains(k) else { throw APIParameterError(parameter: "group_by", message: "'\(n)' is listed twice") }
            keys.append(k)
        }
        return keys
    }

    public func quantiles() throws(APIParameterError) -> [Double] {
        let texts = list("quantiles")
        guard !texts.isEmpty else { return [0.5, 0.9, 0.95, 0.99] }
        guard texts.count <= Self.maxQuantiles else {
            throw APIParameterError(parameter: "quantiles", message: "at most \(Self.maxQuantiles) values, got \(texts.count)")
        }
        var out: [Double] = []
        for t in texts {
            guard let q = Double(t), q >= 0, q <= 1 else {
                throw APIParameterError(parameter: "quantiles", message: "expected numbers between 0 and 1, got '\(t)'")
            }
            out.append(q)
        }
        return out
    }

    /// `GET /api/v1/report`.
    public func reportRequest() throws(APIParameterError) -> ReportRequest {
        let f = try filter()
        return ReportRequest(from: f.from!, until: f.until!, filter: f, groupBy: try groupBy(default: [.model, .variant]), quantiles: try quantiles())
    }

    /// `GET /api/v1/query`.
    public func spanQuery() throws(APIParameterError) -> SpanQuery {
        var metrics = Set<QueryMetric>()
        for name in list("metrics") {
            guard let m = QueryMetric(rawValue: name) else {
                throw APIParameterError(parameter: "metrics", message: "unknown metric '\(name)'; use any of \(QueryMetric.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            metrics.insert(m)
        }
        return SpanQuery(filter: try filter(), groupBy: try groupBy(default: []), metrics: metrics.isEmpty ? Set(QueryMetric.allCases) : metrics,
                         quantiles: try quantiles())
    }

    /// The two sides of a comparison or drift analysis: two variants over one window
    /// (`reference_variant`, `candidate_variant`), or two windows (`reference_from`/`reference_until`
    /// and `candidate_from`/`candidate_until`; the candidate window defaults to `from`/`until`), or both.
    public func sides() throws(APIParameterError) -> (reference: ComparisonSide, candidate: ComparisonSide) {
        let common = try filter()
        let refVariant = try single("reference_variant"), candVariant = try single("candidate_variant")
        let referenceWindow = items.contains { $0.name == "reference_from" || $0.name == "reference_until" }
        let candidateWindow = items.contains { $0.name == "candidate_from" || $0.name == "candidate_until" }
        if (refVariant == nil) != (candVariant == nil) {
            throw APIParameterError(parameter: refVariant == nil ? "reference_variant" : "candidate_variant",
                                    message: "give both reference_variant and candidate_variant, or neither")
        }
        guard refVariant != nil || referenceWindow || candidateWindow else {
            throw APIParameterError(parameter: "reference_variant", message: "say what to compare: reference_variant and candidate_variant, or reference_from and reference_until")
        }
        var reference = common, candidate = common
        var labels = ("reference", "candidate")
        if let r = refVariant, let c = candVariant {
            reference.variants = [r]
            candidate.variants = [c]
            labels = (r, c)
        }
        if referenceWindow {
            let (from, until) = try range(prefix: "reference_")
            reference.from = from
            reference.until = until
        }
        if candidateWindow {
            let (from, until) = try range(prefix: "candidate_")
            candidate.from = from
            candidate.until = until
        }
        if refVariant == nil { labels = ("reference window", "candidate window") }
        return (ComparisonSide(label: labels.0, filter: reference), ComparisonSide(label: labels.1, filter: candidate))
    }

    /// `GET /api/v1/drift`: the subject, the tests, the minimum sample and the significance level.
    public func driftSettings() throws(APIParameterError) -> (subject: DriftSubject, tests: [DriftTest]?, minimumSamples: Int, alpha: Double) {
        guard let text = try single("subject") else {
            throw APIParameterError(parameter: "subject", message: "required: ttft, latency, tpot, output_tokens, score:<name>, finish_reason, error_type or outcome")
        }
        guard let subject = DriftSubject(text) else {
            throw APIParameterError(parameter: "subject", message: "unknown subject '\(text)'; use ttft, latency, tpot, output_tokens, score:<name>, finish_reason, error_type or outcome")
        }
        var tests: [DriftTest] = []
        for name in list("tests") {
            guard let t = DriftTest(rawValue: name) else {
                throw APIParameterError(parameter: "tests", message: "unknown test '\(name)'; use any of \(DriftTest.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let allowed = subject.defaultTests
            guard allowed.contains(t) else {
                throw APIParameterError(parameter: "tests", message: "\(name) does not apply to \(subject); use \(allowed.map(\.rawValue).joined(separator: ", "))")
            }
            tests.append(t)
        }
        return (subject, tests.isEmpty ? nil : tests, try int("min_samples", default: 30, range: 1...1_000_000_000),
                try double("alpha", default: 0.05, range: 0.000_000_1...0.5))
    }
}
