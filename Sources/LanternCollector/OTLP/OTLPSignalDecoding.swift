import LanternModel

// What logs and metrics decoding share: the Request → Resource* → Scope* → item envelope (the same
// shape for both signals, in protobuf and JSON) and the walk that keeps or rejects each item, the
// body-level entry points, and a few protobuf scalar and JSON number readers. Resource, scope,
// attribute and AnyValue decoding is the trace decoders' own (`ProtobufTraceDecoding`,
// `JSONTraceDecoding`), so limits and error paths behave the same.

/// A log record or metric data point that was dropped while the rest of its request was accepted
/// (the same shape as a span's rejection).
public typealias ItemRejection = SpanRejection

/// The field names of one signal's envelope.
struct SignalNames {
    /// `resource_logs`, `scope_logs`, `log_records` (protobuf names, used in paths and locations).
    var resources: String
    var scopes: String
    var items: String
    /// `resourceLogs`, `scopeLogs`, `logRecords` (OTLP/JSON keys).
    var resourcesKey: String
    var scopesKey: String
    var itemsKey: String

    static let logs = SignalNames(resources: "resource_logs", scopes: "scope_logs", items: "log_records",
                                  resourcesKey: "resourceLogs", scopesKey: "scopeLogs", itemsKey: "logRecords")
    static let traces = SignalNames(resources: "resource_spans", scopes: "scope_spans", items: "spans",
                                    resourcesKey: "resourceSpans", scopesKey: "scopeSpans", itemsKey: "spans")
    static let metrics = SignalNames(resources: "resource_metrics", scopes: "scope_metrics", items: "metrics",
                                     resourcesKey: "resourceMetrics", scopesKey: "scopeMetrics", itemsKey: "metrics")
}

/// The items of one scope, not yet decoded, with where they came from.
struct ScopeBatch<Item> {
    var origin: SignalOrigin
    /// A fault in the resource or scope that rejects every item of the batch.
    var problem: OTLPDecodingError?
    /// `["resource_logs[0]", "scope_logs[1]"]`.
    var path: [String]
    var items: [Item]

    var location: String { path.joined(separator: ".") }

    /// A structural error inside item `index`, given its full path from the request root.
    func structural(_ error: OTLPDecodingError, item index: Int, _ names: SignalNames) -> OTLPDecodingError {
        var e = error.inside("\(names.items)[\(index)]")
        e.path.insert(contentsOf: path, at: 0)
        e.rejectsSpansOnly = false
        return e
    }
}

/// A decoded logs or metrics request, built item by item as its envelope is walked.
protocol DecodedSignal {
    /// One item as read, before the fault of its resource or scope is applied: a log record (or the
    /// fault that rejects it alone), or a metric with the fate of each of its points.
    associatedtype Item
    static var names: SignalNames { get }
    /// Keeps `item`, read at `location`, or rejects it for its own fault or for `inherited`, the
    /// fault of its resource or scope.
    mutating func add(_ item: Item, origin: SignalOrigin, inherited: OTLPDecodingError?, location: String)
}

extension DecodedSignal {
    /// Reads every item of `batches` in order with `read` and adds it; a structural fault inside an
    /// item throws, with the item's full path.
    mutating func add<Raw>(_ batches: [ScopeBatch<Raw>],
                           reading read: (_ raw: Raw, _ location: String) throws(OTLPDecodingError) -> Item) throws(OTLPDecodingError) {
        for batch in batches {
            for (i, raw) in batch.items.enumerated() {
                let location = "\(batch.location).\(Self.names.items)[\(i)]"
                let item: Item
                do {
                    item = try read(raw, location)
                } catch {
                    throw batch.structural(error, item: i, Self.names)
                }
                add(item, origin: batch.origin, inherited: batch.problem, location: location)
            }
        }
    }
}

// MARK: - Protobuf envelope

extension OTLPProtobufDecoder {
    /// Walks an `Export{Logs,Metrics}ServiceRequest` (or `LogsData`, `MetricsData`) and adds each
    /// item, read by `read`, to `out`. An empty body is an empty request.
    func decodeItems<Decoded: DecodedSignal>(
        _ buffer: UnsafeBufferPointer<UInt8>, into out: inout Decoded,
        _ read: (inout ProtobufTraceDecoding, ProtobufReader, _ location: String) throws(OTLPDecodingError) -> Decoded.Item
    ) throws(OTLPDecodingError) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        try InternerPool.with { (interner: StringInterner) throws(OTLPDecodingError) in
            var run = ProtobufTraceDecoding(limits: limits, interner: interner)
            let reader = ProtobufReader(base: base, range: 0..<buffer.count)
            let batches = try run.scopeBatches(reader, Decoded.names)
            try out.add(batches) { (range: Range<Int>, location: String) throws(OTLPDecodingError) -> Decoded.Item in
                try read(&run, reader.subReader(range), location)
            }
        }
    }
}

