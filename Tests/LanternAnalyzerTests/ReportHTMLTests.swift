import Foundation
import LanternAnalyzer
import LanternModel
import Testing

/// The HTML report: escaping, charts and "no data" in the text, and the charts as a real browser renders
/// them (headless Chromium through scripts/check_report_html.py; `bash scripts/browser-env.sh` sets it up).
@Suite struct ReportHTMLTests {
    /// 2025-01-01T00:00:00Z.
    static let t0: Int64 = 1_735_689_600_000_000_000
    static let minute: Int64 = 60_000_000_000
    static let quantiles = [0.5, 0.9, 0.95, 0.99]
    static let hostileModel = "gpt-4o<script>alert('x')</script>"

    static func distribution(_ p50: Double, count: Int) -> Distribution {
        Distribution(count: count, quantiles: quantiles, values: [p50, p50 * 1.6, p50 * 2, p50 * 3], mean: p50 * 1.2)
    }

    static func group(_ key: [String], spans: Int, ttft: Double, cost: Double, finish: [String: Int]) -> GroupResult {
        var g = GroupResult(key: key)
        g.spans = spans
        g.modelSpans = spans
        g.modelSpansWithTTFT = spans - 2
        g.modelSpansWithTokens = spans
        g.errors = 2
        g.spansWithTokens = spans
        g.inputTokens = Int64(spans) * 900
        g.outputTokens = Int64(spans) * 250
        g.spansCosted = spans
        g.costUSD = cost
        g.ttft = distribution(ttft, count: spans - 2)
        g.latency = distribution(ttft * 8, count: spans)
        g.tpot = distribution(0.012, count: spans - 2)
        g.outputLength = distribution(250, count: spans)
        g.finishReasons = finish
        g.refusals = finish["content_filter"] ?? 0
        g.scores = [ScoreSummary(name: "relevance", count: 10, values: Distribution(count: 10, quantiles: [0.5], values: [0.8], mean: 0.75),
                                 labels: [:])]
        g.spansWithFeedback = 3
        return g
    }

    /// Two variants over ten minutes; the candidate has no TTFT in one bucket; a model name with markup.
    static func sampleReport() -> Report {
        let request = ReportRequest(from: t0, until: t0 + 60 * minute)
        var control = group([hostileModel, "control"], spans: 120, ttft: 0.21, cost: 0.42, finish: ["stop": 100, "length": 10])
        control.spansCostUpperBound = 5
        let candidate = group(["claude-sonnet", "candidate"], spans: 80, ttft: 1.3, cost: 1.75, finish: ["stop": 70, "content_filter": 2])
        var total = group([], spans: 200, ttft: 0.5, cost: 2.17, finish: ["stop": 170, "length": 10, "content_filter": 2])
        total.spansCostUpperBound = 5
        var points: [GroupResult] = []
        for i in 0..<10 {
            for (variant, base) in [("control", 12), ("candidate", 8)] {
                var p = GroupResult(key: [String(t0 + Int64(i) * minute), variant])
                p.spans = base + i % 3
                p.errors = i % 4 == 0 ? 1 : 0
                p.costUSD = 0.01 * Double(p.spans)
                if !(variant == "candidate" && i == 4) {
                    p.ttft = Distribution(count: p.spans, quantiles: [0.95], values: [0.3 + 0.05 * Double(i)], mean: 0.25)
                }
                points.append(p)
            }
        }
        return ReportBuilder.assemble(request,
                                      rows: QueryResult(groupBy: [.model, .variant], groups: [control, candidate]),
                                      total: QueryResult(groupBy: [], groups: [total]),
                                      timeline: QueryResult(groupBy: [.minute, .variant], groups: points))
    }

    static func emptyReport() -> Report {
        ReportBuilder.assemble(ReportRequest(from: t0, until: t0 + 60 * minute),
                               rows: QueryResult(groupBy: [.model, .variant], groups: []),
                               total: QueryResult(groupBy: [], groups: []),
                               timeline: QueryResult(groupBy: [.minute, .variant], groups: []))
    }

    /// The `data-points` of the svg with this id.
    static func dataPoints(_ html: String, _ id: String) -> Int? {
        guard let start = html.range(of: "id=\"\(id)\"") else { return nil }
        let rest = html[start.upperBound...]
        guard let attr = rest.range(of: "data-points=\""), let end = rest[attr.upperBound...].firstIndex(of: "\"") else { return nil }
        return Int(rest[attr.upperBound..<end])
    }

