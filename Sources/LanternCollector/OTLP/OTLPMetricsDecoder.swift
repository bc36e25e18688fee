import LanternModel

/// A decoded metrics request: the metrics whose points were valid, and a rejection per dropped
/// data point (the unit OTLP's `rejected_data_points` counts).
public struct DecodedMetrics: Sendable, Equatable {
    public var export: MetricsExport
    /// One per dropped data point; a dropped metric that had no points gets one at its own location.
    public var rejections: [ItemRejection]

    public init(export: MetricsExport = .init(), rejections: [ItemRejection] = []) {
        self.export = export
        self.rejections = rejections
    }
}

/// One metric as read, before its fate is decided: a fault in the metric itself (or its resource
/// or scope) drops every point; a fault in one point drops that point.
struct ParsedMetric {
    var metric = Metric(name: "")
    /// A fault in the descriptor or the data message: rejects every point.
    var problem: OTLPDecodingError? = nil
    /// The proto name of the data kind (`histogram`, ...), once seen.
    var kind: String? = nil
    /// Points seen, kept or not.
    var total = 0
    var rejections: [ItemRejection] = []

    /// Starts over for a data kind different from the one so far (a later oneof member wins).
    mutating func begin(_ kind: String) {
        guard self.kind != kind else { return }
        self.kind = kind
        total = 0
        rejections = []
        metric.data = nil
    }

    func pointLocation(_ metricLocation: String, _ index: Int) -> String {
        "\(metricLocation).\(kind ?? "data").data_points[\(index)]"
    }
}

extension DecodedMetrics {
    mutating func add(_ p: ParsedMetric, origin: SignalOrigin, inherited: OTLPDecodingError?, location: String) {
        if let problem = inherited ?? p.problem {
            if p.total == 0 {
                rejections.append(ItemRejection(location: location, reason: problem.spanReason))
            } else {
                for k in 0..<p.total {
                    rejections.append(ItemRejection(location: p.pointLocation(location, k), reason: problem.spanReason))
                }
            }
        } else {
            rejections.append(contentsOf: p.rejections)
            export.entries.append(MetricEntry(origin: origin, metric: p.metric))
        }
    }
}

/// What the protocol requires of an explicit-bucket histogram point beyond its wire shape.
func validateHistogram(_ p: HistogramDataPoint) throws(OTLPDecodingError) {
    if !p.bucketCounts.isEmpty && p.bucketCounts.count != p.explicitBounds.count + 1 {
        throw OTLPDecodingError.spanLevel(
            "\(p.bucketCounts.count) bucket counts for \(p.explicitBounds.count) explicit bounds (expected \(p.explicitBounds.count + 1))",
            path: ["bucket_counts"])
    }
    let b = p.explicitBounds
    for i in b.indices.dropFirst() where !(b[i - 1] < b[i]) {
        throw OTLPDecodingError.spanLevel("must be strictly increasing, got \(b[i - 1]) then \(b[i]) at [\(i)]", path: ["explicit_bounds"])
    }
}

// MARK: - Protobuf

extension OTLPProtobufDecoder {
    /// Decodes `ExportMetricsServiceRequest` (or `MetricsData`) protobuf bytes. Structural damage
    /// throws; a data point with a bad value is dropped alone, a metric with a bad descriptor with
    /// all its points, each reported as a rejection.
    public func decodeMetrics(_ bytes: [UInt8]) throws(OTLPDecodingError) -> DecodedMetrics {
        try bytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) throws(OTLPDecodingError) -> DecodedMetrics in
            try decodeMetrics(buffer)
        }
    }

    public func decodeMetrics(_ buffer: UnsafeBufferPointer<UInt8>) throws(OTLPDecodingError) -> DecodedMetrics {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return DecodedMetrics() }
        var run = ProtobufTraceDecoding(limits: limits, interner: StringInterner())
        let reader = ProtobufReader(base: base, range: 0..<buffer.count)
        let names = SignalNames.metrics
        var out = DecodedMetrics()
        for batch in try run.scopeBatches(reader, names) {
            for (i, range) in batch.items.enumerated() {
                let location = "\(batch.location).\(names.items)[\(i)]"
                let parsed: ParsedMetric
                do {
                    parsed = try run.metric(reader.subReader(range), location: location)
                } catch {
                    throw batch.structural(error, item: i, names)
                }
                out.add(parsed, origin: batch.origin, inherited: batch.problem, location: location)
            }
        }
        return out
    }
}

