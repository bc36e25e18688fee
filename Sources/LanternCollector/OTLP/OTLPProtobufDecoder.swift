import LanternModel

/// Decodes OTLP `ExportTraceServiceRequest` protobuf bytes, hand-written over the field table
/// of opentelemetry-proto v1.11 (faster than generated code: no intermediate messages, interned
/// strings). Structural damage throws; invalid spans (bad ids, values over the limits) are
/// dropped one by one and reported as rejections.
public struct OTLPProtobufDecoder: Sendable {
    public var limits: DecodingLimits

    public init(limits: DecodingLimits = .default) {
        self.limits = limits
    }

    public func decodeTraces(_ bytes: [UInt8]) throws(OTLPDecodingError) -> DecodedTraces {
        try bytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) throws(OTLPDecodingError) -> DecodedTraces in
            try decodeTraces(buffer)
        }
    }

    public func decodeTraces(_ buffer: UnsafeBufferPointer<UInt8>) throws(OTLPDecodingError) -> DecodedTraces {
        guard buffer.count > 0 else { return DecodedTraces() }
        return try InternerPool.with { (interner: StringInterner) throws(OTLPDecodingError) -> DecodedTraces in
            try decodeTraces(buffer, interner: interner)
        }
    }

    private func decodeTraces(_ buffer: UnsafeBufferPointer<UInt8>, interner: StringInterner) throws(OTLPDecodingError) -> DecodedTraces {
        guard let base = buffer.baseAddress else { return DecodedTraces() }
        var run = ProtobufTraceDecoding(limits: limits, interner: interner)
        let reader = ProtobufReader(base: base, range: 0..<buffer.count)
        var export = TraceExport()
        var resourceOf = ""  // "resource_spans[i]" of export.resourceSpans.last
        for batch in try run.scopeBatches(reader, .traces) {
            if export.resourceSpans.isEmpty || batch.path.first != resourceOf {
                export.resourceSpans.append(ResourceSpans(resource: batch.origin.resource, schemaURL: batch.origin.resourceSchemaURL))
                resourceOf = batch.path.first ?? ""
            }
            var scope = ScopeSpans(scope: batch.origin.scope, schemaURL: batch.origin.scopeSchemaURL)
            scope.spans.reserveCapacity(batch.items.count)
            try run.spans(of: batch, reader) { span, _ in scope.spans.append(span) }
            export.resourceSpans[export.resourceSpans.count - 1].scopeSpans.append(scope)
        }
        return DecodedTraces(export: export, rejections: run.rejections)
    }
}

/// Per-request decoding state: limits, the string interner and the rejections so far.
struct ProtobufTraceDecoding {
    let limits: DecodingLimits
    let interner: StringInterner
    var rejections: [SpanRejection] = []
    /// The `ConventionTable` rule of each attribute of the span `span` decoded last (-1 for none).
    var spanAttributeRules: [Int16] = []
    /// The rule of the key `keyValue` read last.
    var lastKeyRule: Int16 = -1

