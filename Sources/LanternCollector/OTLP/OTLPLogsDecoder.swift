import LanternModel

/// A decoded logs request: the records that were valid and the reasons for those that were not.
public struct DecodedLogs: Sendable, Equatable {
    public var export: LogsExport
    public var rejections: [ItemRejection]

    public init(export: LogsExport = .init(), rejections: [ItemRejection] = []) {
        self.export = export
        self.rejections = rejections
    }
}

extension DecodedLogs: DecodedSignal {
    /// A record as read, or the fault that rejects it alone.
    typealias Item = Result<LogRecord, OTLPDecodingError>

    static var names: SignalNames { .logs }

    /// The record `read` returns, or the fault that rejects only it; a structural fault still throws.
    static func item(_ read: () throws(OTLPDecodingError) -> LogRecord) throws(OTLPDecodingError) -> Item {
        do {
            return .success(try read())
        } catch where error.rejectsSpansOnly {
            return .failure(error)
        }
    }

    mutating func add(_ item: Item, origin: SignalOrigin, inherited: OTLPDecodingError?, location: String) {
        switch (item, inherited) {
        case (.success(let record), nil):
            export.entries.append(LogEntry(origin: origin, record: record))
        case (_, let problem?), (.failure(let problem), nil):
            rejections.append(ItemRejection(location: location, reason: problem.spanReason))
        }
    }
}

// MARK: - Protobuf

extension OTLPProtobufDecoder {
    /// Decodes `ExportLogsServiceRequest` (or `LogsData`) protobuf bytes. Structural damage throws;
    /// a record with a bad id or a value past the limits is dropped and reported as a rejection.
    public func decodeLogs(_ bytes: [UInt8]) throws(OTLPDecodingError) -> DecodedLogs {
        try bytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) throws(OTLPDecodingError) -> DecodedLogs in
            try decodeLogs(buffer)
        }
    }

    public func decodeLogs(_ buffer: UnsafeBufferPointer<UInt8>) throws(OTLPDecodingError) -> DecodedLogs {
        var out = DecodedLogs()
        try decodeItems(buffer, into: &out) {
            (run: inout ProtobufTraceDecoding, record: ProtobufReader, _: String) throws(OTLPDecodingError) -> DecodedLogs.Item in
            try DecodedLogs.item { () throws(OTLPDecodingError) -> LogRecord in try run.logRecord(record) }
        }
        return out
    }
}

extension ProtobufTraceDecoding {
    /// One `LogRecord` (opentelemetry-proto v1.11 `logs/v1/logs.proto`).
    mutating func logRecord(_ r: ProtobufReader) throws(OTLPDecodingError) -> LogRecord {
        var reader = r
        var out = LogRecord()
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1:
                out.timeUnixNano = try reader.fixed64(wire, "time_unix_nano")
            case 2:
                out.severityNumber = SeverityNumber(rawValue: Int32(truncatingIfNeeded: try reader.varint(wire, "severity_number")))
            case 3:
                try reader.expect(2, got: wire, field: "severity_text")
                out.severityText = try string(reader, reader.readLengthDelimited(), path: "severity_text")
            case 5:
                try reader.expect(2, got: wire, field: "body")
                let range = try reader.readLengthDelimited()
                do {
                    out.body = try anyValue(reader.subReader(range), depth: 0)
                } catch {
                    throw error.inside("body")
                }
            case 6:
                try reader.expect(2, got: wire, field: "attributes")
                try appendKeyValue(&out.attributes, reader, reader.readLengthDelimited())
            case 7:
                out.droppedAttributesCount = UInt32(truncatingIfNeeded: try reader.varint(wire, "dropped_attributes_count"))
            case 8:
                try reader.expect(5, got: wire, field: "flags")
                out.flags = try reader.readFixed32()
            case 9:
                try reader.expect(2, got: wire, field: "trace_id")
                out.traceID = try optionalTraceID(reader, reader.readLengthDelimited(), path: "trace_id")
            case 10:
                try reader.expect(2, got: wire, field: "span_id")
                out.spanID = try optionalSpanID(reader, reader.readLengthDelimited(), path: "span_id")
            case 11:
                out.observedTimeUnixNano = try reader.fixed64(wire, "observed_time_unix_nano")
            case 12:
                try reader.expect(2, got: wire, field: "event_name")
                out.eventName = try string(reader, reader.readLengthDelimited(), path: "event_name")
            default:
                // 4 is reserved (the old `name`); anything else is from a newer protocol version.
                try reader.skip(wireType: wire)
            }
        }
        return out
    }
}

// MARK: - JSON

extension OTLPJSONDecoder {
    /// Decodes an OTLP/JSON `ExportLogsServiceRequest`. Unknown keys are ignored; a record of the
    /// wrong shape is dropped and reported as a rejection naming the field.
    public func decodeLogs(_ bytes: [UInt8]) throws(OTLPDecodingError) -> DecodedLogs {
        try decodeLogs(parse(bytes))
    }

    public func decodeLogs(_ root: JSONValue) throws(OTLPDecodingError) -> DecodedLogs {
        var out = DecodedLogs()
        try decodeItems(root, into: &out) {
            (run: JSONTraceDecoding, record: JSONValue, _: String) throws(OTLPDecodingError) -> DecodedLogs.Item in
            try DecodedLogs.item { () throws(OTLPDecodingError) -> LogRecord in try run.logRecord(record) }
        }
        return out
    }
}

extension JSONTraceDecoding {
    static let severityNames: [String: Int32] = {
        var names: [String: Int32] = ["SEVERITY_NUMBER_UNSPECIFIED": 0]
        for (i, level) in ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"].enumerated() {
            for step in 1...4 {
                names["SEVERITY_NUMBER_\(level)\(step == 1 ? "" : String(step))"] = Int32(i * 4 + step)
            }
        }
        return names
    }()

    func logRecord(_ v: JSONValue) throws(OTLPDecodingError) -> LogRecord {
        guard case .object = v else { throw OTLPDecodingError.spanLevel("the log record must be an object, got \(v.typeName)") }
        var out = LogRecord()
        out.timeUnixNano = try uint64(v, "timeUnixNano", "time_unix_nano")
        out.observedTimeUnixNano = try uint64(v, "observedTimeUnixNano", "observed_time_unix_nano")
        out.severityNumber = SeverityNumber(rawValue: try enumNumber(v, "severityNumber", "severity_number", names: Self.severityNames))
        out.severityText = try string(v, "severityText", "severity_text")
        if let body = member(v, "body") {
            do {
                out.body = try anyValue(body, depth: 0)
            } catch {
                throw error.inside("body")
            }
        }
        out.attributes = try attributes(v, "attributes")
        out.droppedAttributesCount = try uint32(v, "droppedAttributesCount", "dropped_attributes_count")
        out.flags = try uint32(v, "flags")
        out.traceID = try optionalTraceID(v, "traceId", "trace_id")
        out.spanID = try optionalSpanID(v, "spanId", "span_id")
        out.eventName = try string(v, "eventName", "event_name")
        return out
    }
}