extension ProtobufTraceDecoding {
    static let metricKinds: [Int: String] = [5: "gauge", 7: "sum", 9: "histogram", 10: "exponential_histogram", 11: "summary"]

    /// One `Metric` (opentelemetry-proto v1.11 `metrics/v1/metrics.proto`). Throws only for
    /// structural damage; item-level faults are recorded in the result.
    mutating func metric(_ r: ProtobufReader, location: String) throws(OTLPDecodingError) -> ParsedMetric {
        var reader = r
        var p = ParsedMetric()
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1, 2, 3:
                let name = field == 1 ? "name" : field == 2 ? "description" : "unit"
                try reader.expect(2, got: wire, field: name)
                let range = try reader.readLengthDelimited()
                do {
                    let s = try string(reader, range, path: name)
                    switch field {
                    case 1: p.metric.name = s
                    case 2: p.metric.description = s
                    default: p.metric.unit = s
                    }
                } catch where error.rejectsSpansOnly {
                    p.problem = p.problem ?? error
                }
            case 5, 7, 9, 10, 11:
                let kind = Self.metricKinds[field] ?? "data"
                try reader.expect(2, got: wire, field: kind)
                let sub = reader.subReader(try reader.readLengthDelimited())
                p.begin(kind)
                do {
                    try metricData(field, sub, &p, location: location)
                } catch where error.rejectsSpansOnly {
                    p.problem = p.problem ?? error.inside(kind)
                } catch {
                    throw error.inside(kind)
                }
            case 12:
                try reader.expect(2, got: wire, field: "metadata")
                let range = try reader.readLengthDelimited()
                let index = p.metric.metadata.count
                do throws(OTLPDecodingError) {
                    guard index < limits.maxAttributes else {
                        throw OTLPDecodingError.spanLevel("more than \(limits.maxAttributes) attributes", path: ["metadata"])
                    }
                    do {
                        p.metric.metadata.append(try keyValue(reader.subReader(range), depth: 0))
                    } catch {
                        throw error.inside("metadata[\(index)]")
                    }
                } catch where error.rejectsSpansOnly {
                    p.problem = p.problem ?? error
                }
            default:
                // 4, 6 and 8 are reserved (pre-1.0 kinds); anything else is from a newer protocol version.
                try reader.skip(wireType: wire)
            }
        }
        return p
    }

    /// The body of one data message (`Gauge`, `Sum`, ...), merged into what was read so far.
    private mutating func metricData(_ field: Int, _ r: ProtobufReader, _ p: inout ParsedMetric, location: String) throws(OTLPDecodingError) {
        var reader = r
        switch field {
        case 5:
            var g = p.metric.gauge ?? Metric.Gauge()
            p.metric.data = nil
            while let (f, w) = try reader.readTag() {
                if f == 1 {
                    try dataPoint(&reader, wire: w, into: &g.dataPoints, &p, location: location) {
                        (d: inout ProtobufTraceDecoding, r: ProtobufReader) throws(OTLPDecodingError) -> NumberDataPoint in
                        try d.numberPoint(r)
                    }
                } else {
                    try reader.skip(wireType: w)
                }
            }
            p.metric.data = .gauge(g)
        case 7:
            var s = p.metric.sum ?? Metric.Sum()
            p.metric.data = nil
            while let (f, w) = try reader.readTag() {
                switch f {
                case 1:
                    try dataPoint(&reader, wire: w, into: &s.dataPoints, &p, location: location) {
                        (d: inout ProtobufTraceDecoding, r: ProtobufReader) throws(OTLPDecodingError) -> NumberDataPoint in
                        try d.numberPoint(r)
                    }
                case 2:
                    try reader.expect(0, got: w, field: "aggregation_temporality")
                    s.aggregationTemporality = AggregationTemporality(rawValue: Int32(truncatingIfNeeded: try reader.readVarint()))
                case 3:
                    try reader.expect(0, got: w, field: "is_monotonic")
                    s.isMonotonic = try reader.readVarint() != 0
                default:
                    try reader.skip(wireType: w)
                }
            }
            p.metric.data = .sum(s)
        case 9:
            var h = p.metric.histogram ?? Metric.Histogram()
            p.metric.data = nil
            while let (f, w) = try reader.readTag() {
                switch f {
                case 1:
                    try dataPoint(&reader, wire: w, into: &h.dataPoints, &p, location: location) {
                        (d: inout ProtobufTraceDecoding, r: ProtobufReader) throws(OTLPDecodingError) -> HistogramDataPoint in
                        try d.histogramPoint(r)
                    }
                case 2:
                    try reader.expect(0, got: w, field: "aggregation_temporality")
                    h.aggregationTemporality = AggregationTemporality(rawValue: Int32(truncatingIfNeeded: try reader.readVarint()))
                default:
                    try reader.skip(wireType: w)
                }
            }
            p.metric.data = .histogram(h)
        case 10:
            var h = p.metric.exponentialHistogram ?? Metric.ExponentialHistogram()
            p.metric.data = nil
            while let (f, w) = try reader.readTag() {
                switch f {
                case 1:
                    try dataPoint(&reader, wire: w, into: &h.dataPoints, &p, location: location) {
                        (d: inout ProtobufTraceDecoding, r: ProtobufReader) throws(OTLPDecodingError) -> ExponentialHistogramDataPoint in
                        try d.exponentialHistogramPoint(r)
                    }
                case 2:
                    try reader.expect(0, got: w, field: "aggregation_temporality")
                    h.aggregationTemporality = AggregationTemporality(rawValue: Int32(truncatingIfNeeded: try reader.readVarint()))
                default:
                    try reader.skip(wireType: w)
                }
            }
            p.metric.data = .exponentialHistogram(h)
        default:
            var s = p.metric.summary ?? Metric.Summary()
            p.metric.data = nil
            while let (f, w) = try reader.readTag() {
                if f == 1 {
                    try dataPoint(&reader, wire: w, into: &s.dataPoints, &p, location: location) {
                        (d: inout ProtobufTraceDecoding, r: ProtobufReader) throws(OTLPDecodingError) -> SummaryDataPoint in
                        try d.summaryPoint(r)
                    }
                } else {
                    try reader.skip(wireType: w)
                }
            }
            p.metric.data = .summary(s)
        }
    }

    /// Reads one `data_points` entry: kept, or rejected alone when only the point is at fault.
    private mutating func dataPoint<P>(
        _ reader: inout ProtobufReader, wire: Int, into list: inout [P], _ p: inout ParsedMetric, location: String,
        _ decode: (inout ProtobufTraceDecoding, ProtobufReader) throws(OTLPDecodingError) -> P
    ) throws(OTLPDecodingError) {
        try reader.expect(2, got: wire, field: "data_points")
        let range = try reader.readLengthDelimited()
        let index = p.total
        p.total += 1
        do {
            list.append(try decode(&self, reader.subReader(range)))
        } catch where error.rejectsSpansOnly {
            p.rejections.append(ItemRejection(location: p.pointLocation(location, index), reason: error.spanReason))
        } catch {
            throw error.inside("data_points[\(index)]")
        }
    }

    mutating func numberPoint(_ r: ProtobufReader) throws(OTLPDecodingError) -> NumberDataPoint {
        var reader = r
        var out = NumberDataPoint()
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 7:
                try reader.expect(2, got: wire, field: "attributes")
                try appendKeyValue(&out.attributes, reader, reader.readLengthDelimited())
            case 2:
                try reader.expect(1, got: wire, field: "start_time_unix_nano")
                out.startTimeUnixNano = try reader.readFixed64()
            case 3:
                try reader.expect(1, got: wire, field: "time_unix_nano")
                out.timeUnixNano = try reader.readFixed64()
            case 4:
                try reader.expect(1, got: wire, field: "as_double")
                out.value = .double(Double(bitPattern: try reader.readFixed64()))
            case 6:
                try reader.expect(1, got: wire, field: "as_int")
                out.value = .int(Int64(bitPattern: try reader.readFixed64()))
            case 5:
                try reader.expect(2, got: wire, field: "exemplars")
                try appendExemplar(&out.exemplars, reader, reader.readLengthDelimited())
            case 8:
                try reader.expect(0, got: wire, field: "flags")
                out.flags = UInt32(truncatingIfNeeded: try reader.readVarint())
            default:
                try reader.skip(wireType: wire)
            }
        }
        return out
    }

    mutating func histogramPoint(_ r: ProtobufReader) throws(OTLPDecodingError) -> HistogramDataPoint {
        var reader = r
        var out = HistogramDataPoint()
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 9:
                try reader.expect(2, got: wire, field: "attributes")
                try appendKeyValue(&out.attributes, reader, reader.readLengthDelimited())
            case 2:
                try reader.expect(1, got: wire, field: "start_time_unix_nano")
                out.startTimeUnixNano = try reader.readFixed64()
            case 3:
                try reader.expect(1, got: wire, field: "time_unix_nano")
                out.timeUnixNano = try reader.readFixed64()
            case 4:
                try reader.expect(1, got: wire, field: "count")
                out.count = try reader.readFixed64()
            case 5:
                try reader.expect(1, got: wire, field: "sum")
                out.sum = Double(bitPattern: try reader.readFixed64())
            case 6:
                try appendFixed64s(&reader, wire: wire, field: "bucket_counts", into: &out.bucketCounts) { $0 }
            case 7:
                try appendFixed64s(&reader, wire: wire, field: "explicit_bounds", into: &out.explicitBounds) { Double(bitPattern: $0) }
            case 8:
                try reader.expect(2, got: wire, field: "exemplars")
                try appendExemplar(&out.exemplars, reader, reader.readLengthDelimited())
            case 10:
                try reader.expect(0, got: wire, field: "flags")
                out.flags = UInt32(truncatingIfNeeded: try reader.readVarint())
            case 11:
                try reader.expect(1, got: wire, field: "min")
                out.min = Double(bitPattern: try reader.readFixed64())
            case 12:
                try reader.expect(1, got: wire, field: "max")
                out.max = Double(bitPattern: try reader.readFixed64())
            default:
                try reader.skip(wireType: wire)
            }
        }
        try validateHistogram(out)
        return out
    }

    mutating func exponentialHistogramPoint(_ r: ProtobufReader) throws(OTLPDecodingError) -> ExponentialHistogramDataPoint {
        var reader = r
        var out = ExponentialHistogramDataPoint()
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1:
                try reader.expect(2, got: wire, field: "attributes")
                try appendKeyValue(&out.attributes, reader, reader.readLengthDelimited())
            case 2:
                try reader.expect(1, got: wire, field: "start_time_unix_nano")
                out.startTimeUnixNano = try reader.readFixed64()
            case 3:
                try reader.expect(1, got: wire, field: "time_unix_nano")
                out.timeUnixNano = try reader.readFixed64()
            case 4:
                try reader.expect(1, got: wire, field: "count")
                out.count = try reader.readFixed64()
            case 5:
                try reader.expect(1, got: wire, field: "sum")
                out.sum = Double(bitPattern: try reader.readFixed64())
            case 6:
                try reader.expect(0, got: wire, field: "scale")
                out.scale = Self.zigZag32(try reader.readVarint())
            case 7:
                try reader.expect(1, got: wire, field: "zero_count")
                out.zeroCount = try reader.readFixed64()
            case 8, 9:
                let name = field == 8 ? "positive" : "negative"
                try reader.expect(2, got: wire, field: name)
                var sub = reader.subReader(try reader.readLengthDelimited())
                var buckets = field == 8 ? out.positive : out.negative
                do {
                    while let (f, w) = try sub.readTag() {
                        switch f {
                        case 1:
                            try sub.expect(0, got: w, field: "offset")
                            buckets.offset = Self.zigZag32(try sub.readVarint())
                        case 2:
                            try appendVarints(&sub, wire: w, field: "bucket_counts", into: &buckets.bucketCounts)
                        default:
                            try sub.skip(wireType: w)
                        }
                    }
                } catch {
                    throw error.inside(name)
                }
                if field == 8 { out.positive = buckets } else { out.negative = buckets }
            case 10:
                try reader.expect(0, got: wire, field: "flags")
                out.flags = UInt32(truncatingIfNeeded: try reader.readVarint())
            case 11:
                try reader.expect(2, got: wire, field: "exemplars")
                try appendExemplar(&out.exemplars, reader, reader.readLengthDelimited())
            case 12:
                try reader.expect(1, got: wire, field: "min")
                out.min = Double(bitPattern: try reader.readFixed64())
            case 13:
                try reader.expect(1, got: wire, field: "max")
                out.max = Double(bitPattern: try reader.readFixed64())
            case 14:
                try reader.expect(1, got: wire, field: "zero_threshold")
                out.zeroThreshold = Double(bitPattern: try reader.readFixed64())
            default:
                try reader.skip(wireType: wire)
            }
        }
        return out
    }

    mutating func summaryPoint(_ r: ProtobufReader) throws(OTLPDecodingError) -> SummaryDataPoint {
        var reader = r
        var out = SummaryDataPoint()
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 7:
                try reader.expect(2, got: wire, field: "attributes")
                try appendKeyValue(&out.attributes, reader, reader.readLengthDelimited())
            case 2:
                try reader.expect(1, got: wire, field: "start_time_unix_nano")
                out.startTimeUnixNano = try reader.readFixed64()
            case 3:
                try reader.expect(1, got: wire, field: "time_unix_nano")
                out.timeUnixNano = try reader.readFixed64()
            case 4:
                try reader.expect(1, got: wire, field: "count")
                out.count = try reader.readFixed64()
            case 5:
                try reader.expect(1, got: wire, field: "sum")
                out.sum = Double(bitPattern: try reader.readFixed64())
            case 6:
                try reader.expect(2, got: wire, field: "quantile_values")
                var sub = reader.subReader(try reader.readLengthDelimited())
                guard out.quantileValues.count < limits.maxBucketsPerPoint else {
                    throw OTLPDecodingError.spanLevel("more than \(limits.maxBucketsPerPoint) values", path: ["quantile_values"])
                }
                var q = SummaryDataPoint.ValueAtQuantile(quantile: 0, value: 0)
                do {
                    while let (f, w) = try sub.readTag() {
                        switch f {
                        case 1:
                            try sub.expect(1, got: w, field: "quantile")
                            q.quantile = Double(bitPattern: try sub.readFixed64())
                        case 2:
                            try sub.expect(1, got: w, field: "value")
                            q.value = Double(bitPattern: try sub.readFixed64())
                        default:
                            try sub.skip(wireType: w)
                        }
                    }
                } catch {
                    throw error.inside("quantile_values[\(out.quantileValues.count)]")
                }
                out.quantileValues.append(q)
            case 8:
                try reader.expect(0, got: wire, field: "flags")
                out.flags = UInt32(truncatingIfNeeded: try reader.readVarint())
            default:
                try reader.skip(wireType: wire)
            }
        }
        return out
    }

    mutating func appendExemplar(_ list: inout [Exemplar], _ parent: ProtobufReader, _ range: Range<Int>) throws(OTLPDecodingError) {
        guard list.count < limits.maxExemplarsPerPoint else {
            throw OTLPDecodingError.spanLevel("more than \(limits.maxExemplarsPerPoint) exemplars", path: ["exemplars"])
        }
        var reader = parent.subReader(range)
        var out = Exemplar()
        do throws(OTLPDecodingError) {
            while let (field, wire) = try reader.readTag() {
                switch field {
                case 7:
                    try reader.expect(2, got: wire, field: "filtered_attributes")
                    let range = try reader.readLengthDelimited()
                    guard out.filteredAttributes.count < limits.maxAttributes else {
                        throw OTLPDecodingError.spanLevel("more than \(limits.maxAttributes) attributes", path: ["filtered_attributes"])
                    }
                    let index = out.filteredAttributes.count
                    do {
                        out.filteredAttributes.append(try keyValue(reader.subReader(range), depth: 0))
                    } catch {
                        throw error.inside("filtered_attributes[\(index)]")
                    }
                case 2:
                    try reader.expect(1, got: wire, field: "time_unix_nano")
                    out.timeUnixNano = try reader.readFixed64()
                case 3:
                    try reader.expect(1, got: wire, field: "as_double")
                    out.value = .double(Double(bitPattern: try reader.readFixed64()))
                case 6:
                    try reader.expect(1, got: wire, field: "as_int")
                    out.value = .int(Int64(bitPattern: try reader.readFixed64()))
                case 4:
                    try reader.expect(2, got: wire, field: "span_id")
                    out.spanID = try optionalSpanID(reader, reader.readLengthDelimited(), path: "span_id")
                case 5:
                    try reader.expect(2, got: wire, field: "trace_id")
                    out.traceID = try optionalTraceID(reader, reader.readLengthDelimited(), path: "trace_id")
                default:
                    try reader.skip(wireType: wire)
                }
            }
        } catch {
            throw error.inside("exemplars[\(list.count)]")
        }
        list.append(out)
    }

    /// A repeated fixed64 or double field, packed (wire type 2) or not (wire type 1).
    func appendFixed64s<T>(_ reader: inout ProtobufReader, wire: Int, field: String, into list: inout [T],
                           _ convert: (UInt64) -> T) throws(OTLPDecodingError) {
        switch wire {
        case 1:
            guard list.count < limits.maxBucketsPerPoint else {
                throw OTLPDecodingError.spanLevel("more than \(limits.maxBucketsPerPoint) values", path: [field])
            }
            list.append(convert(try reader.readFixed64()))
        case 2:
            let range = try reader.readLengthDelimited()
            guard range.count % 8 == 0 else {
                throw OTLPDecodingError("packed \(field) of \(range.count) bytes is not a whole number of 8-byte values", offset: range.lowerBound)
            }
            guard list.count + range.count / 8 <= limits.maxBucketsPerPoint else {
                throw OTLPDecodingError.spanLevel("more than \(limits.maxBucketsPerPoint) values", path: [field])
            }
            var sub = reader.subReader(range)
            list.reserveCapacity(list.count + range.count / 8)
            while !sub.isAtEnd { list.append(convert(try sub.readFixed64())) }
        default:
            throw OTLPDecodingError("\(field) has wire type \(wire), expected 1 or 2", offset: reader.position)
        }
    }

    /// A repeated uint64 field, packed (wire type 2) or not (wire type 0).
    func appendVarints(_ reader: inout ProtobufReader, wire: Int, field: String, into list: inout [UInt64]) throws(OTLPDecodingError) {
        switch wire {
        case 0:
            guard list.count < limits.maxBucketsPerPoint else {
                throw OTLPDecodingError.spanLevel("more than \(limits.maxBucketsPerPoint) values", path: [field])
            }
            list.append(try reader.readVarint())
        case 2:
            var sub = reader.subReader(try reader.readLengthDelimited())
            while !sub.isAtEnd {
                guard list.count < limits.maxBucketsPerPoint else {
                    throw OTLPDecodingError.spanLevel("more than \(limits.maxBucketsPerPoint) values", path: [field])
                }
                list.append(try sub.readVarint())
            }
        default:
            throw OTLPDecodingError("\(field) has wire type \(wire), expected 0 or 2", offset: reader.position)
        }
    }

    /// A `sint32` from its zig-zag varint.
    static func zigZag32(_ raw: UInt64) -> Int32 {
        let n = UInt32(truncatingIfNeeded: raw)
        return Int32(bitPattern: (n >> 1) ^ (0 &- (n & 1)))
    }
}

