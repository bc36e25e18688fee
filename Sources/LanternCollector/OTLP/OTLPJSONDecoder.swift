import Foundation
import LanternModel

/// Decodes OTLP/JSON `ExportTraceServiceRequest` bodies: hex ids in either case, lowerCamelCase
/// keys (snake_case accepted too, as protobuf's JSON parsers do), 64-bit integers as strings or
/// numbers, enums as integers (or their names), every `AnyValue` kind; unknown keys are ignored.
public struct OTLPJSONDecoder: Sendable {
    public var limits: DecodingLimits

    public init(limits: DecodingLimits = .default) {
        self.limits = limits
    }

    public func decodeTraces(_ bytes: [UInt8]) throws(OTLPDecodingError) -> DecodedTraces {
        try decodeTraces(parse(bytes))
    }

    public func decodeTraces(_ root: JSONValue) throws(OTLPDecodingError) -> DecodedTraces {
        guard case .object = root else { throw OTLPDecodingError("the request body must be a JSON object, got \(root.typeName)") }
        var run = JSONTraceDecoding(limits: limits)
        var export = TraceExport()
        for (i, rs) in try run.array(root, "resourceSpans", "resource_spans").enumerated() {
            do {
                export.resourceSpans.append(try run.resourceSpans(rs, location: "resource_spans[\(i)]"))
            } catch {
                throw error.inside("resource_spans[\(i)]")
            }
        }
        return DecodedTraces(export: export, rejections: run.rejections)
    }

    /// The body parsed as JSON (any signal's), nested no deeper than the envelope and values
    /// `limits.maxDepth` deep need.
    func parse(_ bytes: [UInt8]) throws(OTLPDecodingError) -> JSONValue {
        do {
            return try JSONParser(maxDepth: 32 + 3 * limits.maxDepth).parse(bytes)
        } catch {
            throw OTLPDecodingError(error.description, offset: error.offset)
        }
    }
}

struct JSONTraceDecoding {
    let limits: DecodingLimits
    var rejections: [SpanRejection] = []

    // MARK: field access

    func member(_ obj: JSONValue, _ camel: String, _ snake: String? = nil) -> JSONValue? {
        if let v = obj[camel], v != .null { return v }
        if let snake, let v = obj[snake], v != .null { return v }
        return nil
    }

    func array(_ obj: JSONValue, _ camel: String, _ snake: String? = nil) throws(OTLPDecodingError) -> [JSONValue] {
        guard let v = member(obj, camel, snake) else { return [] }
        guard case .array(let items) = v else { throw OTLPDecodingError.spanLevel("must be an array, got \(v.typeName)", path: [snake ?? camel]) }
        return items
    }

    func object(_ obj: JSONValue, _ camel: String, _ snake: String? = nil) throws(OTLPDecodingError) -> JSONValue? {
        guard let v = member(obj, camel, snake) else { return nil }
        guard case .object = v else { throw OTLPDecodingError.spanLevel("must be an object, got \(v.typeName)", path: [snake ?? camel]) }
        return v
    }

    func string(_ obj: JSONValue, _ camel: String, _ snake: String? = nil) throws(OTLPDecodingError) -> String {
        guard let v = member(obj, camel, snake) else { return "" }
        guard case .string(let s) = v else { throw OTLPDecodingError.spanLevel("must be a string, got \(v.typeName)", path: [snake ?? camel]) }
        guard s.utf8.count <= limits.maxValueBytes else {
            throw OTLPDecodingError.spanLevel("string of \(s.utf8.count) bytes exceeds the limit of \(limits.maxValueBytes)", path: [snake ?? camel])
        }
        return s
    }

    /// A 64-bit unsigned integer given as a decimal string or a JSON number.
    func uint64(_ obj: JSONValue, _ camel: String, _ snake: String? = nil) throws(OTLPDecodingError) -> UInt64 {
        guard let v = member(obj, camel, snake) else { return 0 }
        let name = snake ?? camel
        switch v {
        case .string(let s), .number(let s):
            if let n = UInt64(s) { return n }
            if let d = Double(s), d >= 0, d < 1.8446744073709552e19, d.rounded() == d { return UInt64(d) }
            throw OTLPDecodingError.spanLevel("must be an unsigned 64-bit integer, got \(v == .string(s) ? "\"\(s)\"" : s)", path: [name])
        default:
            throw OTLPDecodingError.spanLevel("must be an integer (string or number), got \(v.typeName)", path: [name])
        }
    }

    func uint32(_ obj: JSONValue, _ camel: String, _ snake: String? = nil) throws(OTLPDecodingError) -> UInt32 {
        let v = try uint64(obj, camel, snake)
        guard v <= UInt64(UInt32.max) else { throw OTLPDecodingError.spanLevel("\(v) does not fit in 32 bits", path: [snake ?? camel]) }
        return UInt32(v)
    }

