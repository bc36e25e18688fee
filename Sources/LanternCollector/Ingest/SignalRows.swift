import Foundation
import LanternModel

/// Turns decoded OTLP logs and metrics into the rows the store keeps, rendering everything that
/// is not a column as OTLP/JSON (so it reads back with the OTLP/JSON decoder, losslessly).
public enum SignalRows {
    /// One row per log record, in request order.
    public static func logRows(_ export: LogsExport) -> [LogRow] {
        export.entries.map { entry in
            let r = entry.record
            return LogRow(traceID: r.traceID, spanID: r.spanID, timeUnixNano: Int64(clamping: r.effectiveTimeUnixNano),
                          eventName: r.resolvedEventName ?? "", severityNumber: r.severityNumber.rawValue,
                          severityText: r.severityText, serviceName: serviceName(entry.origin),
                          bodyJSON: r.body.map(json) ?? "", attributesJSON: json(r.attributes), originJSON: json(entry.origin))
        }
    }

    /// One row per data point, in request order.
    public static func metricRows(_ export: MetricsExport) -> [MetricPointRow] {
        var rows: [MetricPointRow] = []
        for entry in export.entries {
            let m = entry.metric
            let service = serviceName(entry.origin), origin = json(entry.origin)
            func row(_ kind: String, _ temporality: AggregationTemporality, _ attributes: [Attribute], _ start: UInt64, _ time: UInt64,
                     count: UInt64? = nil, sum: Double? = nil, min: Double? = nil, max: Double? = nil, value: Double? = nil,
                     distribution: String = "") -> MetricPointRow {
                MetricPointRow(name: m.name, unit: m.unit, kind: kind, temporality: temporality.rawValue, serviceName: service,
                               startUnixNano: Int64(clamping: start), timeUnixNano: Int64(clamping: time),
                               count: count.map { Int64(clamping: $0) }, sum: sum, min: min, max: max, value: value,
                               attributesJSON: json(attributes), distributionJSON: distribution, originJSON: origin)
            }
            switch m.data {
            case .gauge(let g):
                for p in g.dataPoints { rows.append(row("gauge", .unspecified, p.attributes, p.startTimeUnixNano, p.timeUnixNano, value: p.value?.doubleValue)) }
            case .sum(let s):
                for p in s.dataPoints {
                    rows.append(row("sum", s.aggregationTemporality, p.attributes, p.startTimeUnixNano, p.timeUnixNano, value: p.value?.doubleValue))
                }
            case .histogram(let h):
                for p in h.dataPoints {
                    let distribution = #"{"bounds":[\#(p.explicitBounds.map(number).joined(separator: ","))],"counts":[\#(p.bucketCounts.map(String.init).joined(separator: ","))]}"#
                    rows.append(row("histogram", h.aggregationTemporality, p.attributes, p.startTimeUnixNano, p.timeUnixNano,
                                    count: p.count, sum: p.sum, min: p.min, max: p.max, distribution: distribution))
                }
            case .exponentialHistogram(let h):
                for p in h.dataPoints {
                    func side(_ b: ExponentialHistogramDataPoint.Buckets) -> String {
                        #"{"offset":\#(b.offset),"counts":[\#(b.bucketCounts.map(String.init).joined(separator: ","))]}"#
                    }
                    let distribution = #"{"scale":\#(p.scale),"zeroCount":\#(p.zeroCount),"zeroThreshold":\#(number(p.zeroThreshold)),"positive":\#(side(p.positive)),"negative":\#(side(p.negative))}"#
                    rows.append(row("exponential_histogram", h.aggregationTemporality, p.attributes, p.startTimeUnixNano, p.timeUnixNano,
                                    count: p.count, sum: p.sum, min: p.min, max: p.max, distribution: distribution))
                }
            case .summary(let s):
                for p in s.dataPoints {
                    let quantiles = p.quantileValues.map { #"{"quantile":\#(number($0.quantile)),"value":\#(number($0.value))}"# }
                    rows.append(row("summary", .unspecified, p.attributes, p.startTimeUnixNano, p.timeUnixNano, count: p.count, sum: p.sum,
                                    distribution: #"{"quantileValues":[\#(quantiles.joined(separator: ","))]}"#))
                }
            case nil:
                break
            }
        }
        return rows
    }

    /// `service.name` of a resource, or "".
    static func serviceName(_ origin: SignalOrigin) -> String {
        origin.resource.attributes.first { $0.key == "service.name" }?.value.stringValue ?? ""
    }

    /// An OTLP/JSON AnyValue (`{"stringValue":"..."}`, `{"intValue":"7"}`, ...).
    public static func json(_ value: AttributeValue) -> String {
        switch value {
        case .string(let s): return #"{"stringValue":\#(OTLPResponseEncoder.jsonString(s))}"#
        case .bool(let b): return #"{"boolValue":\#(b)}"#
        case .int(let v): return #"{"intValue":"\#(v)"}"#
        case .double(let d): return #"{"doubleValue":\#(number(d))}"#
        case .bytes(let b): return #"{"bytesValue":"\#(Data(b).base64EncodedString())"}"#
        case .array(let a): return #"{"arrayValue":{"values":[\#(a.map(json).joined(separator: ","))]}}"#
        case .kvlist(let kv): return #"{"kvlistValue":{"values":\#(json(kv))}}"#
        case .empty: return "{}"
        }
    }

    /// An OTLP/JSON KeyValue list.
    public static func json(_ attributes: [Attribute]) -> String {
        "[" + attributes.map { #"{"key":\#(OTLPResponseEncoder.jsonString($0.key)),"value":\#(json($0.value))}"# }.joined(separator: ",") + "]"
    }

    /// The resource's attributes and the scope, as OTLP/JSON.
    static func json(_ origin: SignalOrigin) -> String {
        #"{"resource":{"attributes":\#(json(origin.resource.attributes))},"scope":{"name":\#(OTLPResponseEncoder.jsonString(origin.scope.name)),"version":\#(OTLPResponseEncoder.jsonString(origin.scope.version))}}"#
    }

    /// A JSON number; NaN and the infinities as the strings OTLP/JSON uses for them.
    static func number(_ d: Double) -> String {
        if d.isNaN { return "\"NaN\"" }
        if d.isInfinite { return d > 0 ? "\"Infinity\"" : "\"-Infinity\"" }
        return "\(d)"
    }
}
