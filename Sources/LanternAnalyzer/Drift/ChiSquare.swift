import Foundation

/// Chi-square test of homogeneity on a 2×k table of category counts (baseline row, candidate
/// row), matching `scipy.stats.chi2_contingency(table)` with its default Yates continuity
/// correction, which scipy applies only when dof == 1 (a 2×2 table). Columns that are zero in both
/// rows are dropped first (scipy would reject a zero expected count); with fewer than two
/// categories left the result is statistic 0, p = 1, dof 0.
public struct ChiSquareResult: Sendable, Equatable {
    public var statistic: Double
    public var pValue: Double
    public var dof: Int
    public var n1: Int
    public var n2: Int
    /// Categories kept (non-zero in at least one row), in input order, when names were given.
    public var categories: [String]

    public func verdict(alpha: Double = 0.05, subject: String = "the mix") -> String {
        let what = pValue < alpha ? "\(subject) differs" : "no significant difference in \(subject)"
        return "\(what): χ² = \(String(format: "%.3g", statistic)), dof = \(dof), p = \(DriftFormat.p(pValue)) (n = \(n1) vs \(n2))"
    }
}

public enum ChiSquare {
    public static func test(_ a: [Double], _ b: [Double], categories: [String] = []) throws -> ChiSquareResult {
        guard a.count == b.count else { throw DriftError.invalidCounts("rows of different lengths (\(a.count) and \(b.count))") }
        guard !a.isEmpty else { throw DriftError.emptySample("first") }
        for v in a + b where !v.isFinite || v < 0 { throw DriftError.invalidCounts("a count is negative or not finite") }
        var ra: [Double] = [], rb: [Double] = [], names: [String] = []
        for i in 0..<a.count where a[i] + b[i] > 0 {
            ra.append(a[i]); rb.append(b[i])
            if i < categories.count { names.append(categories[i]) }
        }
        let ta = ra.reduce(0, +), tb = rb.reduce(0, +)
        guard ta > 0, tb > 0 else { throw DriftError.invalidCounts("a row has zero total") }
        let k = ra.count
        if k < 2 {
            return ChiSquareResult(statistic: 0, pValue: 1, dof: 0, n1: Int(ta), n2: Int(tb), categories: names)
        }
        let total = ta + tb
        let dof = k - 1
        var stat = 0.0
        for (row, rowTotal) in [(ra, ta), (rb, tb)] {
            for j in 0..<k {
                let colTotal = ra[j] + rb[j]
                let expected = rowTotal * colTotal / total
                var observed = row[j]
                if dof == 1 {
                    let diff = expected - observed
                    let mag = min(0.5, abs(diff))
                    observed += diff > 0 ? mag : diff < 0 ? -mag : 0
                }
                let dd = observed - expected
                stat += dd * dd / expected
            }
        }
        let p = Distributions.chiSquareSF(stat, dof: dof)
        return ChiSquareResult(statistic: stat, pValue: p, dof: dof, n1: Int(ta), n2: Int(tb), categories: names)
    }

    /// Counts keyed by category (finish reason, error type, …); missing keys count 0.
    public static func test(_ a: [String: Int], _ b: [String: Int]) throws -> ChiSquareResult {
        let keys = Array(Set(a.keys).union(b.keys)).sorted()
        return try test(keys.map { Double(a[$0] ?? 0) }, keys.map { Double(b[$0] ?? 0) }, categories: keys)
    }
}
