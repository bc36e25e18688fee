import LanternModel

/// Type tags for attribute values kept in the residual stream (0-7) and for values a canonical
/// column owns (`ownedBase + CanonicalField.rawValue`).
enum ValueTag {
    static let string: UInt8 = 0, bool: UInt8 = 1, int: UInt8 = 2, double: UInt8 = 3
    static let bytes: UInt8 = 4, array: UInt8 = 5, kvlist: UInt8 = 6, empty: UInt8 = 7
    static let ownedBase: UInt8 = 64

    static func of(_ v: AttributeValue) -> UInt8 {
        switch v {
        case .string: return string
        case .bool: return bool
        case .int: return int
        case .double: return double
        case .bytes: return bytes
        case .array: return array
        case .kvlist: return kvlist
        case .empty: return empty
        }
    }
}

/// The compact binary form of attribute values, events and links inside segment columns.
enum ValueEncoding {
    /// Writes a value that sits inside `depth` arrays or kvlists; a value that would nest
    /// `maxDepth` containers or more marks the writer `tooDeep` (the append is then refused).
    static func writeValue(_ v: AttributeValue, _ w: inout ByteWriter, depth: Int = 0) {
        switch v {
        case .string(let s): w.string(s)
        case .bool(let b): w.byte(b ? 1 : 0)
        case .int(let i): w.signedVarint(i)
        case .double(let d): w.fixed64(d.bitPattern)
        case .bytes(let b): w.lengthPrefixed(b)
        case .array(let items):
            if depth + 1 >= maxDepth { w.tooDeep = true }
            w.varint(items.count)
            for item in items { w.byte(ValueTag.of(item)); writeValue(item, &w, depth: depth + 1) }
        case .kvlist(let items):
            if depth + 1 >= maxDepth { w.tooDeep = true }
            writeAttributes(items, &w, depth: depth + 1)
        case .empty: break
        }
    }

    /// Nesting the store writes and reads; deeper values are refused at append.
    static let maxDepth = 64