// MARK: - JSON

extension OTLPJSONDecoder {
    /// Decodes an OTLP/JSON `ExportMetricsServiceRequest`. Unknown keys are ignored; a point of the
    /// wrong shape is dropped alone, a metric of the wrong shape with all its points.
    public func decodeMetrics(_ bytes: [UInt8]) throws(OTLPDecodingError) -> DecodedMetrics {
        try decodeMetrics(parse(bytes))
    }

    public func decodeMetrics(_ root: JSONValue) throws(OTLPDecodingError) -> DecodedMetrics {
        let run = JSONTraceDecoding(limits: limits)
        let names = SignalNames.metrics
        var out = DecodedMetrics()
        for batch in try run.scopeBatches(root, names) {
            for (i, item) in batch.items.enumerated() {
                let location = "\(batch.location).\(names.items)[\(i)]"
                out.add(run.metric(item, location: location), origin: batch.origin, inherited: batch.problem, location: location)
            }
        }
        return out
    }
}

extension JSONTraceDecoding {
    /// JSON keys of the `data` oneof, both spellings, to the proto field name.
    static let metricKinds: [String: String] = [
        "gauge": "gauge", "sum": "sum", "histogram": "histogram", "exponentialHistogram": "exponential_histogram",
        "exponential_histogram": "exponential_histogram", "summary": "summary",
    ]
    static let temporalityNames: [String: Int32] = [
        "AGGREGATION_TEMPORALITY_UNSPECIFIED": 0, "AGGREGATION_TEMPORALITY_DELTA": 1, "AGGREGATION_TEMPORALITY_CUMULATIVE": 2,
    ]

