import Foundation

/// Population Stability Index of a current sample against a reference sample.
///
/// Definition (Lantern's; scripts/gen_drift_vectors.py implements the same with numpy):
/// * 10 bins cut at the reference's deciles, `numpy.quantile(reference, [0.1, …, 0.9])` with linear
///   interpolation; duplicate edges (heavily tied data) are dropped, so there may be fewer bins.
/// * A value v falls in bin i when edge[i−1] < v ≤ edge[i] (first bin open below, last open above).
/// * Proportions pᵢ (reference) and qᵢ (current); a proportion of exactly 0 is replaced by
///   ε = 1e-4 (no renormalisation), so an empty bin contributes a large but finite term.
/// * PSI = Σ (qᵢ − pᵢ)·ln(qᵢ / pᵢ). Common reading: < 0.1 stable, 0.1–0.25 moderate shift,
///   > 0.25 major shift.
public struct PopulationStabilityResult: Sendable, Equatable {
    public var psi: Double
    /// Inner bin edges (ascending, deduplicated).
    public var edges: [Double]
    public var referenceProportions: [Double]
    public var currentProportions: [Double]
    public var referenceCount: Int
    public var currentCount: Int

    public var statistic: Double { psi }

    public func verdict(subject: String = "the candidate") -> String {
        let level = psi < 0.1 ? "stable" : psi < 0.25 ? "moderate shift" : "major shift"
        return "\(subject): PSI = \(String(format: "%.3f", psi)) (\(level); n = \(referenceCount) reference vs \(currentCount))"
    }
}

public enum PopulationStability {
    public static let defaultBins = 10
    public static let epsilon = 1e-4

    public static func test(
        reference: [Double], current: [Double], bins: Int = defaultBins, epsilon: Double = epsilon
    ) throws -> PopulationStabilityResult {
        let ref = try SortedSample(reference, name: "reference")
        let cur = try SortedSample(current, name: "current")
        return test(reference: ref, current: cur, bins: bins, epsilon: epsilon)
    }

    public static func test(
        reference ref: SortedSample, current cur: SortedSample, bins: Int = defaultBins, epsilon: Double = epsilon
    ) -> PopulationStabilityResult {
        let edges = quantileEdges(ref, bins: bins)
        let p = proportions(ref, edges: edges).map { $0 == 0 ? epsilon : $0 }
        let q = proportions(cur, edges: edges).map { $0 == 0 ? epsilon : $0 }
        var psi = 0.0
        for i in 0..<p.count { psi += (q[i] - p[i]) * log(q[i] / p[i]) }
        return PopulationStabilityResult(
            psi: psi, edges: edges, referenceProportions: p, currentProportions: q,
            referenceCount: ref.count, currentCount: cur.count)
    }

    /// numpy.quantile (method 'linear') of the sorted reference at 1/bins, …, (bins−1)/bins,
    /// deduplicated.
    static func quantileEdges(_ s: SortedSample, bins: Int) -> [Double] {
        let v = s.values
        let n = v.count
        var edges: [Double] = []
        guard bins > 1 else { return edges }
        for b in 1..<bins {
            let q = Double(b) / Double(bins)
            let pos = q * Double(n - 1)
            let lo = Int(pos.rounded(.down))
            let hi = min(lo + 1, n - 1)
            let frac = pos - Double(lo)
            // numpy's _lerp: a + (b - a) * t, switching to b - (b - a) * (1 - t) for t >= 0.5
            let a = v[lo], bb = v[hi]
            let diff = bb - a
            let e = frac >= 0.5 ? bb - diff * (1 - frac) : a + diff * frac
            if edges.last != e { edges.append(e) }
        }
        return edges
    }

    /// Proportion of the sorted sample in each bin (searchsorted side='left' semantics).
    static func proportions(_ s: SortedSample, edges: [Double]) -> [Double] {
        let v = s.values
        var counts = [Int](repeating: 0, count: edges.count + 1)
        var start = 0
        for (i, e) in edges.enumerated() {
            // count values <= e among the rest (v sorted)
            var lo = start, hi = v.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if v[mid] <= e { lo = mid + 1 } else { hi = mid }
            }
            counts[i] = lo - start
            start = lo
        }
        counts[edges.count] = v.count - start
        return counts.map { Double($0) / Double(v.count) }
    }
}
