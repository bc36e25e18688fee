import Foundation
import LanternAnalyzer
import LanternModel
import LanternTesting
import Testing
@testable import LanternStore

// The analyzer's figures on spans with known answers: TPOT, output length, finish-reason and
// error-type mixes, refusals, scores joined to spans, feedback rate, and the report, comparison
// and drift built on them. Expectations are computed here from the inputs.

@Suite("Analyzer metrics")
struct AnalyzerMetricsTests {
    @Test("TPOT = (duration − TTFT) / (output tokens − 1), only where both are known and more than one token came out")
    func tpot() throws {
        let t = dayNanos(20)
        let spans = [
            makeSpan(1, at: t, duration: seconds(2), requestModel: "m", output: 31, ttft: 0.5),       // 1.5 / 30 = 0.05
            makeSpan(2, at: t + 1, duration: seconds(3), requestModel: "m", output: 11, ttft: 1.0),   // 2 / 10 = 0.2
            makeSpan(3, at: t + 2, duration: seconds(1), requestModel: "m", output: 1, ttft: 0.2),    // one token: no TPOT
            makeSpan(4, at: t + 3, duration: seconds(1), requestModel: "m", ttft: 0.3),               // a stream without usage
            makeSpan(5, at: t + 4, duration: seconds(1), requestModel: "m", output: 50),               // not streamed: no TTFT
        ]
        try checkInEveryState(spans) { store, state in
            let g = try #require(try run(store, metrics: [.tpot, .outputLength]).groups.first, "\(state)")
            let tpot = try #require(g.tpot, "\(state)")
            #expect(tpot.count == 2, "\(state)")
            #expect(abs(tpot.mean - 0.125) < 1e-12, "\(state)")
            #expect(abs(try #require(tpot.value(at: 0.5)) - 0.125) < 1e-12, "\(state)")
            let length = try #require(g.outputLength, "\(state)")
            #expect(length.count == 4, "\(state): spans 1, 2, 3 and 5 reported output tokens")
            #expect(length.value(at: 0.5) == numpyLinearQuantile([31, 11, 1, 50], 0.5), "\(state)")
        }
    }

    @Test("finish-reason and error-type mixes, refusals, and an all-error group")
    func mixes() throws {
        let t = dayNanos(20)
        let spans = [
            makeSpan(1, at: t, requestModel: "a", finishReason: "stop"),
            makeSpan(2, at: t + 1, requestModel: "a", finishReason: "stop"),
            makeSpan(3, at: t + 2, requestModel: "a", finishReason: "length"),
            makeSpan(4, at: t + 3, requestModel: "a", finishReason: "content_filter"),
            makeSpan(5, at: t + 4, requestModel: "a"),  // no finish reason
            makeSpan(6, at: t + 5, requestModel: "b", status: .error, errorType: "timeout"),
            makeSpan(7, at: t + 6, requestModel: "b", status: .error, errorType: "timeout"),
            makeSpan(8, at: t + 7, requestModel: "b", status: .error),
            makeSpan(9, at: t + 8, requestModel: "c", finishReason: "refusal"),
        ]
        try checkInEveryState(spans) { store, state in
            let r = try run(store, groupBy: [.model], metrics: [.count, .errors, .mixes])
            let a = try #require(group(r, "a"), "\(state)")
            #expect(a.finishReasons == ["stop": 2, "length": 1, "content_filter": 1], "\(state)")
            #expect(a.refusals == 1 && a.refusalRate == 0.2, "\(state)")
            #expect(a.errorTypes.isEmpty && a.errors == 0, "\(state)")
            let b = try #require(group(r, "b"), "\(state)")
            #expect(b.errorRate == 1, "\(state): an all-error group")
            #expect(b.errorTypes == ["timeout": 2, "": 1], "\(state)")
            #expect(b.finishReasons.isEmpty && b.refusals == 0, "\(state)")
            #expect(try #require(group(r, "c")).refusals == 1, "\(state): Anthropic's refusal counts as a refusal")
            let all = try #require(try run(store, metrics: [.count, .errors, .mixes]).groups.first)
            #expect(all.finishReasons == ["stop": 2, "length": 1, "content_filter": 1, "refusal": 1], "\(state)")
        }
    }

