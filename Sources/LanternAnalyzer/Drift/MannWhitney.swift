import Dispatch
import Foundation

/// Mann–Whitney U test, two-sided, matching `scipy.stats.mannwhitneyu(x, y)` (use_continuity=True),
/// with the Hodges–Lehmann shift estimate and its confidence interval.
///
/// * U is U1, the statistic of the first sample: Σ over x of (#y < x + ½·#y == x), computed by one
///   merge walk over the sorted samples (mid-ranks for ties).
/// * p-value, scipy's `method='auto'`: exact when there are no ties and not both n1 > 8 and n2 > 8
///   (P(U ≥ max(U1, U2)) × 2 from the exact null distribution, scipy's recursion); otherwise the
///   normal approximation with tie correction σ² = n1·n2/12 · ((n+1) − Σ(t³−t)/(n(n−1))) and
///   continuity correction z = (max(U1,U2) − n1·n2/2 − ½)/σ, p = 2·Φ(−z), clipped to [0, 1].
///   The exact recursion is O(u²) in u = min(U1, U2); above `exactLimit` the asymptotic p-value is
///   used instead (a documented departure from scipy, which has no such limit).
/// * Hodges–Lehmann shift = median of all n1·n2 differences xᵢ − yⱼ (numpy.median semantics: mean
///   of the two middle values when n1·n2 is even). Positive: the first sample tends to be larger.
/// * Confidence interval (Hollander & Wolfe, "Nonparametric Statistical Methods", §4.3, normal
///   approximation of the null distribution of U, without tie correction):
///   C = round(n1·n2/2 − z_{1−α/2}·√(n1·n2·(n1+n2+1)/12)), clamped to [1, n1·n2];
///   CI = [D₍C₎, D₍n1·n2+1−C₎] where D₍k₎ is the k-th smallest difference. scripts/gen_drift_vectors.py
///   computes the same definition by brute force with numpy and the tests compare.
/// * The order statistics D₍k₎ are found without forming the n1·n2 differences: a selection in
///   the implicit sorted matrix xᵢ − yⱼ (rows and columns monotone). Each row keeps an active
///   column range; each round draws 16384 random active entries, takes two sample quantiles that
///   bracket the target rank, counts how many differences are below each (two-pointer walk,
///   O(n1+n2)) and shrinks every row's range to the bracket — a sampling variant of Monahan's
///   (1984) algorithm. A round typically keeps ~2% of the remaining candidates, so about
///   log₅₀(n1·n2 / (n1+n2)) rounds of O(n1+n2) remain before the survivors (≤ n1+n2) are
///   gathered and selected directly: O((n1+n2)·log(n1·n2)) overall.
public struct MannWhitneyResult: Sendable, Equatable {
    public enum Method: String, Sendable { case auto, exact, asymptotic }

    /// U1, the U statistic of the first sample (scipy's `statistic`).
    public var statistic: Double
    public var pValue: Double
    public var method: Method
    public var n1: Int
    public var n2: Int
    /// z of the normal approximation (with continuity correction), NaN when exact.
    public var z: Double
    /// Hodges–Lehmann estimate of the shift first − second; nil when not requested.
    public var shift: Double?
    public var shiftLower: Double?
    public var shiftUpper: Double?
    public var confidence: Double

    /// Probability that a random value of the first sample exceeds one of the second (ties ½).
    public var commonLanguageEffect: Double { statistic / (Double(n1) * Double(n2)) }

    /// e.g. "the candidate's TTFT is higher: shift +42 ms (95% CI 30..55), p = 3e-09".
    /// The first sample is taken as `subject` (the candidate), the second as the reference.
    public func verdict(subject: String = "the candidate's value", unit: String = "", alpha: Double = 0.05) -> String {
        let u = unit.isEmpty ? "" : " \(unit)"
        let direction: String
        if pValue >= alpha {
            direction = "\(subject) shows no significant shift"
        } else if let s = shift, s != 0 {
            direction = "\(subject) is \(s > 0 ? "higher" : "lower")"
        } else {
            direction = "\(subject) differs (\(commonLanguageEffect > 0.5 ? "higher" : "lower") more often)"
        }
        var text = direction
        if let s = shift, let lo = shiftLower, let hi = shiftUpper {
            text += ": shift \(DriftFormat.signed(s))\(u) (\(DriftFormat.num(confidence * 100))% CI \(DriftFormat.num(lo))..\(DriftFormat.num(hi))\(u))"
        }
        return text + ", p = \(DriftFormat.p(pValue))"
    }
}

public enum MannWhitney {
    /// Largest min(U1, U2) for which the exact p-value is computed (the recursion is O(u²)).
    public static let exactLimit = 20_000

    public static func test(
        _ x: [Double], _ y: [Double], method: MannWhitneyResult.Method = .auto,
        hodgesLehmann: Bool = true, confidence: Double = 0.95
    ) throws -> MannWhitneyResult {
        let (xs, ys) = try SortedSample.pair(x, y)
        return test(xs, ys, method: method, hodgesLehmann: hodgesLehmann, confidence: confidence)
    }

