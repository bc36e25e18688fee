import Foundation
import Testing

// Runs `lantern report`, `lantern drift` and `lantern monitors check` (the built executable, as
// `CLITests` does) against a database ingested from an OTLP/JSON file the test writes: 100 chat
// calls per variant on 2025-03-01, the candidate's TTFT 0.2 s above the baseline's and a tenth of
// its calls failed. Every expected figure is computed here from `Traffic.calls`.

@Suite("lantern report, drift and monitors check")
struct AnalysisCLITests {
    /// The runner, temporary directories and JSON decoding of `CLITests`.
    let cli = CLITests()

    // MARK: - report

    @Test("report --json: one row per model and variant with requests, errors, TTFT and latency percentiles, tokens and finish reasons")
    func reportJSON() throws {
        try cli.withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let report = try cli.decode(ReportOutput.self, try cli.runOK(["report", "--db", db, "--json"] + Traffic.range))
            #expect(report.from == Traffic.fromNanos && report.until == Traffic.untilNanos)
            #expect(report.groupBy == ["model", "variant"])
            #expect(report.quantiles == [0.5, 0.9, 0.95, 0.99])
            #expect(Set(report.rows.map(\.key)) == Set(Traffic.variants.map { ["model": Traffic.model, "variant": $0] }))
            #expect(report.rows.count == Traffic.variants.count)

            for variant in Traffic.variants {
                let calls = Traffic.calls.filter { $0.variant == variant }
                let row = try #require(report.rows.first { $0.key["variant"] == variant }, "\(variant)")
                checkRow(row, matches: calls, "\(variant)")
            }
            checkRow(report.total, matches: Traffic.calls, "total")
            #expect(report.total.key == [:])

            // The timeline: one point per hour bucket and variant (the range is one day).
            #expect(report.bucket == "hour")
            let points = Set(report.timeline.map { "\($0.time) \($0.variant)" })
            #expect(points == Set(Traffic.calls.map { "\(Traffic.hourBucket($0.startNanos)) \($0.variant)" }))
            for p in report.timeline {
                let calls = Traffic.calls.filter { $0.variant == p.variant && Traffic.hourBucket($0.startNanos) == p.time }
                #expect(p.requests == calls.count, "\(p.variant)")
                #expect(p.errors == calls.filter(\.failed).count, "\(p.variant)")
            }
        }
    }

    @Test("report prints a table with the model, both variants and a TOTAL line")
    func reportTable() throws {
        try cli.withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let text = try cli.runOK(["report", "--db", db] + Traffic.range)
            let lines = text.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("2025-03-01T00:00:00Z .. 2025-03-02T00:00:00Z") == true, "\(text)")
            for variant in Traffic.variants {
                let calls = Traffic.calls.filter { $0.variant == variant }
                let line = try #require(lines.first { cells($0).prefix(2) == [Traffic.model, variant] }, "no \(variant) row in:\n\(text)")
                let c = cells(line)
                #expect(c[2] == String(calls.count), "\(line)")
                #expect(c[3] == String(format: "%.1f", Double(calls.filter(\.failed).count) * 100 / Double(calls.count)), "\(line)")
            }
            let total = try #require(lines.first { $0.hasPrefix("TOTAL") }, "no TOTAL line in:\n\(text)")
            #expect(cells(total).dropFirst().first == String(Traffic.calls.count), "\(total)")
        }
    }

    @Test("report --by variant: rows keyed by variant alone")
    func reportByVariant() throws {
        try cli.withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let report = try cli.decode(ReportOutput.self, try cli.runOK(["report", "--db", db, "--json", "--by", "variant"] + Traffic.range))
            #expect(report.groupBy == ["variant"])
            #expect(Set(report.rows.map(\.key)) == Set(Traffic.variants.map { ["variant": $0] }))
            for variant in Traffic.variants {
                let row = try #require(report.rows.first { $0.key["variant"] == variant })
                checkRow(row, matches: Traffic.calls.filter { $0.variant == variant }, "\(variant)")
            }
        }
    }

    @Test("report --by with an unknown dimension is a usage error (64) that names --by and the dimension")
    func reportUnknownDimension() throws {
        try cli.withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let r = try cli.run(["report", "--db", db, "--by", "model,colour"] + Traffic.range, timeout: 60)
            #expect(r.status == 64, "exit \(r.status): \(r.stdout) \(r.stderr)")
            let error = errorLine(r.stderr)
            #expect(error.contains("--by"), "\(r.stderr)")
            #expect(!error.contains("--group-by"), "the option is --by: \(r.stderr)")
            #expect(error.contains("colour"), "\(r.stderr)")
        }
    }

    @Test("report --html writes a self-contained page with every chart, their data points counted from the spans, and no NaN")
    func reportHTML() throws {
        try cli.withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let path = dir.appendingPathComponent("report.html").path
            let r = try cli.run(["report", "--db", db, "--html", path] + Traffic.range, timeout: 60)
            try #require(r.status == 0, "exit \(r.status): \(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains("wrote \(path)"), "\(r.stderr)")
            let html = try String(contentsOfFile: path, encoding: .utf8)
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            #expect(html.contains("<svg"))
            #expect(!html.contains("NaN"))
            #expect(!html.contains("<script"))
            for id in Traffic.chartIDs {
                #expect(html.contains("id=\"\(id)\""), "no chart \(id)")
            }
            #expect(html.contains(Traffic.model))
            for variant in Traffic.variants { #expect(html.contains(variant)) }
            // Requests and TTFT p95 over time: a point per hour bucket and variant.
            let timelinePoints = Set(Traffic.calls.map { "\(Traffic.hourBucket($0.startNanos)) \($0.variant)" }).count
            #expect(dataPoints(html, "chart-requests") == timelinePoints)
            #expect(dataPoints(html, "chart-ttft") == timelinePoints)
            // TTFT p50 / p95 / p99: three bars per row (model × variant).
            #expect(dataPoints(html, "chart-ttft-rows") == 3 * Traffic.variants.count)
            // The finish-reason mix: one segment per reason.
            #expect(dataPoints(html, "chart-finish") == Set(Traffic.calls.compactMap(\.finishReason)).count)
        }
    }

    // MARK: - drift

    @Test("drift ttft between the variants exits 4 and prints KS and Mann–Whitney rows that find drift")
    func driftTTFTText() throws {
        try cli.withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let r = try cli.run(["drift", "ttft", "--db", db] + Traffic.variantSides + Traffic.range, timeout: 60)
            #expect(r.status == 4, "exit \(r.status): \(r.stdout) \(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            let (reference, candidate) = (Traffic.ttfts("baseline"), Traffic.ttfts("candidate"))
            #expect(lines.first == "ttft: baseline (n = \(reference.count)) vs candidate (n = \(candidate.count))", "\(r.stdout)")
            for test in ["ks", "mann_whitney"] {
                let line = try #require(lines.first { cells($0).first == test }, "no \(test) row in:\n\(r.stdout)")
                #expect(cells(line).contains("DRIFT"), "\(line)")
            }
        }
    }

    @Test("drift ttft --json: status ok, the KS distance, U and Hodges–Lehmann shift of the samples, drift found")
    func driftTTFTJSON() throws {
        try cli.withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let r = try cli.run(["drift", "ttft", "--db", db, "--json"] + Traffic.variantSides + Traffic.range, timeout: 60)
            #expect(r.status == 4, "exit \(r.status): \(r.stdout) \(r.stderr)")
            let outcome = try cli.decode(DriftOutput.self, r.stdout)
            let (reference, candidate) = (Traffic.ttfts("baseline"), Traffic.ttfts("candidate"))
            #expect(outcome.status == "ok")
            #expect(outcome.subject == "ttft")
            #expect(outcome.referenceLabel == "baseline" && outcome.candidateLabel == "candidate")
            #expect(outcome.referenceCount == reference.count && outcome.candidateCount == candidate.count)
            #expect(outcome.minimumSamples == 30)
            #expect(outcome.tests.map(\.test) == ["ks", "mann_whitney", "psi", "jensen_shannon"])

            let ks = try #require(outcome.tests.first { $0.test == "ks" })
            #expect(abs(ks.statistic - BruteForce.ksDistance(reference, candidate)) < 1e-12, "KS D \(ks.statistic)")
            #expect(ks.drifted && (ks.pValue ?? 1) < 0.05)

            let mw = try #require(outcome.tests.first { $0.test == "mann_whitney" })
            #expect(abs(mw.statistic - BruteForce.mannWhitneyU(candidate, reference)) < 1e-9, "U \(mw.statistic)")
            #expect(mw.drifted && (mw.pValue ?? 1) < 0.05)
            let shift = try #require(mw.shift)
            #expect(abs(shift - BruteForce.hodgesLehmann(candidate, reference)) < 1e-9, "shift \(shift)")
            #expect(shift > 0)
            #expect((mw.shiftLower ?? .infinity) <= shift && shift <= (mw.shiftUpper ?? -.infinity))
        }
    }

    @Test("drift finish_reason with the same mix on both sides exits 0: chi-square 0, p 1")
    func driftSameFinishMix() throws {
        try cli.withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let reference = Traffic.finishMix("baseline"), candidate = Traffic.finishMix("candidate")
            let (nr, nc) = (reference.values.reduce(0, +), candidate.values.reduce(0, +))
            let sameMix = Set(reference.keys) == Set(candidate.keys)
                && reference.allSatisfy { Double($0.value) / Double(nr) == Double(candidate[$0.key] ?? 0) / Double(nc) }
            try #require(sameMix, "the test data should give both variants the same mix: \(reference) vs \(candidate)")

            let text = try cli.run(["drift", "finish_reason", "--db", db] + Traffic.variantSides + Traffic.range, timeout: 60)
            #expect(text.status == 0, "exit \(text.status): \(text.stdout) \(text.stderr)")
            #expect(text.stdout.hasPrefix("finish_reason: baseline (n = \(nr)) vs candidate (n = \(nc))"), "\(text.stdout)")

            let r = try cli.run(["drift", "finish_reason", "--db", db, "--json"] + Traffic.variantSides + Traffic.range, timeout: 60)
            #expect(r.status == 0, "exit \(r.status): \(r.stdout) \(r.stderr)")
            let outcome = try cli.decode(DriftOutput.self, r.stdout)
            #expect(outcome.status == "ok")
            #expect(outcome.referenceCount == nr && outcome.candidateCount == nc)
            #expect(outcome.tests.map(\.test) == ["chi_square", "jensen_shannon"])
            #expect(outcome.tests.allSatisfy { !$0.drifted }, "\(outcome.tests)")
            let chi = try #require(outcome.tests.first { $0.test == "chi_square" })
            #expect(chi.statistic == 0)
            #expect(chi.pValue == 1)
            let js = try #require(outcome.tests.first { $0.test == "jensen_shannon" })
            #expect(abs(js.statistic) < 1e-9)
        }
    }

    @Test("drift with --min-samples above a side's count exits 3 (not enough data), with no test run")
    func driftNotEnoughData() throws {
        try cli.withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let minimum = Traffic.calls.count * 10
            let args = ["drift", "ttft", "--db", db, "--min-samples", String(minimum)] + Traffic.variantSides + Traffic.range
            let text = try cli.run(args, timeout: 60)
            #expect(text.status == 3, "exit \(text.status): \(text.stdout) \(text.stderr)")
            #expect(text.stdout.contains("not enough data: each side needs at least \(minimum) values"), "\(text.stdout)")

            let r = try cli.run(args + ["--json"], timeout: 60)
            #expect(r.status == 3, "exit \(r.status): \(r.stdout) \(r.stderr)")
            let outcome = try cli.decode(DriftOutput.self, r.stdout)
            #expect(outcome.status == "not_enough_data")
            #expect(outcome.minimumSamples == minimum)
            #expect(outcome.referenceCount == Traffic.ttfts("baseline").count)
            #expect(outcome.candidateCount == Traffic.ttfts("candidate").count)
            #expect(outcome.tests.isEmpty)
        }
    }

    @Test("drift with an unknown subject, or without sides to compare, is a usage error (64) naming the problem")
    func driftUsageErrors() throws {
        try cli.withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let r = try cli.run(["drift", "colour", "--db", db] + Traffic.variantSides + Traffic.range, timeout: 60)
            #expect(r.status == 64, "exit \(r.status): \(r.stdout) \(r.stderr)")
            #expect(errorLine(r.stderr).contains("unknown subject 'colour'"), "\(r.stderr)")

            let noSides = try cli.run(["drift", "ttft", "--db", db] + Traffic.range, timeout: 60)
            #expect(noSides.status == 64, "exit \(noSides.status): \(noSides.stdout) \(noSides.stderr)")
            #expect(errorLine(noSides.stderr).contains("--reference-variant"), "\(noSides.stderr)")

            let oneSide = try cli.run(["drift", "ttft", "--db", db, "--reference-variant", "baseline"] + Traffic.range, timeout: 60)
            #expect(oneSide.status == 64, "exit \(oneSide.status): \(oneSide.stdout) \(oneSide.stderr)")
            #expect(errorLine(oneSide.stderr).contains("--candidate-variant"), "\(oneSide.stderr)")
        }
    }

    // MARK: - monitors check

    @Test("monitors check: a TTFT p95 threshold per variant that only the candidate passes gives ALERT for it, OK for the baseline, exit 4")
    func monitorsAlert() throws {
        try cli.withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let baselineP95 = BruteForce.quantile(Traffic.ttfts("baseline"), 0.95)
            let candidateP95 = BruteForce.quantile(Traffic.ttfts("candidate"), 0.95)
            try #require(baselineP95 < candidateP95)
            let bound = (baselineP95 + candidateP95) / 2
            let file = try write(dir, "monitors.yaml", """
                monitors:
                  - name: ttft-p95
                    metric: ttft_p95
                    group_by: [variant]
                    window: 1h
                    threshold:
                      direction: above
                      alert: \(bound)
                """)
            let args = ["monitors", "check", "--file", file, "--db", db, "--at", Traffic.monitorAt]
            let r = try cli.run(args, timeout: 60)
            #expect(r.status == 4, "exit \(r.status): \(r.stdout) \(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first.map { cells($0) } == ["monitor", "group", "state", "value", "samples", "message"], "\(r.stdout)")
            for (variant, state) in [("baseline", "OK"), ("candidate", "ALERT")] {
                let line = try #require(lines.first { cells($0).dropFirst().first == "variant=\(variant)" },
                                        "no \(variant) row in:\n\(r.stdout)")
                let c = cells(line)
                #expect(c[0] == "ttft-p95" && c[2] == state, "\(line)")
                #expect(c[4] == String(Traffic.ttfts(variant).count), "\(line)")
            }

            let j = try cli.run(args + ["--json"], timeout: 60)
            #expect(j.status == 4, "exit \(j.status): \(j.stdout) \(j.stderr)")
            let results = try cli.decode([MonitorResult].self, j.stdout)
            #expect(results.map(\.group) == [["variant": "baseline"], ["variant": "candidate"]])
            for (result, expected) in zip(results, [("baseline", "OK", baselineP95), ("candidate", "ALERT", candidateP95)]) {
                #expect(result.monitor == "ttft-p95")
                #expect(result.state == expected.1, "\(result)")
                #expect(abs((result.value ?? .nan) - expected.2) < 1e-9, "\(result)")
                #expect(result.sampleCount == Traffic.ttfts(expected.0).count, "\(result)")
            }
        }
    }

    @Test("monitors check: min_samples above the TTFT count gives NO_DATA for every group and exit 0")
    func monitorsNoData() throws {
        try cli.withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let minimum = Traffic.calls.count * 10
            let file = try write(dir, "monitors.yaml", """
                monitors:
                  - name: ttft-p95
                    metric: ttft_p95
                    group_by: [variant]
                    window: 1h
                    min_samples: \(minimum)
                    threshold:
                      direction: above
                      alert: 0.001
                """)
            let r = try cli.run(["monitors", "check", "--file", file, "--db", db, "--at", Traffic.monitorAt, "--json"], timeout: 60)
            #expect(r.status == 0, "exit \(r.status): \(r.stdout) \(r.stderr)")
            let results = try cli.decode([MonitorResult].self, r.stdout)
            #expect(results.map(\.group) == [["variant": "baseline"], ["variant": "candidate"]])
            for result in results {
                let variant = result.group["variant"] ?? ""
                #expect(result.state == "NO_DATA", "\(result)")
                #expect(result.sampleCount == Traffic.ttfts(variant).count, "\(result)")
                #expect(result.message.contains("fewer than the minimum \(minimum)"), "\(result)")
            }

            let text = try cli.run(["monitors", "check", "--file", file, "--db", db, "--at", Traffic.monitorAt], timeout: 60)
            #expect(text.status == 0, "exit \(text.status): \(text.stdout) \(text.stderr)")
            let states = text.stdout.split(separator: "\n").dropFirst(2).map { cells(String($0)).dropFirst(2).first ?? "" }
            #expect(states == Array(repeating: "NO_DATA", count: Traffic.variants.count), "\(text.stdout)")
        }
    }

    @Test("monitors check: a broken file exits 2 and prints every problem as FILE:LINE: message, without opening the store")
    func monitorsBrokenFile() throws {
        try cli.withTemporaryDirectory { dir in
            let yaml = """
                monitors:
                  - name: slow
                    metric: ttft_p95
                    window: 15 minutes
                    colour: red
                    threshold:
                      direction: above
                      alert: 1
                """
            let file = try write(dir, "broken.yaml", yaml)
            let db = dir.appendingPathComponent("never.db").path
            let r = try cli.run(["monitors", "check", "--file", file, "--db", db], timeout: 60)
            #expect(r.status == 2, "exit \(r.status): \(r.stdout) \(r.stderr)")
            let problems = r.stderr.split(separator: "\n").map(String.init)
            func reported(_ fragment: String, at line: Int) -> Bool {
                problems.contains { $0.hasPrefix("\(file):\(line): ") && $0.contains(fragment) }
            }
            #expect(reported("'15 minutes' is not a duration", at: lineNumber(of: "window: 15 minutes", in: yaml)), "\(r.stderr)")
            #expect(reported("unknown key 'colour'", at: lineNumber(of: "colour: red", in: yaml)), "\(r.stderr)")
            #expect(problems.count == 2, "\(r.stderr)")
            #expect(r.stdout.isEmpty, "\(r.stdout)")
            #expect(!FileManager.default.fileExists(atPath: db))

            let missing = dir.appendingPathComponent("missing.yaml").path
            let m = try cli.run(["monitors", "check", "--file", missing, "--db", db], timeout: 60)
            #expect(m.status == 2, "exit \(m.status): \(m.stdout) \(m.stderr)")
            #expect(m.stderr.contains("\(missing): cannot read the file"), "\(m.stderr)")
        }
    }

    // MARK: - Helpers

    /// A database in `dir` holding `Traffic.calls`, ingested from an OTLP/JSON file.
    func ingestedDatabase(in dir: URL) throws -> String {
        let file = try write(dir, "traffic.json", Traffic.otlpJSON())
        let db = dir.appendingPathComponent("t.db").path
        let summary = try cli.decode(CLITests.IngestSummary.self, try cli.runOK(["ingest", file, "--db", db, "--json"]))
        try #require(summary.filesFailed == 0 && summary.spansRejected == 0, "\(summary.fileErrors)")
        try #require(summary.spansAccepted == Traffic.calls.count)
        return db
    }

    func write(_ dir: URL, _ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// The cells of a table line (cells are separated by at least two spaces; blank cells vanish).
    func cells(_ line: String) -> [String] {
        line.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// ArgumentParser's `Error: …` line (the usage that follows names every option).
    func errorLine(_ stderr: String) -> String {
        stderr.split(separator: "\n").first { $0.hasPrefix("Error:") }.map(String.init) ?? ""
    }

    /// The 1-based line of the first line of `text` containing `fragment`.
    func lineNumber(of fragment: String, in text: String) -> Int {
        (text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(fragment) } ?? -1) + 1
    }

    /// The `data-points` of the chart with this id, nil when there is no such chart.
    func dataPoints(_ html: String, _ id: String) -> Int? {
        guard let chart = html.range(of: "id=\"\(id)\""),
              let attribute = html.range(of: "data-points=\"", range: chart.upperBound..<html.endIndex) else { return nil }
        return Int(html[attribute.upperBound...].prefix { $0.isNumber })
    }

    /// Checks a report row against the calls it covers.
    func checkRow(_ row: ReportOutput.Row, matches calls: [Traffic.Call], _ what: String) {
        let failed = calls.filter(\.failed).count
        #expect(row.requests == calls.count, "\(what)")
        #expect(row.modelCalls == calls.count, "\(what)")
        #expect(row.errors == failed, "\(what)")
        #expect(abs(row.errorRate - Double(failed) / Double(calls.count)) < 1e-12, "\(what)")
        #expect(row.errorTypes == BruteForce.counts(calls.compactMap(\.errorType)), "\(what)")
        #expect(row.finishReasons == BruteForce.counts(calls.compactMap(\.finishReason)), "\(what)")
        #expect(row.refusals == 0, "\(what)")
        #expect(row.tokens.spansWithTokens == calls.filter { $0.inputTokens != nil }.count, "\(what)")
        #expect(row.tokens.input == calls.compactMap(\.inputTokens).reduce(0, +), "\(what)")
        #expect(row.tokens.output == calls.compactMap(\.outputTokens).reduce(0, +), "\(what)")

        let ttfts = calls.compactMap(\.ttft)
        if let ttft = row.ttft {
            #expect(ttft.count == ttfts.count, "\(what)")
            #expect(abs((ttft.coverage ?? -1) - Double(ttfts.count) / Double(calls.count)) < 1e-12, "\(what)")
            #expect(abs(ttft.mean - ttfts.reduce(0, +) / Double(ttfts.count)) < 1e-9, "\(what)")
            for (label, q) in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)] {
                let expected = BruteForce.quantile(ttfts, q)
                #expect(abs((ttft.percentiles[label] ?? .nan) - expected) < 1e-9, "\(what): TTFT \(label), expected \(expected)")
            }
        } else {
            Issue.record("\(what): no TTFT")
        }

        let latencies = calls.map { Double($0.durationNanos) / 1e9 }
        if let latency = row.latency {
            #expect(latency.count == calls.count, "\(what)")
            #expect(latency.coverage == nil, "\(what)")
            for (label, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)] {
                let expected = BruteForce.quantile(latencies, q)
                #expect(abs((latency.percentiles[label] ?? .nan) - expected) < 1e-9, "\(what): latency \(label), expected \(expected)")
            }
        } else {
            Issue.record("\(what): no latency")
        }
    }
}

// MARK: - The traffic

/// 100 chat calls of one model per variant, 10 s apart from 2025-03-01T00:00:00Z (the candidate's
/// 5 s after the baseline's). Successful call `j` of a variant (its `j`-th success) has TTFT
/// 300 + 4·((37·j) mod 100) ms, 200 ms more for the candidate; every tenth candidate call fails
/// (status ERROR, `RateLimitError`, no TTFT, tokens or finish reason). Finish reasons are `length`
/// for every fifth success and `stop` otherwise, so both variants have the same mix.
enum Traffic {
    struct Call {
        var variant: String
        var startNanos: Int64
        var durationNanos: Int64
        var ttft: Double?
        var inputTokens: Int64?
        var outputTokens: Int64?
        var finishReason: String?
        var errorType: String?
        var failed: Bool { errorType != nil }
    }

    static let model = "gpt-test-1"
    static let variants = ["baseline", "candidate"]
    static let callsPerVariant = 100
    /// 2025-03-01T00:00:00Z.
    static let startNanos: Int64 = 1_740_787_200 * 1_000_000_000
    static let from = "2025-03-01", until = "2025-03-02"
    static let fromNanos = startNanos, untilNanos = startNanos + 86_400 * 1_000_000_000
    /// The end of a one-hour monitor window that holds every call.
    static let monitorAt = "2025-03-01T01:00:00Z"
    /// `--from` and `--until` of a day that holds every call.
    static let range = ["--from", from, "--until", until]
    static let variantSides = ["--reference-variant", "baseline", "--candidate-variant", "candidate"]
    /// `ReportHTML.chartIDs`.
    static let chartIDs = ["chart-requests", "chart-ttft", "chart-ttft-rows", "chart-cost", "chart-finish"]