    func enumValue(_ obj: JSONValue, _ camel: String, names: [String: Int32]) throws(OTLPDecodingError) -> Int32 {
        guard let v = member(obj, camel) else { return 0 }
        switch v {
        case .number(let s), .string(let s):
            if let n = Int32(s) { return n }
            if case .string = v, let n = names[s] { return n }
            throw OTLPDecodingError.spanLevel("must be an enum number, got \(s)", path: [camel])
        default:
            throw OTLPDecodingError.spanLevel("must be an enum number, got \(v.typeName)", path: [camel])
        }
    }

    func hexID(_ obj: JSONValue, _ camel: String, _ snake: String, bytes: Int) throws(OTLPDecodingError) -> String? {
        guard let v = member(obj, camel, snake) else { return nil }
        guard case .string(let s) = v else { throw OTLPDecodingError.spanLevel("must be a hex string, got \(v.typeName)", path: [snake]) }
        if s.isEmpty { return nil }
        guard s.utf8.count == bytes * 2, s.utf8.allSatisfy({ $0.isHexDigit }) else {
            throw OTLPDecodingError.spanLevel("must be \(bytes * 2) hex digits, got \"\(s.prefix(64))\"", path: [snake])
        }
        return s
    }

    // MARK: messages

    mutating func resourceSpans(_ v: JSONValue, location: String) throws(OTLPDecodingError) -> ResourceSpans {
        guard case .object = v else { throw OTLPDecodingError("must be an object, got \(v.typeName)") }
        var out = ResourceSpans()
        var resourceProblem: OTLPDecodingError? = nil
        do {
            if let r = try object(v, "resource") {
                out.resource.attributes = try attributes(r, "attributes")
                out.resource.droppedAttributesCount = try uint32(r, "droppedAttributesCount", "dropped_attributes_count")
            }
            out.schemaURL = try string(v, "schemaUrl", "schema_url")
        } catch where error.rejectsSpansOnly {
            resourceProblem = error.inside("resource")
        }
        let scopes: [JSONValue]
        do {
            scopes = try array(v, "scopeSpans", "scope_spans")
        } catch {
            throw OTLPDecodingError(error.reason, path: error.path)
        }
        for (i, ss) in scopes.enumerated() {
            do {
                var scope = try scopeSpans(ss, location: "\(location).scope_spans[\(i)]")
                if let resourceProblem {
                    for s in scope.spans.indices {
                        rejections.append(SpanRejection(location: "\(location).scope_spans[\(i)].spans[\(s)]", reason: resourceProblem.spanReason))
                    }
                    scope.spans.removeAll()
                }
                out.scopeSpans.append(scope)
            } catch {
                throw error.inside("scope_spans[\(i)]")
            }
        }
        return out
    }

    mutating func scopeSpans(_ v: JSONValue, location: String) throws(OTLPDecodingError) -> ScopeSpans {
        guard case .object = v else { throw OTLPDecodingError("must be an object, got \(v.typeName)") }
        var out = ScopeSpans()
        var scopeProblem: OTLPDecodingError? = nil
        do {
            if let s = try object(v, "scope") {
                out.scope.name = try string(s, "name")
                out.scope.version = try string(s, "version")
                out.scope.attributes = try attributes(s, "attributes")
                out.scope.droppedAttributesCount = try uint32(s, "droppedAttributesCount", "dropped_attributes_count")
            }
            out.schemaURL = try string(v, "schemaUrl", "schema_url")
        } catch where error.rejectsSpansOnly {
            scopeProblem = error.inside("scope")
        }
        let spans: [JSONValue]
        do {
            spans = try array(v, "spans")
        } catch {
            throw OTLPDecodingError(error.reason, path: error.path)
        }
        for (i, sv) in spans.enumerated() {
            do {
                let s = try span(sv)
                if let scopeProblem {
                    rejections.append(SpanRejection(location: "\(location).spans[\(i)]", reason: scopeProblem.spanReason))
                } else {
                    out.spans.append(s)
                }
            } catch where error.rejectsSpansOnly {
                rejections.append(SpanRejection(location: "\(location).spans[\(i)]", reason: error.spanReason))
            } catch {
                throw error.inside("spans[\(i)]")
            }
        }
        return out
    }