    /// One metric; every fault inside a JSON metric is the metric's or one point's, never the request's.
    func metric(_ v: JSONValue, location: String) -> ParsedMetric {
        var p = ParsedMetric()
        guard case .object(let members) = v else {
            p.problem = OTLPDecodingError.spanLevel("the metric must be an object, got \(v.typeName)")
            return p
        }
        do {
            p.metric.name = try string(v, "name")
            p.metric.description = try string(v, "description")
            p.metric.unit = try string(v, "unit")
            p.metric.metadata = try attributes(v, "metadata")
        } catch {
            p.problem = error
        }
        // A oneof: the last data member present wins, as in protobuf.
        guard let (key, body) = members.last(where: { $0.value != .null && Self.metricKinds[$0.key] != nil }),
              let kind = Self.metricKinds[key] else { return p }
        p.begin(kind)
        do throws(OTLPDecodingError) {
            guard case .object = body else { throw OTLPDecodingError.spanLevel("must be an object, got \(body.typeName)") }
            let items = try array(body, "dataPoints", "data_points")
            p.total = items.count
            let data: MetricData
            switch kind {
            case "gauge":
                data = .gauge(Metric.Gauge(dataPoints: points(items, &p, location, numberPoint)))
            case "sum":
                let t = try temporality(body)
                let isMonotonic = try bool(body, "isMonotonic", "is_monotonic")
                data = .sum(Metric.Sum(dataPoints: points(items, &p, location, numberPoint), aggregationTemporality: t,
                                       isMonotonic: isMonotonic))
            case "histogram":
                let t = try temporality(body)
                data = .histogram(Metric.Histogram(dataPoints: points(items, &p, location, histogramPoint),
                                                   aggregationTemporality: t))
            case "exponential_histogram":
                let t = try temporality(body)
                data = .exponentialHistogram(Metric.ExponentialHistogram(
                    dataPoints: points(items, &p, location, exponentialHistogramPoint), aggregationTemporality: t))
            default:
                data = .summary(Metric.Summary(dataPoints: points(items, &p, location, summaryPoint)))
            }
            p.metric.data = data
        } catch {
            p.problem = p.problem ?? error.inside(kind)
        }
        return p
    }

