import Dispatch
import Foundation

/// Why a drift test refused its input.
public enum DriftError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A sample (named) has no values.
    case emptySample(String)
    /// A sample (named) contains NaN or an infinity.
    case nonFiniteValue(String)
    /// Count vectors of different lengths, negative counts, or all-zero totals.
    case invalidCounts(String)

    public var description: String {
        switch self {
        case .emptySample(let name): return "the \(name) sample is empty"
        case .nonFiniteValue(let name): return "the \(name) sample contains NaN or an infinite value"
        case .invalidCounts(let why): return "invalid counts: \(why)"
        }
    }
}

/// A validated sample sorted ascending. Sorting is the dominant cost of KS and Mann–Whitney on
/// large samples, so it is done once (LSD radix sort on order-preserving 64-bit keys: O(n), no
/// per-element allocation) and the sorted sample can be reused by several tests.
public struct SortedSample: Sendable {
    public let values: [Double]
    public var count: Int { values.count }

    /// Validates (non-empty, finite) and sorts. `name` is used in errors ("baseline", "x", ...).
    public init(_ data: [Double], name: String = "sample") throws {
        guard !data.isEmpty else { throw DriftError.emptySample(name) }
        for v in data where !v.isFinite { throw DriftError.nonFiniteValue(name) }
        values = SortedSample.radixSorted(data)
    }

    /// Validates and sorts two samples, the two sorts running side by side (one per core).
    public static func pair(
        _ x: [Double], _ y: [Double], names: (String, String) = ("first", "second")
    ) throws -> (SortedSample, SortedSample) {
        guard !x.isEmpty else { throw DriftError.emptySample(names.0) }
        guard !y.isEmpty else { throw DriftError.emptySample(names.1) }
        for v in x where !v.isFinite { throw DriftError.nonFiniteValue(names.0) }
        for v in y where !v.isFinite { throw DriftError.nonFiniteValue(names.1) }
        if x.count + y.count < 100_000 {
            return (SortedSample(alreadySorted: radixSorted(x)), SortedSample(alreadySorted: radixSorted(y)))
        }
        let slots = SortSlots()
        DispatchQueue.concurrentPerform(iterations: 2) { t in
            if t == 0 { slots.a = radixSorted(x) } else { slots.b = radixSorted(y) }
        }
        return (SortedSample(alreadySorted: slots.a), SortedSample(alreadySorted: slots.b))
    }

    /// Wraps values the caller guarantees are finite and sorted ascending.
    public init(alreadySorted: [Double]) { values = alreadySorted }

    @inline(__always) static func key(_ v: Double) -> UInt64 {
        let b = (v + 0.0).bitPattern  // -0.0 + 0.0 == +0.0: both zeros get one key
        return (b & (1 << 63)) != 0 ? ~b : b | (1 << 63)
    }

    @inline(__always) static func value(_ k: UInt64) -> Double {
        Double(bitPattern: (k & (1 << 63)) != 0 ? k & ~(1 << 63) : ~k)
    }

    static func radixSorted(_ data: [Double]) -> [Double] {
        let n = data.count
        if n < 256 { return data.map { $0 + 0.0 }.sorted() }
        var a = [UInt64](unsafeUninitializedCapacity: n) { buf, c in
            for i in 0..<n { buf[i] = key(data[i]) }
            c = n
        }
        var b = [UInt64](repeating: 0, count: n)
        let bits = 11
        let radix = 1 << bits
        let mask = UInt64(radix - 1)
        var hist = [Int](repeating: 0, count: radix * 6)
        a.withUnsafeBufferPointer { src in
            hist.withUnsafeMutableBufferPointer { h in
                for k in src {
                    for p in 0..<6 { h[p * radix + Int((k >> UInt64(p * bits)) & mask)] += 1 }
                }
            }
        }
        var inA = true
        for p in 0..<6 {
            let base = p * radix
            // skip a pass where every key has the same digit
            var skip = false
            for d in 0..<radix where hist[base + d] != 0 {
                skip = hist[base + d] == n
                break
            }
            if skip { continue }
            var offsets = [Int](repeating: 0, count: radix)
            var sum = 0
            for d in 0..<radix {
                offsets[d] = sum
                sum += hist[base + d]
            }
            let shift = UInt64(p * bits)
            if inA {
                a.withUnsafeBufferPointer { src in
                    b.withUnsafeMutableBufferPointer { dst in
                        offsets.withUnsafeMutableBufferPointer { off in
                            for k in src {
                                let d = Int((k >> shift) & mask)
                                dst[off[d]] = k
                                off[d] += 1
                            }
                        }
                    }
                }
            } else {
                b.withUnsafeBufferPointer { src in
                    a.withUnsafeMutableBufferPointer { dst in
                        offsets.withUnsafeMutableBufferPointer { off in
                            for k in src {
                                let d = Int((k >> shift) & mask)
                                dst[off[d]] = k
                                off[d] += 1
                            }
                        }
                    }
                }
            }
            inA.toggle()
        }
        let keys = inA ? a : b
        return [Double](unsafeUninitializedCapacity: n) { buf, c in
            keys.withUnsafeBufferPointer { k in
                for i in 0..<n { buf[i] = value(k[i]) }
            }
            c = n
        }
    }
}

/// Two result slots for `SortedSample.pair`; each concurrent task writes only its own slot and
/// the caller reads them after `concurrentPerform` returns.
private final class SortSlots: @unchecked Sendable {
    var a: [Double] = []
    var b: [Double] = []
}

/// Formatting used by the verdict helpers.
enum DriftFormat {
    static func p(_ p: Double) -> String {
        if p.isNaN { return "n/a" }
        if p == 0 { return "< 1e-300" }
        if p < 1e-3 { return String(format: "%.0e", p) }
        return String(format: "%.3g", p)
    }

    static func num(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(format: "%.0f", v) }
        return String(format: "%.3g", v)
    }

    static func signed(_ v: Double) -> String { (v >= 0 ? "+" : "") + num(v) }
}
