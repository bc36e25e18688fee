import CZlib

/// A body compression the collector accepts (`Content-Encoding`).
public enum ContentEncoding: String, Sendable, CaseIterable {
    case identity, gzip, deflate
}

/// Why a compressed body could not be inflated.
public enum DecompressionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The inflated body would exceed the limit: refuse it (HTTP 413) before it takes the memory.
    case tooLarge(limit: Int)
    case corrupt(String)

    public var description: String {
        switch self {
        case .tooLarge(let limit): return "decompressed body exceeds the limit of \(limit) bytes"
        case .corrupt(let why): return "compressed body is corrupt: \(why)"
        }
    }
}

/// Inflates gzip and deflate (zlib or raw) bodies, stopping as soon as the output passes `limit`,
/// so a gzip bomb costs at most `limit` bytes of memory.
public enum Decompression {
    public static func inflate(_ input: [UInt8], encoding: ContentEncoding, limit: Int) throws(DecompressionError) -> [UInt8] {
        switch encoding {
        case .identity:
            guard input.count <= limit else { throw .tooLarge(limit: limit) }
            return input
        case .gzip:
            return try run(input, windowBits: 15 + 16, limit: limit)
        case .deflate:
            // HTTP "deflate" is zlib-wrapped by the RFC, but raw deflate is common in the wild.
            if input.count >= 2, (UInt16(input[0]) << 8 | UInt16(input[1])) % 31 == 0, input[0] & 0x0F == 8 {
                return try run(input, windowBits: 15, limit: limit)
            }
            return try run(input, windowBits: -15, limit: limit)
        }
    }

    /// True when the bytes start with the gzip magic number.
    public static func looksGzipped(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    private static func run(_ input: [UInt8], windowBits: Int32, limit: Int) throws(DecompressionError) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var status: Int32 = Z_OK
        var failure: DecompressionError? = nil
        input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = UInt32(inBuf.count)
            repeat {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return out.count - Int(stream.avail_out)
                }
                if status != Z_OK && status != Z_STREAM_END && !(status == Z_BUF_ERROR && produced > 0) {
                    failure = .corrupt(stream.msg.map { String(cString: $0) } ?? "zlib status \(status)")
                    return
                }
                if output.count + produced > limit {
                    failure = .tooLarge(limit: limit)
                    return
                }
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_STREAM_END {
                    // A gzip body may hold several members back to back: inflate them all.
                    guard stream.avail_in > 0, windowBits > 15 else { return }
                    guard inflateReset(&stream) == Z_OK else { failure = .corrupt("zlib could not restart"); return }
                    continue
                }
                if stream.avail_in == 0 && produced == 0 {
                    failure = .corrupt("truncated stream")
                    return
                }
            } while true
        }
        if let failure { throw failure }
        return output
    }
}