    static let calls: [Call] = Traffic.variants.flatMap { variant -> [Call] in
        let isCandidate = variant == "candidate"
        var successes = 0
        return (0..<Traffic.callsPerVariant).map { i -> Call in
            let start = Traffic.startNanos + Int64(i) * 10_000_000_000 + (isCandidate ? 5_000_000_000 : 0)
            if isCandidate && i % 10 == 9 {
                return Call(variant: variant, startNanos: start, durationNanos: Int64(400 + i) * 1_000_000, errorType: "RateLimitError")
            }
            let j = successes
            successes += 1
            let ttftMillis = 300 + 4 * ((37 * j) % 100) + (isCandidate ? 200 : 0)
            return Call(variant: variant, startNanos: start, durationNanos: Int64(ttftMillis + 1000 + j) * 1_000_000,
                        ttft: Double(ttftMillis) / 1000, inputTokens: Int64(100 + j), outputTokens: Int64(50 + j % 7),
                        finishReason: j % 5 == 0 ? "length" : "stop")
        }
    }

    static func ttfts(_ variant: String) -> [Double] { calls.filter { $0.variant == variant }.compactMap(\.ttft) }
    static func finishMix(_ variant: String) -> [String: Int] {
        BruteForce.counts(calls.filter { $0.variant == variant }.compactMap(\.finishReason))
    }
    static func hourBucket(_ nanos: Int64) -> Int64 { nanos / 3_600_000_000_000 * 3_600_000_000_000 }