    @Test("scores join their spans: per name distributions and labels, a trace's score counted once per group, feedback rate")
    func scoresJoinSpans() throws {
        let t = dayNanos(20)
        let spans = (0..<6).map { i in
            makeSpan(UInt64(i + 1), at: t + Int64(i), requestModel: "m", variant: i < 3 ? "base" : "cand")
        }
        // makeSpan: trace (0x7E57, id), span id + 1.
        func trace(_ id: UInt64) -> TraceID { TraceID(high: 0x7E57, low: id) }
        let scores = [
            Score(id: "s1", kind: .score, traceID: trace(1), spanID: SpanID(raw: 2), name: "relevance", value: 0.9, label: "good",
                  comment: nil, source: "api", timeUnixNano: t + 100),
            Score(id: "s2", kind: .score, traceID: trace(2), spanID: SpanID(raw: 3), name: "relevance", value: 0.5, label: "bad",
                  comment: nil, source: "api", timeUnixNano: t + 100),
            Score(id: "s3", kind: .score, traceID: trace(4), spanID: SpanID(raw: 5), name: "relevance", value: 0.2, label: nil,
                  comment: nil, source: "event", timeUnixNano: t + 100),
            Score(id: "s4", kind: .score, traceID: trace(4), spanID: SpanID(raw: 999), name: "relevance", value: 0.0, label: nil,
                  comment: nil, source: "api", timeUnixNano: t + 100),  // a span that does not exist: joins nothing
            Score(id: "f1", kind: .feedback, traceID: trace(5), spanID: nil, name: "user_feedback", value: 1, label: nil,
                  comment: "great", source: "feedback", timeUnixNano: t + 200),
            Score(id: "f2", kind: .feedback, traceID: trace(3), spanID: SpanID(raw: 4), name: "user_feedback", value: 0, label: nil,
                  comment: nil, source: "feedback", timeUnixNano: t + 200),
        ]
        try checkInEveryState(spans) { store, state in
            let outcomes = try store.appendScoresNow(scores)
            #expect(outcomes.allSatisfy { $0 == .stored } || outcomes.allSatisfy { $0 == .duplicate }, "\(state)")
            let r = try run(store, SpanFilter(from: t, until: t + 1_000), groupBy: [.variant], metrics: [.count, .quality])
            let base = try #require(group(r, "base"), "\(state)")
            #expect(base.scores.map(\.name) == ["relevance", "user_feedback"], "\(state)")
            let relevance = try #require(base.scores.first)
            #expect(relevance.count == 2 && relevance.labels == ["good": 1, "bad": 1], "\(state)")
            #expect(abs(try #require(relevance.values).mean - 0.7) < 1e-12, "\(state)")
            #expect(base.spansWithFeedback == 1 && abs(base.feedbackRate - 1.0 / 3) < 1e-12, "\(state)")
            let cand = try #require(group(r, "cand"), "\(state)")
            #expect(cand.scores.first { $0.name == "relevance" }?.count == 1, "\(state): the score on a missing span joins nothing")
            #expect(cand.scores.first { $0.name == "user_feedback" }?.count == 1, "\(state)")
            #expect(cand.spansWithFeedback == 1, "\(state)")
            let values = try store.samplesNow(.score("relevance"), filter: SpanFilter(variants: ["base"]))
            #expect(values.sorted() == [0.5, 0.9], "\(state)")
        }
    }

