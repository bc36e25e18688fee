import Foundation

/// The bodies of OTLP/HTTP answers, encoded like the request (protobuf or JSON).
public enum OTLPResponseEncoder {
    /// `Export{Trace,Logs,Metrics}ServiceResponse`: empty on full success, `partial_success`
    /// (field 1: rejected spans / log records / data points, field 2: error_message) otherwise.
    /// `rejectedKey` is the OTLP/JSON name of field 1 for the signal.
    public static func export(rejected: Int, message: String, format: OTLPFormat, rejectedKey: String = "rejectedSpans") -> [UInt8] {
        let empty = rejected == 0 && message.isEmpty
        switch format {
        case .protobuf:
            guard !empty else { return [] }
            var w = ProtobufWriter()
            w.message(1, always: true) { w in
                w.varint(1, UInt64(rejected))
                w.string(2, message)
            }
            return w.bytes
        case .json:
            guard !empty else { return Array("{}".utf8) }
            return Array("{\"partialSuccess\":{\"\(rejectedKey)\":\"\(rejected)\",\"errorMessage\":\(jsonString(message))}}".utf8)
        }
    }

    /// A `google.rpc.Status` (field 1: code, field 2: message) for a failed request.
    public static func status(code: Int, message: String, format: OTLPFormat) -> [UInt8] {
        switch format {
        case .protobuf:
            var w = ProtobufWriter()
            w.varint(1, UInt64(code))
            w.string(2, message)
            return w.bytes
        case .json:
            return Array("{\"code\":\(code),\"message\":\(jsonString(message))}".utf8)
        }
    }

    /// A protobuf `google.rpc.Status` whose `details` (field 3) hold one `google.protobuf.Any` with a
    /// `google.rpc.RetryInfo`: how an OTLP/gRPC server tells a throttled client when to retry (the
    /// `grpc-status-details-bin` trailer of an UNAVAILABLE status).
    public static func status(code: Int, message: String, retryAfterSeconds: Int) -> [UInt8] {
        var w = ProtobufWriter()
        w.varint(1, UInt64(code))
        w.string(2, message)
        w.message(3, always: true) { any in
            any.string(1, "type.googleapis.com/google.rpc.RetryInfo")
            any.bytesField(2, retryInfo(seconds: retryAfterSeconds), always: true)
        }
        return w.bytes
    }

    /// A protobuf `google.rpc.RetryInfo` whose `retry_delay` (field 1, a `google.protobuf.Duration`)
    /// is `seconds` (also sent alone as the `google.rpc.retryinfo-bin` trailer, which some OTLP/gRPC
    /// exporters read instead of the status details).
    public static func retryInfo(seconds: Int) -> [UInt8] {
        var w = ProtobufWriter()
        w.message(1, always: true) { duration in duration.varint(1, UInt64(max(0, seconds))) }
        return w.bytes
    }

    /// A JSON string literal with the escapes RFC 8259 requires.
    public static func jsonString(_ s: String) -> String {
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