    private func temporality(_ body: JSONValue) throws(OTLPDecodingError) -> AggregationTemporality {
        AggregationTemporality(rawValue: try enumNumber(body, "aggregationTemporality", "aggregation_temporality", names: Self.temporalityNames))
    }

    /// The valid points of `items`; each invalid one becomes a rejection.
    private func points<P>(_ items: [JSONValue], _ p: inout ParsedMetric, _ location: String,
                           _ decode: (JSONValue) throws(OTLPDecodingError) -> P) -> [P] {
        var out: [P] = []
        out.reserveCapacity(items.count)
        for (k, item) in items.enumerated() {
            do {
                out.append(try decode(item))
            } catch {
                p.rejections.append(ItemRejection(location: p.pointLocation(location, k), reason: error.spanReason))
            }
        }
        return out
    }

    private func pointObject(_ v: JSONValue) throws(OTLPDecodingError) {
        guard case .object = v else { throw OTLPDecodingError.spanLevel("the data point must be an object, got \(v.typeName)") }
    }

    /// `asDouble` / `asInt` (the last one present wins), or nil.
    private func numberValue(_ v: JSONValue) throws(OTLPDecodingError) -> NumberValue? {
        guard case .object(let members) = v,
              let key = members.last(where: { $0.value != .null && ["asDouble", "as_double", "asInt", "as_int"].contains($0.key) })?.key
        else { return nil }
        if key == "asInt" || key == "as_int" {
            return try int64(v, key, "as_int").map { NumberValue.int($0) }
        }
        return try double(v, key, "as_double").map { NumberValue.double($0) }
    }

