import Foundation
import LanternCollector

/// The bodies of OTLP/HTTP answers, encoded like the request (protobuf or JSON).
enum OTLPResponses {
    /// `ExportTraceServiceResponse`: empty on full success, `partial_success` when spans were rejected.
    static func export(rejected: Int, message: String, format: OTLPFormat) -> [UInt8] {
        switch format {
        case .protobuf:
            guard rejected > 0 || !message.isEmpty else { return [] }
            var inner = ProtobufBytes()
            inner.varint(field: 1, UInt64(rejected))
            inner.string(field: 2, message)
            var outer = ProtobufBytes()
            outer.message(field: 1, inner.bytes)
            return outer.bytes
        case .json:
            guard rejected > 0 || !message.isEmpty else { return Array("{}".utf8) }
            return Array("{\"partialSuccess\":{\"rejectedSpans\":\"\(rejected)\",\"errorMessage\":\(jsonString(message))}}".utf8)
        }
    }

    /// A `google.rpc.Status` for a failed request (gRPC code and a developer-facing message).
    static func status(code: Int, message: String, format: OTLPFormat) -> [UInt8] {
        switch format {
        case .protobuf:
            var s = ProtobufBytes()
            s.varint(field: 1, UInt64(code))
            s.string(field: 2, message)
            return s.bytes
        case .json:
            return Array("{\"code\":\(code),\"message\":\(jsonString(message))}".utf8)
        }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

/// Minimal protobuf writing for the two response messages.
struct ProtobufBytes {
    var bytes: [UInt8] = []

    mutating func raw(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    mutating func varint(field: Int, _ v: UInt64) {
        guard v != 0 else { return }
        raw(UInt64(field << 3))
        raw(v)
    }

    mutating func string(field: Int, _ s: String) {
        guard !s.isEmpty else { return }
        message(field: field, Array(s.utf8))
    }

    mutating func message(field: Int, _ b: [UInt8]) {
        raw(UInt64(field << 3 | 2))
        raw(UInt64(b.count))
        bytes += b
    }
}
