// OTLP logs and metrics, flattened for consumers: every log record and every metric carries the
// resource and scope it came from, so a consumer never walks ResourceLogs/ScopeLogs nesting.
// Field names and meanings follow opentelemetry-proto v1.11 (`logs/v1/logs.proto`,
// `metrics/v1/metrics.proto`).

/// Where a log record or a metric came from: the same resource + scope pair spans have.
public typealias SignalOrigin = SpanOrigin

// MARK: - Logs

/// OTLP `SeverityNumber`, kept as its raw number so values from newer protocol versions survive.
public struct SeverityNumber: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let unspecified = SeverityNumber(rawValue: 0)
    public static let trace = SeverityNumber(rawValue: 1)
    public static let debug = SeverityNumber(rawValue: 5)
    public static let info = SeverityNumber(rawValue: 9)
    public static let warn = SeverityNumber(rawValue: 13)
    public static let error = SeverityNumber(rawValue: 17)
    public static let fatal = SeverityNumber(rawValue: 21)

    public static func < (a: SeverityNumber, b: SeverityNumber) -> Bool { a.rawValue < b.rawValue }

    /// `INFO`, `WARN3`, ...: the short name of the proto enum value.
    public var description: String {
        guard (1...24).contains(rawValue) else { return rawValue == 0 ? "UNSPECIFIED" : "SEVERITY(\(rawValue))" }
        let names = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
        let base = names[Int(rawValue - 1) / 4]
        let step = Int(rawValue - 1) % 4
        return step == 0 ? base : "\(base)\(step + 1)"
    }
}

/// One OTLP `LogRecord` (GenAI events arrive as these, linked to their span by trace and span id).
public struct LogRecord: Sendable, Equatable {
    public var timeUnixNano: UInt64
    public var observedTimeUnixNano: UInt64
    public var severityNumber: SeverityNumber
    public var severityText: String
    /// nil when the record has no body; `.empty` when it has one with no value set (`"body": {}`).
    public var body: AttributeValue?
    public var attributes: [Attribute]
    public var droppedAttributesCount: UInt32
    /// Bits 0-7 are the W3C trace flags.
    public var flags: UInt32
    /// nil when absent, empty or all zeros.
    public var traceID: TraceID?
    /// nil when absent, empty or all zeros.
    public var spanID: SpanID?
    /// `event_name` (field 12); empty when the record is not an event.
    public var eventName: String

    public init(timeUnixNano: UInt64 = 0, observedTimeUnixNano: UInt64 = 0, severityNumber: SeverityNumber = .unspecified,
                severityText: String = "", body: AttributeValue? = nil, attributes: [Attribute] = [],
                droppedAttributesCount: UInt32 = 0, flags: UInt32 = 0, traceID: TraceID? = nil, spanID: SpanID? = nil,
                eventName: String = "") {
        self.timeUnixNano = timeUnixNano
        self.observedTimeUnixNano = observedTimeUnixNano
        self.severityNumber = severityNumber
        self.severityText = severityText
        self.body = body
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.flags = flags
        self.traceID = traceID
        self.spanID = spanID
        self.eventName = eventName
    }

    /// The event name: `event_name`, or else the older `event.name` attribute (GenAI events before
    /// semantic conventions v1.37 carry only the attribute); nil for a plain log line.
    public var resolvedEventName: String? {
        if !eventName.isEmpty { return eventName }
        if let s = attributes[key: "event.name"]?.stringValue, !s.isEmpty { return s }
        return nil
    }

    /// `time_unix_nano`, or the observed time when the source gave none.
    public var effectiveTimeUnixNano: UInt64 { timeUnixNano != 0 ? timeUnixNano : observedTimeUnixNano }
}

/// A log record with the resource and scope it came from.
public struct LogEntry: Sendable, Equatable {
    public var origin: SignalOrigin
    public var record: LogRecord

    public init(origin: SignalOrigin, record: LogRecord) {
        self.origin = origin
        self.record = record
    }
}

