import ArgumentParser
import Foundation
import LanternModel
import LanternStore

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Totals of the OTLP metrics received (e.g. gen_ai.server.time_to_first_token), per name, service and attribute set.",
        discussion: "count and sum add up the points' counts and sums (histograms, summaries) or values (sums, gauges); mean = sum / count."
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Only this metric name.") var name: String?
    @Option(help: "Start of the range: an ISO 8601 time or an age such as 24h, 7d.") var since: String?
    @Flag(name: .long, help: "Print JSON.") var json = false

    struct Output: Encodable {
        var name: String, unit: String, kind: String, service: String, attributes: String
        var points: Int, count: Int64, sum: Double, mean: Double?, min: Double?, max: Double?
    }

    func run() throws {
        let store = try SQLiteSpanStore(path: database.path)
        var from = Int64.min
        if let since {
            guard let t = parseTime(since) else { throw ValidationError("cannot read --since '\(since)'") }
            from = t
        }
        let rows = try store.metricSummaries(name: name, from: from).map { m in
            Output(name: m.name, unit: m.unit, kind: m.kind, service: m.serviceName, attributes: m.attributesJSON, points: m.points,
                   count: m.count, sum: m.sum, mean: m.count > 0 ? m.sum / Double(m.count) : nil, min: m.min, max: m.max)
        }
        if json {
            print(try jsonString(rows))
            return
        }
        guard !rows.isEmpty else {
            print("no metric points\(name.map { " named \($0)" } ?? "") in \(database.path)")
            return
        }
        for r in rows {
            var line = "\(r.name) [\(r.kind)\(r.unit.isEmpty ? "" : ", \(r.unit)")] service \(r.service.isEmpty ? "-" : r.service)  points \(r.points)"
            if r.count > 0 { line += "  count \(r.count)" }
            line += String(format: "  sum %.6g", r.sum)
            if let mean = r.mean { line += String(format: "  mean %.6g", mean) }
            if let min = r.min, let max = r.max { line += String(format: "  min %.6g max %.6g", min, max) }
            print(line)
            if r.attributes != "[]" { print("    attributes \(r.attributes)") }
        }
    }
}