    @Test("by model, a failed call without a response model counts under the model its request model is answered by")
    func failedCallsJoinTheirModel() throws {
        let t = dayNanos(20)
        var spans: [CanonicalSpan] = []
        for i in 0..<10 { spans.append(makeSpan(UInt64(i + 1), at: t + Int64(i), requestModel: "gpt-4o", responseModel: "gpt-4o-2024-08-06")) }
        spans.append(makeSpan(11, at: t + 11, requestModel: "gpt-4o", responseModel: "gpt-4o-2024-11-20"))
        for i in 0..<3 { spans.append(makeSpan(UInt64(20 + i), at: t + 20 + Int64(i), requestModel: "gpt-4o", status: .error, errorType: "timeout")) }
        for i in 0..<2 { spans.append(makeSpan(UInt64(30 + i), at: t + 30 + Int64(i), requestModel: "mystery", status: .error)) }
        try checkInEveryState(spans) { store, state in
            let r = try run(store, groupBy: [.model, .variant], metrics: [.count, .errors, .mixes])
            #expect(r.groups.map(\.key) == [["gpt-4o-2024-08-06", ""], ["gpt-4o-2024-11-20", ""], ["mystery", ""]], "\(state)")
            let main = try #require(group(r, "gpt-4o-2024-08-06", ""))
            #expect(main.spans == 13 && main.errors == 3 && main.errorTypes == ["timeout": 3], "\(state)")
            #expect(try #require(group(r, "mystery", "")).errorRate == 1, "\(state): no answer to learn from: the request model stays")
            let byRequest = try run(store, groupBy: [.requestModel], metrics: [.count, .errors])
            #expect(byRequest.groups.map(\.key) == [["gpt-4o"], ["mystery"]], "\(state): request_model is not resolved")
        }
    }

    @Test("queries sharing a filter answered in one pass equal the same queries run one by one")
    func sharedScan() throws {
        let t = dayNanos(20)
        var rng = SplitMix64(seed: 7)
        let models = ["a", "b", "c"], reasons = ["stop", "length", "content_filter"]
        let spans = (0..<300).map { i -> CanonicalSpan in
            let r = rng.next()
            let hasTokens = r % 3 != 0
            return makeSpan(UInt64(i + 1), at: t + Int64(i) * seconds(7), duration: seconds(1 + Int64(r % 5)),
                            operation: r % 7 == 0 ? nil : "chat", requestModel: r % 11 == 0 ? nil : models[Int(r % 3)],
                            input: hasTokens ? Int64(r % 1000) : nil, output: hasTokens ? Int64(r % 300) : nil,
                            ttft: r % 4 == 0 ? nil : Double(r % 900) / 1000, variant: r % 2 == 0 ? "base" : "cand",
                            status: r % 9 == 0 ? .error : .ok, errorType: r % 18 == 0 ? "timeout" : nil,
                            finishReason: reasons[Int(r % 3)])
        }
        let filter = SpanFilter(from: t, until: t + dayNanos(1), genAIOnly: true)
        let queries = [
            SpanQuery(filter: filter, groupBy: [.model, .variant]),
            SpanQuery(filter: filter, groupBy: [], metrics: [.count, .errors]),
            SpanQuery(filter: filter, groupBy: [.hour, .variant], metrics: [.count, .errors, .ttft, .latency, .cost], quantiles: [0.95]),
            SpanQuery(filter: filter, groupBy: [.finishReason], metrics: [.mixes, .tpot]),
        ]
        try checkInEveryState(spans) { store, state in
            let together = try store.queryManyNow(queries, prices: .empty)
            let alone = try queries.map { try store.queryNow($0, prices: .empty) }
            // Alone, the count query reads sealed segments through their rollups; together, the segments are read once for all.
            #expect(together.map(\.groups) == alone.map(\.groups), "\(state)")
            #expect(together.map { $0.segmentsScanned + $0.segmentsFromRollups } == alone.map { $0.segmentsScanned + $0.segmentsFromRollups }, "\(state)")
        }
    }

    @Test("storing a score twice is idempotent; the same id with other content is a conflict")
    func scoreIdempotency() throws {
        do {
            let store = try temporaryStore()
            let s = Score(id: "x", kind: .score, traceID: TraceID(high: 1, low: 2), spanID: nil, name: "n", value: 1, label: nil,
                          comment: nil, source: "api", timeUnixNano: 5)
            #expect(try store.appendScoresNow([s]) == [.stored])
            var later = s
            later.timeUnixNano = 99
            #expect(try store.appendScoresNow([later]) == [.duplicate])
            var other = s
            other.value = 2
            #expect(try store.appendScoresNow([other]) == [.conflict])
            #expect(try store.scores(traceID: s.traceID) == [s])
        }
    }

    @Test("a report over a range without spans has empty rows and encodes without NaN")
    func emptyReport() async throws {
        let store = try temporaryStore()
        let request = ReportRequest(from: dayNanos(1), until: dayNanos(2))
        let report = try await ReportBuilder.build(request, store: store, prices: .empty)
        #expect(report.rows.isEmpty && report.timeline.isEmpty)
        #expect(report.total.requests == 0 && report.total.errorRate == 0 && report.total.ttft == nil)
        let text = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(!text.contains("NaN"))
    }