    /// Text that would betray a NaN or an infinity in a number or a coordinate.
    static func nonFinite(_ html: String) -> [String] {
        ["NaN", "nan ", "\"nan", ">nan", "-nan", "inf ", "\"inf", ">inf", "-inf", "Infinity"].filter { html.contains($0) }
    }

    @Test func escapesDataAndDrawsEveryChart() {
        let html = ReportHTML.render(Self.sampleReport(), title: "Q&A <canary>")
        #expect(!html.contains("<script"), "markup from a model name must be escaped")
        #expect(html.contains("gpt-4o&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        #expect(html.contains("<title>Q&amp;A &lt;canary&gt;</title>"))
        #expect(!html.contains("<canary>"))
        #expect(html.contains("2025-01-01T00:00:00Z") && html.contains("2025-01-01T01:00:00Z"))
        #expect(html.contains("210 ms"), "TTFT p50 of 0.21 s shows in ms")
        #expect(html.contains("1.30 s"), "TTFT p50 of 1.3 s shows in s")
        #expect(html.contains("upper bound"))
        #expect(html.contains("relevance"))
        #expect(Self.nonFinite(html).isEmpty, "non-finite numbers: \(Self.nonFinite(html))")
        let expected = ["chart-requests": 20, "chart-ttft": 19, "chart-ttft-rows": 6, "chart-cost": 2, "chart-finish": 3]
        #expect(ReportHTML.chartIDs.sorted() == expected.keys.sorted())
        for (id, points) in expected {
            #expect(html.contains("<svg class=\"chart\" id=\"\(id)\""), "\(id) is missing")
            #expect(Self.dataPoints(html, id) == points, "\(id)")
        }
        #expect(!html.contains("no data"))
        #expect(ReportHTML.render(Self.sampleReport(), title: "Q&A <canary>") == html, "output is deterministic")
    }

    @Test func emptyReportSaysNoData() {
        let html = ReportHTML.render(Self.emptyReport())
        for id in ReportHTML.chartIDs {
            #expect(Self.dataPoints(html, id) == 0, "\(id)")
        }
        #expect(html.components(separatedBy: ">no data<").count - 1 == ReportHTML.chartIDs.count)
        #expect(html.contains("no rows"))
        #expect(Self.nonFinite(html).isEmpty, "non-finite numbers: \(Self.nonFinite(html))")
    }

    @Test(.timeLimit(.minutes(3))) func chartsRenderInABrowser() throws {
        let full = try Self.browserCheck(ReportHTML.render(Self.sampleReport()))
        for id in ReportHTML.chartIDs {
            let marks = full[id]?["marks"] as? Int ?? 0
            #expect(marks > 0, "\(id) has no rendered marks: \(full[id] ?? [:])")
        }
        let empty = try Self.browserCheck(ReportHTML.render(Self.emptyReport()))
        #expect(Set(empty.keys) == Set(ReportHTML.chartIDs))
    }

    /// Runs scripts/check_report_html.py on the page; returns its "charts" summary, after expecting exit status 0.
    static func browserCheck(_ html: String) throws -> [String: [String: Any]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = root.appendingPathComponent(".venv-browser/bin/python")
        try #require(FileManager.default.isExecutableFile(atPath: python.path),
                     "\(python.path) is missing: run `bash scripts/browser-env.sh` (scripts/install-deps.sh does)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-report-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let page = dir.appendingPathComponent("report.html"), out = dir.appendingPathComponent("out.json"), err = dir.appendingPathComponent("err.txt")
        try html.write(to: page, atomically: true, encoding: .utf8)
        try Data().write(to: out)
        try Data().write(to: err)

        let process = Process()
        process.executableURL = python
        process.arguments = [root.appendingPathComponent("scripts/check_report_html.py").path, page.path]
        process.currentDirectoryURL = root
        // Files, not pipes: nothing can block on a full pipe.
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()

        let stdout = try Data(contentsOf: out), stderr = String(decoding: try Data(contentsOf: err), as: UTF8.self)
        #expect(process.terminationStatus == 0, "check_report_html.py exited \(process.terminationStatus):\n\(stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: stdout) as? [String: Any], "no JSON on stdout; stderr:\n\(stderr)")
        return try #require(json["charts"] as? [String: [String: Any]], "no charts in \(json)")
    }
}