/// Scalar fields read after checking their wire type (a wrong one is structural damage).
extension ProtobufReader {
    /// A `fixed64` field's value.
    mutating func fixed64(_ wire: Int, _ field: String) throws(OTLPDecodingError) -> UInt64 {
        try expect(1, got: wire, field: field)
        return try readFixed64()
    }

    /// A `double` field's value.
    mutating func double(_ wire: Int, _ field: String) throws(OTLPDecodingError) -> Double {
        Double(bitPattern: try fixed64(wire, field))
    }

    /// A varint field's raw value (`uint32`, `bool`, `sint32`, enums).
    mutating func varint(_ wire: Int, _ field: String) throws(OTLPDecodingError) -> UInt64 {
        try expect(0, got: wire, field: field)
        return try readVarint()
    }
}

extension ProtobufTraceDecoding {
    /// Walks an `Export{Logs,Metrics}ServiceRequest` down to its scopes; items are left as byte ranges.
    mutating func scopeBatches(_ reader: ProtobufReader, _ names: SignalNames) throws(OTLPDecodingError) -> [ScopeBatch<Range<Int>>] {
        var r = reader
        var batches: [ScopeBatch<Range<Int>>] = []
        var resourceIndex = 0
        while let (field, wire) = try r.readTag() {
            guard field == 1 else {
                try r.skip(wireType: wire)
                continue
            }
            try r.expect(2, got: wire, field: names.resources)
            let range = try r.readLengthDelimited()
            let here = "\(names.resources)[\(resourceIndex)]"
            resourceIndex += 1
            do {
                try resourceBatches(r.subReader(range), names, path: here, into: &batches)
            } catch {
                throw error.inside(here)
            }
        }
        return batches
    }

    private mutating func resourceBatches(_ reader: ProtobufReader, _ names: SignalNames, path: String,
                                          into batches: inout [ScopeBatch<Range<Int>>]) throws(OTLPDecodingError) {
        var r = reader
        var resource = Resource()
        var schemaURL = ""
        var problem: OTLPDecodingError? = nil
        var scopeRanges: [Range<Int>] = []
        while let (field, wire) = try r.readTag() {
            switch field {
            case 1:
                try r.expect(2, got: wire, field: "resource")
                let range = try r.readLengthDelimited()
                do {
                    resource = try self.resource(r.subReader(range))
                } catch where error.rejectsSpansOnly {
                    problem = error.inside("resource")
                } catch {
                    throw error.inside("resource")
                }
            case 2:
                try r.expect(2, got: wire, field: names.scopes)
                scopeRanges.append(try r.readLengthDelimited())
            case 3:
                try r.expect(2, got: wire, field: "schema_url")
                let range = try r.readLengthDelimited()
                do {
                    schemaURL = try string(r, range, path: "schema_url")
                } catch where error.rejectsSpansOnly {
                    problem = problem ?? error
                }
            default:
                try r.skip(wireType: wire)
            }
        }
        for (i, range) in scopeRanges.enumerated() {
            let here = "\(names.scopes)[\(i)]"
            do {
                var batch = try scopeBatch(r.subReader(range), names)
                batch.origin.resource = resource
                batch.origin.resourceSchemaURL = schemaURL
                batch.path = [path, here]
                if let problem { batch.problem = problem }
                batches.append(batch)
            } catch {
                throw error.inside(here)
            }
        }
    }

    private mutating func scopeBatch(_ reader: ProtobufReader, _ names: SignalNames) throws(OTLPDecodingError) -> ScopeBatch<Range<Int>> {
        var r = reader
        var batch = ScopeBatch<Range<Int>>(origin: SignalOrigin(resource: Resource(), scope: InstrumentationScope()), problem: nil,
                                           path: [], items: [])
        while let (field, wire) = try r.readTag() {
            switch field {
            case 1:
                try r.expect(2, got: wire, field: "scope")
                let range = try r.readLengthDelimited()
                do {
                    batch.origin.scope = try scope(r.subReader(range))
                } catch where error.rejectsSpansOnly {
                    batch.problem = error.inside("scope")
                } catch {
                    throw error.inside("scope")
                }
            case 2:
                try r.expect(2, got: wire, field: names.items)
                batch.items.append(try r.readLengthDelimited())
            case 3:
                try r.expect(2, got: wire, field: "schema_url")
                let range = try r.readLengthDelimited()
                do {
                    batch.origin.scopeSchemaURL = try string(r, range, path: "schema_url")
                } catch where error.rejectsSpansOnly {
                    batch.problem = batch.problem ?? error
                }
            default:
                try r.skip(wireType: wire)
            }
        }
        return batch
    }