    public static func test(
        _ xs: SortedSample, _ ys: SortedSample, method requested: MannWhitneyResult.Method = .auto,
        hodgesLehmann: Bool = true, confidence: Double = 0.95
    ) -> MannWhitneyResult {
        let x = xs.values, y = ys.values
        let n1 = x.count, n2 = y.count
        var u1 = 0.0
        var tieTerm = 0.0
        var hasTies = false
        x.withUnsafeBufferPointer { a in
            y.withUnsafeBufferPointer { b in
                var i = 0, j = 0
                while i < n1 || j < n2 {
                    let v: Double
                    if j >= n2 || (i < n1 && a[i] <= b[j]) { v = a[i] } else { v = b[j] }
                    let i0 = i, j0 = j
                    while i < n1 && a[i] == v { i += 1 }
                    while j < n2 && b[j] == v { j += 1 }
                    let cx = i - i0, cy = j - j0
                    if cx > 0 { u1 += Double(cx) * (Double(j0) + Double(cy) / 2) }
                    let t = Double(cx + cy)
                    if cx + cy > 1 {
                        hasTies = true
                        tieTerm += t * t * t - t
                    }
                }
            }
        }
        let nn = Double(n1) * Double(n2)
        let u2 = nn - u1
        let u = max(u1, u2)
        var method = requested
        if method == .auto { method = (n1 > 8 && n2 > 8) || hasTies ? .asymptotic : .exact }
        // scipy truncates a tied (half-integer) U to an integer when exact is requested explicitly
        if method == .exact && nn - u > Double(exactLimit) { method = .asymptotic }
        var p: Double
        var z = Double.nan
        if method == .exact {
            p = 2 * Distributions.mannWhitneyExactSF(u: Int(u.rounded(.towardZero)), n1: n1, n2: n2)
        } else {
            let mu = nn / 2
            let n = Double(n1 + n2)
            let s = (nn / 12 * ((n + 1) - tieTerm / (n * (n - 1)))).squareRoot()
            z = (u - mu - 0.5) / s
            p = 2 * Distributions.normalSF(z)
        }
        p = min(1, max(0, p))
        var result = MannWhitneyResult(
            statistic: u1, pValue: p, method: method, n1: n1, n2: n2, z: z,
            shift: nil, shiftLower: nil, shiftUpper: nil, confidence: confidence)
        if hodgesLehmann {
            let hl = HodgesLehmann.estimate(xs, ys, confidence: confidence)
            result.shift = hl.shift
            result.shiftLower = hl.lower
            result.shiftUpper = hl.upper
        }
        return result
    }
}

/// Hodges–Lehmann two-sample shift (median of xᵢ − yⱼ) and its Hollander–Wolfe confidence
/// interval, by selection in the implicit matrix of differences (see `MannWhitneyResult`).
public enum HodgesLehmann {
    public static func estimate(
        _ xs: SortedSample, _ ys: SortedSample, confidence: Double = 0.95
    ) -> (shift: Double, lower: Double, upper: Double) {
        let sel = PairwiseDifferences(x: xs.values, y: ys.values)
        let n1 = xs.count, n2 = ys.count
        let total = n1 * n2
        let zq = Distributions.normalQuantile(1 - (1 - confidence) / 2)
        let nn = Double(n1) * Double(n2)
        let cReal = nn / 2 - zq * (nn * Double(n1 + n2 + 1) / 12).squareRoot()
        var c = Int(cReal.rounded(.toNearestOrEven))
        c = min(max(c, 1), total)
        // Three independent selections (median, lower and upper CI ranks), run side by side.
        let ranks = [total % 2 == 1 ? total / 2 + 1 : total / 2, c, total + 1 - c]
        let out = UnsafeMutableBufferPointer<Double>.allocate(capacity: 3)
        defer { out.deallocate() }
        let box = ResultBox(out)
        DispatchQueue.concurrentPerform(iterations: 3) { t in
            box.buffer[t] = sel.select(ranks[t])
        }
        var shift = out[0]
        if total % 2 == 0 {
            // numpy.median: mean of the two middle values; the upper one is the next value after
            // the lower one, found in one pass.
            shift = (shift + sel.successor(of: shift, rank: total / 2)) / 2
        }
        let lower = out[1], upper = out[2]
        return (shift, lower, upper)
    }
}

/// k-th smallest of xᵢ − yⱼ for sorted x, y without materialising the n1·n2 differences.
/// Internally the matrix is M[i][j] = x[i] + w[j] with w = −y reversed (ascending), so rows and
/// columns are both non-decreasing.
struct PairwiseDifferences {
    let x: [Double]
    let w: [Double]

    init(x: [Double], y: [Double]) {
        self.x = x
        self.w = y.reversed().map { -$0 }
    }