/// An `ExportLogsServiceRequest` (or `LogsData`), flattened: its records in request order.
public struct LogsExport: Sendable, Equatable {
    public var entries: [LogEntry]

    public init(entries: [LogEntry] = []) { self.entries = entries }

    public var count: Int { entries.count }
}

// MARK: - Metrics

/// OTLP `AggregationTemporality`, kept as its raw number.
public struct AggregationTemporality: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let unspecified = AggregationTemporality(rawValue: 0)
    public static let delta = AggregationTemporality(rawValue: 1)
    public static let cumulative = AggregationTemporality(rawValue: 2)

    public var description: String {
        switch rawValue {
        case 0: return "UNSPECIFIED"
        case 1: return "DELTA"
        case 2: return "CUMULATIVE"
        default: return "TEMPORALITY(\(rawValue))"
        }
    }
}

/// The value of a number data point or an exemplar (`as_int` / `as_double`).
public enum NumberValue: Sendable, Equatable, CustomStringConvertible {
    case int(Int64)
    case double(Double)

    public var doubleValue: Double {
        switch self {
        case .int(let v): return Double(v)
        case .double(let d): return d
        }
    }

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let d): return String(d)
        }
    }
}

/// A measurement sampled from the raw values behind a data point, often with the span it was made in.
public struct Exemplar: Sendable, Equatable {
    public var timeUnixNano: UInt64
    /// nil when the exemplar carries no value.
    public var value: NumberValue?
    public var traceID: TraceID?
    public var spanID: SpanID?
    public var filteredAttributes: [Attribute]

    public init(timeUnixNano: UInt64 = 0, value: NumberValue? = nil, traceID: TraceID? = nil, spanID: SpanID? = nil,
                filteredAttributes: [Attribute] = []) {
        self.timeUnixNano = timeUnixNano
        self.value = value
        self.traceID = traceID
        self.spanID = spanID
        self.filteredAttributes = filteredAttributes
    }
}

/// `DataPointFlags`: bit 0 is NO_RECORDED_VALUE (a staleness marker, the value means nothing).
public enum DataPointFlags {
    public static let noRecordedValue: UInt32 = 1
}

/// A point of a Gauge or a Sum (`NumberDataPoint`).
public struct NumberDataPoint: Sendable, Equatable {
    public var attributes: [Attribute]
    public var startTimeUnixNano: UInt64
    public var timeUnixNano: UInt64
    /// nil when neither `as_int` nor `as_double` was set.
    public var value: NumberValue?
    public var exemplars: [Exemplar]
    public var flags: UInt32

    public init(attributes: [Attribute] = [], startTimeUnixNano: UInt64 = 0, timeUnixNano: UInt64 = 0, value: NumberValue? = nil,
                exemplars: [Exemplar] = [], flags: UInt32 = 0) {
        self.attributes = attributes
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.value = value
        self.exemplars = exemplars
        self.flags = flags
    }
}

/// A point of an explicit-bucket Histogram (`HistogramDataPoint`).
public struct HistogramDataPoint: Sendable, Equatable {
    public var attributes: [Attribute]
    public var startTimeUnixNano: UInt64
    public var timeUnixNano: UInt64
    public var count: UInt64
    public var sum: Double?
    /// Empty, or one more than `explicitBounds` (the decoder rejects any other shape).
    public var bucketCounts: [UInt64]
    /// Strictly increasing upper bounds; bucket i holds values in (bounds[i-1], bounds[i]].
    public var explicitBounds: [Double]
    public var min: Double?
    public var max: Double?
    public var exemplars: [Exemplar]
    public var flags: UInt32

    public init(attributes: [Attribute] = [], startTimeUnixNano: UInt64 = 0, timeUnixNano: UInt64 = 0, count: UInt64 = 0,
                sum: Double? = nil, bucketCounts: [UInt64] = [], explicitBounds: [Double] = [], min: Double? = nil,
                max: Double? = nil, exemplars: [Exemplar] = [], flags: UInt32 = 0) {
        self.attributes = attributes
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.count = count
        self.sum = sum
        self.bucketCounts = bucketCounts
        self.explicitBounds = explicitBounds
        self.min = min
        self.max = max
        self.exemplars = exemplars
        self.flags = flags
    }
}

