import Foundation

/// Jensen–Shannon distance between two distributions given as counts or weights (normalised
/// here), base 2, matching `scipy.spatial.distance.jensenshannon(p, q, base=2)`:
/// m = (p + q)/2, JSD = (Σ p·ln(p/m) + Σ q·ln(q/m)) / ln 2 / 2 (0·ln 0 = 0), distance = √JSD ∈ [0, 1].
public struct JensenShannonResult: Sendable, Equatable {
    public var distance: Double
    public var statistic: Double { distance }
    /// Total weight of each side (sample sizes when counts were given).
    public var total1: Double
    public var total2: Double

    public func verdict(subject: String = "the mix") -> String {
        let level = distance < 0.1 ? "similar" : distance < 0.3 ? "somewhat different" : "very different"
        return "\(subject) is \(level): Jensen–Shannon distance \(String(format: "%.3f", distance)) (0 = identical, 1 = disjoint)"
    }
}

public enum JensenShannon {
    public static func distance(_ p: [Double], _ q: [Double]) throws -> JensenShannonResult {
        guard p.count == q.count else { throw DriftError.invalidCounts("vectors of different lengths (\(p.count) and \(q.count))") }
        guard !p.isEmpty else { throw DriftError.emptySample("first") }
        for v in p + q where !v.isFinite || v < 0 { throw DriftError.invalidCounts("a weight is negative or not finite") }
        let sp = p.reduce(0, +), sq = q.reduce(0, +)
        guard sp > 0, sq > 0 else { throw DriftError.invalidCounts("a distribution has zero total") }
        var left = 0.0, right = 0.0
        for i in 0..<p.count {
            let a = p[i] / sp, b = q[i] / sq
            let m = (a + b) / 2
            if a > 0 { left += a * log(a / m) }
            if b > 0 { right += b * log(b / m) }
        }
        var js = left + right
        js /= log(2.0)
        return JensenShannonResult(distance: (max(0, js) / 2).squareRoot(), total1: sp, total2: sq)
    }

    /// Counts keyed by category (finish reason, error type, …); missing keys count 0.
    public static func distance(_ a: [String: Int], _ b: [String: Int]) throws -> JensenShannonResult {
        let keys = Array(Set(a.keys).union(b.keys)).sorted()
        return try distance(keys.map { Double(a[$0] ?? 0) }, keys.map { Double(b[$0] ?? 0) })
    }

    /// Two numeric samples binned on the reference's deciles (the same bins as PSI, no smoothing).
    public static func distance(reference: [Double], current: [Double], bins: Int = PopulationStability.defaultBins) throws -> JensenShannonResult {
        let ref = try SortedSample(reference, name: "reference")
        let cur = try SortedSample(current, name: "current")
        let edges = PopulationStability.quantileEdges(ref, bins: bins)
        var r = try distance(PopulationStability.proportions(ref, edges: edges), PopulationStability.proportions(cur, edges: edges))
        r.total1 = Double(ref.count)
        r.total2 = Double(cur.count)
        return r
    }
}
