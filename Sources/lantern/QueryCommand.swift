import ArgumentParser
import Foundation
import LanternModel
import LanternPrices
import LanternStore

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Aggregate spans: counts, error rate, tokens, cost, TTFT and latency percentiles, by any grouping.",
        discussion: """
        Times: 2025-06-01, 2025-06-01T12:00:00Z, Unix seconds or nanoseconds, or a span before now (90m, 24h, 7d).
        Group by any of: \(GroupKey.allCases.map(\.rawValue).joined(separator: ", ")).
        Percentiles are exact (linear interpolation between order statistics). TTFT coverage is the share \
        of the group's GenAI spans that carried a TTFT; cost marked '<=' is an upper bound where cached tokens \
        were not reported.
        """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var priceOptions: PriceOptions
    @Option(help: "Spans that started at or after this time.") var from: String?
    @Option(help: "Spans that started before this time.") var until: String?
    @Option(help: "Only these services (repeatable).") var service: [String] = []
    @Option(help: "Only these models, request or response (repeatable).") var model: [String] = []
    @Option(help: "Only these variants (repeatable).") var variant: [String] = []
    @Option(help: "Only these environments (repeatable).") var environment: [String] = []
    @Option(help: "Only these GenAI operations (repeatable).") var operation: [String] = []
    @Flag(name: .customLong("all-spans"), help: "Include spans without GenAI facts (default: GenAI spans only).") var allSpans = false
    @Option(name: .customLong("by"), help: "Comma-separated grouping, e.g. model,hour.") var by: String = "model"
    @Flag(name: .long, help: "Print as JSON.") var json = false

    func validate() throws {
        for t in [from, until].compactMap({ $0 }) where parseTime(t) == nil {
            throw ValidationError("cannot read the time '\(t)': use 2025-06-01, 2025-06-01T12:00:00Z, Unix seconds, milliseconds or nanoseconds, or 24h / 7d")
        }
        for k in groupKeys.invalid {
            throw ValidationError("unknown grouping '\(k)'; use any of \(GroupKey.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if Set(groupKeys.keys).count < groupKeys.keys.count { throw ValidationError("--by lists a grouping twice") }
    }

    var groupKeys: (keys: [GroupKey], invalid: [String]) {
        let parts = by.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return (parts.compactMap(GroupKey.init(rawValue:)), parts.filter { GroupKey(rawValue: $0) == nil })
    }

    func run() throws {
        let store = try SQLiteSpanStore(path: database.path)
        let prices = try loadPrices(priceOptions.prices)
        let filter = SpanFilter(from: from.flatMap { parseTime($0) }, until: until.flatMap { parseTime($0) }, services: service,
                                models: model, variants: variant, environments: environment, operations: operation, genAIOnly: !allSpans)
        let query = SpanQuery(filter: filter, groupBy: groupKeys.keys)
        let result = try store.queryNow(query, prices: prices)
        if json {
            print(try jsonString(result))
            return
        }
        let header = query.groupBy.map(\.rawValue) + ["spans", "err%", "in tok", "out tok", "cost $", "ttft p50", "p90", "p95", "p99", "ttft cov",
                                                       "lat p50", "p90", "p95", "p99"]
        let rows = result.groups.map { g -> [String] in
            let key = zip(query.groupBy, g.key).map { k, v in k.bucketNanos != nil ? formatTime(Int64(v) ?? 0) : (v.isEmpty ? "-" : v) }
            let t = g.ttft, l = g.latency
            let cost = g.spansCosted == 0 ? "-" : (g.spansCostUpperBound > 0 ? "<=" : "") + String(format: "%.4f", g.costUSD)
            return key + [String(g.spans), String(format: "%.1f", g.errorRate * 100), formatCount(g.inputTokens), formatCount(g.outputTokens), cost,
                          formatMillis(t?.value(at: 0.5)), formatMillis(t?.value(at: 0.9)), formatMillis(t?.value(at: 0.95)), formatMillis(t?.value(at: 0.99)),
                          String(format: "%.0f%%", g.ttftCoverage * 100),
                          formatMillis(l?.value(at: 0.5)), formatMillis(l?.value(at: 0.9)), formatMillis(l?.value(at: 0.95)), formatMillis(l?.value(at: 0.99))]
        }
        if rows.isEmpty {
            print("no spans match")
        } else {
            print(renderTable(header: header, rows: rows))
        }
    }
}

/// Loads price tables from a directory of YAML tables or a flat prices.json; none found is an empty book.
func loadPrices(_ explicitPath: String?) throws -> PriceBook {
    let explicit = explicitPath ?? ProcessInfo.processInfo.environment["LANTERN_PRICES"]
    if let explicit, explicit.hasSuffix(".json") { return try PriceTableLoader.loadBenchJSON(URL(fileURLWithPath: explicit)) }
    if let explicit {
        guard FileManager.default.fileExists(atPath: explicit) else { throw ValidationErrorMessage("no price tables at \(explicit)") }
        return try PriceTableLoader.load(directory: URL(fileURLWithPath: explicit))
    }
    guard let dir = PriceTableLoader.defaultDirectory(explicit: explicit) else {
        if explicit != nil { throw ValidationErrorMessage("no price tables at \(explicit!)") }
        printError("note: no price tables found (collectors/prices); costs are not computed")
        return .empty
    }
    return try PriceTableLoader.load(directory: dir)
}