    /// A 16-byte trace id field: nil when empty or all zeros; a wrong length rejects the item.
    func optionalTraceID(_ reader: ProtobufReader, _ range: Range<Int>, path: String) throws(OTLPDecodingError) -> TraceID? {
        if range.isEmpty { return nil }
        guard let id = TraceID(bytes: UnsafeBufferPointer(start: reader.base + range.lowerBound, count: range.count)) else {
            throw OTLPDecodingError.spanLevel("must be empty or 16 bytes, got \(range.count)", path: [path])
        }
        return id.isZero ? nil : id
    }

    /// An 8-byte span id field: nil when empty or all zeros; a wrong length rejects the item.
    func optionalSpanID(_ reader: ProtobufReader, _ range: Range<Int>, path: String) throws(OTLPDecodingError) -> SpanID? {
        if range.isEmpty { return nil }
        guard let id = SpanID(bytes: UnsafeBufferPointer(start: reader.base + range.lowerBound, count: range.count)) else {
            throw OTLPDecodingError.spanLevel("must be empty or 8 bytes, got \(range.count)", path: [path])
        }
        return id.isZero ? nil : id
    }
}

// MARK: - JSON envelope

extension OTLPJSONDecoder {
    /// Walks an OTLP/JSON logs or metrics request and adds each item, read by `read`, to `out`.
    func decodeItems<Decoded: DecodedSignal>(
        _ root: JSONValue, into out: inout Decoded,
        _ read: (JSONTraceDecoding, JSONValue, _ location: String) throws(OTLPDecodingError) -> Decoded.Item
    ) throws(OTLPDecodingError) {
        let run = JSONTraceDecoding(limits: limits)
        let batches = try run.scopeBatches(root, Decoded.names)
        try out.add(batches) { (item: JSONValue, location: String) throws(OTLPDecodingError) -> Decoded.Item in
            try read(run, item, location)
        }
    }
}

extension JSONTraceDecoding {
    /// Walks an OTLP/JSON logs or metrics request down to its scopes; items are left as JSON values.
    func scopeBatches(_ root: JSONValue, _ names: SignalNames) throws(OTLPDecodingError) -> [ScopeBatch<JSONValue>] {
        guard case .object = root else { throw OTLPDecodingError("the request body must be a JSON object, got \(root.typeName)") }
        var batches: [ScopeBatch<JSONValue>] = []
        let resources: [JSONValue]
        do {
            resources = try array(root, names.resourcesKey, names.resources)
        } catch {
            throw OTLPDecodingError(error.reason, path: error.path)
        }
        for (i, rv) in resources.enumerated() {
            let here = "\(names.resources)[\(i)]"
            guard case .object = rv else { throw OTLPDecodingError("must be an object, got \(rv.typeName)", path: [here]) }
            var resource = Resource()
            var schemaURL = ""
            var problem: OTLPDecodingError? = nil
            do throws(OTLPDecodingError) {
                if let r = try object(rv, "resource") {
                    do {
                        resource.attributes = try attributes(r, "attributes")
                        resource.droppedAttributesCount = try uint32(r, "droppedAttributesCount", "dropped_attributes_count")
                    } catch {
                        throw error.inside("resource")
                    }
                }
            } catch {
                problem = error
            }
            do {
                schemaURL = try string(rv, "schemaUrl", "schema_url")
            } catch {
                problem = problem ?? error
            }
            let scopes: [JSONValue]
            do {
                scopes = try array(rv, names.scopesKey, names.scopes)
            } catch {
                throw OTLPDecodingError(error.reason, path: [here] + error.path)
            }
            for (j, sv) in scopes.enumerated() {
                let scopeHere = "\(names.scopes)[\(j)]"
                guard case .object = sv else {
                    throw OTLPDecodingError("must be an object, got \(sv.typeName)", path: [here, scopeHere])
                }
                var batch = ScopeBatch<JSONValue>(
                    origin: SignalOrigin(resource: resource, resourceSchemaURL: schemaURL, scope: InstrumentationScope()),
                    problem: problem, path: [here, scopeHere], items: [])
                do throws(OTLPDecodingError) {
                    if let s = try object(sv, "scope") {
                        do {
                            batch.origin.scope.name = try string(s, "name")
                            batch.origin.scope.version = try string(s, "version")
                            batch.origin.scope.attributes = try attributes(s, "attributes")
                            batch.origin.scope.droppedAttributesCount = try uint32(s, "droppedAttributesCount", "dropped_attributes_count")
                        } catch {
                            throw error.inside("scope")
                        }
                    }
                } catch {
                    batch.problem = batch.problem ?? error
                }
                do {
                    batch.origin.scopeSchemaURL = try string(sv, "schemaUrl", "schema_url")
                } catch {
                    batch.problem = batch.problem ?? error
                }
                do {
                    batch.items = try array(sv, names.itemsKey, names.items)
                } catch {
                    throw OTLPDecodingError(error.reason, path: [here, scopeHere] + error.path)
                }
                batches.append(batch)
            }
        }
        return batches
    }