    static func readValue(tag: UInt8, _ r: inout ByteReader, depth: Int = 0) throws(StoreError) -> AttributeValue {
        guard depth < maxDepth else { throw .corrupt("attribute value nested too deep") }
        switch tag {
        case ValueTag.string: return .string(try r.string())
        case ValueTag.bool: return .bool(try r.byte() != 0)
        case ValueTag.int: return .int(try r.signedVarint())
        case ValueTag.double: return .double(Double(bitPattern: try r.fixed64()))
        case ValueTag.bytes: return .bytes(Array(try r.lengthPrefixed()))
        case ValueTag.array:
            let n = try r.count(limit: r.remaining)
            var items: [AttributeValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try readValue(tag: try r.byte(), &r, depth: depth + 1)) }
            return .array(items)
        case ValueTag.kvlist: return .kvlist(try readAttributes(&r, depth: depth + 1))
        case ValueTag.empty: return .empty
        default: throw .corrupt("unknown value tag \(tag)")
        }
    }

    static func writeAttributes(_ attributes: [Attribute], _ w: inout ByteWriter, depth: Int = 0) {
        w.varint(attributes.count)
        for a in attributes {
            w.string(a.key)
            w.byte(ValueTag.of(a.value))
            writeValue(a.value, &w, depth: depth)
        }
    }

    static func readAttributes(_ r: inout ByteReader, depth: Int = 0) throws(StoreError) -> [Attribute] {
        let n = try r.count(limit: r.remaining)
        var out: [Attribute] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            let key = try r.string()
            out.append(Attribute(key, try readValue(tag: try r.byte(), &r, depth: depth)))
        }
        return out
    }

    /// Event times are stored relative to the span's start or its end, whichever is nearer
    /// (evaluation and exception events sit at the end: a delta of zero).
    static func writeEvents(_ events: [SpanEvent], spanStart: UInt64, spanEnd: UInt64, _ w: inout ByteWriter) {
        w.varint(events.count)
        for e in events {
            let fromStart = Int64(bitPattern: e.timeUnixNano &- spanStart)
            let fromEnd = Int64(bitPattern: e.timeUnixNano &- spanEnd)
            // 64 bits of zigzag delta plus one bit for the reference point: a 65-bit varint.
            if fromEnd.magnitude < fromStart.magnitude {
                w.varint128(UInt128(zigzag(fromEnd)) << 1 | 1)
            } else {
                w.varint128(UInt128(zigzag(fromStart)) << 1)
            }
            w.string(e.name)
            writeAttributes(e.attributes, &w)
            w.varint(UInt64(e.droppedAttributesCount))
        }
    }

    static func readEvents(_ r: inout ByteReader, spanStart: UInt64, spanEnd: UInt64) throws(StoreError) -> [SpanEvent] {
        let n = try r.count(limit: r.remaining)
        var out: [SpanEvent] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            let code = try r.varint128()
            let t = (code & 1 == 1 ? spanEnd : spanStart) &+ UInt64(bitPattern: unzigzag(UInt64(truncatingIfNeeded: code >> 1)))
            let name = try r.string()
            let attributes = try readAttributes(&r)
            let dropped = UInt32(truncatingIfNeeded: try r.varint())
            out.append(SpanEvent(timeUnixNano: t, name: name, attributes: attributes, droppedAttributesCount: dropped))
        }
        return out
    }

    static func writeLinks(_ links: [SpanLink], _ w: inout ByteWriter) {
        w.varint(links.count)
        for l in links {
            w.fixed64(l.traceID.high)
            w.fixed64(l.traceID.low)
            w.fixed64(l.spanID.raw)
            w.string(l.traceState)
            writeAttributes(l.attributes, &w)
            w.varint(UInt64(l.droppedAttributesCount))
            w.varint(UInt64(l.flags))
        }
    }

    static func readLinks(_ r: inout ByteReader) throws(StoreError) -> [SpanLink] {
        let n = try r.count(limit: r.remaining)
        var out: [SpanLink] = []
        for _ in 0..<n {
            let high = try r.fixed64(), low = try r.fixed64(), span = try r.fixed64()
            let state = try r.string()
            let attributes = try readAttributes(&r)
            let dropped = UInt32(truncatingIfNeeded: try r.varint())
            let flags = UInt32(truncatingIfNeeded: try r.varint())
            out.append(SpanLink(traceID: TraceID(high: high, low: low), spanID: SpanID(raw: span), traceState: state,
                                attributes: attributes, droppedAttributesCount: dropped, flags: flags))
        }
        return out
    }

    static func writeOrigin(_ o: SpanOrigin, _ w: inout ByteWriter) {
        writeAttributes(o.resource.attributes, &w)
        w.varint(UInt64(o.resource.droppedAttributesCount))
        w.string(o.resourceSchemaURL)
        w.string(o.scope.name)
        w.string(o.scope.version)
        writeAttributes(o.scope.attributes, &w)
        w.varint(UInt64(o.scope.droppedAttributesCount))
        w.string(o.scopeSchemaURL)
    }

    static func readOrigin(_ r: inout ByteReader) throws(StoreError) -> SpanOrigin {
        let resourceAttributes = try readAttributes(&r)
        let resourceDropped = UInt32(truncatingIfNeeded: try r.varint())
        let resourceSchema = try r.string()
        let name = try r.string(), version = try r.string()
        let scopeAttributes = try readAttributes(&r)
        let scopeDropped = UInt32(truncatingIfNeeded: try r.varint())
        let scopeSchema = try r.string()
        return SpanOrigin(resource: Resource(attributes: resourceAttributes, droppedAttributesCount: resourceDropped),
                          resourceSchemaURL: resourceSchema,
                          scope: InstrumentationScope(name: name, version: version, attributes: scopeAttributes, droppedAttributesCount: scopeDropped),
                          scopeSchemaURL: scopeSchema)
    }
}
