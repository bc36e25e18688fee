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

extension DecodedMetrics: DecodedSignal {
    static var names: SignalNames { .metrics }

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
        var out = DecodedMetrics()
        try decodeItems(buffer, into: &out) {
            (run: inout ProtobufTraceDecoding, metric: ProtobufReader, location: String) throws(OTLPDecodingError) -> ParsedMetric in
            try run.metric(metric, location: location)
        }
        return out
    }
}

extension ProtobufReader {
    /// `aggregation_temporality`, field 2 of `Sum`, `Histogram` and `ExponentialHistogram`.
    mutating func aggregationTemporality(_ wire: Int) throws(OTLPDecodingError) -> AggregationTemporality {
        AggregationTemporality(rawValue: Int32(truncatingIfNeeded: try varint(wire, "aggregation_temporality")))
    }
}

/// A `Metric`'s data message (`Gauge`, `Sum`, ...) as the protobuf decoder reads it: its points
/// (field 1 of every kind) and the fields beside them.
protocol ProtobufMetricData {
    associatedtype Point
    var dataPoints: [Point] { get set }
    /// The message of this kind that `metric` holds so far (protobuf merges a repeated message), or an empty one.
    static func merging(_ metric: Metric) -> Self
    /// The message as a metric's `data`.
    var metricData: MetricData { get }
    /// Reads one point message.
    static func point(_ d: inout ProtobufTraceDecoding, _ r: ProtobufReader) throws(OTLPDecodingError) -> Point
    /// Reads a field other than `data_points`; false for one this kind does not have.
    mutating func readField(_ field: Int, wire: Int, _ reader: inout ProtobufReader) throws(OTLPDecodingError) -> Bool
}

extension ProtobufMetricData {
    mutating func readField(_ field: Int, wire: Int, _ reader: inout ProtobufReader) throws(OTLPDecodingError) -> Bool { false }
}

extension Metric.Gauge: ProtobufMetricData {
    static func merging(_ metric: Metric) -> Metric.Gauge { metric.gauge ?? Metric.Gauge() }
    var metricData: MetricData { .gauge(self) }
    static func point(_ d: inout ProtobufTraceDecoding, _ r: ProtobufReader) throws(OTLPDecodingError) -> NumberDataPoint {
        try d.numberPoint(r)
    }
}

extension Metric.Sum: ProtobufMetricData {
    static func merging(_ metric: Metric) -> Metric.Sum { metric.sum ?? Metric.Sum() }
    var metricData: MetricData { .sum(self) }
    static func point(_ d: inout ProtobufTraceDecoding, _ r: ProtobufReader) throws(OTLPDecodingError) -> NumberDataPoint {
        try d.numberPoint(r)
    }

    mutating func readField(_ field: Int, wire: Int, _ reader: inout ProtobufReader) throws(OTLPDecodingError) -> Bool {
        switch field {
        case 2: aggregationTemporality = try reader.aggregationTemporality(wire)
        case 3: isMonotonic = try reader.varint(wire, "is_monotonic") != 0
        default: return false
        }
        return true
    }
}

/// A data message whose only field beside its points is `aggregation_temporality` (field 2).
protocol TemporalMetricData: ProtobufMetricData {
    var aggregationTemporality: AggregationTemporality { get set }
}

extension TemporalMetricData {
    mutating func readField(_ field: Int, wire: Int, _ reader: inout ProtobufReader) throws(OTLPDecodingError) -> Bool {
        guard field == 2 else { return false }
        aggregationTemporality = try reader.aggregationTemporality(wire)
        return true
    }
}

extension Metric.Histogram: TemporalMetricData {
    static func merging(_ metric: Metric) -> Metric.Histogram { metric.histogram ?? Metric.Histogram() }
    var metricData: MetricData { .histogram(self) }
    static func point(_ d: inout ProtobufTraceDecoding, _ r: ProtobufReader) throws(OTLPDecodingError) -> HistogramDataPoint {
        try d.histogramPoint(r)
    }
}

extension Metric.ExponentialHistogram: TemporalMetricData {
    static func merging(_ metric: Metric) -> Metric.ExponentialHistogram {
        metric.exponentialHistogram ?? Metric.ExponentialHistogram()
    }
    var metricData: MetricData { .exponentialHistogram(self) }
    static func point(_ d: inout ProtobufTraceDecoding, _ r: ProtobufReader) throws(OTLPDecodingError) -> ExponentialHistogramDataPoint {
        try d.exponentialHistogramPoint(r)
    }
}