    func span(_ v: JSONValue) throws(OTLPDecodingError) -> Span {
        guard case .object = v else { throw OTLPDecodingError.spanLevel("the span must be an object, got \(v.typeName)") }
        guard let traceHex = try hexID(v, "traceId", "trace_id", bytes: 16) else {
            throw OTLPDecodingError.spanLevel("is missing", path: ["trace_id"])
        }
        guard let spanHex = try hexID(v, "spanId", "span_id", bytes: 8) else {
            throw OTLPDecodingError.spanLevel("is missing", path: ["span_id"])
        }
        let traceID = TraceID(hex: traceHex)!
        let spanID = SpanID(hex: spanHex)!
        guard !traceID.isZero else { throw OTLPDecodingError.spanLevel("is all zeros", path: ["trace_id"]) }
        guard !spanID.isZero else { throw OTLPDecodingError.spanLevel("is all zeros", path: ["span_id"]) }
        var out = Span(traceID: traceID, spanID: spanID, name: "", kind: .unspecified, startTimeUnixNano: 0, endTimeUnixNano: 0)
        if let p = try hexID(v, "parentSpanId", "parent_span_id", bytes: 8), let id = SpanID(hex: p), !id.isZero {
            out.parentSpanID = id
        }
        out.traceState = try string(v, "traceState", "trace_state")
        out.flags = try uint32(v, "flags")
        out.name = try string(v, "name")
        out.kind = SpanKind(rawValue: try enumValue(v, "kind", names: Self.spanKindNames))
        out.startTimeUnixNano = try uint64(v, "startTimeUnixNano", "start_time_unix_nano")
        out.endTimeUnixNano = try uint64(v, "endTimeUnixNano", "end_time_unix_nano")
        out.attributes = try attributes(v, "attributes")
        out.droppedAttributesCount = try uint32(v, "droppedAttributesCount", "dropped_attributes_count")
        let events = try array(v, "events")
        guard events.count <= limits.maxEventsPerSpan else {
            throw OTLPDecodingError.spanLevel("more than \(limits.maxEventsPerSpan) events", path: ["events"])
        }
        for (i, e) in events.enumerated() {
            do throws(OTLPDecodingError) {
                guard case .object = e else { throw OTLPDecodingError.spanLevel("must be an object, got \(e.typeName)") }
                out.events.append(SpanEvent(
                    timeUnixNano: try uint64(e, "timeUnixNano", "time_unix_nano"),
                    name: try string(e, "name"),
                    attributes: try attributes(e, "attributes"),
                    droppedAttributesCount: try uint32(e, "droppedAttributesCount", "dropped_attributes_count")))
            } catch {
                throw error.inside("events[\(i)]")
            }
        }
        out.droppedEventsCount = try uint32(v, "droppedEventsCount", "dropped_events_count")
        let links = try array(v, "links")
        guard links.count <= limits.maxLinksPerSpan else {
            throw OTLPDecodingError.spanLevel("more than \(limits.maxLinksPerSpan) links", path: ["links"])
        }
        for (i, l) in links.enumerated() {
            do throws(OTLPDecodingError) {
                guard case .object = l else { throw OTLPDecodingError.spanLevel("must be an object, got \(l.typeName)") }
                guard let t = try hexID(l, "traceId", "trace_id", bytes: 16), let s = try hexID(l, "spanId", "span_id", bytes: 8) else {
                    throw OTLPDecodingError.spanLevel("needs traceId and spanId")
                }
                out.links.append(SpanLink(
                    traceID: TraceID(hex: t)!, spanID: SpanID(hex: s)!,
                    traceState: try string(l, "traceState", "trace_state"),
                    attributes: try attributes(l, "attributes"),
                    droppedAttributesCount: try uint32(l, "droppedAttributesCount", "dropped_attributes_count"),
                    flags: try uint32(l, "flags")))
            } catch {
                throw error.inside("links[\(i)]")
            }
        }
        out.droppedLinksCount = try uint32(v, "droppedLinksCount", "dropped_links_count")
        if let st = try object(v, "status") {
            do {
                out.statusMessage = try string(st, "message")
                out.statusCode = StatusCode(rawValue: try enumValue(st, "code", names: Self.statusNames))
            } catch {
                throw error.inside("status")
            }
        }
        return out
    }

    /// The keys of an AnyValue's oneof (both spellings); anything else beside them is ignored.
    static let valueKinds: Set<String> = [
        "stringValue", "string_value", "boolValue", "bool_value", "intValue", "int_value", "doubleValue", "double_value",
        "bytesValue", "bytes_value", "arrayValue", "array_value", "kvlistValue", "kvlist_value",
    ]

