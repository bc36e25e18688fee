import Foundation
import LanternModel

/// A monitor: a figure of the spans of a sliding window, per group, checked on a cadence against a
/// threshold or by a drift test against a reference window (see `collectors/monitors.yaml`).
public struct MonitorRule: Sendable, Equatable {
    public var name: String
    /// A headline figure of `Comparison.headlines` (`ttft_p95`, `error_rate`, ...) for a threshold rule;
    /// a `DriftSubject` (`ttft`, `finish_reason`, `score:<name>`, ...) for a drift rule.
    public var metric: String
    /// Which spans the rule watches; its time range is ignored (the window sets it).
    public var filter: SpanFilter
    /// The dimensions each group is split by; every group has a state of its own.
    public var groupBy: [GroupKey]
    /// Length of the window that ends at the evaluation time, in nanoseconds.
    public var windowNanos: Int64
    /// Cadence of the evaluations, in nanoseconds.
    public var everyNanos: Int64
    public var condition: Condition
    /// Below this many samples a group is NO_DATA, never OK. The samples are the values the figure
    /// rests on (the TTFT count for `ttft_p95`, the requests for `error_rate`) or, for a drift
    /// rule, the smaller side's count.
    public var minSamples: Int
    /// Names of the webhooks told about state changes.
    public var notify: [String]

    public static let defaultMinSamples = 30
    public static let defaultEveryNanos: Int64 = 60_000_000_000

    public init(name: String, metric: String, filter: SpanFilter = .init(), groupBy: [GroupKey] = [], windowNanos: Int64,
                everyNanos: Int64 = MonitorRule.defaultEveryNanos, condition: Condition, minSamples: Int = MonitorRule.defaultMinSamples,
                notify: [String] = []) {
        self.name = name
        self.metric = metric
        self.filter = filter
        self.groupBy = groupBy
        self.windowNanos = windowNanos
        self.everyNanos = everyNanos
        self.condition = condition
        self.minSamples = minSamples
        self.notify = notify
    }

    /// What makes a group WARNING or ALERT.
    public enum Condition: Sendable, Equatable {
        /// The figure against fixed bounds.
        case threshold(Threshold)
        /// A drift test of the window against a reference window.
        case drift(Drift)
    }

    /// Bounds on a value: ALERT beyond `alert`, WARNING beyond `warning`, both strictly.
    public struct Threshold: Sendable, Equatable {
        public enum Direction: String, Sendable, CaseIterable {
            /// Larger values are worse.
            case above
            /// Smaller values are worse.
            case below
        }

        public var direction: Direction
        public var warning: Double?
        public var alert: Double

        public init(direction: Direction, warning: Double? = nil, alert: Double) {
            self.direction = direction
            self.warning = warning
            self.alert = alert
        }

        /// True when `value` is strictly beyond `bound` in this threshold's direction.
        public func isBeyond(_ value: Double, _ bound: Double) -> Bool {
            direction == .above ? value > bound : value < bound
        }
    }

    /// A drift test of the current window against a reference window, per group.
    public struct Drift: Sendable, Equatable {
        /// Which window the current one is compared with.
        public enum Reference: Sendable, Equatable {
            /// The window just before the current one.
            case previous
            /// The same window shifted back by this many nanoseconds (e.g. one day).
            case offset(Int64)
        }

        public var subject: DriftSubject
        public var test: DriftTest
        public var reference: Reference
        /// Bounds on the p-value (below) for KS, Mann–Whitney and chi-square, or on the statistic
        /// (above) for PSI and Jensen–Shannon.
        public var threshold: Threshold

        public init(subject: DriftSubject, test: DriftTest, reference: Reference = .previous, threshold: Threshold? = nil) {
            self.subject = subject
            self.test = test
            self.reference = reference
            self.threshold = threshold ?? Self.defaultThreshold(for: test)
        }

        /// Whether the test is judged by its p-value (else by its statistic).
        public static func judgesPValue(_ test: DriftTest) -> Bool {
            switch test {
            case .ks, .mannWhitney, .chiSquare: return true
            case .psi, .jensenShannon: return false
            }
        }

        /// p < 0.05 warns and p < 0.01 alerts; PSI 0.1 / 0.25 (moderate / major shift); Jensen–Shannon 0.05 / 0.1.
        public static func defaultThreshold(for test: DriftTest) -> Threshold {
            switch test {
            case .ks, .mannWhitney, .chiSquare: return Threshold(direction: .below, warning: 0.05, alert: 0.01)
            case .psi: return Threshold(direction: .above, warning: 0.1, alert: DriftAnalysis.psiThreshold)
            case .jensenShannon: return Threshold(direction: .above, warning: 0.05, alert: DriftAnalysis.jensenShannonThreshold)
            }
        }

        /// The reference and candidate start-time ranges `[from, until)` for a window ending at `now`.
        public func windows(now: Int64, windowNanos: Int64) -> (reference: Range<Int64>, candidate: Range<Int64>) {
            let candidate = (now - windowNanos)..<now
            switch reference {
            case .previous:
                return ((now - 2 * windowNanos)..<(now - windowNanos), candidate)
            case .offset(let shift):
                return ((now - windowNanos - shift)..<(now - shift), candidate)
            }
        }
    }

    /// The group keys a drift rule can split by: those a `SpanFilter` can select one value of.
    public static let driftGroupKeys: [GroupKey] = [.service, .model, .variant, .environment, .operation]
}

/// A webhook that monitors notify: a JSON POST to `url`, retried with exponential backoff.
public struct Webhook: Sendable, Equatable {
    public var name: String
    public var url: URL
    /// Extra request headers (e.g. an authorization token for the receiver).
    public var headers: [String: String]
    /// Time allowed for one attempt.
    public var timeout: Duration
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// Wait before the second attempt; it doubles after each failure, up to `backoffMax`.
    public var backoffInitial: Duration
    public var backoffMax: Duration

    public init(name: String, url: URL, headers: [String: String] = [:], timeout: Duration = .seconds(10), maxAttempts: Int = 5,
                backoffInitial: Duration = .seconds(1), backoffMax: Duration = .seconds(60)) {
        self.name = name
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.maxAttempts = maxAttempts
        self.backoffInitial = backoffInitial
        self.backoffMax = backoffMax
    }
}

/// The content of a monitors file: its rules and the webhooks they notify.
public struct MonitorConfiguration: Sendable, Equatable {
    public var rules: [MonitorRule]
    public var webhooks: [Webhook]

    public init(rules: [MonitorRule] = [], webhooks: [Webhook] = []) {
        self.rules = rules
        self.webhooks = webhooks
    }

    /// The webhook of a name.
    public func webhook(named name: String) -> Webhook? { webhooks.first { $0.name == name } }
}
