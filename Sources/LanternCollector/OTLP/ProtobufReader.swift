import Foundation
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

/// Turns wire bytes into Strings, reusing one String per distinct short byte sequence so that
/// repeated keys and values (model names, attribute keys) cost no allocation after the first.
final class StringInterner {
    private struct Entry {
        var hash: UInt64 = 0
        var bytes: [UInt8] = []
        var string: String = ""
    }

    private static let slots = 4096
    private static let maxInternedLength = 64
    private var entries = [Entry](repeating: Entry(), count: slots)

    func string(_ base: UnsafePointer<UInt8>, _ range: Range<Int>) throws(OTLPDecodingError) -> String {
        let count = range.count
        if count == 0 { return "" }
        let buffer = UnsafeBufferPointer(start: base + range.lowerBound, count: count)
        guard count <= Self.maxInternedLength else { return try Self.make(buffer, offset: range.lowerBound) }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in buffer { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let slot = Int(truncatingIfNeeded: h ^ (h >> 29)) & (Self.slots - 1)
        return try entries.withUnsafeMutableBufferPointer { (e: inout UnsafeMutableBufferPointer<Entry>) throws(OTLPDecodingError) -> String in
            if e[slot].hash == h && e[slot].bytes.count == count
                && e[slot].bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, buffer.baseAddress!, count) == 0 }) {
                return e[slot].string
            }
            let s = try Self.make(buffer, offset: range.lowerBound)
            e[slot] = Entry(hash: h, bytes: Array(buffer), string: s)
            return s
        }
    }

    private static func make(_ buffer: UnsafeBufferPointer<UInt8>, offset: Int) throws(OTLPDecodingError) -> String {
        guard let s = String(validating: buffer, as: UTF8.self) else {
            throw OTLPDecodingError("string is not valid UTF-8", offset: offset)
        }
        return s
    }
}
