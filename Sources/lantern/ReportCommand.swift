import ArgumentParser
import Foundation
import LanternAnalyzer
import LanternModel
import LanternServer
import LanternStore

/// The filters `report` and `drift` share, read through the same parser as the JSON API.
struct AnalysisFilterOptions: ParsableArguments {
    @Option(help: "Spans that started at or after this time (default: report: the oldest stored span; drift: 24h).") var from: String?
    @Option(help: "Spans that started before this time (default: now).") var until: String?
    @Option(help: "Only these services (repeatable).") var service: [String] = []
    @Option(help: "Only these models, request or response (repeatable).") var model: [String] = []
    @Option(help: "Only these variants (repeatable).") var variant: [String] = []
    @Option(help: "Only these environments (repeatable).") var environment: [String] = []
    @Option(help: "Only these GenAI operations (repeatable).") var operation: [String] = []
    @Flag(name: .customLong("all-spans"), help: "Include spans without GenAI facts (default: GenAI spans only).") var allSpans = false

    /// The options as API query parameters.
    var items: [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        if let from { out.append(("from", from)) }
        if let until { out.append(("until", until)) }
        for (name, values) in [("service", service), ("model", model), ("variant", variant), ("environment", environment), ("operation", operation)] {
            for v in values { out.append((name, v)) }
        }
        if allSpans { out.append(("all_spans", "true")) }
        return out
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Summarize LLM traffic per model and variant: requests, errors, TTFT, latency, TPOT, tokens, cost, refusals, quality.",
        discussion: """
        Times: \(TimeExpression.accepted). Without --from the report covers every stored span.
        Percentiles are exact. Coverage says what share of the model calls carried the figure (TTFT, tokens, cost); \
        a cost marked '<=' is an upper bound (cached input tokens were not reported).
        --html writes a self-contained HTML page with SVG charts that opens offline.
        """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var priceOptions: PriceOptions
    @OptionGroup var filter: AnalysisFilterOptions
    @Option(name: .customLong("by"), help: "Comma-separated dimensions of the rows.") var by = "model,variant"
    @Flag(name: .long, help: "Print the report as JSON.") var json = false
    @Option(name: .long, help: "Also write the report as a self-contained HTML file.") var html: String?

    func run() async throws {
        let store = try SQLiteSpanStore(path: database.path)
        let prices = try loadPrices(priceOptions.prices)
        let now = TimeExpression.nowUnixNano()
        let items = filter.items + [("group_by", by)]
        var request: ReportRequest
        do {
            request = try AnalysisParameters(items, nowUnixNano: now).reportRequest()
        } catch {
            throw ValidationError(Self.optionMessage(error))
        }
        if filter.from == nil {
            // Every stored span: from the oldest, to now or just past the newest (in nanoseconds, not
            // through the time parser, which reads small integers as seconds).
            let stats = try store.statsNow()
            if let first = stats.minStartUnixNano { request.from = min(first, request.until - 1) }
            if filter.until == nil, let last = stats.maxStartUnixNano, last >= request.until { request.until = last + 1 }
        }
        let report = try await ReportBuilder.build(request, store: store, prices: prices)
        if let html {
            try Data(ReportHTML.render(report).utf8).write(to: URL(fileURLWithPath: html))
            printError("wrote \(html)")
        }
        if json {
            print(try jsonString(report))
        } else {
            print(Self.table(report))
        }
    }

    /// An API parameter error phrased with the command's option names.
    static func optionMessage(_ e: APIParameterError) -> String {
        func option(_ name: String) -> String {
            switch name {
            case "group_by": return "--by"
            case "subject": return "<subject>"
            default: return "--" + name.replacingOccurrences(of: "_", with: "-")
            }
        }
        var message = e.message
        for name in ["reference_variant", "candidate_variant", "reference_from", "reference_until", "candidate_from", "candidate_until", "min_samples"] {
            message = message.replacingOccurrences(of: name, with: option(name))
        }
        message = message.replacingOccurrences(of: "must be before until", with: "must be before --until")
        return "\(option(e.parameter)): \(message)"
    }

    static func table(_ report: Report) -> String {
        let out = "\(TimeExpression.format(report.from)) .. \(TimeExpression.format(report.until))\n"
        guard report.total.requests > 0 else { return out + "no spans match" }
        let header = report.groupBy.map(\.rawValue) + ["requests", "err%", "ttft p50", "p95", "p99", "cov", "lat p50", "p95", "p99",
                                                       "tpot p50", "out p50", "in tok", "out tok", "cost $", "refuse%", "quality"]
        func cells(_ row: ReportRow, key: [String]) -> [String] {
            let t = row.ttft, l = row.latency
            let cost = row.cost.spansCosted == 0 ? "-" : (row.cost.isUpperBound ? "<=" : "") + String(format: "%.4f", row.cost.usd)
            let quality = row.scores.map { s in
                s.values.map { "\(s.name) \(String(format: "%.2f", $0.mean)) n=\(s.count)" } ?? "\(s.name) n=\(s.count)"
            }.joined(separator: "; ")
            return key + [String(row.requests), String(format: "%.1f", row.errorRate * 100),
                          formatMillis(t?.percentile(0.5)), formatMillis(t?.percentile(0.95)), formatMillis(t?.percentile(0.99)),
                          t?.coverage.map { String(format: "%.0f%%", $0 * 100) } ?? "-",
                          formatMillis(l?.percentile(0.5)), formatMillis(l?.percentile(0.95)), formatMillis(l?.percentile(0.99)),
                          row.tpot?.percentile(0.5).map { String(format: "%.1fms", $0 * 1000) } ?? "-",
                          row.outputTokens?.percentile(0.5).map { String(format: "%.0f", $0) } ?? "-",
                          formatCount(row.tokens.input), formatCount(row.tokens.output), cost,
                          String(format: "%.1f", row.refusalRate * 100), quality.isEmpty ? "-" : quality]
        }
        func keyCell(_ row: ReportRow, _ k: GroupKey) -> String {
            guard let v = row.key[k.rawValue], !v.isEmpty else { return "-" }
            return k.bucketNanos != nil ? formatTime(Int64(v) ?? 0) : v
        }
        let rows = report.rows.map { r in cells(r, key: report.groupBy.map { keyCell(r, $0) }) }
            + [cells(report.total, key: report.groupBy.indices.map { $0 == 0 ? "TOTAL" : "" })]
        return out + renderTable(header: header, rows: rows)
    }
}

struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Test whether a metric's distribution differs between two variants or two windows.",
        discussion: """
        Subjects: ttft, latency, tpot, output_tokens, score:<name> (numbers: ks, mann_whitney, psi, jensen_shannon) and \
        finish_reason, error_type, outcome (categories: chi_square, jensen_shannon).
        Compare two variants over one window (--reference-variant, --candidate-variant) or two windows \
        (--reference-from/--reference-until against --from/--until or --candidate-from/--candidate-until).
        Exit status: 0 no drift detected, 4 drift detected, 3 not enough data on a side (never a pass), 64 usage error, 1 other errors.
        """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "What to compare, e.g. ttft or finish_reason.") var subject: String
    @OptionGroup var filter: AnalysisFilterOptions
    @Option(help: "The reference variant (with --candidate-variant).") var referenceVariant: String?
    @Option(help: "The candidate variant (with --reference-variant).") var candidateVariant: String?
    @Option(help: "Start of the reference window (default: a day before its end).") var referenceFrom: String?
    @Option(help: "End of the reference window (default: now).") var referenceUntil: String?
    @Option(help: "Start of the candidate window (default: a day before its end).") var candidateFrom: String?
    @Option(help: "End of the candidate window (default: now).") var candidateUntil: String?
    @Option(help: "Comma-separated tests (default: every test that applies).") var tests: String?
    @Option(help: "Fewest values per side for a verdict.") var minSamples = 30
    @Option(help: "Significance level of the hypothesis tests.") var alpha = 0.05
    @Flag(name: .long, help: "Print as JSON.") var json = false

    func run() async throws {
        let store = try SQLiteSpanStore(path: database.path)
        var items = filter.items + [("subject", subject), ("min_samples", String(minSamples)), ("alpha", String(alpha))]
        let sides: [(String, String?)] = [("reference_variant", referenceVariant), ("candidate_variant", candidateVariant),
                                          ("reference_from", referenceFrom), ("reference_until", referenceUntil),
                                          ("candidate_from", candidateFrom), ("candidate_until", candidateUntil), ("tests", tests)]
        for case let (name, value?) in sides { items.append((name, value)) }
        let parameters = AnalysisParameters(items, nowUnixNano: TimeExpression.nowUnixNano())
        let outcome: DriftOutcome
        do {
            let (reference, candidate) = try parameters.sides()
            let settings = try parameters.driftSettings()
            outcome = try await DriftAnalysis.run(settings.subject, reference: reference, candidate: candidate, tests: settings.tests,
                                                  store: store, minimumSamples: settings.minimumSamples, alpha: settings.alpha)
        } catch let e as APIParameterError {
            throw ValidationError(ReportCommand.optionMessage(e))
        }
        if json {
            print(try jsonString(outcome))
        } else {
            print("\(outcome.subject): \(outcome.referenceLabel) (n = \(outcome.referenceCount)) vs \(outcome.candidateLabel) (n = \(outcome.candidateCount))")
            if outcome.status == .notEnoughData {
                print("not enough data: each side needs at least \(outcome.minimumSamples) values")
            } else {
                let rows = outcome.tests.map { t in
                    [t.test.rawValue, String(format: "%.4g", t.statistic), t.pValue.map { String(format: "%.3g", $0) } ?? "-",
                     t.drifted ? "DRIFT" : "ok", t.verdict]
                }
                print(renderTable(header: ["test", "statistic", "p-value", "result", "verdict"], rows: rows))
            }
        }
        if outcome.status == .notEnoughData { throw ExitCode(3) }
        if outcome.drifted { throw ExitCode(4) }
    }
}
