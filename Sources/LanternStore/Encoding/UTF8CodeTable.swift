import Foundation

/// Dictionary codes for strings keyed by their exact UTF-8 bytes (two spellings that Swift's `==`
/// finds canonically equal get two codes, so every value reads back byte for byte). An
/// open-addressing table over a byte arena with a cheap word-at-a-time hash: encoding a column
/// hashes every row, and `Dictionary<String, _>` (SipHash, Unicode-aware equality) cost several
/// times more per row.
struct UTF8CodeTable {
    /// The distinct strings, in first-seen order; code k is values[k - 1].
    private(set) var values: [String] = []
    private var bytes: [UInt8] = []
    private var offsets: [Int] = [0]
    private var slotHash: [UInt64]
    private var slotCode: [Int32]
    private var mask: Int

    init(expectedCount: Int = 64) {
        var capacity = 16
        while capacity < expectedCount * 2 { capacity <<= 1 }
        slotHash = [UInt64](repeating: 0, count: capacity)
        slotCode = [Int32](repeating: 0, count: capacity)
        mask = capacity - 1
    }

    /// The code of `s` (1-based), adding it when new.
    mutating func code(_ s: String) -> Int64 {
        var contiguous = s
        return contiguous.withUTF8 { code(utf8: $0, string: s) }
    }

    private mutating func code(utf8 b: UnsafeBufferPointer<UInt8>, string: @autoclosure () -> String) -> Int64 {
        let h = Self.hash(UnsafeRawBufferPointer(b))
        var slot = Int(truncatingIfNeeded: h) & mask
        while slotCode[slot] != 0 {
            if slotHash[slot] == h && equal(Int(slotCode[slot]), b) { return Int64(slotCode[slot]) }
            slot = (slot + 1) & mask
        }
        values.append(string())
        bytes.append(contentsOf: b)
        offsets.append(bytes.count)
        slotHash[slot] = h
        slotCode[slot] = Int32(values.count)
        if values.count * 2 > slotCode.count { grow() }
        return Int64(values.count)
    }

    private func equal(_ code: Int, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = offsets[code - 1], end = offsets[code]
        guard end - start == b.count else { return false }
        return b.isEmpty || bytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + start, b.baseAddress!, b.count) == 0 }
    }

    private mutating func grow() {
        let capacity = slotCode.count * 2
        var hashes = [UInt64](repeating: 0, count: capacity), codes = [Int32](repeating: 0, count: capacity)
        let newMask = capacity - 1
        for i in slotCode.indices where slotCode[i] != 0 {
            var slot = Int(truncatingIfNeeded: slotHash[i]) & newMask
            while codes[slot] != 0 { slot = (slot + 1) & newMask }
            hashes[slot] = slotHash[i]
            codes[slot] = slotCode[i]
        }
        slotHash = hashes
        slotCode = codes
        mask = newMask
    }

    /// A fast non-cryptographic hash of a few words (the input is never adversarial enough to
    /// matter: a collision costs a byte comparison, not correctness).
    static func hash(_ raw: UnsafeRawBufferPointer) -> UInt64 {
        var h = UInt64(truncatingIfNeeded: raw.count) &* 0x9E37_79B9_7F4A_7C15
        var i = 0
        while i + 8 <= raw.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 29
            i += 8
        }
        while i < raw.count {
            h = (h ^ UInt64(raw[i])) &* 0xFF51_AFD7_ED55_8CCD
            i += 1
        }
        return h ^ (h >> 32)
    }
}