    /// For each row i, the number of columns j with x[i] + w[j] < v (into `lt`) and ≤ v (into
    /// `le`); returns both totals. One two-pointer walk: both boundaries only move left as i grows.
    private func countBelow(_ v: Double, lt: inout [Int], le: inout [Int]) -> (lt: Int, le: Int) {
        let n = x.count, m = w.count
        var totalLT = 0, totalLE = 0
        x.withUnsafeBufferPointer { xb in
            w.withUnsafeBufferPointer { wb in
                lt.withUnsafeMutableBufferPointer { pl in
                    le.withUnsafeMutableBufferPointer { pe in
                        var jl = m, je = m
                        for i in 0..<n {
                            let xi = xb[i]
                            while je > 0 && xi + wb[je - 1] > v { je -= 1 }
                            if jl > je { jl = je }
                            while jl > 0 && xi + wb[jl - 1] >= v { jl -= 1 }
                            pl[i] = jl
                            pe[i] = je
                            totalLT += jl
                            totalLE += je
                        }
                    }
                }
            }
        }
        return (totalLT, totalLE)
    }

    /// The (k+1)-th smallest difference given that `v` is the k-th.
    func successor(of v: Double, rank k: Int) -> Double {
        var lt = [Int](repeating: 0, count: x.count), le = lt
        let (_, cLE) = countBelow(v, lt: &lt, le: &le)
        if cLE >= k + 1 { return v }
        var best = Double.infinity
        for i in 0..<x.count where le[i] < w.count { best = min(best, x[i] + w[le[i]]) }
        return best
    }

    /// k is 1-based, 1 ≤ k ≤ n1·n2.
    func select(_ k: Int) -> Double {
        let n = x.count, m = w.count
        var lo = [Int](repeating: 0, count: n)   // active columns of row i: lo[i] ..< hi[i]
        var hi = [Int](repeating: m, count: n)
        var posLT = [Int](repeating: 0, count: n)
        var posLE = [Int](repeating: 0, count: n)
        var rng = SplitMix64(seed: 0x5EED_1234 &+ UInt64(k))
        let gatherLimit = n + m + 4096
        var prefix = [Int](repeating: 0, count: n + 1)
        while true {
            var active = 0
            var below = 0
            for i in 0..<n {
                prefix[i] = active
                active += hi[i] - lo[i]
                below += lo[i]
            }
            prefix[n] = active
            let kLocal = k - below  // rank among the active entries
            if active <= gatherLimit {
                var buf = [Double]()
                buf.reserveCapacity(active)
                for i in 0..<n where hi[i] > lo[i] {
                    let xi = x[i]
                    for j in lo[i]..<hi[i] { buf.append(xi + w[j]) }
                }
                return quickselect(&buf, kLocal - 1)
            }
            // sample active entries
            let s = 16384
            var sample = [Double]()
            sample.reserveCapacity(s)
            for _ in 0..<s {
                let r = Int(rng.next() % UInt64(active))
                // row with prefix[i] <= r < prefix[i+1]
                var a = 0, b = n
                while b - a > 1 {
                    let mid = (a + b) / 2
                    if prefix[mid] <= r { a = mid } else { b = mid }
                }
                let j = lo[a] + (r - prefix[a])
                sample.append(x[a] + w[j])
            }
            sample.sort()
            let f = Double(kLocal) / Double(active) * Double(s)
            let margin = 2.5 * Double(s).squareRoot() * 0.5 + 2
            let iLo = Int(f - margin), iHi = Int(f + margin)
            if iLo >= 0 {
                let v = sample[min(iLo, s - 1)]
                let (cLT, cLE) = countBelow(v, lt: &posLT, le: &posLE)
                if k <= cLT {
                    for i in 0..<n { hi[i] = min(hi[i], posLT[i]) }
                } else if k <= cLE {
                    return v
                } else {
                    for i in 0..<n { lo[i] = max(lo[i], posLE[i]) }
                }
            }
            if iHi < s {
                let v = sample[max(iHi, 0)]
                let (cLT, cLE) = countBelow(v, lt: &posLT, le: &posLE)
                if k > cLE {
                    for i in 0..<n { lo[i] = max(lo[i], posLE[i]) }
                } else if k > cLT {
                    return v
                } else {
                    for i in 0..<n { hi[i] = min(hi[i], posLT[i]) }
                }
            }
            for i in 0..<n where hi[i] < lo[i] { hi[i] = lo[i] }
        }
    }

    private func quickselect(_ a: inout [Double], _ k: Int) -> Double {
        var left = 0, right = a.count - 1
        var rng = SplitMix64(seed: 42)
        while left < right {
            let pivot = a[left + Int(rng.next() % UInt64(right - left + 1))]
            var i = left, j = right
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j { right = j } else if k >= i { left = i } else { return a[k] }
        }
        return a[k]
    }
}

/// Hands the three selection results out of `concurrentPerform`; each task writes its own slot.
final class ResultBox: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Double>
    init(_ buffer: UnsafeMutableBufferPointer<Double>) { self.buffer = buffer }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
