/// Packs unsigned integers into `width` bits each (LSB first), and back.
enum BitPacking {
    static func width(of maxValue: UInt64) -> Int { maxValue == 0 ? 0 : 64 - maxValue.leadingZeroBitCount }

    static func pack(_ values: UnsafeBufferPointer<UInt64>, width: Int, into w: inout ByteWriter) {
        guard width > 0 else { return }
        let totalBytes = (values.count * width + 7) / 8
        let start = w.bytes.count
        w.bytes.append(contentsOf: repeatElement(0, count: totalBytes + 8))
        w.bytes.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress! + start
            var bit = 0
            for v in values {
                let byteIndex = bit >> 3
                let shift = UInt64(bit & 7)
                // Write up to 9 bytes covering [bit, bit+width).
                var word = v << shift
                var p = base + byteIndex
                var written = 0
                while written < 8 {
                    p.pointee |= UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    p += 1
                    written += 1
                }
                if shift > 0 && width + Int(shift) > 64 {
                    p.pointee |= UInt8(truncatingIfNeeded: v >> (64 - shift))
                }
                bit += width
            }
        }
        w.bytes.removeLast(8)
    }

    static func unpack(_ r: inout ByteReader, count: Int, width: Int, into out: UnsafeMutableBufferPointer<UInt64>) throws(StoreError) {
        guard width > 0 else {
            for i in 0..<count { out[i] = 0 }
            return
        }
        guard width <= 64 else { throw .corrupt("bit width \(width) is over 64") }
        let totalBytes = (count * width + 7) / 8
        let src = try r.slice(totalBytes)
        let mask: UInt64 = width == 64 ? ~0 : (1 << UInt64(width)) - 1
        guard let base = src.baseAddress else { return }
        var bit = 0
        let n = src.count
        // Fast path: every value of up to 56 bits lies inside one unaligned 8-byte load.
        if width <= 56 {
            let safe = n >= 8 ? min(count, ((n - 8) * 8) / width + 1) : 0
            let raw = UnsafeRawPointer(base)
            for i in 0..<safe {
                let word = raw.loadUnaligned(fromByteOffset: bit >> 3, as: UInt64.self).littleEndian
                out[i] = (word >> UInt64(bit & 7)) & mask
                bit &+= width
            }
            for i in safe..<count {
                let byteIndex = bit >> 3
                var word: UInt64 = 0
                for k in 0..<min(8, n - byteIndex) { word |= UInt64(base[byteIndex + k]) << (8 * UInt64(k)) }
                out[i] = (word >> UInt64(bit & 7)) & mask
                bit &+= width
            }
            return
        }
        for i in 0..<count {
            let byteIndex = bit >> 3
            let shift = UInt64(bit & 7)
            var word: UInt64 = 0
            if byteIndex + 8 <= n {
                word = UnsafeRawPointer(base + byteIndex).loadUnaligned(as: UInt64.self).littleEndian
            } else {
                for k in 0..<(n - byteIndex) { word |= UInt64(base[byteIndex + k]) << (8 * UInt64(k)) }
            }
            var v = word >> shift
            if Int(shift) + width > 64 && byteIndex + 8 < n {
                v |= UInt64(base[byteIndex + 8]) << (64 - shift)
            }
            out[i] = v & mask
            bit += width
        }
    }
}