    private func common(_ v: JSONValue) throws(OTLPDecodingError) -> (attributes: [Attribute], start: UInt64, time: UInt64, flags: UInt32) {
        (try attributes(v, "attributes"), try uint64(v, "startTimeUnixNano", "start_time_unix_nano"),
         try uint64(v, "timeUnixNano", "time_unix_nano"), try uint32(v, "flags"))
    }

    func numberPoint(_ v: JSONValue) throws(OTLPDecodingError) -> NumberDataPoint {
        try pointObject(v)
        let c = try common(v)
        return NumberDataPoint(attributes: c.attributes, startTimeUnixNano: c.start, timeUnixNano: c.time, value: try numberValue(v),
                               exemplars: try exemplars(v), flags: c.flags)
    }

    func histogramPoint(_ v: JSONValue) throws(OTLPDecodingError) -> HistogramDataPoint {
        try pointObject(v)
        let c = try common(v)
        let out = HistogramDataPoint(
            attributes: c.attributes, startTimeUnixNano: c.start, timeUnixNano: c.time,
            count: try uint64(v, "count"), sum: try double(v, "sum", "sum"),
            bucketCounts: try uint64Array(v, "bucketCounts", "bucket_counts", limit: limits.maxBucketsPerPoint),
            explicitBounds: try doubleArray(v, "explicitBounds", "explicit_bounds", limit: limits.maxBucketsPerPoint),
            min: try double(v, "min", "min"), max: try double(v, "max", "max"), exemplars: try exemplars(v), flags: c.flags)
        try validateHistogram(out)
        return out
    }

