import Foundation

/// Two-sample Kolmogorov–Smirnov test, two-sided, matching `scipy.stats.ks_2samp(x, y)`.
///
/// Statistic D = max |F_x − F_y| over all data values (ECDFs evaluated with `side='right'`),
/// found by one merge walk over the two sorted samples. p-value as scipy's `method='auto'`:
/// exact when max(n1, n2) ≤ 10 000 (equal sizes: `_compute_prob_outside_square`; otherwise
/// Hodges' inside method `_compute_outer_prob_inside_method`), else asymptotic, which in scipy
/// is `kstwo.sf(D, round(n1·n2/(n1+n2)))` — the exact one-sample distribution at the effective
/// size, not the limiting Kolmogorov distribution. An exact computation that fails (non-finite
/// or outside [0, 1]) or whose lcm(n1, n2) exceeds int32 falls back to asymptotic, as in scipy.
public struct KolmogorovSmirnovResult: Sendable, Equatable {
    public enum Method: String, Sendable { case auto, exact, asymptotic }

    public var statistic: Double
    public var pValue: Double
    /// The method actually used (never `.auto`).
    public var method: Method
    public var n1: Int
    public var n2: Int
    /// +1 when the first sample's ECDF is above the second's at the maximum (the first sample
    /// tends to be smaller), −1 otherwise (scipy's `statistic_sign`).
    public var sign: Int
    /// Where the maximum distance occurs (scipy's `statistic_location`).
    public var location: Double

    /// e.g. "distributions differ (KS D = 0.12, p = 3e-09, n = 5000 vs 5200)".
    public func verdict(alpha: Double = 0.05, labels: (String, String) = ("baseline", "candidate")) -> String {
        let what = pValue < alpha ? "distributions differ" : "no detectable difference in distribution"
        return "\(what) (KS D = \(String(format: "%.3g", statistic)), p = \(DriftFormat.p(pValue)), n = \(n1) \(labels.0) vs \(n2) \(labels.1))"
    }
}

public enum KolmogorovSmirnov {
    /// scipy's MAX_AUTO_N.
    public static let maxAutoExactN = 10_000

    public static func test(
        _ x: [Double], _ y: [Double], method: KolmogorovSmirnovResult.Method = .auto
    ) throws -> KolmogorovSmirnovResult {
        let (xs, ys) = try SortedSample.pair(x, y)
        return test(xs, ys, method: method)
    }

    public static func test(
        _ xs: SortedSample, _ ys: SortedSample, method requested: KolmogorovSmirnovResult.Method = .auto
    ) -> KolmogorovSmirnovResult {
        let x = xs.values, y = ys.values
        let n1 = x.count, n2 = y.count
        let dn1 = Double(n1), dn2 = Double(n2)
        var maxS = -Double.infinity, minDiff = Double.infinity
        var maxLoc = 0.0, minLoc = 0.0
        x.withUnsafeBufferPointer { a in
            y.withUnsafeBufferPointer { b in
                var i = 0, j = 0
                while i < n1 || j < n2 {
                    let v: Double
                    if j >= n2 || (i < n1 && a[i] <= b[j]) { v = a[i] } else { v = b[j] }
                    while i < n1 && a[i] == v { i += 1 }
                    while j < n2 && b[j] == v { j += 1 }
                    let diff = Double(i) / dn1 - Double(j) / dn2
                    if diff > maxS { maxS = diff; maxLoc = v }
                    if diff < minDiff { minDiff = diff; minLoc = v }
                }
            }
        }
        let minS = min(1, max(0, -minDiff))
        var d: Double
        var sign = 1
        var location = maxLoc
        if minS > maxS {
            d = minS; sign = -1; location = minLoc
        } else {
            d = maxS
        }
        let g = gcd(n1, n2)
        let n1g = n1 / g, n2g = n2 / g
        var method = requested
        if method == .auto { method = max(n1, n2) <= maxAutoExactN ? .exact : .asymptotic }
        if method == .exact && Double(n1g) >= Double(Int32.max) / Double(n2g) { method = .asymptotic }
        var prob = Double.nan
        if method == .exact {
            let lcm = Double(n1g) * Double(n2)
            let h = (d * lcm).rounded(.toNearestOrEven)
            d = h / lcm
            if h == 0 {
                prob = 1
            } else {
                let p = n1 == n2
                    ? Distributions.ksProbOutsideSquare(n: n1, h: Int(h))
                    : Distributions.ksOuterProbInside(m: n1, n: n2, g: g, h: Int(h))
                if p.isFinite && p >= 0 && p <= 1 { prob = p } else { method = .asymptotic }
            }
        }
        if method == .asymptotic {
            let m = max(dn1, dn2), n = min(dn1, dn2)
            let en = m * n / (m + n)
            prob = Distributions.kolmogorovSmirnovSF(n: Int(en.rounded(.toNearestOrEven)), x: d)
        }
        if !prob.isNaN { prob = min(1, max(0, prob)) }
        return KolmogorovSmirnovResult(
            statistic: d, pValue: prob, method: method, n1: n1, n2: n2, sign: sign, location: location)
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var a = a, b = b
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