    @Test("a report per model and variant, its total and timeline; a comparison and a drift test between the variants")
    func reportComparisonDrift() async throws {
        let store = try temporaryStore()
        let t = dayNanos(30)
        var spans: [CanonicalSpan] = []
        // 200 spans per variant; the candidate's TTFT is 100 ms slower, its error rate 10% against 0%.
        for i in 0..<400 {
            let cand = i % 2 == 1
            let ttft = 0.2 + Double(i / 2 % 50) * 0.004 + (cand ? 0.1 : 0)
            spans.append(makeSpan(UInt64(i + 1), at: t + Int64(i) * seconds(5), duration: seconds(2), requestModel: "gpt-4o", output: 21,
                                  ttft: ttft, variant: cand ? "cand" : "base", status: cand && i % 20 == 1 ? .error : .ok,
                                  finishReason: "stop"))
        }
        try store.appendNow(spans)
        let report = try await ReportBuilder.build(ReportRequest(from: t, until: t + dayNanos(1) / 24), store: store, prices: .empty)
        #expect(report.rows.map(\.key) == [["model": "gpt-4o", "variant": "base"], ["model": "gpt-4o", "variant": "cand"]])
        #expect(report.total.requests == 400 && report.rows.map(\.requests) == [200, 200])
        #expect(report.rows.map(\.errors) == [0, 20])
        #expect(report.bucket == .minute && report.timeline.reduce(0) { $0 + $1.requests } == 400)
        let baseTTFT = spans.filter { $0.release.variant == "base" }.compactMap(\.genAI.timeToFirstToken)
        #expect(abs(try #require(report.rows[0].ttft?.percentile(0.95)) - numpyLinearQuantile(baseTTFT, 0.95)) < 1e-12)
        #expect(report.rows[0].ttft?.coverage == 1)
        #expect(report.rows[1].tpot.map { $0.count } == 200)

        let filter = SpanFilter(from: t, until: t + dayNanos(1))
        var base = filter, cand = filter
        base.variants = ["base"]
        cand.variants = ["cand"]
        let comparison = try await Comparison.build(reference: ComparisonSide(label: "base", filter: base),
                                                    candidate: ComparisonSide(label: "cand", filter: cand), store: store, prices: .empty)
        let errorRate = try #require(comparison.changes.first { $0.metric == "error_rate" })
        #expect(errorRate.reference == 0 && errorRate.candidate == 0.1)
        let ttft50 = try #require(comparison.changes.first { $0.metric == "ttft_p50" })
        #expect(abs(try #require(ttft50.change) - 0.1) < 1e-9)

        let drift = try await DriftAnalysis.run(.numeric(.ttft), reference: ComparisonSide(label: "base", filter: base),
                                                candidate: ComparisonSide(label: "cand", filter: cand), store: store)
        #expect(drift.status == .ok && drift.drifted)
        let mw = try #require(drift.tests.first { $0.test == .mannWhitney })
        #expect(abs(try #require(mw.shift) - 0.1) < 1e-9, "Hodges–Lehmann shift candidate − reference")
        let same = try await DriftAnalysis.run(.categorical(.finishReason), reference: ComparisonSide(label: "base", filter: base),
                                               candidate: ComparisonSide(label: "cand", filter: cand), store: store)
        #expect(same.status == .ok && !same.drifted, "both variants always stop")
        let tooFew = try await DriftAnalysis.run(.numeric(.ttft), reference: ComparisonSide(label: "base", filter: base),
                                                 candidate: ComparisonSide(label: "cand", filter: cand), store: store, minimumSamples: 1_000)
        #expect(tooFew.status == .notEnoughData && tooFew.tests.isEmpty && !tooFew.drifted)
    }
}

private func temporaryStore() throws -> SQLiteSpanStore {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-analyzer-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return try SQLiteSpanStore(path: dir.appendingPathComponent("lantern.sqlite").path)
}

private func dayNanos(_ n: Int64) -> Int64 { n * 86_400_000_000_000 }