    func exponentialHistogramPoint(_ v: JSONValue) throws(OTLPDecodingError) -> ExponentialHistogramDataPoint {
        try pointObject(v)
        let c = try common(v)
        func buckets(_ camel: String) throws(OTLPDecodingError) -> ExponentialHistogramDataPoint.Buckets {
            guard let b = try object(v, camel) else { return .init() }
            do {
                return ExponentialHistogramDataPoint.Buckets(
                    offset: try int32(b, "offset", "offset"),
                    bucketCounts: try uint64Array(b, "bucketCounts", "bucket_counts", limit: limits.maxBucketsPerPoint))
            } catch {
                throw error.inside(camel)
            }
        }
        return ExponentialHistogramDataPoint(
            attributes: c.attributes, startTimeUnixNano: c.start, timeUnixNano: c.time,
            count: try uint64(v, "count"), sum: try double(v, "sum", "sum"), scale: try int32(v, "scale", "scale"),
            zeroCount: try uint64(v, "zeroCount", "zero_count"), zeroThreshold: try double(v, "zeroThreshold", "zero_threshold") ?? 0,
            positive: try buckets("positive"), negative: try buckets("negative"),
            min: try double(v, "min", "min"), max: try double(v, "max", "max"), exemplars: try exemplars(v), flags: c.flags)
    }

