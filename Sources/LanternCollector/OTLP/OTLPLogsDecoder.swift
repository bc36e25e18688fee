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
        guard let base = buffer.baseAddress, buffer.count > 0 else { return DecodedLogs() }
        var run = ProtobufTraceDecoding(limits: limits, interner: StringInterner())
        let reader = ProtobufReader(base: base, range: 0..<buffer.count)
        let names = SignalNames.logs
        var out = DecodedLogs()
        for batch in try run.scopeBatches(reader, names) {
            for (i, range) in batch.items.enumerated() {
                let location = "\(batch.location).\(names.items)[\(i)]"
                do {
                    let record = try run.logRecord(reader.subReader(range))
                    if let problem = batch.problem {
                        out.rejections.append(ItemRejection(location: location, reason: problem.spanReason))
                    } else {
                        out.export.entries.append(LogEntry(origin: batch.origin, record: record))
                    }
                } catch where error.rejectsSpansOnly {
                    out.rejections.append(ItemRejection(location: location, reason: (batch.problem ?? error).spanReason))
                } catch {
                    throw batch.structural(error, item: i, names)
                }
            }
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
                try reader.expect(1, got: wire, field: "time_unix_nano")
                out.timeUnixNano = try reader.readFixed64()
            case 2:
                try reader.expect(0, got: wire, field: "severity_number")
                out.severityNumber = SeverityNumber(rawValue: Int32(truncatingIfNeeded: try reader.readVarint()))
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
                try reader.expect(0, got: wire, field: "dropped_attributes_count")
                out.droppedAttributesCount = UInt32(truncatingIfNeeded: try reader.readVarint())
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
                try reader.expect(1, got: wire, field: "observed_time_unix_nano")
                out.observedTimeUnixNano = try reader.readFixed64()
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
        let run = JSONTraceDecoding(limits: limits)
        let names = SignalNames.logs
        var out = DecodedLogs()
        for batch in try run.scopeBatches(root, names) {
            for (i, item) in batch.items.enumerated() {
                let location = "\(batch.location).\(names.items)[\(i)]"
                do {
                    let record = try run.logRecord(item)
                    if let problem = batch.problem {
                        out.rejections.append(ItemRejection(location: location, reason: problem.spanReason))
                    } else {
                        out.export.entries.append(LogEntry(origin: batch.origin, record: record))
                    }
                } catch where error.rejectsSpansOnly {
                    out.rejections.append(ItemRejection(location: location, reason: (batch.problem ?? error).spanReason))
                } catch {
                    throw batch.structural(error, item: i, names)
                }
            }
        }
        return out
    }

    /// The body parsed as JSON within the nesting bound the trace decoder uses.
    func parse(_ bytes: [UInt8]) throws(OTLPDecodingError) -> JSONValue {
        do {
            return try JSONParser(maxDepth: 32 + 3 * limits.maxDepth).parse(bytes)
        } catch {
            throw OTLPDecodingError(error.description, offset: error.offset)
        }
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