extension Metric.Summary: ProtobufMetricData {
    static func merging(_ metric: Metric) -> Metric.Summary { metric.summary ?? Metric.Summary() }
    var metricData: MetricData { .summary(self) }
    static func point(_ d: inout ProtobufTraceDecoding, _ r: ProtobufReader) throws(OTLPDecodingError) -> SummaryDataPoint {
        try d.summaryPoint(r)
    }
}

/// The fields every data point message has: `attributes` and `flags`, at numbers that differ by
/// kind, and the start and end times, fields 2 and 3 in all.
protocol ProtobufDataPoint {
    static var attributesField: Int { get }
    static var flagsField: Int { get }
    var attributes: [Attribute] { get set }
    var startTimeUnixNano: UInt64 { get set }
    var timeUnixNano: UInt64 { get set }
    var flags: UInt32 { get set }
}

extension NumberDataPoint: ProtobufDataPoint {
    static let attributesField = 7
    static let flagsField = 8
}

extension HistogramDataPoint: ProtobufDataPoint {
    static let attributesField = 9
    static let flagsField = 10
}

extension ExponentialHistogramDataPoint: ProtobufDataPoint {
    static let attributesField = 1
    static let flagsField = 10
}

extension SummaryDataPoint: ProtobufDataPoint {
    static let attributesField = 7
    static let flagsField = 8
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
                    switch field {
                    case 5: try dataMessage(Metric.Gauge.self, sub, &p, location: location)
                    case 7: try dataMessage(Metric.Sum.self, sub, &p, location: location)
                    case 9: try dataMessage(Metric.Histogram.self, sub, &p, location: location)
                    case 10: try dataMessage(Metric.ExponentialHistogram.self, sub, &p, location: location)
                    default: try dataMessage(Metric.Summary.self, sub, &p, location: location)
                    }
                } catch where error.rejectsSpansOnly {
                    p.problem = p.problem ?? error.inside(kind)
                } catch {
                    throw error.inside(kind)
                }
            case 12:
                try reader.expect(2, got: wire, field: "metadata")
                let range = try reader.readLengthDelimited()
                do {
                    try appendKeyValue(&p.metric.metadata, reader, range, field: "metadata")
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

    /// The body of one data message of kind `D`, merged into the one of that kind read so far.
    private mutating func dataMessage<D: ProtobufMetricData>(
        _: D.Type, _ r: ProtobufReader, _ p: inout ParsedMetric, location: String
    ) throws(OTLPDecodingError) {
        var reader = r
        var message = D.merging(p.metric)
        p.metric.data = nil
        while let (f, w) = try reader.readTag() {
            if f == 1 {
                try dataPoint(&reader, wire: w, into: &message.dataPoints, &p, location: location, D.point)
            } else if try !message.readField(f, wire: w, &reader) {
                try reader.skip(wireType: w)
            }
        }
        p.metric.data = message.metricData
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

    /// Reads one point message: the fields every kind has here, the others with `readField`, which
    /// returns false for a field the kind does not have (skipped, as from a newer protocol version).
    private mutating func pointMessage<P: ProtobufDataPoint>(
        _ r: ProtobufReader, _ empty: P,
        _ readField: (inout ProtobufTraceDecoding, inout ProtobufReader, inout P, _ field: Int, _ wire: Int) throws(OTLPDecodingError) -> Bool
    ) throws(OTLPDecodingError) -> P {
        var reader = r
        var out = empty
        while let (field, wire) = try reader.readTag() {
            switch field {
            case P.attributesField:
                try reader.expect(2, got: wire, field: "attributes")
                try appendKeyValue(&out.attributes, reader, reader.readLengthDelimited())
            case 2:
                out.startTimeUnixNano = try reader.fixed64(wire, "start_time_unix_nano")
            case 3:
                out.timeUnixNano = try reader.fixed64(wire, "time_unix_nano")
            case P.flagsField:
                out.flags = UInt32(truncatingIfNeeded: try reader.varint(wire, "flags"))
            default:
                if try !readField(&self, &reader, &out, field, wire) {
                    try reader.skip(wireType: wire)
                }
            }
        }
        return out
    }

    mutating func numberPoint(_ r: ProtobufReader) throws(OTLPDecodingError) -> NumberDataPoint {
        try pointMessage(r, NumberDataPoint()) {
            (d: inout ProtobufTraceDecoding, reader: inout ProtobufReader, out: inout NumberDataPoint, field: Int, wire: Int)
                throws(OTLPDecodingError) -> Bool in
            switch field {
            case 4: out.value = .double(try reader.double(wire, "as_double"))
            case 6: out.value = .int(Int64(bitPattern: try reader.fixed64(wire, "as_int")))
            case 5: try d.appendExemplar(&out.exemplars, &reader, wire: wire)
            default: return false
            }
            return true
        }
    }

    mutating func histogramPoint(_ r: ProtobufReader) throws(OTLPDecodingError) -> HistogramDataPoint {
        let point = try pointMessage(r, HistogramDataPoint()) {
            (d: inout ProtobufTraceDecoding, reader: inout ProtobufReader, out: inout HistogramDataPoint, field: Int, wire: Int)
                throws(OTLPDecodingError) -> Bool in
            switch field {
            case 4: out.count = try reader.fixed64(wire, "count")
            case 5: out.sum = try reader.double(wire, "sum")
            case 6: try d.appendFixed64s(&reader, wire: wire, field: "bucket_counts", into: &out.bucketCounts) { $0 }
            case 7: try d.appendFixed64s(&reader, wire: wire, field: "explicit_bounds", into: &out.explicitBounds) { Double(bitPattern: $0) }
            case 8: try d.appendExemplar(&out.exemplars, &reader, wire: wire)
            case 11: out.min = try reader.double(wire, "min")
            case 12: out.max = try reader.double(wire, "max")
            default: return false
            }
            return true
        }
        try validateHistogram(point)
        return point
    }

    mutating func exponentialHistogramPoint(_ r: ProtobufReader) throws(OTLPDecodingError) -> ExponentialHistogramDataPoint {
        try pointMessage(r, ExponentialHistogramDataPoint()) {
            (d: inout ProtobufTraceDecoding, reader: inout ProtobufReader, out: inout ExponentialHistogramDataPoint, field: Int, wire: Int)
                throws(OTLPDecodingError) -> Bool in
            switch field {
            case 4: out.count = try reader.fixed64(wire, "count")
            case 5: out.sum = try reader.double(wire, "sum")
            case 6: out.scale = ProtobufTraceDecoding.zigZag32(try reader.varint(wire, "scale"))
            case 7: out.zeroCount = try reader.fixed64(wire, "zero_count")
            case 8: try d.mergeBuckets(&out.positive, &reader, wire: wire, field: "positive")
            case 9: try d.mergeBuckets(&out.negative, &reader, wire: wire, field: "negative")
            case 11: try d.appendExemplar(&out.exemplars, &reader, wire: wire)
            case 12: out.min = try reader.double(wire, "min")
            case 13: out.max = try reader.double(wire, "max")
            case 14: out.zeroThreshold = try reader.double(wire, "zero_threshold")
            default: return false
            }
            return true
        }
    }

    mutating func summaryPoint(_ r: ProtobufReader) throws(OTLPDecodingError) -> SummaryDataPoint {
        try pointMessage(r, SummaryDataPoint()) {
            (d: inout ProtobufTraceDecoding, reader: inout ProtobufReader, out: inout SummaryDataPoint, field: Int, wire: Int)
                throws(OTLPDecodingError) -> Bool in
            switch field {
            case 4: out.count = try reader.fixed64(wire, "count")
            case 5: out.sum = try reader.double(wire, "sum")
            case 6: try d.appendQuantile(&out.quantileValues, &reader, wire: wire)
            default: return false
            }
            return true
        }
    }

    /// One `positive` or `negative` buckets message of an exponential histogram point, over what was read so far.
    func mergeBuckets(_ buckets: inout ExponentialHistogramDataPoint.Buckets, _ reader: inout ProtobufReader, wire: Int,
                      field name: String) throws(OTLPDecodingError) {
        try reader.expect(2, got: wire, field: name)
        var sub = reader.subReader(try reader.readLengthDelimited())
        var merged = buckets
        do {
            while let (f, w) = try sub.readTag() {
                switch f {
                case 1: merged.offset = Self.zigZag32(try sub.varint(w, "offset"))
                case 2: try appendVarints(&sub, wire: w, field: "bucket_counts", into: &merged.bucketCounts)
                default: try sub.skip(wireType: w)
                }
            }
        } catch {
            throw error.inside(name)
        }
        buckets = merged
    }

    /// One `quantile_values` entry of a summary point.
    func appendQuantile(_ list: inout [SummaryDataPoint.ValueAtQuantile], _ reader: inout ProtobufReader, wire: Int) throws(OTLPDecodingError) {
        try reader.expect(2, got: wire, field: "quantile_values")
        var sub = reader.subReader(try reader.readLengthDelimited())
        guard list.count < limits.maxBucketsPerPoint else {
            throw OTLPDecodingError.spanLevel("more than \(limits.maxBucketsPerPoint) values", path: ["quantile_values"])
        }
        var q = SummaryDataPoint.ValueAtQuantile(quantile: 0, value: 0)
        do {
            while let (f, w) = try sub.readTag() {
                switch f {
                case 1: q.quantile = try sub.double(w, "quantile")
                case 2: q.value = try sub.double(w, "value")
                default: try sub.skip(wireType: w)
                }
            }
        } catch {
            throw error.inside("quantile_values[\(list.count)]")
        }
        list.append(q)
    }

    /// One `exemplars` entry of a data point, within the exemplar limit.
    mutating func appendExemplar(_ list: inout [Exemplar], _ parent: inout ProtobufReader, wire: Int) throws(OTLPDecodingError) {
        try parent.expect(2, got: wire, field: "exemplars")
        let range = try parent.readLengthDelimited()
        guard list.count < limits.maxExemplarsPerPoint else {
            throw OTLPDecodingError.spanLevel("more than \(limits.maxExemplarsPerPoint) exemplars", path: ["exemplars"])
        }
        var reader = parent.subReader(range)
        var out = Exemplar()
        do throws(OTLPDecodingError) {
            while let (field, w) = try reader.readTag() {
                switch field {
                case 7:
                    try reader.expect(2, got: w, field: "filtered_attributes")
                    try appendKeyValue(&out.filteredAttributes, reader, reader.readLengthDelimited(), field: "filtered_attributes")
                case 2:
                    out.timeUnixNano = try reader.fixed64(w, "time_unix_nano")
                case 3:
                    out.value = .double(try reader.double(w, "as_double"))
                case 6:
                    out.value = .int(Int64(bitPattern: try reader.fixed64(w, "as_int")))
                case 4:
                    try reader.expect(2, got: w, field: "span_id")
                    out.spanID = try optionalSpanID(reader, reader.readLengthDelimited(), path: "span_id")
                case 5:
                    try reader.expect(2, got: w, field: "trace_id")
                    out.traceID = try optionalTraceID(reader, reader.readLengthDelimited(), path: "trace_id")
                default:
                    try reader.skip(wireType: w)
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
        var out = DecodedMetrics()
        try decodeItems(root, into: &out) {
            (run: JSONTraceDecoding, metric: JSONValue, location: String) throws(OTLPDecodingError) -> ParsedMetric in
            run.metric(metric, location: location)
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
        let quantiles = try array(v, "quantileValues", "quantile_values", limit: limits.maxBucketsPerPoint) {
            (q: JSONValue) throws(OTLPDecodingError) -> SummaryDataPoint.ValueAtQuantile in
            try elementObject(q)
            return SummaryDataPoint.ValueAtQuantile(quantile: try double(q, "quantile", "quantile") ?? 0,
                                                    value: try double(q, "value", "value") ?? 0)
        }
        return SummaryDataPoint(attributes: c.attributes, startTimeUnixNano: c.start, timeUnixNano: c.time,
                                count: try uint64(v, "count"), sum: try double(v, "sum", "sum") ?? 0, quantileValues: quantiles,
                                flags: c.flags)
    }

    func exemplars(_ v: JSONValue) throws(OTLPDecodingError) -> [Exemplar] {
        try array(v, "exemplars", limit: limits.maxExemplarsPerPoint, of: "exemplars") {
            (e: JSONValue) throws(OTLPDecodingError) -> Exemplar in
            try elementObject(e)
            return Exemplar(timeUnixNano: try uint64(e, "timeUnixNano", "time_unix_nano"), value: try numberValue(e),
                            traceID: try optionalTraceID(e, "traceId", "trace_id"),
                            spanID: try optionalSpanID(e, "spanId", "span_id"),
                            filteredAttributes: try attributes(e, "filteredAttributes"))
        }
    }

    /// An element of a list of messages (exemplars, quantile values) must be an object.
    private func elementObject(_ v: JSONValue) throws(OTLPDecodingError) {
        guard case .object = v else { throw OTLPDecodingError.spanLevel("must be an object, got \(v.typeName)") }
    }
}
