/// One OTLP log record as the store keeps it: indexed fields in columns, the rest as OTLP/JSON
/// text (body, attributes, resource), so nothing the client sent is lost.
public struct LogRow: Sendable, Equatable {
    public var traceID: TraceID?
    public var spanID: SpanID?
    public var timeUnixNano: Int64
    public var eventName: String
    public var severityNumber: Int32
    public var severityText: String
    public var serviceName: String
    /// The body as an OTLP/JSON AnyValue, or "" when absent.
    public var bodyJSON: String
    /// The attributes as an OTLP/JSON KeyValue list.
    public var attributesJSON: String
    /// The resource attributes and scope as OTLP/JSON.
    public var originJSON: String

    public init(traceID: TraceID?, spanID: SpanID?, timeUnixNano: Int64, eventName: String, severityNumber: Int32,
                severityText: String, serviceName: String, bodyJSON: String, attributesJSON: String, originJSON: String) {
        self.traceID = traceID
        self.spanID = spanID
        self.timeUnixNano = timeUnixNano
        self.eventName = eventName
        self.severityNumber = severityNumber
        self.severityText = severityText
        self.serviceName = serviceName
        self.bodyJSON = bodyJSON
        self.attributesJSON = attributesJSON
        self.originJSON = originJSON
    }
}

/// One OTLP metric data point as the store keeps it: name, kind, times and the headline numbers
/// in columns; attributes and the distribution (buckets, quantiles) as JSON text.
public struct MetricPointRow: Sendable, Equatable {
    public var name: String
    public var unit: String
    /// `gauge`, `sum`, `histogram`, `exponential_histogram` or `summary`.
    public var kind: String
    public var temporality: Int32
    public var serviceName: String
    public var startUnixNano: Int64
    public var timeUnixNano: Int64
    /// Observations in the point (histograms and summaries), else nil.
    public var count: Int64?
    public var sum: Double?
    public var min: Double?
    public var max: Double?
    /// The value of a gauge or sum point.
    public var value: Double?
    /// The point's attributes as an OTLP/JSON KeyValue list.
    public var attributesJSON: String
    /// Buckets (`{"bounds":[..],"counts":[..]}`), exponential buckets or quantiles; "" for numbers.
    public var distributionJSON: String
    /// The resource attributes and scope as OTLP/JSON.
    public var originJSON: String

    public init(name: String, unit: String, kind: String, temporality: Int32, serviceName: String, startUnixNano: Int64,
                timeUnixNano: Int64, count: Int64?, sum: Double?, min: Double?, max: Double?, value: Double?,
                attributesJSON: String, distributionJSON: String, originJSON: String) {
        self.name = name
        self.unit = unit
        self.kind = kind
        self.temporality = temporality
        self.serviceName = serviceName
        self.startUnixNano = startUnixNano
        self.timeUnixNano = timeUnixNano
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
        self.value = value
        self.attributesJSON = attributesJSON
        self.distributionJSON = distributionJSON
        self.originJSON = originJSON
    }
}

/// Totals of one metric over a time range, per attribute set: what `lantern metrics` prints.
public struct MetricSummary: Sendable, Equatable {
    public var name: String
    public var unit: String
    public var kind: String
    public var serviceName: String
    public var attributesJSON: String
    public var points: Int
    /// Sum of the points' counts (histograms, summaries).
    public var count: Int64
    /// Sum of the points' sums (histograms, summaries) or values (sums, gauges).
    public var sum: Double
    public var min: Double?
    public var max: Double?

    public init(name: String, unit: String, kind: String, serviceName: String, attributesJSON: String, points: Int,
                count: Int64, sum: Double, min: Double?, max: Double?) {
        self.name = name
        self.unit = unit
        self.kind = kind
        self.serviceName = serviceName
        self.attributesJSON = attributesJSON
        self.points = points
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
    }
}
