import Foundation

/// Special functions and null distributions shared by the drift tests. Each follows the algorithm
/// scipy uses (scipy 1.17: `scipy.special`, `scipy.stats._ksstats`, `scipy.stats._stats_py`,
/// `scipy.stats._mannwhitneyu`) so that p-values agree to well within 1e-6.
public enum Distributions {

    // MARK: Normal

    /// Standard normal CDF Φ(z) (scipy.special.ndtr).
    public static func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

    /// Standard normal survival 1 − Φ(z), accurate in the upper tail.
    public static func normalSF(_ z: Double) -> Double { 0.5 * erfc(z / 2.0.squareRoot()) }

    /// Inverse of the standard normal CDF (scipy.special.ndtri): Acklam's rational approximation
    /// refined by two Halley steps (full double precision).
    public static func normalQuantile(_ p: Double) -> Double {
        if p <= 0 { return -.infinity }
        if p >= 1 { return .infinity }
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                 3.754408661907416e+00]
        let pLow = 0.02425
        var x: Double
        if p < pLow {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - pLow {
            let q = p - 0.5
            let r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log1p(-p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        for _ in 0..<2 {
            let e = (p < 0.5 ? normalCDF(x) - p : -(normalSF(x) - (1 - p)))
            let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
            x -= u / (1 + x * u / 2)
        }
        return x
    }

    // MARK: Gamma / chi-square

    /// Regularized upper incomplete gamma Q(a, x) (scipy.special.gammaincc): series for
    /// x < a + 1, Lentz continued fraction otherwise.
    public static func gammaQ(_ a: Double, _ x: Double) -> Double {
        if x.isNaN || a.isNaN || a <= 0 || x < 0 { return .nan }
        if x == 0 { return 1 }
        if x.isInfinite { return 0 }
        let lnPre = a * log(x) - x - lnGamma(a)
        if x < a + 1 {
            var sum = 1.0 / a
            var term = sum
            var ap = a
            for _ in 0..<100_000 {
                ap += 1
                term *= x / ap
                sum += term
                if abs(term) < abs(sum) * 1e-17 { break }
            }
            return max(0, 1 - sum * exp(lnPre))
        }
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        var i = 1.0
        while i < 100_000 {
            let an = -i * (i - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
            i += 1
        }
        return exp(lnPre) * h
    }

    /// Chi-square survival function with `dof` degrees of freedom (scipy.stats.chi2.sf).
    public static func chiSquareSF(_ x: Double, dof: Int) -> Double {
        if dof <= 0 { return .nan }
        if x <= 0 { return 1 }
        return gammaQ(Double(dof) / 2, x / 2)
    }

    // MARK: Kolmogorov

    /// Limiting Kolmogorov distribution survival P(K > y) (scipy.special.kolmogorov).
    public static func kolmogorovSF(_ y: Double) -> Double {
        if y <= 0 { return 1 }
        if y < 0.3 {
            // small y: 1 - sqrt(2π)/y Σ exp(-(2k-1)²π²/(8y²))
            let w = -Double.pi * Double.pi / (8 * y * y)
            var s = 0.0
            var k = 1.0
            while k < 1000 {
                let t = exp(w * (2 * k - 1) * (2 * k - 1))
                s += t
                if t < 1e-17 * s { break }
                k += 1
            }
            return 1 - (2 * Double.pi).squareRoot() / y * s
        }
        var p = 0.0
        var sign = 1.0
        var r = 1.0
        while r < 1000 {
            let t = exp(-2 * y * y * r * r)
            p += sign * t
            if t == 0 || t / abs(p) <= 1.1e-16 { break }
            r += 1
            sign = -sign
        }
        return min(1, max(0, 2 * p))
    }

    /// One-sided Smirnov survival P(D⁺ₙ ≥ d) by the Birnbaum–Tingey sum, evaluated in log space
    /// (scipy.special.smirnov computes the same exact sum).
    public static func smirnovSF(n: Int, d: Double) -> Double {
        if d <= 0 { return 1 }
        if d >= 1 { return 0 }
        let nd = Double(n)
        let last = Int((nd * (1 - d)).rounded(.down))
        let lgn1 = lnGamma(nd + 1)
        var sum = 0.0
        var maxTerm = 0.0
        for j in 0...last {
            let jd = Double(j)
            let a = d + jd / nd
            let b = 1 - d - jd / nd
            var lt = lgn1 - lnGamma(jd + 1) - lnGamma(nd - jd + 1) + (jd - 1) * log(a) + log(d)
            if n - j > 0 {
                if b <= 0 { continue }
                lt += (nd - jd) * log(b)
            }
            let t = exp(lt)
            sum += t
            if t > maxTerm { maxTerm = t } else if t < 1e-18 * sum && j > 10 { break }
        }
        return min(1, max(0, sum))
    }

    private static let stirling: [Double] = [
        -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3,
        8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4,
        -2.7777777777777777778e-3, 8.3333333333333333333e-2,
    ]

    private static func logNFactorialOverNPowN(_ n: Double) -> Double {
        let rn = 1 / n
        var poly = 0.0
        for c in stirling { poly = poly * (rn / n) + c }
        return log(n) / 2 - n + log(2 * Double.pi) / 2 + rn * poly
    }

    /// Survival function of the exact two-sided one-sample Kolmogorov–Smirnov statistic,
    /// P(Dₙ ≥ x) (scipy.stats.kstwo.sf, Simard & L'Ecuyer 2011 as scipy implements it:
    /// Ruben–Gambino at the ends, 2·smirnov for x ≥ 0.5 or large n·x², the Durbin matrix
    /// (Marsaglia–Tsang–Wang) or Pomeranz for small n, Pelz–Good otherwise). Pomeranz is replaced
    /// by the Durbin matrix, which is exact as well.
    public static func kolmogorovSmirnovSF(n: Int, x: Double) -> Double {
        if n <= 0 || x.isNaN { return .nan }
        if x >= 1 { return 0 }
        if x <= 0 { return 1 }
        let nd = Double(n)
        let t = nd * x
        if t <= 1 {
            if t <= 0.5 { return 1 }
            var prob = 1.0
            if n <= 140 {
                for i in 1...n { prob *= Double(i) / nd * (2 * t - 1) }
            } else {
                prob = exp(logNFactorialOverNPowN(nd) + nd * log(2 * t - 1))
            }
            return clip(1 - prob)
        }
        if t >= nd - 1 { return clip(2 * pow(1 - x, nd)) }
        if x >= 0.5 { return clip(2 * smirnovSF(n: n, d: x)) }
        let nxx = t * x
        if n <= 140 {
            if nxx <= 4 { return clip(1 - durbinMatrixCDF(n: n, d: x)) }
            return clip(2 * smirnovSF(n: n, d: x))
        }
        if nxx >= 370 { return 0 }
        if nxx >= 2.2 { return clip(2 * smirnovSF(n: n, d: x)) }
        let cdf: Double
        if nxx >= 18 {
            cdf = 1
        } else if n <= 100_000 && nd * pow(x, 1.5) <= 1.4 {
            cdf = durbinMatrixCDF(n: n, d: x)
        } else {
            cdf = pelzGoodCDF(n: n, x: x)
        }
        return clip(1 - cdf)
    }

    @inline(__always) static func clip(_ p: Double) -> Double { min(1, max(0, p)) }

    /// P(Dₙ ≤ d) by the Durbin matrix method (Marsaglia, Tsang & Wang 2003), as scipy's
    /// `_kolmogn_DMTW`.
    static func durbinMatrixCDF(n: Int, d: Double) -> Double {
        if d >= 1 { return 1 }
        let nd = Double(n) * d
        if nd <= 0.5 { return 0 }
        let k = Int(nd.rounded(.up))
        let h = Double(k) - nd
        let m = 2 * k - 1
        var H = [Double](repeating: 0, count: m * m)
        var v = [Double](repeating: 0, count: m)
        var w = [Double](repeating: 0, count: m)
        var fac = 1.0
        for j in 1...m {
            w[j - 1] = fac
            fac /= Double(j)
            v[j - 1] = (1 - pow(h, Double(j))) * fac
        }
        let tt = pow(max(2 * h - 1, 0), Double(m)) - 2 * pow(h, Double(m))
        v[m - 1] = (1 + tt) * fac
        if m > 1 {
            for i in 1..<m {
                for r in (i - 1)..<m { H[r * m + i] = w[r - (i - 1)] }
            }
        }
        for r in 0..<m { H[r * m] = v[r] }
        for c in 0..<m { H[(m - 1) * m + c] = v[m - 1 - c] }

        func matmul(_ A: [Double], _ B: [Double]) -> [Double] {
            var C = [Double](repeating: 0, count: m * m)
            for i in 0..<m {
                for l in 0..<m {
                    let a = A[i * m + l]
                    if a == 0 { continue }
                    for j in 0..<m { C[i * m + j] += a * B[l * m + j] }
                }
            }
            return C
        }
        var P = [Double](repeating: 0, count: m * m)
        for i in 0..<m { P[i * m + i] = 1 }
        var nn = n
        var expnt = 0
        var hExpnt = 0
        let ep128 = 0x1p128
        while nn > 0 {
            if nn % 2 == 1 {
                P = matmul(P, H)
                expnt += hExpnt
            }
            H = matmul(H, H)
            hExpnt *= 2
            if abs(H[(k - 1) * m + (k - 1)]) > ep128 {
                for i in 0..<(m * m) { H[i] /= ep128 }
                hExpnt += 128
            }
            nn /= 2
        }
        var p = P[(k - 1) * m + (k - 1)]
        let nD = Double(n)
        for i in 1...n {
            p = Double(i) * p / nD
            if abs(p) < 0x1p-128 {
                p *= ep128
                expnt -= 128
            }
        }
        if expnt != 0 { p = Double(sign: .plus, exponent: expnt, significand: p) }
        return clip(p)
    }

    /// Pelz–Good approximation of P(Dₙ ≤ x) (scipy's `_kolmogn_PelzGood`).
    static func pelzGoodCDF(n: Int, x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let nd = Double(n)
        let z = nd.squareRoot() * x
        let z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2
        let pi2 = Double.pi * Double.pi, pi4 = pi2 * pi2, pi6 = pi4 * pi2
        let qlog = -pi2 / 8 / z2
        if qlog < -708 { return 0 }
        var q = exp(qlog)
        let k1a = -z2, k1b = pi2 / 4
        let k2a = 6 * z6 + 2 * z4
        let k2b = (2 * z4 - 5 * z2) * pi2 / 4
        let k2c = pi4 * (1 - 2 * z2) / 16
        let k3d = pi6 * (5 - 30 * z2) / 64
        let k3c = pi4 * (-60 * z2 + 212 * z4) / 16
        let k3b = pi2 * (135 * z4 - 96 * z6) / 4
        let k3a = -30 * z6 - 90 * z4 * z4
        var K = [0.0, 0.0, 0.0, 0.0]
        let maxk = Int((16 * z / Double.pi).rounded(.up))
        if maxk >= 1 {
            for k in stride(from: maxk, through: 1, by: -1) {
                let m = Double(2 * k - 1)
                let m2 = m * m, m4 = m2 * m2, m6 = m4 * m2
                let qp = pow(q, 8 * Double(k))
                let coeffs = [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                              k3a + k3b * m2 + k3c * m4 + k3d * m6]
                for i in 0..<4 { K[i] = K[i] * qp + coeffs[i] }
            }
        }
        let s2pi = (2 * Double.pi).squareRoot()
        for i in 0..<4 { K[i] *= q * s2pi }
        K[0] /= z
        K[1] /= 6 * z4
        K[2] /= 72 * pow(z, 7)
        K[3] /= 6480 * pow(z, 10)
        q = exp(-pi2 / 2 / z2)
        var k2extra = 0.0, k3extra = 0.0
        let sqrt3z = 3.0.squareRoot() * z
        if maxk >= 1 {
            for k in stride(from: maxk, through: 1, by: -1) {
                let kd = Double(k)
                let ks = kd * kd
                let qp = pow(q, ks)
                k2extra += ks * qp
                let kspi = Double.pi * kd
                k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks * qp
            }
        }
        k2extra *= pi2 * s2pi / (-36 * z3)
        K[2] += k2extra
        k3extra *= pi2 * s2pi / (216 * z6)
        K[3] += k3extra
        for i in 0..<4 { K[i] /= pow(nd, Double(i) / 2) }
        return K[0] + K[1] + K[2] + K[3]
    }

    // MARK: Two-sample Kolmogorov–Smirnov, exact

    /// Pr(D_{n,n} ≥ h/n) for two samples of equal size n (scipy `_compute_prob_outside_square`).
    static func ksProbOutsideSquare(n: Int, h: Int) -> Double {
        var P = 0.0
        var k = n / h
        while k >= 0 {
            var p1 = 1.0
            for j in 0..<h {
                p1 = Double(n - k * h - j) * p1 / Double(n + k * h + j + 1)
            }
            P = p1 * (1 - P)
            k -= 1
        }
        return 2 * P
    }

    /// Proportion of lattice paths from (0,0) to (m,n) that leave the band |x/m − y/n| < h/lcm
    /// (scipy `_compute_outer_prob_inside_method`, Hodges' inside method with Viehmann's 1 − p
    /// recursion).
    static func ksOuterProbInside(m m0: Int, n n0: Int, g: Int, h: Int) -> Double {
        var m = m0, n = n0
        if m < n { swap(&m, &n) }
        let mg = m / g
        let ng = n / g
        var minj = 0
        var maxj = min(Int((Double(h) / Double(mg)).rounded(.up)), n + 1)
        var curlen = maxj - minj
        let lenA = min(2 * maxj + 2, n + 1)
        var A = [Double](repeating: 1, count: lenA)
        for j in minj..<maxj where j < lenA { A[j] = 0 }
        for i in 1...m {
            let lastminj = minj
            let lastlen = curlen
            minj = max(Int(floorDiv(ng * i - h, mg)) + 1, 0)
            minj = min(minj, n)
            maxj = min(ceilDiv(ng * i + h, mg), n + 1)
            if maxj <= minj { return 1 }
            var val = minj == 0 ? 0.0 : 1.0
            let di = Double(i)
            for jj in 0..<(maxj - minj) {
                let j = jj + minj
                val = (A[jj + minj - lastminj] * di + val * Double(j)) / (di + Double(j))
                A[jj] = val
            }
            curlen = maxj - minj
            if lastlen > curlen {
                let lo = maxj - minj
                let hi = min(lo + (lastlen - curlen), lenA)
                if lo < hi { for t in lo..<hi { A[t] = 1 } }
            }
        }
        return A[maxj - minj - 1]
    }

    @inline(__always) static func floorDiv(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q
    }

    @inline(__always) static func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }

    // MARK: Mann–Whitney U, exact

    /// P(U ≥ u) under the null for sample sizes n1, n2 without ties (scipy `_MWU.sf`): the
    /// frequencies come from the same recursion scipy uses (Löffler / @toobaz sigma array).
    static func mannWhitneyExactSF(u: Int, n1 a: Int, n2 b: Int) -> Double {
        let n1 = min(a, b), n2 = max(a, b)
        let total = n1 * n2
        let kc = total - u
        if u < kc {
            // 1 - cdf(u) + pmf(u)
            let f = mwuFrequencies(maxu: u, n1: n1, n2: n2)
            var c = 0.0
            for i in 0...u { c += f[i] }
            return 1 - c + f[u]
        } else {
            let f = mwuFrequencies(maxu: kc, n1: n1, n2: n2)
            var c = 0.0
            for i in 0...kc { c += f[i] }
            return c
        }
    }

    /// Probabilities P(U = k) for k = 0...maxu (n1 ≤ n2, maxu ≤ n1·n2/2).
    static func mwuFrequencies(maxu: Int, n1: Int, n2: Int) -> [Double] {
        var s = [Int](repeating: 0, count: maxu + 1)
        if maxu >= 1 {
            for d in 1...max(1, n1) where d <= maxu && n1 >= 1 {
                var i = d
                while i <= maxu { s[i] += d; i += d }
            }
            if n2 + 1 <= n2 + n1 {
                for d in (n2 + 1)...(n2 + n1) where d <= maxu {
                    var i = d
                    while i <= maxu { s[i] -= d; i += d }
                }
            }
        }
        var conf = [Double](repeating: 0, count: maxu + 1)
        conf[0] = 1
        if maxu >= 1 {
            let sd = s.map(Double.init)
            conf.withUnsafeMutableBufferPointer { c in
                sd.withUnsafeBufferPointer { sb in
                    for u in 1...maxu {
                        var acc = 0.0
                        for j in 0..<u { acc += c[j] * sb[u - j] }
                        c[u] = acc / Double(u)
                    }
                }
            }
        }
        var total = 1.0  // binom(n1 + n2, n1)
        if n1 >= 1 { for i in 1...n1 { total = total * Double(n2 + i) / Double(i) } }
        return conf.map { $0 / total }
    }
}

/// ln Γ(x) (the C library's lgamma; the annotation picks the Double overload over Glibc's tuple one).
@inline(__always) func lnGamma(_ x: Double) -> Double {
    let v: Double = lgamma(x)
    return v
}