    /// An optional hex trace id: nil when absent, empty or all zeros.
    func optionalTraceID(_ obj: JSONValue, _ camel: String, _ snake: String) throws(OTLPDecodingError) -> TraceID? {
        guard let hex = try hexID(obj, camel, snake, bytes: 16), let id = TraceID(hex: hex), !id.isZero else { return nil }
        return id
    }

    /// An optional hex span id: nil when absent, empty or all zeros.
    func optionalSpanID(_ obj: JSONValue, _ camel: String, _ snake: String) throws(OTLPDecodingError) -> SpanID? {
        guard let hex = try hexID(obj, camel, snake, bytes: 8), let id = SpanID(hex: hex), !id.isZero else { return nil }
        return id
    }

    /// An enum given as a number or (leniently) its name, under either spelling of its key.
    func enumNumber(_ obj: JSONValue, _ camel: String, _ snake: String, names: [String: Int32]) throws(OTLPDecodingError) -> Int32 {
        guard let v = member(obj, camel, snake) else { return 0 }
        switch v {
        case .number(let s), .string(let s):
            if let n = Int32(s) { return n }
            if case .string = v, let n = names[s] { return n }
            throw OTLPDecodingError.spanLevel("must be an enum number, got \(s.prefix(40))", path: [snake])
        default:
            throw OTLPDecodingError.spanLevel("must be an enum number, got \(v.typeName)", path: [snake])
        }
    }

    func bool(_ obj: JSONValue, _ camel: String, _ snake: String) throws(OTLPDecodingError) -> Bool {
        guard let v = member(obj, camel, snake) else { return false }
        guard case .bool(let b) = v else { throw OTLPDecodingError.spanLevel("must be true or false, got \(v.typeName)", path: [snake]) }
        return b
    }

    /// A double given as a JSON number or as a string (`"NaN"`, `"Infinity"`, `"-Infinity"`, decimal); nil when absent.
    func double(_ obj: JSONValue, _ camel: String, _ snake: String) throws(OTLPDecodingError) -> Double? {
        guard let v = member(obj, camel, snake) else { return nil }
        do {
            return try Self.double(v)
        } catch {
            throw error.inside(snake)
        }
    }

    static func double(_ v: JSONValue) throws(OTLPDecodingError) -> Double {
        switch v {
        case .number(let s):
            if let d = Double(s) { return d }
            throw OTLPDecodingError.spanLevel("must be a number, got \(s.prefix(40))")
        case .string(let s):
            switch s {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default:
                if let d = Double(s) { return d }
                throw OTLPDecodingError.spanLevel("must be a number, got \"\(s.prefix(40))\"")
            }
        default:
            throw OTLPDecodingError.spanLevel("must be a number, got \(v.typeName)")
        }
    }

    /// A signed 64-bit integer given as a decimal string or a JSON number; nil when absent.
    func int64(_ obj: JSONValue, _ camel: String, _ snake: String) throws(OTLPDecodingError) -> Int64? {
        guard let v = member(obj, camel, snake) else { return nil }
        switch v {
        case .string(let s), .number(let s):
            if let n = Int64(s) { return n }
            if let d = Double(s), d >= -9.223372036854775808e18, d < 9.223372036854775808e18, d.rounded() == d { return Int64(d) }
            throw OTLPDecodingError.spanLevel("must be a signed 64-bit integer, got \(s.prefix(40))", path: [snake])
        default:
            throw OTLPDecodingError.spanLevel("must be an integer (string or number), got \(v.typeName)", path: [snake])
        }
    }

