import Foundation
import LanternModel

/// The thin shell around the monitors: on an injected clock it evaluates the rules that are due
/// against a store, feeds the state machine and hands each transition to the webhook notifier
/// (which returns at once). `lantern serve` runs `run(sleep:)` beside the HTTP server.
public actor MonitorRunner {
    /// Current time, Unix nanoseconds.
    public typealias Clock = @Sendable () -> Int64

    /// The wall clock, for production use only; tests inject their own.
    public static let systemClock: Clock = { Int64(Date().timeIntervalSince1970 * 1e9) }

    /// What one tick did.
    public struct Tick: Sendable, Equatable {
        /// The time the tick evaluated at, Unix nanoseconds.
        public var at: Int64
        /// Names of the rules evaluated, in file order.
        public var evaluated: [String]
        public var transitions: [MonitorTransition]
        /// Rule name -> why its evaluation failed (its states are kept).
        public var failures: [String: String]
    }

    public let configuration: MonitorConfiguration
    public let notifier: WebhookNotifier
    private let store: any SpanStore
    private let prices: PriceBook
    private let clock: Clock
    public private(set) var machine = MonitorStateMachine()

    public init(configuration: MonitorConfiguration, store: any SpanStore, prices: PriceBook = .empty, clock: @escaping Clock,
                notifier: WebhookNotifier? = nil) {
        self.configuration = configuration
        self.store = store
        self.prices = prices
        self.clock = clock
        self.notifier = notifier ?? WebhookNotifier(webhooks: configuration.webhooks)
    }

    /// Evaluates every rule due at the clock's current time, once, and starts notifying the transitions.
    public func tick() async -> Tick {
        let now = clock()
        var tick = Tick(at: now, evaluated: [], transitions: [], failures: [:])
        for rule in machine.due(configuration.rules, now: now) {
            // On shutdown the rest of the pass is skipped (and its rules stay due).
            if Task.isCancelled { break }
            tick.evaluated.append(rule.name)
            do {
                let evaluations = try await MonitorEvaluator.run(rule, now: now, store: store, prices: prices)
                let transitions = machine.apply(evaluations, monitor: rule.name, at: now)
                for transition in transitions where !rule.notify.isEmpty && !Task.isCancelled {
                    await notifier.notify(transition, webhooks: rule.notify)
                }
                tick.transitions += transitions
            } catch {
                machine.markEvaluated(monitor: rule.name, at: now)
                tick.failures[rule.name] = "\(error)"
            }
        }
        return tick
    }

    /// Ticks whenever a rule is due until cancelled or `sleep` throws; `onTick` sees every tick
    /// that evaluated something (e.g. to log transitions and failures).
    public func run(sleep: @escaping WebhookNotifier.Sleep = { try await Task.sleep(for: $0) },
                    onTick: (@Sendable (Tick) -> Void)? = nil) async {
        guard !configuration.rules.isEmpty else { return }
        while !Task.isCancelled {
            let result = await tick()
            if !result.evaluated.isEmpty { onTick?(result) }
            let now = clock()
            let next = machine.nextDue(configuration.rules, now: now) ?? now
            let wait = Swift.max(next - now, 10_000_000)
            do { try await sleep(.nanoseconds(wait)) } catch { return }
        }
    }
}
