import Foundation
import Synchronization
/// A bounds-checked cursor over protobuf wire bytes. Every read checks the end; nothing traps.
struct ProtobufReader {
    let base: UnsafePointer<UInt8>
    private(set) var position: Int
    let end: Int

    init(base: UnsafePointer<UInt8>, range: Range<Int>) {
        self.base = base
        self.position = range.lowerBound
        self.end = range.upperBound
    }

    var isAtEnd: Bool { position >= end }

    mutating func readVarint() throws(OTLPDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw OTLPDecodingError("truncated varint", offset: position) }
            let byte = base[position]
            position &+= 1
            if shift == 63 && byte > 1 { throw OTLPDecodingError("varint longer than 64 bits", offset: position - 1) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift &+= 7
            if shift > 63 { throw OTLPDecodingError("varint longer than 10 bytes", offset: position - 1) }
        }
    }

    /// The next field number and wire type, or nil at the end.
    mutating func readTag() throws(OTLPDecodingError) -> (field: Int, wireType: Int)? {
        guard position < end else { return nil }
        let start = position
        let key = try readVarint()
        let field = Int(truncatingIfNeeded: key >> 3)
        guard field > 0, key >> 3 <= 0x1FFF_FFFF else { throw OTLPDecodingError("invalid field number \(key >> 3)", offset: start) }
        return (field, Int(key & 7))
    }

    mutating func readFixed64() throws(OTLPDecodingError) -> UInt64 {
        guard end - position >= 8 else { throw OTLPDecodingError("truncated fixed64", offset: position) }
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(base[position + i]) }
        position &+= 8
        return v
    }

    mutating func readFixed32() throws(OTLPDecodingError) -> UInt32 {
        guard end - position >= 4 else { throw OTLPDecodingError("truncated fixed32", offset: position) }
        var v: UInt32 = 0
        for i in (0..<4).reversed() { v = v << 8 | UInt32(base[position + i]) }
        position &+= 4
        return v
    }

    /// The byte range of a length-delimited field.
    mutating func readLengthDelimited() throws(OTLPDecodingError) -> Range<Int> {
        let start = position
        let length = try readVarint()
        guard length <= UInt64(end - position) else {
            throw OTLPDecodingError("length \(length) runs past the end of its message (\(end - position) bytes left)", offset: start)
        }
        let lo = position
        position &+= Int(length)
        return lo..<position
    }

    /// Reads a field of the expected wire type, or throws naming the mismatch.
    mutating func expect(_ wireType: Int, got: Int, field: String) throws(OTLPDecodingError) {
        if wireType != got {
            throw OTLPDecodingError("\(field) has wire type \(got), expected \(wireType)", offset: position)
        }
    }

    mutating func skip(wireType: Int) throws(OTLPDecodingError) {
        switch wireType {
        case 0: _ = try readVarint()
        case 1: _ = try readFixed64()
        case 2: _ = try readLengthDelimited()
        case 5: _ = try readFixed32()
        case 3, 4: throw OTLPDecodingError("deprecated group wire type \(wireType)", offset: position)
        default: throw OTLPDecodingError("invalid wire type \(wireType)", offset: position)
        }
    }

    func subReader(_ range: Range<Int>) -> ProtobufReader {
        ProtobufReader(base: base, range: range)
    }
}

/// Turns wire bytes into Strings, reusing one String per distinct byte sequence of 16 to 64 bytes,
/// so that repeated keys and values (attribute keys, model names) cost no allocation after the
/// first. Shorter strings are stored inline by `String` itself and need no interning. Each interned
/// attribute key also remembers its normalizer rule, so the normalizer need not look keys up again.
/// One interner serves one request at a time; `InternerPool` lends them out.
final class StringInterner: @unchecked Sendable {
    private struct Entry {
        var hash: UInt64
        var length: Int
        var string: String
        /// `ConventionTable` rule index of the string as an attribute key, -1 for none, -2 not yet known.
        var rule: Int16
    }

    private static let slots = 1024
    private static let maxInternedLength = 64
    private let entries: UnsafeMutablePointer<Entry>
    /// Each slot's bytes, `maxInternedLength` per slot, compared word by word.
    private let bytes: UnsafeMutableRawPointer

