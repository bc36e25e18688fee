/// A 16-byte W3C trace id, kept as two big-endian halves so it sorts and prints like its hex form.
public struct TraceID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Builds an id from exactly 16 bytes; nil for any other length.
    @inlinable
    public init?(bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count == 16, let base = bytes.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base)
        self.init(high: UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)),
                  low: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }

    /// Builds an id from exactly 16 bytes; nil for any other length.
    public init?(bytes: [UInt8]) {
        guard let id = bytes.withUnsafeBufferPointer({ TraceID(bytes: $0) }) else { return nil }
        self = id
    }

    /// Parses 32 hex digits in either case; nil for anything else.
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 32, let h = parseHex64(hex.utf8.prefix(16)), let l = parseHex64(hex.utf8.dropFirst(16)) else { return nil }
        self.init(high: h, low: l)
    }

    public var isZero: Bool { high == 0 && low == 0 }
    public var bytes: [UInt8] { bigEndianBytes(high) + bigEndianBytes(low) }
    public var hex: String { hex64(high) + hex64(low) }
    public var description: String { hex }

    public static func < (a: TraceID, b: TraceID) -> Bool { (a.high, a.low) < (b.high, b.low) }
}

/// An 8-byte span id.
public struct SpanID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var raw: UInt64

    public init(raw: UInt64) { self.raw = raw }

    /// Builds an id from exactly 8 bytes; nil for any other length.
    @inlinable
    public init?(bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count == 8, let base = bytes.baseAddress else { return nil }
        self.init(raw: UInt64(bigEndian: UnsafeRawPointer(base).loadUnaligned(as: UInt64.self)))
    }

    /// Builds an id from exactly 8 bytes; nil for any other length.
    public init?(bytes: [UInt8]) {
        guard let id = bytes.withUnsafeBufferPointer({ SpanID(bytes: $0) }) else { return nil }
        self = id
    }

    /// Parses 16 hex digits in either case; nil for anything else.
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 16, let v = parseHex64(hex.utf8) else { return nil }
        self.init(raw: v)
    }

    public var isZero: Bool { raw == 0 }
    public var bytes: [UInt8] { bigEndianBytes(raw) }
    public var hex: String { hex64(raw) }
    public var description: String { hex }

    public static func < (a: SpanID, b: SpanID) -> Bool { a.raw < b.raw }
}

private func parseHex64<C: Collection>(_ digits: C) -> UInt64? where C.Element == UInt8 {
    var v: UInt64 = 0
    for c in digits {
        let d: UInt8
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
        v = v << 4 | UInt64(d)
    }
    return v
}

private let hexDigits = Array("0123456789abcdef".utf8)

private func hex64(_ v: UInt64) -> String {
    String(unsafeUninitializedCapacity: 16) { buf in
        for i in 0..<16 { buf[i] = hexDigits[Int((v >> (60 - 4 * UInt64(i))) & 0xF)] }
        return 16
    }
}

private func bigEndianBytes(_ v: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * UInt64($0))) }
}

/// Lower-case hex of arbitrary bytes.
public func hexString<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var s = ""
    s.reserveCapacity(bytes.count * 2)
    for b in bytes {
        s.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(b >> 4)]))
        s.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(b & 0xF)]))
    }
    return s
}

/// Trace ids travel in JSON as 32 lowercase hex digits.
extension TraceID: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = TraceID(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a trace id is 32 hex digits, got \"\(text)\""))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}

/// Span ids travel in JSON as 16 lowercase hex digits.
extension SpanID: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = SpanID(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a span id is 16 hex digits, got \"\(text)\""))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}
