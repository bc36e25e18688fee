import LanternAnalyzer
import LanternModel
import Logging
import ServiceLifecycle

/// Evaluates the monitors inside `lantern serve`: each rule on its cadence against the store, state
/// changes logged and sent to the rules' webhooks (in the background: a slow or failing webhook
/// never holds up evaluation). On shutdown it stops evaluating and gives deliveries in flight a
/// few seconds to finish.
public struct MonitorService: Service {
    public let runner: MonitorRunner
    let logger: Logger

    public init(runner: MonitorRunner, logger: Logger) {
        self.runner = runner
        self.logger = logger
    }

    public func run() async throws {
        let logger = self.logger
        let rules = await runner.configuration.rules.count
        logger.info("monitors running", metadata: ["rules": "\(rules)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await runner.run(onTick: { tick in
                    for t in tick.transitions {
                        logger.notice("monitor state changed", metadata: [
                            "monitor": "\(t.monitor)", "group": "\(MonitorEvaluator.describe(t.group))",
                            "from": "\(t.from?.rawValue ?? "none")", "to": "\(t.to.rawValue)", "message": "\(t.message)",
                        ])
                    }
                    for (rule, failure) in tick.failures.sorted(by: { $0.key < $1.key }) {
                        logger.error("monitor evaluation failed", metadata: ["monitor": "\(rule)", "error": "\(failure)"])
                    }
                })
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        // Deliveries in flight get a short grace period, then are cancelled.
        let notifier = await runner.notifier
        let drained = await withTaskGroup(of: Bool.self) { group -> Bool in
            group.addTask { _ = await notifier.waitForDeliveries(); return true }
            group.addTask { try? await Task.sleep(for: .seconds(5)); return false }
            let first = await group.next() ?? false
            if !first { await notifier.cancelDeliveries() }
            group.cancelAll()
            return first
        }
        if !drained { logger.warning("monitor webhook deliveries were still running at shutdown and were cancelled") }
        logger.info("monitors stopped")
    }
}
