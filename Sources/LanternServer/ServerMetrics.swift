import CoreMetrics
import Foundation

/// Lantern's own operational metrics, reported through swift-metrics (Prometheus text at
/// `GET /metrics` when `lantern serve` bootstraps the Prometheus factory).
public final class ServerMetrics: Sendable {
    private let factory: any MetricsFactory
    private let received: [Signal: Counter]
    private let accepted: [Signal: Counter]
    private let requestRejections: [RequestOutcome: Counter]
    private let queueDepth: Gauge
    private let inFlightBytes: Gauge
    private let commitLatency: CoreMetrics.Timer
    private let commitSpans: Recorder
    private let redactions: Counter

    /// The telemetry signal a request carried.
    public enum Signal: String, Sendable, CaseIterable { case traces, logs, metrics }

    /// Why a whole request was refused.
    public enum RequestOutcome: String, Sendable, CaseIterable {
        case undecodable, tooLarge = "too_large", unsupported, unauthorized, overloaded, storeFailed = "store_failed"
    }

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        received = Dictionary(uniqueKeysWithValues: Signal.allCases.map {
            ($0, Counter(label: "lantern_items_received_total", dimensions: [("signal", $0.rawValue)], factory: factory))
        })
        accepted = Dictionary(uniqueKeysWithValues: Signal.allCases.map {
            ($0, Counter(label: "lantern_items_accepted_total", dimensions: [("signal", $0.rawValue)], factory: factory))
        })
        requestRejections = Dictionary(uniqueKeysWithValues: RequestOutcome.allCases.map {
            ($0, Counter(label: "lantern_requests_refused_total", dimensions: [("reason", $0.rawValue)], factory: factory))
        })
        queueDepth = Gauge(label: "lantern_commit_queue_spans", factory: factory)
        inFlightBytes = Gauge(label: "lantern_in_flight_request_bytes", factory: factory)
        commitLatency = CoreMetrics.Timer(label: "lantern_commit_seconds", factory: factory)
        commitSpans = Recorder(label: "lantern_commit_spans", factory: factory)
        redactions = Counter(label: "lantern_redactions_total", factory: factory)
    }

    /// Items (spans, log records, metric points) that arrived in decodable requests.
    public func received(_ count: Int, _ signal: Signal) { received[signal]?.increment(by: Int64(count)) }
    /// Items that were stored (or kept) and acknowledged.
    public func accepted(_ count: Int, _ signal: Signal) { accepted[signal]?.increment(by: Int64(count)) }
    /// Items refused inside an accepted request, by a short reason.
    public func rejected(_ count: Int, _ signal: Signal, reason: String) {
        guard count > 0 else { return }
        Counter(label: "lantern_items_rejected_total", dimensions: [("signal", signal.rawValue), ("reason", reason)], factory: factory)
            .increment(by: Int64(count))
    }
    /// A whole request refused.
    public func refused(_ outcome: RequestOutcome) { requestRejections[outcome]?.increment() }
    public func queue(spans: Int) { queueDepth.record(spans) }
    public func inFlight(bytes: Int) { inFlightBytes.record(bytes) }
    /// One journal commit: how long it took and how many spans it made durable.
    public func committed(spans: Int, nanoseconds: Int64) {
        commitLatency.recordNanoseconds(nanoseconds)
        commitSpans.record(spans)
    }
    public func redacted(_ count: Int) { if count > 0 { redactions.increment(by: Int64(count)) } }

    /// A short, stable category for a per-span rejection reason (for the metric's label).
    public static func category(ofRejection reason: String) -> String {
        if reason.contains("trace_id") || reason.contains("span_id") { return "invalid_id" }
        if reason.contains("limit") { return "over_limit" }
        return "malformed"
    }
}
