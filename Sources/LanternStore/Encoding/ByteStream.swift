/// Appends little-endian integers, varints and length-prefixed bytes.
struct ByteWriter {
    var bytes: [UInt8] = []
    /// Set when an attribute value written nests too deeply for the store to read back.
    var tooDeep = false

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func byte(_ b: UInt8) { bytes.append(b) }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func varint(_ value: Int) { varint(UInt64(value)) }

    mutating func varint128(_ value: UInt128) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    mutating func signedVarint(_ value: Int64) { varint(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }

    mutating func fixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func raw<C: Collection>(_ data: C) where C.Element == UInt8 { bytes.append(contentsOf: data) }

    mutating func lengthPrefixed<C: Collection>(_ data: C) where C.Element == UInt8 {
        varint(data.count)
        bytes.append(contentsOf: data)
    }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { lengthPrefixed($0) }
    }
}

/// Reads what `ByteWriter` wrote; every read is bounds-checked and throws on damaged data.
struct ByteReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var isAtEnd: Bool { position >= bytes.count }
    var remaining: Int { bytes.count - position }

    mutating func byte() throws(StoreError) -> UInt8 {
        guard position < bytes.count else { throw .corrupt("unexpected end of column data") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func varint() throws(StoreError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw .corrupt("truncated varint in column data") }
            let b = bytes[position]
            position += 1
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            guard shift < 64 else { throw .corrupt("overlong varint in column data") }
        }
    }

    mutating func varint128() throws(StoreError) -> UInt128 {
        var result: UInt128 = 0
        var shift: UInt128 = 0
        while true {
            guard position < bytes.count else { throw .corrupt("truncated varint in column data") }
            let b = bytes[position]
            position += 1
            result |= UInt128(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            guard shift < 126 else { throw .corrupt("overlong varint in column data") }
        }
    }

    mutating func count(limit: Int = 1 << 28) throws(StoreError) -> Int {
        let v = try varint()
        guard v <= UInt64(limit) else { throw .corrupt("implausible count \(v) in column data") }
        return Int(v)
    }

    mutating func signedVarint() throws(StoreError) -> Int64 {
        let v = try varint()
        return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
    }

    mutating func fixed64() throws(StoreError) -> UInt64 {
        guard remaining >= 8 else { throw .corrupt("truncated fixed64 in column data") }
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(bytes[position + i]) }
        position += 8
        return v
    }

    mutating func slice(_ n: Int) throws(StoreError) -> UnsafeBufferPointer<UInt8> {
        guard n >= 0, remaining >= n else { throw .corrupt("slice of \(n) bytes runs past the column data") }
        defer { position += n }
        return UnsafeBufferPointer(rebasing: bytes[position..<position + n])
    }

    mutating func lengthPrefixed() throws(StoreError) -> UnsafeBufferPointer<UInt8> {
        try slice(try count())
    }

    mutating func string() throws(StoreError) -> String {
        let b = try lengthPrefixed()
        return String(decoding: b, as: UTF8.self)
    }
}

@inline(__always) func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
@inline(__always) func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }
