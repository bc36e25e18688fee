import Foundation
import LanternTesting
import Testing
@testable import LanternStore
import LanternModel

// Aggregates over spans with known values. Every expectation is computed here from the input,
// independently of the engine, and checked with the spans in the journal, sealed into one segment,
// and spread over several small segments plus the journal.

@Suite("Store queries")
struct QueryTests {
    // MARK: counts and errors

    @Test("counts and errors per service; spans without a service group under \"\"")
    func countsAndErrors() throws {
        let t = day(10)
        let spans = [
            makeSpan(1, at: t, service: "api", status: .error),
            makeSpan(2, at: t + 1, service: "api", status: .ok),
            makeSpan(3, at: t + 2, service: "api", status: .unset),
            makeSpan(4, at: t + 3, service: "api", status: StatusCode(rawValue: 7)),
            makeSpan(5, at: t + 4, service: "worker", status: .error),
            makeSpan(6, at: t + 5, service: "worker", status: .error),
            makeSpan(7, at: t + 6, service: nil),
        ]
        try checkInEveryState(spans) { store, state in
            let all = try run(store)
            #expect(all.groupBy == [])
            #expect(all.groups.map(\.key) == [[]], "\(state)")
            #expect(all.groups.first?.spans == 7, "\(state)")
            #expect(all.groups.first?.errors == 3, "\(state)")

            let by = try run(store, groupBy: [.service])
            #expect(by.groups.map(\.key) == [[""], ["api"], ["worker"]], "\(state)")
            #expect(by.groups.map(\.spans) == [1, 4, 2], "\(state)")
            #expect(by.groups.map(\.errors) == [0, 1, 2], "\(state)")
            let worker = try #require(group(by, "worker"))
            #expect(worker.errorRate == 1, "\(state): an all-error group")
        }
    }

    // MARK: tokens

    @Test("token sums come from the spans that carried usage; streams without usage are counted apart")
    func tokens() throws {
        let t = day(10)
        let spans = [
            makeSpan(1, at: t, operation: "chat", requestModel: "m", input: 100, output: 20, cacheRead: 30, reasoning: 5),
            makeSpan(2, at: t + 1, operation: "chat", requestModel: "m", input: 50),
            makeSpan(3, at: t + 2, operation: "chat", requestModel: "m", output: 7),
            makeSpan(4, at: t + 3, operation: "chat", requestModel: "m", ttft: 0.2),  // a stream sent without include_usage
            makeSpan(5, at: t + 4, operation: "chat", requestModel: "m", ttft: 0.4),  // another one
            makeSpan(6, at: t + 5),  // not a GenAI span at all
        ]
        try checkInEveryState(spans) { store, state in
            let g = try #require(try run(store).groups.first, "\(state)")
            #expect(g.spans == 6, "\(state)")
            #expect(g.spansWithTokens == 3, "\(state)")
            #expect(g.inputTokens == 150, "\(state)")
            #expect(g.outputTokens == 27, "\(state)")
            #expect(g.cacheReadTokens == 30, "\(state)")
            #expect(g.reasoningTokens == 5, "\(state)")
            #expect(g.modelSpans == 5, "\(state): the spans that name a model")
            #expect(g.tokenCoverage == 0.6, "\(state): 3 of the 5 model spans carried usage")
            #expect(g.ttft?.count == 2, "\(state): only the streams carried a TTFT")
            #expect(g.spansCosted == 0 && g.costUSD == 0 && g.spansCostUpperBound == 0, "\(state): no price table")
        }
    }