    static let spanKindNames: [String: Int32] = [
        "SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2,
        "SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5,
    ]
    static let statusNames: [String: Int32] = ["STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2]

    func attributes(_ obj: JSONValue, _ name: String) throws(OTLPDecodingError) -> [Attribute] {
        let items = try array(obj, name)
        guard items.count <= limits.maxAttributes else {
            throw OTLPDecodingError.spanLevel("more than \(limits.maxAttributes) attributes", path: [name])
        }
        var out: [Attribute] = []
        out.reserveCapacity(items.count)
        for (i, kv) in items.enumerated() {
            do {
                out.append(try keyValue(kv, depth: 0))
            } catch {
                throw error.inside("\(name)[\(i)]")
            }
        }
        return out
    }

    func keyValue(_ kv: JSONValue, depth: Int) throws(OTLPDecodingError) -> Attribute {
        guard case .object = kv else { throw OTLPDecodingError.spanLevel("must be an object with key and value, got \(kv.typeName)") }
        let key = try string(kv, "key")
        guard let value = member(kv, "value") else { return Attribute(key, .empty) }
        do {
            return Attribute(key, try anyValue(value, depth: depth))
        } catch {
            throw error.inside("'\(key)'")
        }
    }

    func anyValue(_ v: JSONValue, depth: Int) throws(OTLPDecodingError) -> AttributeValue {
        guard depth < limits.maxDepth else { throw OTLPDecodingError.spanLevel("value nested deeper than \(limits.maxDepth) levels") }
        guard case .object(let members) = v else { throw OTLPDecodingError.spanLevel("an AnyValue must be an object, got \(v.typeName)") }
        guard let (key, inner) = members.last(where: { $0.value != .null && Self.valueKinds.contains($0.key) }) else { return .empty }
        switch key {
        case "stringValue", "string_value":
            guard case .string(let s) = inner else { throw OTLPDecodingError.spanLevel("stringValue must be a string, got \(inner.typeName)") }
            guard s.utf8.count <= limits.maxValueBytes else {
                throw OTLPDecodingError.spanLevel("string of \(s.utf8.count) bytes exceeds the limit of \(limits.maxValueBytes)")
            }
            return .string(s)
        case "boolValue", "bool_value":
            guard case .bool(let b) = inner else { throw OTLPDecodingError.spanLevel("boolValue must be true or false, got \(inner.typeName)") }
            return .bool(b)
        case "intValue", "int_value":
            switch inner {
            case .string(let s), .number(let s):
                if let n = Int64(s) { return .int(n) }
                throw OTLPDecodingError.spanLevel("intValue must be a 64-bit integer, got \(s.prefix(40))")
            default:
                throw OTLPDecodingError.spanLevel("intValue must be an integer (string or number), got \(inner.typeName)")
            }
        case "doubleValue", "double_value":
            switch inner {
            case .number(let s):
                return .double(Double(s) ?? .nan)
            case .string(let s):
                switch s {
                case "NaN": return .double(.nan)
                case "Infinity": return .double(.infinity)
                case "-Infinity": return .double(-.infinity)
                default:
                    if let d = Double(s) { return .double(d) }
                    throw OTLPDecodingError.spanLevel("doubleValue must be a number, got \"\(s.prefix(40))\"")
                }
            default:
                throw OTLPDecodingError.spanLevel("doubleValue must be a number, got \(inner.typeName)")
            }
        case "bytesValue", "bytes_value":
            guard case .string(let s) = inner else { throw OTLPDecodingError.spanLevel("bytesValue must be a base64 string, got \(inner.typeName)") }
            guard let data = Data(base64Encoded: s) else { throw OTLPDecodingError.spanLevel("bytesValue is not valid base64") }
            guard data.count <= limits.maxValueBytes else {
                throw OTLPDecodingError.spanLevel("bytes value of \(data.count) bytes exceeds the limit of \(limits.maxValueBytes)")
            }
            return .bytes([UInt8](data))
        case "arrayValue", "array_value":
            let values = try array(inner, "values")
            guard values.count <= limits.maxAttributes else { throw OTLPDecodingError.spanLevel("array longer than \(limits.maxAttributes) values") }
            var out: [AttributeValue] = []
            for (i, item) in values.enumerated() {
                do { out.append(try anyValue(item, depth: depth + 1)) } catch { throw error.inside("[\(i)]") }
            }
            return .array(out)
        case "kvlistValue", "kvlist_value":
            let values = try array(inner, "values")
            guard values.count <= limits.maxAttributes else { throw OTLPDecodingError.spanLevel("kvlist longer than \(limits.maxAttributes) entries") }
            var out: [Attribute] = []
            for (i, item) in values.enumerated() {
                do { out.append(try keyValue(item, depth: depth + 1)) } catch { throw error.inside("[\(i)]") }
            }
            return .kvlist(out)
        default:
            // An unknown value kind from a newer protocol version: keep nothing rather than guess.
            return .empty
        }
    }
}

extension UInt8 {
    var isHexDigit: Bool { (0x30...0x39).contains(self) || (0x61...0x66).contains(self) || (0x41...0x46).contains(self) }
}