    init() {
        entries = .allocate(capacity: Self.slots)
        entries.initialize(repeating: Entry(hash: 0, length: -1, string: "", rule: -2), count: Self.slots)
        bytes = .allocate(byteCount: Self.slots * Self.maxInternedLength, alignment: 8)
    }

    deinit {
        entries.deinitialize(count: Self.slots)
        entries.deallocate()
        bytes.deallocate()
    }

    /// A string value.
    func string(_ base: UnsafePointer<UInt8>, _ range: Range<Int>) throws(OTLPDecodingError) -> String {
        let count = range.count
        if count < 16 || count > Self.maxInternedLength { return try Self.make(base + range.lowerBound, count, offset: range.lowerBound) }
        return try entry(base, range).pointee.string
    }

    /// An attribute key and the index of its `ConventionTable` rule (-1 when no rule reads it).
    func key(_ base: UnsafePointer<UInt8>, _ range: Range<Int>) throws(OTLPDecodingError) -> (String, Int16) {
        let count = range.count
        if count == 0 { return ("", -1) }
        if count > Self.maxInternedLength {
            let s = try Self.make(base + range.lowerBound, count, offset: range.lowerBound)
            return (s, ConventionTable.ruleIndex(s))
        }
        let e = try entry(base, range)
        if e.pointee.rule == -2 { e.pointee.rule = ConventionTable.ruleIndex(e.pointee.string) }
        return (e.pointee.string, e.pointee.rule)
    }

    /// The slot holding these bytes, filled with them (and its rule unknown) if it held others.
    private func entry(_ base: UnsafePointer<UInt8>, _ range: Range<Int>) throws(OTLPDecodingError) -> UnsafeMutablePointer<Entry> {
        let start = base + range.lowerBound, count = range.count
        let h = Self.hash(start, count)
        let slot = Int(truncatingIfNeeded: h >> 40) & (Self.slots - 1)
        let e = entries + slot
        let stored = bytes + slot * Self.maxInternedLength
        if e.pointee.hash == h && e.pointee.length == count && Self.equal(stored, UnsafeRawPointer(start), count) {
            return e
        }
        e.pointee = Entry(hash: h, length: count, string: try Self.make(start, count, offset: range.lowerBound), rule: -2)
        stored.copyMemory(from: start, byteCount: count)
        return e
    }

    /// Byte equality, eight bytes at a time.
    @inline(__always)
    static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        var i = 0
        while i + 8 <= count {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < count {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    /// True when no byte has its high bit set (checked eight bytes at a time).
    @inline(__always)
    static func isASCII(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        let raw = UnsafeRawPointer(p)
        var i = 0
        var bits: UInt64 = 0
        while i + 8 <= count {
            bits |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count { bits |= UInt64(p[i]); i += 1 }
        return bits & 0x8080_8080_8080_8080 == 0
    }

    /// A 64-bit hash read eight bytes at a time (multiply-xorshift per word).
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
        var h = UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 8 <= count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 29
            i += 8
        }
        if i < count {
            var w: UInt64 = 0
            while i < count { w = w << 8 | UInt64(p[i]); i += 1 }
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 29
        }
        return h &* 0xC4CE_B9FE_1A85_EC53
    }

    private static func make(_ start: UnsafePointer<UInt8>, _ count: Int, offset: Int) throws(OTLPDecodingError) -> String {
        if count == 0 { return "" }
        let buffer = UnsafeBufferPointer(start: start, count: count)
        // ASCII needs no validation, and String(decoding:) is the specialized fast path for it
        // (String(validating:as:) is generic and costs a metadata lookup per string).
        if isASCII(start, count) { return String(decoding: buffer, as: UTF8.self) }
        guard let s = String(validating: buffer, as: UTF8.self) else {
            throw OTLPDecodingError("string is not valid UTF-8", offset: offset)
        }
        return s
    }
}

/// Interners lent to requests one at a time, so that strings interned by one request (attribute
/// keys, model names) are found again by the next instead of being rebuilt.
enum InternerPool {
    private static let idle = Mutex<[StringInterner]>([])

    /// Runs `body` with an interner no other request is using.
    static func with<R, E: Error>(_ body: (StringInterner) throws(E) -> R) throws(E) -> R {
        let interner = idle.withLock { $0.popLast() } ?? StringInterner()
        defer { idle.withLock { if $0.count < 16 { $0.append(interner) } } }
        return try body(interner)
    }
}