/// A point of an ExponentialHistogram (`ExponentialHistogramDataPoint`).
public struct ExponentialHistogramDataPoint: Sendable, Equatable {
    /// A dense run of buckets: `bucketCounts[i]` counts values in (base^(offset+i), base^(offset+i+1)].
    public struct Buckets: Sendable, Equatable {
        public var offset: Int32
        public var bucketCounts: [UInt64]

        public init(offset: Int32 = 0, bucketCounts: [UInt64] = []) {
            self.offset = offset
            self.bucketCounts = bucketCounts
        }
    }

    public var attributes: [Attribute]
    public var startTimeUnixNano: UInt64
    public var timeUnixNano: UInt64
    public var count: UInt64
    public var sum: Double?
    /// base = 2^(2^-scale).
    public var scale: Int32
    public var zeroCount: UInt64
    public var zeroThreshold: Double
    public var positive: Buckets
    public var negative: Buckets
    public var min: Double?
    public var max: Double?
    public var exemplars: [Exemplar]
    public var flags: UInt32

    public init(attributes: [Attribute] = [], startTimeUnixNano: UInt64 = 0, timeUnixNano: UInt64 = 0, count: UInt64 = 0,
                sum: Double? = nil, scale: Int32 = 0, zeroCount: UInt64 = 0, zeroThreshold: Double = 0,
                positive: Buckets = .init(), negative: Buckets = .init(), min: Double? = nil, max: Double? = nil,
                exemplars: [Exemplar] = [], flags: UInt32 = 0) {
        self.attributes = attributes
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.count = count
        self.sum = sum
        self.scale = scale
        self.zeroCount = zeroCount
        self.zeroThreshold = zeroThreshold
        self.positive = positive
        self.negative = negative
        self.min = min
        self.max = max
        self.exemplars = exemplars
        self.flags = flags
    }
}

/// A point of a Summary (`SummaryDataPoint`).
public struct SummaryDataPoint: Sendable, Equatable {
    public struct ValueAtQuantile: Sendable, Equatable {
        public var quantile: Double
        public var value: Double

        public init(quantile: Double, value: Double) {
            self.quantile = quantile
            self.value = value
        }
    }

    public var attributes: [Attribute]
    public var startTimeUnixNano: UInt64
    public var timeUnixNano: UInt64
    public var count: UInt64
    public var sum: Double
    public var quantileValues: [ValueAtQuantile]
    public var flags: UInt32

    public init(attributes: [Attribute] = [], startTimeUnixNano: UInt64 = 0, timeUnixNano: UInt64 = 0, count: UInt64 = 0,
                sum: Double = 0, quantileValues: [ValueAtQuantile] = [], flags: UInt32 = 0) {
        self.attributes = attributes
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.count = count
        self.sum = sum
        self.quantileValues = quantileValues
        self.flags = flags
    }
}

/// One OTLP `Metric`: its descriptor and the points of its one kind of data.
public struct Metric: Sendable, Equatable {
    public struct Gauge: Sendable, Equatable {
        public var dataPoints: [NumberDataPoint]
        public init(dataPoints: [NumberDataPoint] = []) { self.dataPoints = dataPoints }
    }

    public struct Sum: Sendable, Equatable {
        public var dataPoints: [NumberDataPoint]
        public var aggregationTemporality: AggregationTemporality
        public var isMonotonic: Bool

        public init(dataPoints: [NumberDataPoint] = [], aggregationTemporality: AggregationTemporality = .unspecified,
                    isMonotonic: Bool = false) {
            self.dataPoints = dataPoints
            self.aggregationTemporality = aggregationTemporality
            self.isMonotonic = isMonotonic
        }
    }