    @Test("token sums past Int64.max (crafted counts) are held at Int64.max, scanned or rolled up, and never trap")
    func tokenSumsClamp() throws {
        let book = PriceBook(models: [
            ModelPrice(provider: "openai", model: "gpt-x", periods: [
                PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 2, cachedInput: 0.5, output: 8)),
            ]),
        ])
        let big = Int64.max - 10
        let spans = (0..<8).map {
            makeSpan(UInt64($0), at: day(12) + Int64($0), operation: "chat", requestModel: "gpt-x", input: big, output: big,
                     cacheRead: big / 2, cacheCreation: big / 2, reasoning: big)
        }
        try checkInEveryState(spans) { store, state in
            for metrics: Set<QueryMetric> in [[.tokens, .cost], Set(QueryMetric.allCases)] {
                let g = try #require(try run(store, groupBy: [.model, .day], metrics: metrics, prices: book).groups.first, "\(state)")
                #expect(g.inputTokens == .max && g.outputTokens == .max && g.cacheReadTokens == .max && g.reasoningTokens == .max, "\(state)")
                #expect(g.spansWithTokens == 8 && g.costUSD.isFinite, "\(state)")
            }
        }
    }

    @Test("streaming spans without token counts are neither priced nor marked as upper bounds")
    func streamsWithoutUsage() throws {
        let book = PriceBook(models: [
            ModelPrice(provider: "openai", model: "gpt-x", periods: [
                PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 2, cachedInput: 0.5, output: 8)),
            ]),
        ])
        let spans = (0..<4).map { makeSpan(UInt64($0), at: day(30) + Int64($0), operation: "chat", requestModel: "gpt-x", ttft: 0.3) }
        try checkInEveryState(spans) { store, state in
            let g = try #require(try run(store, prices: book).groups.first)
            #expect(g.spans == 4 && g.modelSpans == 4, "\(state)")
            #expect(g.spansWithTokens == 0 && g.tokenCoverage == 0, "\(state)")
            #expect(g.spansCosted == 0 && g.costUSD == 0, "\(state)")
            #expect(g.spansCostUpperBound == 0, "\(state)")
            #expect(g.ttft?.count == 4 && g.ttftCoverage == 1, "\(state)")
        }
    }

    @Test("modelSpans counts the spans that name a model, whichever metrics are asked for")
    func modelSpansDoNotDependOnMetrics() throws {
        let spans = [
            makeSpan(1, at: day(6), requestModel: "m"),
            makeSpan(2, at: day(6) + 1, responseModel: "m-2024"),
            makeSpan(3, at: day(6) + 2, operation: "chat"),
            makeSpan(4, at: day(6) + 3),
        ]
        try checkInEveryState(spans) { store, state in
            for metrics: Set<QueryMetric> in [Set(QueryMetric.allCases), [.count], [.count, .errors], [.latency], [.ttft], [.tokens], [.cost]] {
                let g = try #require(try run(store, metrics: metrics).groups.first)
                #expect(g.spans == 4, "\(state) \(metrics.sorted { $0.rawValue < $1.rawValue })")
                #expect(g.modelSpans == 2, "\(state) \(metrics.sorted { $0.rawValue < $1.rawValue })")
            }
        }
    }

    // MARK: grouping

    @Test("group by model: the response model, else the one that answers the request model; and by each of them")
    func groupByModel() throws {
        let t = day(40)
        let spans = [
            makeSpan(1, at: t, requestModel: "m", responseModel: "m-2024-01-01"),
            makeSpan(2, at: t + 1, requestModel: "m"),
            makeSpan(3, at: t + 2, responseModel: "only-resp"),
            makeSpan(4, at: t + 3, operation: "chat"),
            makeSpan(5, at: t + 4, requestModel: "x", responseModel: "m"),
            makeSpan(6, at: t + 5, requestModel: "m", responseModel: "m-2024-01-01"),
        ]
        try checkInEveryState(spans) { store, state in
            let model = try run(store, groupBy: [.model])
            // Span 2 named only "m", which the other calls show is answered as "m-2024-01-01".
            #expect(model.groups.map(\.key) == [[""], ["m"], ["m-2024-01-01"], ["only-resp"]], "\(state)")
            #expect(model.groups.map(\.spans) == [1, 1, 3, 1], "\(state)")

            let request = try run(store, groupBy: [.requestModel])
            #expect(request.groups.map(\.key) == [[""], ["m"], ["x"]], "\(state)")
            #expect(request.groups.map(\.spans) == [2, 3, 1], "\(state)")

            let response = try run(store, groupBy: [.responseModel])
            #expect(response.groups.map(\.key) == [[""], ["m"], ["m-2024-01-01"], ["only-resp"]], "\(state)")
            #expect(response.groups.map(\.spans) == [2, 1, 2, 1], "\(state)")
        }
    }

    @Test("hour and day buckets: keys are bucket starts in ns, ordered by time")
    func timeBuckets() throws {
        let d9 = day(9), d12 = day(12)
        let spans = [
            makeSpan(1, at: d9 + hour(1) + minute(10), requestModel: "m"),
            makeSpan(2, at: d9 + hour(1) + minute(50), requestModel: "m"),
            makeSpan(3, at: d9 + hour(3), requestModel: "n"),
            makeSpan(4, at: d12, requestModel: "m"),
            makeSpan(5, at: d12 + day(1) - 1, requestModel: "m"),  // the last nanosecond of day 12
        ]
        try checkInEveryState(spans) { store, state in
            let hours = try run(store, groupBy: [.hour])
            #expect(hours.groups.map(\.key) == [[ns(d9 + hour(1))], [ns(d9 + hour(3))], [ns(d12)], [ns(d12 + hour(23))]], "\(state)")
            #expect(hours.groups.map(\.spans) == [2, 1, 1, 1], "\(state)")

            // "777600000000000" sorts after "1036800000000000" as text; by time it comes first.
            let days = try run(store, groupBy: [.day])
            #expect(days.groups.map(\.key) == [[ns(d9)], [ns(d12)]], "\(state)")
            #expect(days.groups.map(\.spans) == [3, 2], "\(state)")

            let modelDay = try run(store, groupBy: [.model, .day])
            #expect(modelDay.groups.map(\.key) == [["m", ns(d9)], ["m", ns(d12)], ["n", ns(d9)]], "\(state)")
            #expect(modelDay.groups.map(\.spans) == [2, 2, 1], "\(state)")

            let minutes = try run(store, SpanFilter(until: d9 + hour(2)), groupBy: [.minute])
            #expect(minutes.groups.map(\.key) == [[ns(d9 + hour(1) + minute(10))], [ns(d9 + hour(1) + minute(50))]], "\(state)")
        }
    }

    // MARK: filters

    @Test("filters: time range, services, models, variants, environments, operations, GenAI only")
    func filters() throws {
        let t0 = day(20)
        // Span k lasts 2^(k-1) seconds, so the latency sum of a result names exactly the spans in it.
        let spans = [
            makeSpan(1, at: t0, duration: seconds(1), service: "a", environment: "prod", operation: "chat",
                     requestModel: "m1", responseModel: "m1-2024", variant: "baseline"),
            makeSpan(2, at: t0 + 10, duration: seconds(2), service: "a", environment: "staging", operation: "embeddings",
                     requestModel: "m2", variant: "candidate"),
            makeSpan(3, at: t0 + 20, duration: seconds(4), service: "b", environment: "prod", operation: "chat",
                     requestModel: "m3", responseModel: "m1"),
            makeSpan(4, at: t0 + 30, duration: seconds(8), service: "b"),
            makeSpan(5, at: t0 + 40, duration: seconds(16), provider: "openai"),
        ]
        try checkInEveryState(spans, batchSize: 2) { store, state in
            func matched(_ f: SpanFilter, sourceLocation: SourceLocation = #_sourceLocation) throws -> [Int] {
                guard let g = try run(store, f, metrics: [.count, .latency]).groups.first else { return [] }
                let latency = try #require(g.latency, sourceLocation: sourceLocation)
                let total = Int((latency.mean * Double(latency.count)).rounded())
                #expect(g.spans == total.nonzeroBitCount, "\(state)", sourceLocation: sourceLocation)
                return (0..<5).filter { total & (1 << $0) != 0 }.map { $0 + 1 }
            }
            #expect((try? matched(SpanFilter())) == [1, 2, 3, 4, 5], "\(state)")
            #expect((try? matched(SpanFilter(from: t0 + 10, until: t0 + 30))) == [2, 3], "\(state): from inclusive, until exclusive")
            #expect((try? matched(SpanFilter(from: t0 + 10))) == [2, 3, 4, 5], "\(state)")
            #expect((try? matched(SpanFilter(until: t0 + 10))) == [1], "\(state)")
            #expect((try? matched(SpanFilter(from: t0 + 20, until: t0 + 20))) == [], "\(state): an empty range")
            #expect((try? matched(SpanFilter(services: ["a"]))) == [1, 2], "\(state)")
            #expect((try? matched(SpanFilter(services: ["a", "b"]))) == [1, 2, 3, 4], "\(state)")
            #expect((try? matched(SpanFilter(services: ["nope"]))) == [], "\(state)")
            #expect((try? matched(SpanFilter(models: ["m1"]))) == [1, 3], "\(state): request model or response model")
            #expect((try? matched(SpanFilter(models: ["m1-2024"]))) == [1], "\(state)")
            #expect((try? matched(SpanFilter(models: ["m2", "m3"]))) == [2, 3], "\(state)")
            #expect((try? matched(SpanFilter(variants: ["candidate"]))) == [2], "\(state)")
            #expect((try? matched(SpanFilter(variants: ["baseline", "candidate"]))) == [1, 2], "\(state)")
            #expect((try? matched(SpanFilter(environments: ["prod"]))) == [1, 3], "\(state)")
            #expect((try? matched(SpanFilter(operations: ["chat"]))) == [1, 3], "\(state)")
            #expect((try? matched(SpanFilter(genAIOnly: true))) == [1, 2, 3, 5], "\(state)")
            #expect((try? matched(SpanFilter(services: ["b"], environments: ["prod"]))) == [3], "\(state): filters combine with AND")
            #expect((try? matched(SpanFilter(from: t0 + 15, models: ["m1"]))) == [3], "\(state)")
        }
    }

    @Test("GenAI only keeps a span whose only GenAI fact is a token count")
    func genAIOnlyKeepsTokenOnlySpans() throws {
        let tokensOnly = makeSpan(1, at: day(4), input: 12, output: 3)
        let plain = makeSpan(2, at: day(4) + 1)
        #expect(tokensOnly.genAI.isGenAI, "the model calls a span with token counts a GenAI span")
        try checkInEveryState([tokensOnly, plain]) { store, state in
            let g = try #require(try run(store, SpanFilter(genAIOnly: true)).groups.first, "\(state)")
            #expect(g.spans == 1, "\(state)")
            #expect(g.inputTokens == 12, "\(state)")
        }
    }

    // MARK: quantiles

    @Test("TTFT and latency quantiles equal numpy's linear interpolation")
    func quantiles() throws {
        var rng = SplitMix64(seed: 2024)
        let qs = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1]
        var spans: [CanonicalSpan] = []
        for i in 0..<157 {
            let duration = Int64.random(in: 1_000_000...3_000_000_000, using: &rng)
            let ttft: Double? = rng.next() % 10 < 7 ? Double.random(in: 0.05...2.0, using: &rng) : nil
            spans.append(makeSpan(UInt64(i), at: day(5) + Int64(i) * 1_000, duration: duration, operation: "chat", ttft: ttft,
                                  variant: i % 3 == 0 ? "candidate" : "baseline"))
        }
        try checkInEveryState(spans, batchSize: 20) { store, state in
            let all = try #require(try run(store, quantiles: qs).groups.first)
            expectDistribution(all.latency, spans.map(latencySeconds), qs, "\(state) latency")
            expectDistribution(all.ttft, spans.compactMap(\.genAI.timeToFirstToken), qs, "\(state) TTFT")

            let byVariant = try run(store, groupBy: [.variant], quantiles: qs)
            #expect(byVariant.groups.map(\.key) == [["baseline"], ["candidate"]])
            for v in ["baseline", "candidate"] {
                let subset = spans.filter { $0.release.variant == v }
                let g = try #require(group(byVariant, v))
                expectDistribution(g.latency, subset.map(latencySeconds), qs, "\(state) \(v) latency")
                expectDistribution(g.ttft, subset.compactMap(\.genAI.timeToFirstToken), qs, "\(state) \(v) TTFT")
            }
        }
    }

    @Test("quantiles of one and of two values")
    func tinySamples() throws {
        let qs = [0, 0.25, 0.5, 0.9, 1]
        try checkInEveryState([makeSpan(1, at: day(2), duration: 500_000_000, ttft: 0.125)]) { store, state in
            let g = try #require(try run(store, quantiles: qs).groups.first)
            #expect(g.latency?.values == [0.5, 0.5, 0.5, 0.5, 0.5], "\(state)")
            #expect(g.ttft?.values == [0.125, 0.125, 0.125, 0.125, 0.125], "\(state)")
        }
        let two = [makeSpan(1, at: day(2), duration: seconds(3)), makeSpan(2, at: day(2) + 1, duration: seconds(1))]
        try checkInEveryState(two) { store, state in
            let g = try #require(try run(store, quantiles: qs).groups.first)
            expectDistribution(g.latency, [3, 1], qs, "\(state) latency")
            #expect(g.latency?.value(at: 0.5) == 2, "\(state)")
            #expect(g.ttft == nil, "\(state): no TTFT values, no distribution")
        }
    }

    @Test("quantiles of sorted, reversed, constant, two-valued and organ-pipe samples")
    func quantilesOfAwkwardSamples() throws {
        let qs = [0, 0.001, 0.25, 0.5, 0.5005, 0.9, 0.99, 0.999, 1]
        let n = 1001
        let shapes: [(String, [Int64])] = [
            ("ascending", (0..<n).map { Int64($0) }),
            ("descending", (0..<n).map { Int64(n - $0) }),
            ("constant", [Int64](repeating: 7, count: n)),
            ("two values", (0..<n).map { $0 % 2 == 0 ? 1 : 1_000 }),
            ("organ pipe", (0..<n).map { Int64(min($0, n - $0)) }),
            ("few distinct", (0..<n).map { Int64(($0 * 7919) % 5) }),
        ]
        for (name, millis) in shapes {
            let spans = millis.enumerated().map { i, ms in makeSpan(UInt64(i), at: day(8) + Int64(i), duration: ms * 1_000_000) }
            try checkInEveryState(spans, batchSize: 250) { store, state in
                let g = try #require(try run(store, metrics: [.count, .latency], quantiles: qs).groups.first)
                expectDistribution(g.latency, spans.map(latencySeconds), qs, "\(state) \(name)")
            }
        }
    }

    @Test("a span that ends before it starts has zero latency, as Span.durationNanos says")
    func endBeforeStart() throws {
        let backwards = makeSpan(1, at: day(3), duration: -seconds(5))
        let normal = makeSpan(2, at: day(3) + 1, duration: seconds(2))
        #expect(backwards.span.durationNanos == 0)
        try checkInEveryState([backwards, normal]) { store, state in
            let latency = try #require(try run(store, quantiles: [0, 0.5, 1]).groups.first?.latency)
            #expect(latency.values == [0, 1, 2], "\(state): numpy over [0 s, 2 s]")
            #expect(latency.mean == 1, "\(state)")
        }
    }

    // MARK: cost

    @Test("cost: dated prices, tiers, cached input, reported costs, fallbacks and upper bounds")
    func cost() throws {
        let before = day(100), change = day(200)
        let book = PriceBook(models: [
            ModelPrice(provider: "openai", model: "gpt-x", periods: [
                PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 2, cachedInput: 0.5, output: 8),
                            tiers: [PriceTier(aboveInputTokens: 200_000, prices: TokenPrices(input: 4, cachedInput: 1, output: 12))]),
                PricePeriod(fromUnixNano: change, base: TokenPrices(input: 1, cachedInput: 0.25, output: 4)),
            ]),
            ModelPrice(provider: "acme", model: "cheap", periods: [PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 0.1, output: 0.2))]),
            ModelPrice(provider: "acme", model: "late-model", periods: [PricePeriod(fromUnixNano: day(300), base: TokenPrices(input: 1, output: 1))]),
        ])
        // Each span with its cost in USD (nil: it cannot be priced) and whether that cost is an upper bound.
        var cases: [(CanonicalSpan, Double?, Bool)] = []
        func add(_ span: CanonicalSpan, _ cost: Double?, upperBound: Bool = false) { cases.append((span, cost, upperBound)) }
        // 600 plain input at $2/M + 400 cached at $0.5/M + 100 output at $8/M.
        add(makeSpan(1, at: before, requestModel: "gpt-x", responseModel: "gpt-x", input: 1000, output: 100, cacheRead: 400),
            usd(600 * 2 + 400 * 0.5 + 100 * 8))
        // Exactly at the tier threshold: still the base price. Zero cached tokens reported: exact.
        add(makeSpan(2, at: before + 1, requestModel: "gpt-x", input: 200_000, output: 10, cacheRead: 0), usd(200_000 * 2 + 10 * 8))
        // One token over it: the tier's prices for the whole request.
        add(makeSpan(3, at: before + 2, requestModel: "gpt-x", input: 200_001, output: 10, cacheRead: 1), usd(200_000 * 4 + 1 * 1 + 10 * 12))
        // The last nanosecond of the old prices, and the first of the new.
        add(makeSpan(4, at: change - 1, requestModel: "gpt-x", input: 1000, output: 100, cacheRead: 0), usd(1000 * 2 + 100 * 8))
        // No cache-read count although gpt-x prices cached input lower: an upper bound.
        add(makeSpan(5, at: change, requestModel: "gpt-x", input: 1000, output: 100), usd(1000 * 1 + 100 * 4), upperBound: true)
        // A cost the span carried wins over the table, and is exact; with or without token counts.
        add(makeSpan(6, at: before + 3, requestModel: "gpt-x", input: 1000, output: 100, reportedCost: 0.5), 0.5)
        add(makeSpan(7, at: before + 4, requestModel: "gpt-x", reportedCost: 0.25), 0.25)
        // An unpriced response model falls back to the priced request model.
        add(makeSpan(8, at: before + 5, requestModel: "gpt-x", responseModel: "ft:acme:custom", input: 100, output: 10),
            usd(100 * 2 + 10 * 8), upperBound: true)
        // A dated snapshot of a priced model.
        add(makeSpan(9, at: before + 6, requestModel: "gpt-x", responseModel: "gpt-x-2025-01-01", input: 10, output: 10, cacheRead: 0),
            usd(10 * 2 + 10 * 8))
        // No cached-input price: no upper bound without a cache-read count.
        add(makeSpan(10, at: before + 7, requestModel: "cheap", input: 1000, output: 0), usd(1000 * 0.1))
        // An unknown model; a model whose first price period starts later; a stream without usage.
        add(makeSpan(11, at: before + 8, requestModel: "mystery", input: 100, output: 10), nil)
        add(makeSpan(12, at: before + 9, requestModel: "late-model", input: 100, output: 10), nil)
        add(makeSpan(13, at: before + 10, operation: "chat", requestModel: "gpt-x", ttft: 0.3), nil)
        let spans = cases.map(\.0)
        try checkInEveryState(spans, batchSize: 4) { store, state in
            let total = try #require(try run(store, prices: book).groups.first)
            expectCost(total, cases, "\(state) total")
            #expect(total.spansWithTokens == 11, "\(state)")
            #expect(total.inputTokens == spans.compactMap(\.genAI.inputTokens).reduce(0, +), "\(state)")

            let byModel = try run(store, groupBy: [.model], prices: book)
            #expect(byModel.groups.map(\.key) == [["cheap"], ["ft:acme:custom"], ["gpt-x"], ["gpt-x-2025-01-01"], ["late-model"], ["mystery"]],
                    "\(state)")
            for g in byModel.groups {
                expectCost(g, cases.filter { ($0.0.genAI.model ?? "") == g.key[0] }, "\(state) \(g.key[0])")
            }
        }
    }

    // MARK: sealing does not change answers

    @Test("the same queries give identical results before and after sealing")
    func identicalBeforeAndAfterSealing() throws {
        let spans = randomWorkload(count: 400, seed: 77)
        let book = PriceBook(models: [
            ModelPrice(provider: "openai", model: "gpt-a", periods: [
                PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 2.5, cachedInput: 1.25, output: 10),
                            tiers: [PriceTier(aboveInputTokens: 500, prices: TokenPrices(input: 5, cachedInput: 2.5, output: 15))]),
                PricePeriod(fromUnixNano: day(51), base: TokenPrices(input: 1, cachedInput: 0.1, output: 3)),
            ]),
            ModelPrice(provider: "acme", model: "gpt-b", periods: [PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 0.3, output: 0.6))]),
        ])
        let queries: [SpanQuery] = [
            SpanQuery(),
            SpanQuery(groupBy: [.service]),
            SpanQuery(groupBy: [.model]),
            SpanQuery(groupBy: [.model, .hour]),
            SpanQuery(groupBy: [.variant, .day]),
            SpanQuery(groupBy: [.environment, .operation, .provider]),
            SpanQuery(groupBy: [.requestModel, .responseModel]),
            SpanQuery(groupBy: [.errorType, .finishReason]),
            SpanQuery(groupBy: [.serviceVersion, .rollout]),
            SpanQuery(groupBy: [.minute]),
            SpanQuery(filter: SpanFilter(services: ["svc-1"]), groupBy: [.model]),
            SpanQuery(filter: SpanFilter(from: day(50) + hour(6), until: day(51) + hour(18)), groupBy: [.hour]),
            SpanQuery(filter: SpanFilter(models: ["gpt-a"], genAIOnly: true), groupBy: [.variant]),
            SpanQuery(filter: SpanFilter(variants: ["candidate"], environments: ["prod"], operations: ["chat"])),
            SpanQuery(groupBy: [.service], metrics: [.count, .ttft], quantiles: [0.5, 0.99]),
        ]
        var answers: [String: [[GroupResult]]] = [:]
        try checkInEveryState(spans, batchSize: 37) { store, state in
            answers[state] = try queries.map { try store.queryNow($0, prices: book).groups }
        }
        let journal = try #require(answers["journal"]), sealed = try #require(answers["sealed"])
        let mixed = try #require(answers["segments + journal"])
        for (k, q) in queries.enumerated() {
            #expect(!journal[k].isEmpty, "query \(k) matches something")
            #expect(sealed[k] == journal[k], "query \(k) \(q.groupBy) \(q.filter): sealed differs from the journal")
            // Over several segments (read by two workers) sums may be added in another order:
            // costs and means are then equal to rounding, everything else exactly.
            #expect(withoutSums(mixed[k]) == withoutSums(journal[k]), "query \(k) \(q.groupBy) \(q.filter): segments + journal differ")
            for (a, b) in zip(mixed[k], journal[k]) {
                #expect(isClose(a.costUSD, b.costUSD), "query \(k) \(a.key): cost \(a.costUSD) vs \(b.costUSD)")
                #expect(isClose(a.latency?.mean ?? 0, b.latency?.mean ?? 0), "query \(k) \(a.key): mean latency")
                #expect(isClose(a.ttft?.mean ?? 0, b.ttft?.mean ?? 0), "query \(k) \(a.key): mean TTFT")
            }
        }
    }

    // MARK: zone maps

    @Test("zone maps skip segments that cannot match, and the counts stay right")
    func zoneMaps() throws {
        var config = SQLiteSpanStore.Configuration()
        config.segmentRows = 10
        try withTemporaryStore(config) { store in
            try store.appendNow((0..<10).map {
                makeSpan(UInt64($0), at: day(1) + Int64($0), service: "alpha", requestModel: "m-a", variant: "baseline")
            })
            try store.appendNow((0..<10).map {
                makeSpan(100 + UInt64($0), at: day(2) + Int64($0), service: "beta", requestModel: "m-b", variant: "candidate")
            })
            try store.appendNow((0..<3).map {
                makeSpan(200 + UInt64($0), at: day(3) + Int64($0), service: "alpha", requestModel: "m-a", variant: "baseline")
            })
            let stats = try store.statsNow()
            try #require(stats.segments == 2 && stats.journalSpans == 3, "one segment per service and 3 spans in the journal: \(stats)")

            let beta = try run(store, SpanFilter(services: ["beta"]), metrics: [.count])
            #expect(beta.segmentsSkipped == 1 && beta.segmentsFromRollups == 1 && beta.segmentsScanned == 0, "a count read from the rollup: \(beta)")
            #expect(beta.groups.first?.spans == 10)

            let alpha = try run(store, SpanFilter(services: ["alpha"]), metrics: [.count])
            #expect(alpha.segmentsSkipped == 1 && alpha.segmentsFromRollups == 1 && alpha.segmentsScanned == 0, "a count read from the rollup: \(alpha)")
            #expect(alpha.groups.first?.spans == 13, "the segment and the journal")

            let nobody = try run(store, SpanFilter(services: ["gamma"]), metrics: [.count])
            #expect(nobody.segmentsSkipped == 2 && nobody.groups.isEmpty, "\(nobody)")

            let model = try run(store, SpanFilter(models: ["m-b"]), metrics: [.count])
            #expect(model.segmentsSkipped == 1 && model.groups.first?.spans == 10, "\(model)")

            let variant = try run(store, SpanFilter(variants: ["baseline"]), metrics: [.count])
            #expect(variant.segmentsSkipped == 1 && variant.groups.first?.spans == 13, "\(variant)")

            let time = try run(store, SpanFilter(from: day(2), until: day(3)), metrics: [.count])
            #expect(time.segmentsSkipped == 1 && time.journalBatchesScanned == 0, "\(time)")
            #expect(time.groups.first?.spans == 10)

            let both = try run(store, SpanFilter(services: ["alpha", "beta"]), metrics: [.count])
            #expect(both.segmentsSkipped == 0 && both.groups.first?.spans == 23, "\(both)")
        }
    }

    // MARK: empty results

    @Test("no spans, and filters that match nothing, give no groups")
    func emptyResults() throws {
        try withTemporaryStore { store in
            #expect(try run(store).groups.isEmpty)
            #expect(try run(store, groupBy: [.service, .hour]).groups.isEmpty)
            try store.appendNow([makeSpan(1, at: day(1), service: "a")])
            #expect(try run(store, SpanFilter(services: ["b"])).groups.isEmpty)
            #expect(try run(store, SpanFilter(from: day(1) + 1)).groups.isEmpty)
            #expect(try run(store, SpanFilter(until: day(1))).groups.isEmpty)
            let g = try #require(try run(store).groups.first)
            #expect(g.spans == 1)
            #expect(g.ttft == nil, "no span carried a TTFT")
            #expect(g.latency?.count == 1)
            #expect(g.spansWithTokens == 0 && g.spansCosted == 0)
        }
    }

    // MARK: damaged data

    @Test("a segment whose columns disagree on their row count throws corrupt instead of crashing the query")
    func damagedSegment() throws {
        try withTemporaryStore { store in
            try store.appendNow((0..<3).map { makeSpan(UInt64($0), at: day(1) + Int64($0), service: "a") })
            try store.seal(force: true)
            let segment = try #require(try store.segments().first)
            var w = ByteWriter()
            StringDictionaryCodec.encode(["a"], into: &w)  // one row where the segment has three
            let update = try store.db.prepare("UPDATE segment_columns SET data = ? WHERE id = ?")
            try update.bind(1, ChunkCompression.seal(w.bytes, allowCompression: false))
            try update.bind(2, segment.id * 256 + Int64(ColumnID.serviceName.rawValue))
            try update.run()
            #expect(store.db.changes == 1)

            for q in [SpanQuery(filter: SpanFilter(services: ["a"])), SpanQuery(groupBy: [.service])] {
                let error = #expect(throws: StoreError.self) { try store.queryNow(q, prices: .empty) }
                if let error, case .corrupt = error {} else { Issue.record("\(q.groupBy) \(q.filter): \(String(describing: error))") }
            }
            let error = #expect(throws: StoreError.self) { try store.allSpans() }
            if let error, case .corrupt = error {} else { Issue.record("allSpans: \(String(describing: error))") }
        }
    }
}

// MARK: - Helpers

let nanosPerSecond: Int64 = 1_000_000_000
func seconds(_ n: Int64) -> Int64 { n * nanosPerSecond }
private func minute(_ n: Int64) -> Int64 { n * 60 * nanosPerSecond }
private func hour(_ n: Int64) -> Int64 { n * 3_600 * nanosPerSecond }
private func day(_ n: Int64) -> Int64 { n * 86_400 * nanosPerSecond }
private func ns(_ t: Int64) -> String { String(t) }
/// A price in USD from a sum of tokens × USD per million tokens.
private func usd(_ perMillion: Double) -> Double { perMillion / 1_000_000 }

private func latencySeconds(_ c: CanonicalSpan) -> Double { Double(c.span.durationNanos) / 1e9 }

/// A span with the given facts; everything else empty. Its trace id is derived from its id.
func makeSpan(
    _ id: UInt64, at start: Int64, duration: Int64 = 100_000_000,
    service: String? = nil, version: String? = nil, environment: String? = nil,
    operation: String? = nil, provider: String? = nil, requestModel: String? = nil, responseModel: String? = nil,
    input: Int64? = nil, output: Int64? = nil, cacheRead: Int64? = nil, cacheCreation: Int64? = nil, reasoning: Int64? = nil,
    ttft: Double? = nil, reportedCost: Double? = nil, variant: String? = nil, rollout: String? = nil,
    status: StatusCode = .unset, errorType: String? = nil, finishReason: String? = nil
) -> CanonicalSpan {
    let span = Span(traceID: TraceID(high: 0x7E57, low: id), spanID: SpanID(raw: id + 1), name: "span \(id)", kind: .client,
                    startTimeUnixNano: UInt64(start), endTimeUnixNano: UInt64(bitPattern: start &+ duration), statusCode: status)
    var c = CanonicalSpan(span: span, origin: SpanOrigin(resource: Resource(), scope: InstrumentationScope()),
                          serviceName: service, serviceVersion: version, environment: environment)
    c.genAI.operation = operation
    c.genAI.provider = provider
    c.genAI.requestModel = requestModel
    c.genAI.responseModel = responseModel
    c.genAI.inputTokens = input
    c.genAI.outputTokens = output
    c.genAI.cacheReadTokens = cacheRead
    c.genAI.cacheCreationTokens = cacheCreation
    c.genAI.reasoningTokens = reasoning
    c.genAI.timeToFirstToken = ttft
    c.genAI.reportedCost = reportedCost
    c.genAI.errorType = errorType
    c.genAI.finishReason = finishReason
    c.release = ReleaseFields(variant: variant, rollout: rollout)
    return c
}

private func withTemporaryStore(_ configuration: SQLiteSpanStore.Configuration = .init(),
                                _ body: (SQLiteSpanStore) throws -> Void) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-query-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try body(try SQLiteSpanStore(path: dir.appendingPathComponent("lantern.sqlite").path, configuration: configuration))
}

func batches(_ spans: [CanonicalSpan], of size: Int) -> [[CanonicalSpan]] {
    stride(from: 0, to: spans.count, by: size).map { Array(spans[$0..<min($0 + size, spans.count)]) }
}

/// Runs `check` with the spans in the journal ("journal"), then sealed into one segment ("sealed"),
/// then, in a second store, auto-sealed into about eight small segments (at least 4 spans each)
/// with the rest in the journal ("segments + journal").
func checkInEveryState(_ spans: [CanonicalSpan], batchSize: Int = 5,
                               _ check: (SQLiteSpanStore, String) throws -> Void) throws {
    var unsealed = SQLiteSpanStore.Configuration()
    unsealed.segmentRows = 1 << 30
    try withTemporaryStore(unsealed) { store in
        for b in batches(spans, of: batchSize) { try store.appendNow(b) }
        #expect(try store.statsNow().segments == 0)
        try check(store, "journal")
        try store.seal(force: true)
        #expect(try store.statsNow().journalSpans == 0)
        try check(store, "sealed")
    }
    var small = SQLiteSpanStore.Configuration()
    small.segmentRows = max(4, spans.count / 8)
    try withTemporaryStore(small) { store in
        for b in batches(spans, of: small.segmentRows / 2) { try store.appendNow(b) }
        if spans.count >= 4 { #expect(try store.statsNow().segments >= 1) }
        try check(store, "segments + journal")
    }
}

func run(_ store: SQLiteSpanStore, _ filter: SpanFilter = .init(), groupBy: [GroupKey] = [],
                 metrics: Set<QueryMetric> = Set(QueryMetric.allCases), quantiles: [Double] = [0.5, 0.9, 0.95, 0.99],
                 prices: PriceBook = .empty) throws -> QueryResult {
    try store.queryNow(SpanQuery(filter: filter, groupBy: groupBy, metrics: metrics, quantiles: quantiles), prices: prices)
}

func group(_ r: QueryResult, _ key: String...) -> GroupResult? {
    r.groups.first { $0.key == key }
}

private func isClose(_ a: Double, _ b: Double) -> Bool {
    abs(a - b) <= 1e-12 * max(1, abs(a), abs(b))
}

/// The groups with their floating-point sums (cost, mean TTFT and latency) zeroed.
private func withoutSums(_ groups: [GroupResult]) -> [GroupResult] {
    groups.map { g in
        var g = g
        g.costUSD = 0
        g.latency?.mean = 0
        g.ttft?.mean = 0
        g.tpot?.mean = 0
        g.outputLength?.mean = 0
        return g
    }
}

/// numpy.quantile(values, q) with its default method "linear", written out as numpy computes it:
/// virtual index (n - 1)q, its floor and the next index (clipped), and numpy's `_lerp`, which
/// interpolates from the upper neighbour when the fraction is 0.5 or more.
func numpyLinearQuantile(_ values: [Double], _ q: Double) -> Double {
    let a = values.sorted()
    let n = a.count
    let virtualIndex = Double(n - 1) * q
    let previous = min(max(virtualIndex.rounded(.down), 0), Double(n - 1))
    let lo = Int(previous), hi = min(lo + 1, n - 1)
    let gamma = virtualIndex - previous
    let diff = a[hi] - a[lo]
    return gamma >= 0.5 ? a[hi] - diff * (1 - gamma) : a[lo] + diff * gamma
}

private func expectDistribution(_ d: Distribution?, _ sample: [Double], _ qs: [Double], _ what: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
    if sample.isEmpty {
        #expect(d == nil, "\(what): no values, no distribution", sourceLocation: sourceLocation)
        return
    }
    guard let d else {
        Issue.record("\(what): no distribution for \(sample.count) values", sourceLocation: sourceLocation)
        return
    }
    #expect(d.count == sample.count, "\(what): count", sourceLocation: sourceLocation)
    #expect(d.quantiles == qs, "\(what): quantiles", sourceLocation: sourceLocation)
    #expect(d.values.count == qs.count, "\(what): values", sourceLocation: sourceLocation)
    for (q, v) in zip(qs, d.values) {
        let reference = numpyLinearQuantile(sample, q)
        #expect(isClose(v, reference), "\(what) q=\(q): \(v), numpy \(reference)", sourceLocation: sourceLocation)
    }
    let mean = sample.reduce(0, +) / Double(sample.count)
    #expect(isClose(d.mean, mean), "\(what): mean \(d.mean), expected \(mean)", sourceLocation: sourceLocation)
}

private func expectCost(_ g: GroupResult, _ cases: [(CanonicalSpan, Double?, Bool)], _ what: String,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    let priced = cases.compactMap(\.1)
    #expect(g.spans == cases.count, "\(what): spans", sourceLocation: sourceLocation)
    #expect(g.spansCosted == priced.count, "\(what): spans costed", sourceLocation: sourceLocation)
    #expect(isClose(g.costUSD, priced.reduce(0, +)), "\(what): cost \(g.costUSD), expected \(priced.reduce(0, +))",
            sourceLocation: sourceLocation)
    #expect(g.spansCostUpperBound == cases.filter(\.2).count, "\(what): upper bounds", sourceLocation: sourceLocation)
}

/// A seeded mix of services, models, variants, statuses, token counts, TTFTs and reported costs
/// over three days.
private func randomWorkload(count: Int, seed: UInt64) -> [CanonicalSpan] {
    var rng = SplitMix64(seed: seed)
    func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
    func maybe<T>(_ p: Double, _ value: @autoclosure () -> T) -> T? { Double(rng.next() % 1000) / 1000 < p ? value() : nil }
    var spans: [CanonicalSpan] = []
    for i in 0..<count {
        let start = day(50) + Int64(rng.next() % UInt64(day(3)))
        let duration = Int64(rng.next() % 4_000_000_000)
        let request: String? = pick(["gpt-a", "gpt-b", "gpt-c", nil])
        var response: String? = nil
        if let r = request { response = pick([r, r + "-2025-01-01", nil]) }
        let operation: String? = request == nil ? nil : pick(["chat", "embeddings"])
        let provider: String? = request == nil ? nil : pick(["openai", "acme"])
        let hasUsage = rng.next() % 4 != 0
        let input: Int64? = hasUsage ? Int64(rng.next() % 2000) : nil
        let output: Int64? = hasUsage ? Int64(rng.next() % 500) : nil
        let cacheRead: Int64? = hasUsage ? maybe(0.5, Int64(rng.next() % 100)) : nil
        let reasoning: Int64? = hasUsage ? maybe(0.2, Int64(rng.next() % 50)) : nil
        let ttft: Double? = maybe(0.6, Double(rng.next() % 2000) / 1000)
        let reported: Double? = maybe(0.05, Double(rng.next() % 1000) / 1e5)
        let errorType: String? = maybe(0.1, pick(["RateLimitError", "Timeout"]))
        let finishReason: String? = maybe(0.5, pick(["stop", "length"]))
        spans.append(makeSpan(
            UInt64(i), at: start, duration: duration,
            service: pick(["svc-0", "svc-1", "svc-2", nil]), version: pick(["v1", "v2"]), environment: pick(["prod", "staging", nil]),
            operation: operation, provider: provider, requestModel: request, responseModel: response,
            input: input, output: output, cacheRead: cacheRead, reasoning: reasoning, ttft: ttft, reportedCost: reported,
            variant: pick(["baseline", "candidate", nil]), rollout: pick(["r1", nil]),
            status: pick([StatusCode.unset, .ok, .error]), errorType: errorType, finishReason: finishReason))
    }
    return spans
}