    /// The calls as one OTLP/JSON `ExportTraceServiceRequest`.
    static func otlpJSON() -> String {
        func attribute(_ key: String, _ value: String) -> String { "{\"key\": \"\(key)\", \"value\": \(value)}" }
        func string(_ s: String) -> String { "{\"stringValue\": \"\(s)\"}" }
        let spans = calls.enumerated().map { n, call -> String in
            var attributes = [
                attribute("gen_ai.operation.name", string("chat")),
                attribute("gen_ai.request.model", string(model)),
                attribute("lantern.variant", string(call.variant)),
            ]
            if let v = call.inputTokens { attributes.append(attribute("gen_ai.usage.input_tokens", "{\"intValue\": \"\(v)\"}")) }
            if let v = call.outputTokens { attributes.append(attribute("gen_ai.usage.output_tokens", "{\"intValue\": \"\(v)\"}")) }
            if let v = call.ttft { attributes.append(attribute("gen_ai.response.time_to_first_chunk", "{\"doubleValue\": \(v)}")) }
            if let v = call.finishReason {
                attributes.append(attribute("gen_ai.response.finish_reasons", "{\"arrayValue\": {\"values\": [\(string(v))]}}"))
            }
            if let v = call.errorType { attributes.append(attribute("error.type", string(v))) }
            let status = call.failed ? "{\"code\": 2, \"message\": \"Error code: 429 - rate limit reached\"}" : "{}"
            return """
                {"traceId": "\(String(format: "%016llx%016llx", UInt64(0xA11), UInt64(n + 1)))", \
                "spanId": "\(String(format: "%016llx", UInt64(n + 1)))", "name": "chat \(model)", "kind": 3, \
                "startTimeUnixNano": "\(call.startNanos)", "endTimeUnixNano": "\(call.startNanos + call.durationNanos)", \
                "attributes": [\(attributes.joined(separator: ", "))], "status": \(status)}
                """
        }
        return """
            {"resourceSpans": [{"resource": {"attributes": [\(attribute("service.name", string("analysis-cli-test")))]}, \
            "scopeSpans": [{"scope": {"name": "analysis-cli-test"}, "spans": [
            \(spans.joined(separator: ",\n"))
            ]}]}]}
            """
    }
}

