import CoreMetrics
import Logging
import Prometheus

/// Process-wide set-up of Lantern's own logs and metrics, done once by `lantern serve`.
public enum Observability {
    /// Routes swift-log to standard error as text or JSON lines, at the configured level.
    public static func bootstrapLogging(_ settings: ServerConfiguration.Logging) {
        let level = Logger.Level(rawValue: settings.level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = settings.format == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// Routes swift-metrics to a Prometheus registry; returns what renders `GET /metrics`.
    public static func bootstrapPrometheus() -> @Sendable () -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets["lantern_commit_spans"] = [1, 10, 100, 1_000, 4_096, 16_384, 65_536]
        factory.durationHistogramBuckets["lantern_commit_seconds"] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        MetricsSystem.bootstrap(factory)
        return { registry.emitToBuffer() }
    }
}