    /// A signed 32-bit integer (`sint32`); 0 when absent.
    func int32(_ obj: JSONValue, _ camel: String, _ snake: String) throws(OTLPDecodingError) -> Int32 {
        guard let v = try int64(obj, camel, snake) else { return 0 }
        guard let n = Int32(exactly: v) else { throw OTLPDecodingError.spanLevel("\(v) does not fit in 32 bits", path: [snake]) }
        return n
    }

    /// The array at `camel` or `snake` (empty when absent), at most `limit` long, each element read
    /// by `element`; a fault in one is reported inside it (`snake[i]`).
    func array<T>(_ obj: JSONValue, _ camel: String, _ snake: String? = nil, limit: Int, of noun: String = "values",
                  _ element: (JSONValue) throws(OTLPDecodingError) -> T) throws(OTLPDecodingError) -> [T] {
        let name = snake ?? camel
        let items = try array(obj, camel, snake)
        guard items.count <= limit else { throw OTLPDecodingError.spanLevel("more than \(limit) \(noun)", path: [name]) }
        var out: [T] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            do {
                out.append(try element(item))
            } catch {
                throw error.inside("\(name)[\(i)]")
            }
        }
        return out
    }

    /// A JSON array of unsigned 64-bit integers (strings or numbers), at most `limit` long.
    func uint64Array(_ obj: JSONValue, _ camel: String, _ snake: String, limit: Int) throws(OTLPDecodingError) -> [UInt64] {
        try array(obj, camel, snake, limit: limit) { (item: JSONValue) throws(OTLPDecodingError) -> UInt64 in
            switch item {
            case .string(let s), .number(let s):
                guard let n = UInt64(s) else { throw OTLPDecodingError.spanLevel("must be an unsigned 64-bit integer, got \(s.prefix(40))") }
                return n
            default:
                throw OTLPDecodingError.spanLevel("must be an integer (string or number), got \(item.typeName)")
            }
        }
    }

    /// A JSON array of doubles, at most `limit` long.
    func doubleArray(_ obj: JSONValue, _ camel: String, _ snake: String, limit: Int) throws(OTLPDecodingError) -> [Double] {
        try array(obj, camel, snake, limit: limit) { (item: JSONValue) throws(OTLPDecodingError) -> Double in
            try Self.double(item)
        }
    }
}

// MARK: - Body-level entry points

/// Decodes whole OTLP bodies of any signal: inflates within the size limit, then parses protobuf or JSON.
public typealias OTLPBodyDecoder = OTLPTraceBodyDecoder

extension OTLPTraceBodyDecoder {
    /// The same as `decode(_:format:encoding:)`, named for symmetry with the other signals.
    public func decodeTraces(_ body: [UInt8], format: OTLPFormat, encoding: ContentEncoding) throws(Failure) -> DecodedTraces {
        try decode(body, format: format, encoding: encoding)
    }

    /// Decodes an `ExportLogsServiceRequest` body.
    public func decodeLogs(_ body: [UInt8], format: OTLPFormat, encoding: ContentEncoding) throws(Failure) -> DecodedLogs {
        let raw = try inflated(body, encoding: encoding)
        do {
            switch format {
            case .protobuf: return try OTLPProtobufDecoder(limits: limits).decodeLogs(raw)
            case .json: return try OTLPJSONDecoder(limits: limits).decodeLogs(raw)
            }
        } catch {
            throw .malformed(error)
        }
    }

    /// Decodes an `ExportMetricsServiceRequest` body.
    public func decodeMetrics(_ body: [UInt8], format: OTLPFormat, encoding: ContentEncoding) throws(Failure) -> DecodedMetrics {
        let raw = try inflated(body, encoding: encoding)
        do {
            switch format {
            case .protobuf: return try OTLPProtobufDecoder(limits: limits).decodeMetrics(raw)
            case .json: return try OTLPJSONDecoder(limits: limits).decodeMetrics(raw)
            }
        } catch {
            throw .malformed(error)
        }
    }

    /// The body inflated per its `Content-Encoding`, refused past `maxBodyBytes`.
    func inflated(_ body: [UInt8], encoding: ContentEncoding) throws(Failure) -> [UInt8] {
        do {
            return try Decompression.inflate(body, encoding: encoding, limit: maxBodyBytes)
        } catch {
            switch error {
            case .tooLarge: throw .tooLarge(error.description)
            case .corrupt: throw .malformed(OTLPDecodingError(error.description))
            }
        }
    }
}