// MARK: - Reference statistics (brute force)

enum BruteForce {
    /// numpy's default (`linear`) quantile: the value at (n − 1)·q, interpolated between neighbours.
    static func quantile(_ values: [Double], _ q: Double) -> Double {
        let v = values.sorted()
        let position = Double(v.count - 1) * q
        let lo = Int(position.rounded(.down)), hi = min(lo + 1, v.count - 1)
        return v[lo] + (v[hi] - v[lo]) * (position - Double(lo))
    }

    static func counts(_ values: [String]) -> [String: Int] {
        values.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    /// The two-sample Kolmogorov–Smirnov distance: the largest gap between the empirical CDFs.
    static func ksDistance(_ a: [Double], _ b: [Double]) -> Double {
        func cdf(_ s: [Double], _ x: Double) -> Double { Double(s.filter { $0 <= x }.count) / Double(s.count) }
        return (a + b).map { abs(cdf(a, $0) - cdf(b, $0)) }.max() ?? 0
    }

    /// U of the first sample: pairs where it is larger, ties counting one half.
    static func mannWhitneyU(_ x: [Double], _ y: [Double]) -> Double {
        var u = 0.0
        for xi in x {
            for yj in y where xi >= yj { u += xi > yj ? 1 : 0.5 }
        }
        return u
    }

    /// The Hodges–Lehmann shift x − y: the median of every difference.
    static func hodgesLehmann(_ x: [Double], _ y: [Double]) -> Double {
        let d = x.flatMap { xi in y.map { xi - $0 } }.sorted()
        return d.count % 2 == 1 ? d[d.count / 2] : (d[d.count / 2 - 1] + d[d.count / 2]) / 2
    }
}

// MARK: - Output formats

extension AnalysisCLITests {
    /// `lantern report --json` (a `Report`), the fields the tests read.
    struct ReportOutput: Decodable {
        struct Figure: Decodable {
            var count: Int
            var coverage: Double?
            var mean: Double
            var percentiles: [String: Double]
        }

