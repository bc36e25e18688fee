import ArgumentParser
import Foundation
import LanternAnalyzer
import LanternModel
import LanternStore
import LanternYAML

struct MonitorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitors",
        abstract: "Check monitor rules against the store.",
        subcommands: [MonitorsCheckCommand.self]
    )
}

struct MonitorsCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a monitors file and evaluate every rule once, without sending webhooks.",
        discussion: """
        Each rule is evaluated over its window ending at --at (default now), per group, and its state printed: \
        OK, WARNING, ALERT, or NO_DATA when fewer than min_samples values were seen (never counted as OK).
        Exit status: 0 nothing beyond a threshold, 3 some WARNING, 4 some ALERT, 2 problems in the file \
        (every problem printed as FILE:LINE: message), 64 usage error, 1 other errors.
        """
    )

    @Option(help: "The monitors file.") var file = "collectors/monitors.yaml"
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var priceOptions: PriceOptions
    @Option(help: "Evaluate as of this time (default now): \(TimeExpression.accepted).") var at: String?
    @Flag(name: .long, help: "Print as JSON.") var json = false

    struct Result: Encodable {
        var monitor: String
        var group: [String: String]
        var state: MonitorState
        var value: Double?
        var sampleCount: Int
        var message: String
    }

    func run() async throws {
        let (configuration, problems) = MonitorFile.load(path: file)
        if !problems.isEmpty {
            for p in problems { printError(p.description) }
            throw ExitCode(2)
        }
        let now = TimeExpression.nowUnixNano()
        var time = now
        if let at {
            guard let t = TimeExpression.parse(at, nowUnixNano: now) else {
                throw ValidationError("--at: cannot read the time '\(at)': use \(TimeExpression.accepted)")
            }
            time = t
        }
        let store = try SQLiteSpanStore(path: database.path)
        let prices = try loadPrices(priceOptions.prices)
        var results: [Result] = []
        for rule in configuration.rules {
            for e in try await MonitorEvaluator.run(rule, now: time, store: store, prices: prices) {
                results.append(Result(monitor: rule.name, group: e.group, state: e.state, value: e.value, sampleCount: e.sampleCount, message: e.message))
            }
        }
        if json {
            print(try jsonString(results))
        } else if results.isEmpty {
            print("no rules in \(file)")
        } else {
            print(renderTable(header: ["monitor", "group", "state", "value", "samples", "message"], rows: results.map { r in
                [r.monitor, r.group.isEmpty ? "-" : MonitorEvaluator.describe(r.group), r.state.rawValue,
                 r.value.map { String(format: "%.4g", $0) } ?? "-", String(r.sampleCount), r.message]
            }))
        }
        if results.contains(where: { $0.state == .alert }) { throw ExitCode(4) }
        if results.contains(where: { $0.state == .warning }) { throw ExitCode(3) }
    }
}