    func summaryPoint(_ v: JSONValue) throws(OTLPDecodingError) -> SummaryDataPoint {
        try pointObject(v)
        let c = try common(v)
        let items = try array(v, "quantileValues", "quantile_values")
        guard items.count <= limits.maxBucketsPerPoint else {
            throw OTLPDecodingError.spanLevel("more than \(limits.maxBucketsPerPoint) values", path: ["quantile_values"])
        }
        var quantiles: [SummaryDataPoint.ValueAtQuantile] = []
        quantiles.reserveCapacity(items.count)
        for (i, q) in items.enumerated() {
            do throws(OTLPDecodingError) {
                guard case .object = q else { throw OTLPDecodingError.spanLevel("must be an object, got \(q.typeName)") }
                quantiles.append(SummaryDataPoint.ValueAtQuantile(quantile: try double(q, "quantile", "quantile") ?? 0,
                                                                  value: try double(q, "value", "value") ?? 0))
            } catch {
                throw error.inside("quantile_values[\(i)]")
            }
        }
        return SummaryDataPoint(attributes: c.attributes, startTimeUnixNano: c.start, timeUnixNano: c.time,
                                count: try uint64(v, "count"), sum: try double(v, "sum", "sum") ?? 0, quantileValues: quantiles,
                                flags: c.flags)
    }

    func exemplars(_ v: JSONValue) throws(OTLPDecodingError) -> [Exemplar] {
        let items = try array(v, "exemplars")
        guard items.count <= limits.maxExemplarsPerPoint else {
            throw OTLPDecodingError.spanLevel("more than \(limits.maxExemplarsPerPoint) exemplars", path: ["exemplars"])
        }
        var out: [Exemplar] = []
        out.reserveCapacity(items.count)
        for (i, e) in items.enumerated() {
            do throws(OTLPDecodingError) {
                guard case .object = e else { throw OTLPDecodingError.spanLevel("must be an object, got \(e.typeName)") }
                out.append(Exemplar(timeUnixNano: try uint64(e, "timeUnixNano", "time_unix_nano"), value: try numberValue(e),
                                    traceID: try optionalTraceID(e, "traceId", "trace_id"),
                                    spanID: try optionalSpanID(e, "spanId", "span_id"),
                                    filteredAttributes: try attributes(e, "filteredAttributes")))
            } catch {
                throw error.inside("exemplars[\(i)]")
            }
        }
        return out
    }
}