        struct Tokens: Decodable {
            var spansWithTokens: Int
            var input: Int64
            var output: Int64
        }

        struct Row: Decodable {
            var key: [String: String]
            var requests: Int
            var modelCalls: Int
            var errors: Int
            var errorRate: Double
            var ttft: Figure?
            var latency: Figure?
            var tokens: Tokens
            var finishReasons: [String: Int]
            var errorTypes: [String: Int]
            var refusals: Int
        }

        struct Point: Decodable {
            var time: Int64
            var variant: String
            var requests: Int
            var errors: Int
        }

        var from: Int64
        var until: Int64
        var groupBy: [String]
        var quantiles: [Double]
        var total: Row
        var rows: [Row]
        var bucket: String
        var timeline: [Point]
    }

    /// `lantern drift --json` (a `DriftOutcome`).
    struct DriftOutput: Decodable {
        struct TestResult: Decodable, CustomStringConvertible {
            var test: String
            var statistic: Double
            var pValue: Double?
            var drifted: Bool
            var verdict: String
            var shift: Double?
            var shiftLower: Double?
            var shiftUpper: Double?
            var description: String { "\(test) \(statistic) p=\(String(describing: pValue)) drifted=\(drifted): \(verdict)" }
        }

        var subject: String
        var referenceLabel: String
        var candidateLabel: String
        var referenceCount: Int
        var candidateCount: Int
        var minimumSamples: Int
        var status: String
        var tests: [TestResult]
    }

    /// One line of `lantern monitors check --json`.
    struct MonitorResult: Decodable {
        var monitor: String
        var group: [String: String]
        var state: String
        var value: Double?
        var sampleCount: Int
        var message: String
    }
}
