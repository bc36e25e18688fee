import Foundation
import LanternTesting
import Testing
@testable import LanternStore
import LanternModel

// Segment rollups answer count, error, token and cost queries in place of the segments' rows.
// Every answer is compared with the same query scanning every row (`readsRollups = false`) on the
// same file: the two must agree exactly (cost to rounding), whatever the spans, filter and groups.

@Suite("Segment rollups")
struct RollupTests {
    static let hour: Int64 = 3_600_000_000_000
    /// Five hours before a midnight: the spans cover two days.
    static let origin: Int64 = (1_750_000_000 / 86_400 + 1) * 86_400 * 1_000_000_000 - 5 * hour

    static let book = PriceBook(models: [
        ModelPrice(provider: "openai", model: "gpt-x", aliases: ["gpt-x-2025"], periods: [
            PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 2, cachedInput: 0.5, output: 8)),
        ]),
        ModelPrice(provider: "acme", model: "cheap", periods: [PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 0.1, output: 0.2))]),
        // Its price changes in the middle of an hour of the data: segments holding that hour price span by span.
        ModelPrice(provider: "acme", model: "moving", periods: [
            PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 1, output: 2)),
            PricePeriod(fromUnixNano: origin + 3 * hour + hour / 2, base: TokenPrices(input: 3, output: 4)),
        ]),
        // Priced by each span's input tokens: never from sums.
        ModelPrice(provider: "acme", model: "tiered", periods: [
            PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 1, output: 2),
                        tiers: [PriceTier(aboveInputTokens: 2_000, prices: TokenPrices(input: 2, output: 4))]),
        ]),
    ])

    /// Spans over ten hours with every dimension varied, missing values, errors, reported costs,
    /// spans without usage or without a cache-read count; with `irregular`, also a few spans with
    /// inconsistent token counts and some of a model with a tiered price.
    static func spans(count: Int, seed: UInt64, hours: Int64 = 10, irregular: Bool = false) -> [CanonicalSpan] {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
        var out: [CanonicalSpan] = []
        var t = origin
        for i in 0..<count {
            t += Int64(rng.next() % UInt64(2 * hours * hour / Int64(count)))
            let model: (String?, String?) = pick([("gpt-x", "gpt-x-2025"), ("gpt-x", nil), ("cheap", "cheap"), ("moving", "moving"),
                                                  ("unpriced", "unpriced-1"), (nil, "gpt-x-2025"), (nil, nil)]
                                                 + (irregular ? [("tiered", "tiered")] : []))
            let usage = rng.next() % 5 != 0
            var input: Int64? = usage ? Int64(rng.next() % 5_000) : nil
            let output: Int64? = usage && rng.next() % 7 != 0 ? Int64(rng.next() % 900) : nil
            if usage && output == nil && rng.next() % 2 == 0 { input = nil }
            // Consistent counts: cached and cache-written within the input, reasoning within the output.
            var cacheRead: Int64? = usage && rng.next() % 3 == 0 ? Int64(rng.next() % UInt64((input ?? 0) + 1)) : nil
            let cacheCreation: Int64? = usage && rng.next() % 11 == 0 ? Int64(rng.next() % UInt64((input ?? 0) - (cacheRead ?? 0) + 1)) : nil
            let reasoning: Int64? = output.map { rng.next() % 5 == 0 ? Int64(rng.next() % UInt64($0 + 1)) : nil } ?? nil
            if irregular && usage && rng.next() % 50 == 0 { cacheRead = (input ?? 0) + 10 }
            // Service, version, environment, variant and rollout come in a few combinations, as from a few deployments.
            let deployment: (String?, String?, String?, String?, String?) = pick([
                ("checkout", "v1", "prod", "baseline", "r1"), ("checkout", "v2", "prod", "candidate", "r1"),
                ("search", "v1", "staging", nil, nil), (nil, nil, nil, nil, nil),
            ])
            out.append(makeSpan(
                UInt64(i + 1), at: t,
                service: deployment.0, version: deployment.1, environment: deployment.2,
                operation: pick(["chat", "chat", nil]), provider: model.0 == nil && model.1 == nil ? nil : "acme",
                requestModel: model.0, responseModel: model.1,
                input: input, output: output, cacheRead: cacheRead,
                cacheCreation: cacheCreation, reasoning: reasoning,
                reportedCost: rng.next() % 13 == 0 ? Double(rng.next() % 1000) / 7919 : nil,
                variant: deployment.3, rollout: deployment.4,
                status: rng.next() % 9 == 0 ? .error : .ok))
        }
        return out
    }

    static let queries: [SpanQuery] = {
        let from = origin + 2 * hour, until = origin + 8 * hour
        let filters = [
            SpanFilter(),
            SpanFilter(operations: ["chat"]),
            SpanFilter(from: from, until: until, services: ["checkout"]),
            SpanFilter(from: from + 1_234_567, until: until - 7_654_321),
            SpanFilter(models: ["gpt-x-2025", "cheap"], variants: ["candidate"]),
            SpanFilter(environments: ["prod", "nowhere"], genAIOnly: true),
        ]
        let groupings: [[GroupKey]] = [
            [], [.model], [.requestModel, .day], [.model, .hour], [.service, .serviceVersion, .environment],
            [.operation, .provider, .responseModel], [.variant, .rollout, .day],
        ]
        let metricSets: [Set<QueryMetric>] = [[.count], [.count, .errors], [.tokens], [.tokens, .cost], [.count, .errors, .tokens, .cost]]
        var out: [SpanQuery] = []
        for (i, filter) in filters.enumerated() {
            for (j, groupBy) in groupings.enumerated() {
                out.append(SpanQuery(filter: filter, groupBy: groupBy, metrics: metricSets[(i + j) % metricSets.count]))
            }
        }
        return out
    }()

    /// Results with the floating-point cost sums zeroed, and those sums, per group.
    static func split(_ r: QueryResult) -> (exact: [GroupResult], cost: [Double]) {
        (r.groups.map { var g = $0; g.costUSD = 0; return g }, r.groups.map(\.costUSD))
    }

    static func expectSameAnswers(_ path: String, segmentRows: Int, expectRollups: Bool) throws -> (rolledUp: Int, scanned: Int) {
        var scanOnly = SQLiteSpanStore.Configuration()
        scanOnly.readsRollups = false
        scanOnly.segmentRows = segmentRows
        var rollups = scanOnly
        rollups.readsRollups = true
        let store = try SQLiteSpanStore(path: path, configuration: rollups)
        let scanner = try SQLiteSpanStore(path: path, configuration: scanOnly)
        var rolledUp = 0, scanned = 0
        for q in queries {
            #expect(QueryEngine(query: q, prices: book).readsRollups)
            let a = try store.queryNow(q, prices: book), b = try scanner.queryNow(q, prices: book)
            #expect(b.segmentsFromRollups == 0)
            #expect(a.segmentsFromRollups + a.segmentsScanned == b.segmentsScanned, "\(q)")
            rolledUp += a.segmentsFromRollups
            scanned += a.segmentsScanned
            let (x, y) = (split(a), split(b))
            #expect(x.exact == y.exact, "\(q)")
            for (c, d) in zip(x.cost, y.cost) {
                #expect(abs(c - d) <= 1e-9 * max(1, abs(c), abs(d)), "cost \(c) vs \(d) for \(q)")
            }
        }
        if expectRollups { #expect(rolledUp > 0) }
        return (rolledUp, scanned)
    }

    static func withStore(_ spans: [CanonicalSpan], segmentRows: Int, _ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-rollup-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("lantern.sqlite").path
        var config = SQLiteSpanStore.Configuration()
        config.segmentRows = segmentRows
        let store = try SQLiteSpanStore(path: path, configuration: config)
        for b in batches(spans, of: 97) { try store.appendNow(b) }
        #expect(try store.statsNow().segments >= 8)
        let rollups = try SQLiteDatabase(path: path).scalarInt("SELECT count(*) FROM segments WHERE rollup IS NOT NULL")
        #expect(rollups == Int64(try store.statsNow().segments), "every segment has a rollup")
        try body(path)
    }

    @Test("rollup answers equal scan answers for every filter, grouping and metric set, with spans left in the journal")
    func sameAnswers() throws {
        try Self.withStore(Self.spans(count: 24_000, seed: 7), segmentRows: 2_000) { path in
            let (rolledUp, scanned) = try Self.expectSameAnswers(path, segmentRows: 2_000, expectRollups: true)
            // Only segments meeting an unaligned time bound, or holding the mid-hour price change, are scanned.
            #expect(rolledUp > 4 * scanned, "\(rolledUp) from rollups, \(scanned) scanned")
        }
    }

    @Test("a segment with inconsistent token counts or tiered prices is scanned for cost, and still read through its rollup for counts")
    func irregularTokens() throws {
        try Self.withStore(Self.spans(count: 24_000, seed: 11, irregular: true), segmentRows: 2_000) { path in
            _ = try Self.expectSameAnswers(path, segmentRows: 2_000, expectRollups: true)
            let store = try SQLiteSpanStore(path: path)
            let cost = try store.queryNow(SpanQuery(groupBy: [.model], metrics: [.cost]), prices: Self.book)
            let count = try store.queryNow(SpanQuery(groupBy: [.model], metrics: [.count, .tokens]), prices: Self.book)
            #expect(cost.segmentsScanned > 0, "segments with irregular tokens or tiered prices are priced span by span")
            #expect(count.segmentsScanned == 0 && count.segmentsFromRollups > 0)
        }
    }

    @Test("segments sealed without a rollup (older files) are scanned and give the same answers")
    func segmentsWithoutRollups() throws {
        try Self.withStore(Self.spans(count: 24_000, seed: 3), segmentRows: 2_000) { path in
            let db = try SQLiteDatabase(path: path)
            try db.execute("UPDATE segments SET rollup = NULL WHERE id % 2 = 0")
            let (rolledUp, scanned) = try Self.expectSameAnswers(path, segmentRows: 2_000, expectRollups: true)
            #expect(scanned > 0 && rolledUp > 0)
        }
    }

    @Test("a rollup encodes and decodes to itself; damaged bytes give an error, never a crash")
    func encoding() throws {
        let columns = SpanColumns(Self.spans(count: 2_000, seed: 5, hours: 1))
        let built = SegmentRollup(columns)
        try #require(built != nil, "2,000 spans of an hour have a rollup")
        let rollup = built!
        #expect(ZoneMap(columns, rollup: rollup) == ZoneMap(columns), "the zone map taken from the rollup equals the one read from the rows")
        #expect(rollup.measures.spans.reduce(0, +) == 2_000)
        #expect(rollup.cellCount < 2_000)
        let bytes = rollup.encoded()
        let decoded = try bytes.withUnsafeBufferPointer { try SegmentRollup(encoded: $0) }
        #expect(decoded == rollup)
        var rng = SplitMix64(seed: 99)
        let plain = ChunkCompression.seal(try bytes.withUnsafeBufferPointer { try ChunkCompression.open($0) }, allowCompression: false)
        for _ in 0..<300 {
            var damaged = plain
            let cut = Int(rng.next() % UInt64(damaged.count))
            if rng.next() % 2 == 0 { damaged.removeLast(damaged.count - cut) } else { damaged[cut] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
            _ = try? damaged.withUnsafeBufferPointer { try SegmentRollup(encoded: $0) }
        }
    }
}