    public struct Histogram: Sendable, Equatable {
        public var dataPoints: [HistogramDataPoint]
        public var aggregationTemporality: AggregationTemporality

        public init(dataPoints: [HistogramDataPoint] = [], aggregationTemporality: AggregationTemporality = .unspecified) {
            self.dataPoints = dataPoints
            self.aggregationTemporality = aggregationTemporality
        }
    }

    public struct ExponentialHistogram: Sendable, Equatable {
        public var dataPoints: [ExponentialHistogramDataPoint]
        public var aggregationTemporality: AggregationTemporality

        public init(dataPoints: [ExponentialHistogramDataPoint] = [], aggregationTemporality: AggregationTemporality = .unspecified) {
            self.dataPoints = dataPoints
            self.aggregationTemporality = aggregationTemporality
        }
    }

    public struct Summary: Sendable, Equatable {
        public var dataPoints: [SummaryDataPoint]
        public init(dataPoints: [SummaryDataPoint] = []) { self.dataPoints = dataPoints }
    }

    public var name: String
    public var description: String
    public var unit: String
    /// `metadata` (field 12): extra key-values about the metric, not part of any series' identity.
    public var metadata: [Attribute]
    /// nil when the metric carried no data of a kind this protocol version knows.
    public var data: MetricData?

    public init(name: String, description: String = "", unit: String = "", metadata: [Attribute] = [], data: MetricData? = nil) {
        self.name = name
        self.description = description
        self.unit = unit
        self.metadata = metadata
        self.data = data
    }

    public var dataPointCount: Int { data?.dataPointCount ?? 0 }

    public var gauge: Gauge? { if case .gauge(let g) = data { return g } else { return nil } }
    public var sum: Sum? { if case .sum(let s) = data { return s } else { return nil } }
    public var histogram: Histogram? { if case .histogram(let h) = data { return h } else { return nil } }
    public var exponentialHistogram: ExponentialHistogram? { if case .exponentialHistogram(let h) = data { return h } else { return nil } }
    public var summary: Summary? { if case .summary(let s) = data { return s } else { return nil } }
}

/// The `data` oneof of a `Metric`: one kind of aggregation and its points.
public enum MetricData: Sendable, Equatable {
    case gauge(Metric.Gauge)
    case sum(Metric.Sum)
    case histogram(Metric.Histogram)
    case exponentialHistogram(Metric.ExponentialHistogram)
    case summary(Metric.Summary)

    /// `gauge`, `sum`, `histogram`, `exponential_histogram` or `summary`: the proto field name.
    public var kindName: String {
        switch self {
        case .gauge: return "gauge"
        case .sum: return "sum"
        case .histogram: return "histogram"
        case .exponentialHistogram: return "exponential_histogram"
        case .summary: return "summary"
        }
    }

    public var dataPointCount: Int {
        switch self {
        case .gauge(let g): return g.dataPoints.count
        case .sum(let s): return s.dataPoints.count
        case .histogram(let h): return h.dataPoints.count
        case .exponentialHistogram(let h): return h.dataPoints.count
        case .summary(let s): return s.dataPoints.count
        }
    }
}

/// A metric with the resource and scope it came from.
public struct MetricEntry: Sendable, Equatable {
    public var origin: SignalOrigin
    public var metric: Metric

    public init(origin: SignalOrigin, metric: Metric) {
        self.origin = origin
        self.metric = metric
    }
}

/// An `ExportMetricsServiceRequest` (or `MetricsData`), flattened: its metrics in request order.
public struct MetricsExport: Sendable, Equatable {
    public var entries: [MetricEntry]

    public init(entries: [MetricEntry] = []) { self.entries = entries }

    public var dataPointCount: Int { entries.reduce(0) { $0 + $1.metric.dataPointCount } }

    /// The metrics named `name`, in request order.
    public func metrics(named name: String) -> [Metric] { entries.filter { $0.metric.name == name }.map(\.metric) }
}