@Suite("Exact quantiles by selection")
struct SelectionTests {
    /// The numpy / quantile_cont definition on a sorted copy.
    static func reference(_ values: [Double], _ q: Double) -> Double {
        let s = values.sorted()
        let pos = Double(s.count - 1) * q
        let lo = Int(pos.rounded(.down))
        let hi = min(lo + 1, s.count - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
    }

    @Test("random samples of every small size and some large ones match a full sort, for many quantiles at once",
          arguments: [1, 2, 3, 5, 15, 16, 17, 31, 100, 1_000, 20_000])
    func matchesSort(_ n: Int) {
        var state: UInt64 = 0x5EED &+ UInt64(n)
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 40) / 1000  // many duplicates
        }
        let quantiles = [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0]
        for round in 0..<20 {
            let values = (0..<n).map { _ in round % 3 == 0 ? Double(Int(next()) % 7) : next() }
            var work = values
            let d = QueryEngine.distribution(&work, quantiles)!
            for (j, q) in quantiles.enumerated() {
                #expect(d.values[j] == Self.reference(values, q), "n=\(n) round \(round) q=\(q)")
            }
            #expect(d.count == n)
            #expect(work.sorted() == values.sorted(), "selection only permutes the values")
        }
    }

    @Test("sorted, reversed and constant inputs, and inputs with NaN (never stored, but they must not break selection)",
          arguments: [700, 5_000])
    func adversarialInputs(_ n: Int) {
        let quantiles = [0.0, 0.5, 0.95, 0.99, 1.0]
        let ascending: [Double] = (0..<n).map { Double($0) }
        let descending: [Double] = ascending.reversed()
        let constant = [Double](repeating: 3, count: n)
        let sawtooth: [Double] = (0..<n).map { Double(($0 * 7_919) % 1_000) }
        for values in [ascending, descending, constant, sawtooth] {
            var work = values
            let d = QueryEngine.distribution(&work, quantiles)!
            for (j, q) in quantiles.enumerated() { #expect(d.values[j] == Self.reference(values, q), "n=\(n) q=\(q)") }
        }
        var withNaN = (0..<n).map { $0 % 97 == 0 ? Double.nan : Double(($0 * 31) % 1_000) }
        let d = QueryEngine.distribution(&withNaN, quantiles)
        #expect(d?.count == n)
        #expect(withNaN.filter(\.isNaN).count == (n + 96) / 97, "the values are only permuted")
    }
}
