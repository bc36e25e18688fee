import LanternModel

/// Encodes spans into OTLP `ExportTraceServiceRequest` protobuf (tests build payloads with it;
/// the server will forward and re-emit spans with it). Fields at their default value are
/// omitted, as proto3 does.
public struct OTLPProtobufEncoder: Sendable {
    public init() {}

    public func encode(_ export: TraceExport) -> [UInt8] {
        var w = ProtobufWriter()
        for rs in export.resourceSpans {
            w.message(1) { w in Self.resourceSpans(rs, &w) }
        }
        return w.bytes
    }

    static func resourceSpans(_ rs: ResourceSpans, _ w: inout ProtobufWriter) {
        w.message(1) { w in
            for a in rs.resource.attributes { w.message(1) { w in keyValue(a, &w) } }
            w.varint(2, UInt64(rs.resource.droppedAttributesCount))
        }
        for ss in rs.scopeSpans {
            w.message(2) { w in
                w.message(1) { w in
                    w.string(1, ss.scope.name)
                    w.string(2, ss.scope.version)
                    for a in ss.scope.attributes { w.message(3) { w in keyValue(a, &w) } }
                    w.varint(4, UInt64(ss.scope.droppedAttributesCount))
                }
                for s in ss.spans { w.message(2) { w in span(s, &w) } }
                w.string(3, ss.schemaURL)
            }
        }
        w.string(3, rs.schemaURL)
    }

    static func span(_ s: Span, _ w: inout ProtobufWriter) {
        w.bytesField(1, s.traceID.bytes)
        w.bytesField(2, s.spanID.bytes)
        w.string(3, s.traceState)
        if let p = s.parentSpanID { w.bytesField(4, p.bytes) }
        w.string(5, s.name)
        w.varint(6, UInt64(bitPattern: Int64(s.kind.rawValue)))
        w.fixed64(7, s.startTimeUnixNano)
        w.fixed64(8, s.endTimeUnixNano)
        for a in s.attributes { w.message(9) { w in keyValue(a, &w) } }
        w.varint(10, UInt64(s.droppedAttributesCount))
        for e in s.events {
            w.message(11) { w in
                w.fixed64(1, e.timeUnixNano)
                w.string(2, e.name)
                for a in e.attributes { w.message(3) { w in keyValue(a, &w) } }
                w.varint(4, UInt64(e.droppedAttributesCount))
            }
        }
        w.varint(12, UInt64(s.droppedEventsCount))
        for l in s.links {
            w.message(13) { w in
                w.bytesField(1, l.traceID.bytes)
                w.bytesField(2, l.spanID.bytes)
                w.string(3, l.traceState)
                for a in l.attributes { w.message(4) { w in keyValue(a, &w) } }
                w.varint(5, UInt64(l.droppedAttributesCount))
                w.fixed32(6, l.flags)
            }
        }
        w.varint(14, UInt64(s.droppedLinksCount))
        if s.statusCode != .unset || !s.statusMessage.isEmpty {
            w.message(15) { w in
                w.string(2, s.statusMessage)
                w.varint(3, UInt64(bitPattern: Int64(s.statusCode.rawValue)))
            }
        }
        w.fixed32(16, s.flags)
    }

    static func keyValue(_ a: Attribute, _ w: inout ProtobufWriter) {
        w.string(1, a.key)
        w.message(2, always: true) { w in anyValue(a.value, &w) }
    }

    static func anyValue(_ v: AttributeValue, _ w: inout ProtobufWriter) {
        switch v {
        case .string(let s): w.string(1, s, always: true)
        case .bool(let b): w.varint(2, b ? 1 : 0, always: true)
        case .int(let i): w.varint(3, UInt64(bitPattern: i), always: true)
        case .double(let d): w.fixed64(4, d.bitPattern, always: true)
        case .array(let items):
            w.message(5, always: true) { w in
                for item in items { w.message(1, always: true) { w in anyValue(item, &w) } }
            }
        case .kvlist(let items):
            w.message(6, always: true) { w in
                for item in items { w.message(1, always: true) { w in keyValue(item, &w) } }
            }
        case .bytes(let b): w.bytesField(7, b, always: true)
        case .empty: break
        }
    }
}

/// Appends protobuf wire-format fields to a byte buffer.
struct ProtobufWriter {
    var bytes: [UInt8] = []

    mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func tag(_ field: Int, _ wire: Int) { rawVarint(UInt64(field << 3 | wire)) }

    mutating func varint(_ field: Int, _ value: UInt64, always: Bool = false) {
        guard value != 0 || always else { return }
        tag(field, 0)
        rawVarint(value)
    }

    mutating func fixed64(_ field: Int, _ value: UInt64, always: Bool = false) {
        guard value != 0 || always else { return }
        tag(field, 1)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    mutating func fixed32(_ field: Int, _ value: UInt32, always: Bool = false) {
        guard value != 0 || always else { return }
        tag(field, 5)
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }

    mutating func string(_ field: Int, _ value: String, always: Bool = false) {
        guard !value.isEmpty || always else { return }
        tag(field, 2)
        var v = value
        v.withUTF8 { buf in
            rawVarint(UInt64(buf.count))
            bytes.append(contentsOf: buf)
        }
    }

    mutating func bytesField(_ field: Int, _ value: [UInt8], always: Bool = false) {
        guard !value.isEmpty || always else { return }
        tag(field, 2)
        rawVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Writes a nested message; an empty one is omitted unless `always`.
    mutating func message(_ field: Int, always: Bool = false, _ body: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        body(&inner)
        guard !inner.bytes.isEmpty || always else { return }
        tag(field, 2)
        rawVarint(UInt64(inner.bytes.count))
        bytes.append(contentsOf: inner.bytes)
    }
}