    mutating func resource(_ r: ProtobufReader) throws(OTLPDecodingError) -> Resource {
        var reader = r
        var out = Resource()
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1:
                try reader.expect(2, got: wire, field: "attributes")
                try appendKeyValue(&out.attributes, reader, reader.readLengthDelimited())
            case 2:
                try reader.expect(0, got: wire, field: "dropped_attributes_count")
                out.droppedAttributesCount = UInt32(truncatingIfNeeded: try reader.readVarint())
            default:
                try reader.skip(wireType: wire)
            }
        }
        return out
    }

    /// Decodes the spans of one scope in order and hands each valid one, with the rule index of
    /// each of its attributes, to `body`; invalid spans, and all spans of a batch whose resource or
    /// scope is invalid, become rejections. Damage to the structure throws with the span's full path.
    mutating func spans(of batch: ScopeBatch<Range<Int>>, _ reader: ProtobufReader,
                        _ body: (consuming Span, _ attributeRules: [Int16]) -> Void) throws(OTLPDecodingError) {
        for (i, range) in batch.items.enumerated() {
            let decoded: Span
            do throws(OTLPDecodingError) {
                decoded = try span(reader.subReader(range))
            } catch where error.rejectsSpansOnly {
                rejections.append(SpanRejection(location: "\(batch.location).spans[\(i)]", reason: error.spanReason))
                continue
            } catch {
                throw batch.structural(error, item: i, .traces)
            }
            if let problem = batch.problem {
                rejections.append(SpanRejection(location: "\(batch.location).spans[\(i)]", reason: problem.spanReason))
                continue
            }
            body(decoded, spanAttributeRules)
        }
    }

    mutating func scope(_ r: ProtobufReader) throws(OTLPDecodingError) -> InstrumentationScope {
        var reader = r
        var out = InstrumentationScope()
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1:
                try reader.expect(2, got: wire, field: "name")
                out.name = try string(reader, reader.readLengthDelimited(), path: "name")
            case 2:
                try reader.expect(2, got: wire, field: "version")
                out.version = try string(reader, reader.readLengthDelimited(), path: "version")
            case 3:
                try reader.expect(2, got: wire, field: "attributes")
                try appendKeyValue(&out.attributes, reader, reader.readLengthDelimited())
            case 4:
                try reader.expect(0, got: wire, field: "dropped_attributes_count")
                out.droppedAttributesCount = UInt32(truncatingIfNeeded: try reader.readVarint())
            default:
                try reader.skip(wireType: wire)
            }
        }
        return out
    }

    mutating func span(_ r: ProtobufReader) throws(OTLPDecodingError) -> Span {
        var reader = r
        var traceID: TraceID? = nil
        var spanID: SpanID? = nil
        var out = Span(traceID: TraceID(high: 0, low: 0), spanID: SpanID(raw: 0), name: "", kind: .unspecified,
                       startTimeUnixNano: 0, endTimeUnixNano: 0)
        spanAttributeRules.removeAll(keepingCapacity: true)
        out.attributes.reserveCapacity(16)  // one allocation for most spans (counting the fields first cost more)
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1:
                try reader.expect(2, got: wire, field: "trace_id")
                let range = try reader.readLengthDelimited()
                guard let id = TraceID(bytes: UnsafeBufferPointer(start: reader.base + range.lowerBound, count: range.count)) else {
                    throw OTLPDecodingError.spanLevel("must be 16 bytes, got \(range.count)", path: ["trace_id"])
                }
                traceID = id
            case 2:
                try reader.expect(2, got: wire, field: "span_id")
                let range = try reader.readLengthDelimited()
                guard let id = SpanID(bytes: UnsafeBufferPointer(start: reader.base + range.lowerBound, count: range.count)) else {
                    throw OTLPDecodingError.spanLevel("must be 8 bytes, got \(range.count)", path: ["span_id"])
                }
                spanID = id
            case 3:
                try reader.expect(2, got: wire, field: "trace_state")
                out.traceState = try string(reader, reader.readLengthDelimited(), path: "trace_state")
            case 4:
                try reader.expect(2, got: wire, field: "parent_span_id")
                let range = try reader.readLengthDelimited()
                if range.isEmpty {
                    out.parentSpanID = nil
                } else if let id = SpanID(bytes: UnsafeBufferPointer(start: reader.base + range.lowerBound, count: range.count)) {
                    out.parentSpanID = id.isZero ? nil : id
                } else {
                    throw OTLPDecodingError.spanLevel("must be empty or 8 bytes, got \(range.count)", path: ["parent_span_id"])
                }
            case 5:
                try reader.expect(2, got: wire, field: "name")
                out.name = try string(reader, reader.readLengthDelimited(), path: "name")
            case 6:
                try reader.expect(0, got: wire, field: "kind")
                out.kind = SpanKind(rawValue: Int32(truncatingIfNeeded: try reader.readVarint()))
            case 7:
                try reader.expect(1, got: wire, field: "start_time_unix_nano")
                out.startTimeUnixNano = try reader.readFixed64()
            case 8:
                try reader.expect(1, got: wire, field: "end_time_unix_nano")
                out.endTimeUnixNano = try reader.readFixed64()
            case 9:
                try reader.expect(2, got: wire, field: "attributes")
                try appendKeyValue(&out.attributes, reader, reader.readLengthDelimited())
                spanAttributeRules.append(lastKeyRule)
            case 10:
                try reader.expect(0, got: wire, field: "dropped_attributes_count")
                out.droppedAttributesCount = UInt32(truncatingIfNeeded: try reader.readVarint())
            case 11:
                try reader.expect(2, got: wire, field: "events")
                let range = try reader.readLengthDelimited()
                guard out.events.count < limits.maxEventsPerSpan else {
                    throw OTLPDecodingError.spanLevel("more than \(limits.maxEventsPerSpan) events", path: ["events"])
                }
                do {
                    out.events.append(try event(reader.subReader(range)))
                } catch {
                    throw error.inside("events[\(out.events.count)]")
                }
            case 12:
                try reader.expect(0, got: wire, field: "dropped_events_count")
                out.droppedEventsCount = UInt32(truncatingIfNeeded: try reader.readVarint())
            case 13:
                try reader.expect(2, got: wire, field: "links")
                let range = try reader.readLengthDelimited()
                guard out.links.count < limits.maxLinksPerSpan else {
                    throw OTLPDecodingError.spanLevel("more than \(limits.maxLinksPerSpan) links", path: ["links"])
                }
                do {
                    out.links.append(try link(reader.subReader(range)))
                } catch {
                    throw error.inside("links[\(out.links.count)]")
                }
            case 14:
                try reader.expect(0, got: wire, field: "dropped_links_count")
                out.droppedLinksCount = UInt32(truncatingIfNeeded: try reader.readVarint())
            case 15:
                try reader.expect(2, got: wire, field: "status")
                var sub = reader.subReader(try reader.readLengthDelimited())
                while let (f, w) = try sub.readTag() {
                    switch f {
                    case 2:
                        try sub.expect(2, got: w, field: "status.message")
                        out.statusMessage = try string(sub, sub.readLengthDelimited(), path: "status.message")
                    case 3:
                        try sub.expect(0, got: w, field: "status.code")
                        out.statusCode = StatusCode(rawValue: Int32(truncatingIfNeeded: try sub.readVarint()))
                    default:
                        try sub.skip(wireType: w)
                    }
                }
            case 16:
                try reader.expect(5, got: wire, field: "flags")
                out.flags = try reader.readFixed32()
            default:
                try reader.skip(wireType: wire)
            }
        }
        guard let traceID else { throw OTLPDecodingError.spanLevel("is missing", path: ["trace_id"]) }
        guard !traceID.isZero else { throw OTLPDecodingError.spanLevel("is all zeros", path: ["trace_id"]) }
        guard let spanID else { throw OTLPDecodingError.spanLevel("is missing", path: ["span_id"]) }
        guard !spanID.isZero else { throw OTLPDecodingError.spanLevel("is all zeros", path: ["span_id"]) }
        out.traceID = traceID
        out.spanID = spanID
        return out
    }

    mutating func event(_ r: ProtobufReader) throws(OTLPDecodingError) -> SpanEvent {
        var reader = r
        var out = SpanEvent(timeUnixNano: 0, name: "")
        out.attributes.reserveCapacity(4)
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1:
                try reader.expect(1, got: wire, field: "time_unix_nano")
                out.timeUnixNano = try reader.readFixed64()
            case 2:
                try reader.expect(2, got: wire, field: "name")
                out.name = try string(reader, reader.readLengthDelimited())
            case 3:
                try reader.expect(2, got: wire, field: "attributes")
                try appendKeyValue(&out.attributes, reader, reader.readLengthDelimited())
            case 4:
                try reader.expect(0, got: wire, field: "dropped_attributes_count")
                out.droppedAttributesCount = UInt32(truncatingIfNeeded: try reader.readVarint())
            default:
                try reader.skip(wireType: wire)
            }
        }
        return out
    }

    mutating func link(_ r: ProtobufReader) throws(OTLPDecodingError) -> SpanLink {
        var reader = r
        var traceID: TraceID? = nil
        var spanID: SpanID? = nil
        var out = SpanLink(traceID: TraceID(high: 0, low: 0), spanID: SpanID(raw: 0))
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1:
                try reader.expect(2, got: wire, field: "trace_id")
                let range = try reader.readLengthDelimited()
                traceID = TraceID(bytes: UnsafeBufferPointer(start: reader.base + range.lowerBound, count: range.count))
                if traceID == nil { throw OTLPDecodingError.spanLevel("must be 16 bytes, got \(range.count)", path: ["trace_id"]) }
            case 2:
                try reader.expect(2, got: wire, field: "span_id")
                let range = try reader.readLengthDelimited()
                spanID = SpanID(bytes: UnsafeBufferPointer(start: reader.base + range.lowerBound, count: range.count))
                if spanID == nil { throw OTLPDecodingError.spanLevel("must be 8 bytes, got \(range.count)", path: ["span_id"]) }
            case 3:
                try reader.expect(2, got: wire, field: "trace_state")
                out.traceState = try string(reader, reader.readLengthDelimited())
            case 4:
                try reader.expect(2, got: wire, field: "attributes")
                try appendKeyValue(&out.attributes, reader, reader.readLengthDelimited())
            case 5:
                try reader.expect(0, got: wire, field: "dropped_attributes_count")
                out.droppedAttributesCount = UInt32(truncatingIfNeeded: try reader.readVarint())
            case 6:
                try reader.expect(5, got: wire, field: "flags")
                out.flags = try reader.readFixed32()
            default:
                try reader.skip(wireType: wire)
            }
        }
        guard let traceID else { throw OTLPDecodingError.spanLevel("is missing", path: ["trace_id"]) }
        guard let spanID else { throw OTLPDecodingError.spanLevel("is missing", path: ["span_id"]) }
        out.traceID = traceID
        out.spanID = spanID
        return out
    }

    /// Appends one `KeyValue` of a repeated field (`attributes` unless named otherwise), within the attribute limit.
    mutating func appendKeyValue(_ list: inout [Attribute], _ parent: ProtobufReader, _ range: Range<Int>,
                                 field: String = "attributes") throws(OTLPDecodingError) {
        guard list.count < limits.maxAttributes else {
            throw OTLPDecodingError.spanLevel("more than \(limits.maxAttributes) attributes", path: [field])
        }
        do {
            list.append(try keyValue(parent.subReader(range), depth: 0))
        } catch {
            throw error.inside("\(field)[\(list.count)]")
        }
    }

    mutating func keyValue(_ r: ProtobufReader, depth: Int) throws(OTLPDecodingError) -> Attribute {
        var reader = r
        var key = ""
        var value = AttributeValue.empty
        var rule: Int16 = -1
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1:
                try reader.expect(2, got: wire, field: "key")
                let range = try reader.readLengthDelimited()
                guard range.count <= limits.maxValueBytes else {
                    throw OTLPDecodingError.spanLevel("string of \(range.count) bytes exceeds the limit of \(limits.maxValueBytes)")
                }
                (key, rule) = try interner.key(reader.base, range)
            case 2:
                try reader.expect(2, got: wire, field: "value")
                let range = try reader.readLengthDelimited()
                do {
                    value = try anyValue(reader.subReader(range), depth: depth)
                } catch {
                    throw error.inside(key.isEmpty ? "value" : "'\(key)'")
                }
            default:
                try reader.skip(wireType: wire)
            }
        }
        lastKeyRule = rule
        return Attribute(key, value)
    }

    mutating func anyValue(_ r: ProtobufReader, depth: Int) throws(OTLPDecodingError) -> AttributeValue {
        guard depth < limits.maxDepth else {
            throw OTLPDecodingError.spanLevel("value nested deeper than \(limits.maxDepth) levels")
        }
        var reader = r
        var value = AttributeValue.empty
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1:
                try reader.expect(2, got: wire, field: "string_value")
                value = .string(try string(reader, reader.readLengthDelimited()))
            case 2:
                try reader.expect(0, got: wire, field: "bool_value")
                value = .bool(try reader.readVarint() != 0)
            case 3:
                try reader.expect(0, got: wire, field: "int_value")
                value = .int(Int64(bitPattern: try reader.readVarint()))
            case 4:
                try reader.expect(1, got: wire, field: "double_value")
                value = .double(Double(bitPattern: try reader.readFixed64()))
            case 5:
                try reader.expect(2, got: wire, field: "array_value")
                var sub = reader.subReader(try reader.readLengthDelimited())
                var items: [AttributeValue] = []
                while let (f, w) = try sub.readTag() {
                    if f == 1 {
                        try sub.expect(2, got: w, field: "values")
                        guard items.count < limits.maxAttributes else {
                            throw OTLPDecodingError.spanLevel("array longer than \(limits.maxAttributes) values")
                        }
                        let range = try sub.readLengthDelimited()
                        do {
                            items.append(try anyValue(sub.subReader(range), depth: depth + 1))
                        } catch {
                            throw error.inside("[\(items.count)]")
                        }
                    } else {
                        try sub.skip(wireType: w)
                    }
                }
                value = .array(items)
            case 6:
                try reader.expect(2, got: wire, field: "kvlist_value")
                var sub = reader.subReader(try reader.readLengthDelimited())
                var items: [Attribute] = []
                while let (f, w) = try sub.readTag() {
                    if f == 1 {
                        try sub.expect(2, got: w, field: "values")
                        guard items.count < limits.maxAttributes else {
                            throw OTLPDecodingError.spanLevel("kvlist longer than \(limits.maxAttributes) entries")
                        }
                        items.append(try keyValue(sub.subReader(try sub.readLengthDelimited()), depth: depth + 1))
                    } else {
                        try sub.skip(wireType: w)
                    }
                }
                value = .kvlist(items)
            case 7:
                try reader.expect(2, got: wire, field: "bytes_value")
                let range = try reader.readLengthDelimited()
                guard range.count <= limits.maxValueBytes else {
                    throw OTLPDecodingError.spanLevel("bytes value of \(range.count) bytes exceeds the limit of \(limits.maxValueBytes)")
                }
                value = .bytes(Array(UnsafeBufferPointer(start: reader.base + range.lowerBound, count: range.count)))
            default:
                try reader.skip(wireType: wire)
            }
        }
        return value
    }

    func string(_ reader: ProtobufReader, _ range: Range<Int>, path: String? = nil) throws(OTLPDecodingError) -> String {
        guard range.count <= limits.maxValueBytes else {
            throw OTLPDecodingError.spanLevel("string of \(range.count) bytes exceeds the limit of \(limits.maxValueBytes)",
                                              path: path.map { [$0] } ?? [])
        }
        return try interner.string(reader.base, range)
    }
}

extension OTLPDecodingError {
    /// An error that invalidates one span (or the spans of one resource or scope), not the request.
    static func spanLevel(_ reason: String, path: [String] = []) -> OTLPDecodingError {
        var e = OTLPDecodingError(reason, path: path)
        e.rejectsSpansOnly = true
        return e
    }
}
