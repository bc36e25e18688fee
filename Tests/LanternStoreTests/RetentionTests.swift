import Foundation
import Testing
@testable import LanternStore
import LanternModel

// Retention removes whole sealed segments — by age, then oldest first by size — and what remains is
// exactly what queries, traces and stats see afterwards. Plus the schema-version guard.

@Suite("Store retention and schema")
struct RetentionTests {
    @Test("age retention deletes the segments whose spans are all older than the cutoff, and only those")
    func ageRetention() throws {
        try withTemporaryStore { store in
            let old = (0..<5).map { retained(UInt64($0), at: day(1) + hour(Int64($0))) }
            // Day 2 00:00 to day 3 12:00: straddles the cutoff below.
            let straddling = (0..<4).map { retained(100 + UInt64($0), at: day(2) + hour(12 * Int64($0))) }
            let recent = (0..<6).map { retained(200 + UInt64($0), at: day(4) + hour(Int64($0))) }
            for segment in [old, straddling, recent] {
                try store.appendNow(segment)
                try store.seal(force: true)
            }
            let before = try store.statsNow()
            try #require(before.segments == 3 && before.sealedSpans == 15, "\(before)")

            // Now is day 5 00:00; keep 2.5 days: the cutoff is day 2 12:00.
            let policy = RetentionPolicy(maxAgeNanos: day(2) + hour(12))
            let result = try store.applyRetentionNow(policy, nowUnixNano: day(5))
            #expect(result.segmentsDeleted == 1)
            #expect(result.spansDeleted == 5)
            #expect(result.bytesDeleted > 0)

            let after = try store.statsNow()
            #expect(after.segments == 2 && after.sealedSpans == 10 && after.journalSpans == 0, "\(after)")
            #expect(after.minStartUnixNano == day(2), "the straddling segment stays whole")
            #expect(after.maxStartUnixNano == day(4) + hour(5))
            try expectRemaining(store, straddling + recent)
            #expect(try store.traceNow(old[0].span.traceID).isEmpty)

            #expect(try store.applyRetentionNow(policy, nowUnixNano: day(5)) == RetentionResult(), "a second pass finds nothing")
        }
    }

    @Test("age retention keeps a segment whose newest span is exactly at the cutoff")
    func ageRetentionBoundary() throws {
        try withTemporaryStore { store in
            let spans = [retained(1, at: day(1)), retained(2, at: day(1) + hour(3))]
            try store.appendNow(spans)
            try store.seal(force: true)
            let newest = day(1) + hour(3), now = day(3)
            let exactly = try store.applyRetentionNow(RetentionPolicy(maxAgeNanos: now - newest), nowUnixNano: now)
            #expect(exactly == RetentionResult(), "a span that started exactly maxAge ago is kept")
            try expectRemaining(store, spans)

            let oneLess = try store.applyRetentionNow(RetentionPolicy(maxAgeNanos: now - newest - 1), nowUnixNano: now)
            #expect(oneLess.segmentsDeleted == 1 && oneLess.spansDeleted == 2)
            try expectRemaining(store, [])
        }
    }

    @Test("size retention deletes the oldest segments first until the rest fits")
    func sizeRetention() throws {
        try withTemporaryStore { store in
            // Created newest first, so that "oldest" has to mean oldest spans, not lowest segment id.
            let day3 = (0..<10).map { retained(300 + UInt64($0), at: day(3) + hour(Int64($0)), payload: 200) }
            let day1 = (0..<30).map { retained(100 + UInt64($0), at: day(1) + hour(Int64($0 % 24)), payload: 200) }
            let day2 = (0..<20).map { retained(200 + UInt64($0), at: day(2) + hour(Int64($0)), payload: 200) }
            for segment in [day3, day1, day2] {
                try store.appendNow(segment)
                try store.seal(force: true)
            }
            let segments = try store.segments()
            try #require(segments.count == 3)
            func bytes(of n: Int64) throws -> Int64 {
                let segment = try #require(segments.first { $0.zone.minStart == day(n) }, "the segment of day \(n)")
                return segment.bytes
            }
            let b1 = try bytes(of: 1), b2 = try bytes(of: 2), b3 = try bytes(of: 3)
            #expect(b1 > 0 && b2 > 0 && b3 > 0)

            let fitsAll = try store.applyRetentionNow(RetentionPolicy(maxBytes: b1 + b2 + b3), nowUnixNano: day(10))
            #expect(fitsAll == RetentionResult(), "everything already fits")

            let dropOldest = try store.applyRetentionNow(RetentionPolicy(maxBytes: b2 + b3), nowUnixNano: day(10))
            #expect(dropOldest == RetentionResult(segmentsDeleted: 1, spansDeleted: 30, bytesDeleted: b1))
            try expectRemaining(store, day3 + day2)

            let dropNext = try store.applyRetentionNow(RetentionPolicy(maxBytes: b2 + b3 - 1), nowUnixNano: day(10))
            #expect(dropNext == RetentionResult(segmentsDeleted: 1, spansDeleted: 20, bytesDeleted: b2))
            try expectRemaining(store, day3)
            let stats = try store.statsNow()
            #expect(stats.segments == 1 && stats.sealedSpans == 10, "\(stats)")
        }
    }

    @Test("age and size bounds together: age first, then the oldest of what is left")
    func ageAndSize() throws {
        try withTemporaryStore { store in
            let days = (1...4).map { d in (0..<5).map { retained(UInt64(d * 100 + $0), at: day(Int64(d)) + hour(Int64($0))) } }
            for segment in days {
                try store.appendNow(segment)
                try store.seal(force: true)
            }
            let sizes = try store.segments().sorted { $0.zone.minStart < $1.zone.minStart }.map(\.bytes)
            // Age drops day 1; the size bound then holds days 3 and 4 but not day 2 as well.
            let policy = RetentionPolicy(maxAgeNanos: day(3), maxBytes: sizes[2] + sizes[3])
            let result = try store.applyRetentionNow(policy, nowUnixNano: day(5))
            #expect(result.segmentsDeleted == 2 && result.spansDeleted == 10, "\(result)")
            try expectRemaining(store, days[2] + days[3])
        }
    }

    @Test("age retention also drops old unsealed batches, keeps recent ones, and ingest goes on afterwards")
    func retentionThenIngest() throws {
        try withTemporaryStore { store in
            let sealed = (0..<4).map { retained(UInt64($0), at: day(1) + Int64($0)) }
            try store.appendNow(sealed)
            try store.seal(force: true)
            let oldUnsealed = (0..<3).map { retained(10 + UInt64($0), at: day(1) + 100 + Int64($0)) }
            try store.appendNow(oldUnsealed)
            let unsealed = (0..<2).map { retained(30 + UInt64($0), at: day(9) - 10 + Int64($0)) }
            try store.appendNow(unsealed)

            let result = try store.applyRetentionNow(RetentionPolicy(maxAgeNanos: hour(1), maxBytes: 0), nowUnixNano: day(9))
            #expect(result.segmentsDeleted == 1 && result.spansDeleted == 7, "the old segment and the old journal batch")
            let stats = try store.statsNow()
            #expect(stats.segments == 0 && stats.journalSpans == 2, "\(stats)")
            try expectRemaining(store, unsealed)

            let later = (0..<2).map { retained(20 + UInt64($0), at: day(9) + Int64($0)) }
            try store.appendNow(later)
            try store.seal(force: true)
            try expectRemaining(store, unsealed + later)
        }
    }

    @Test("age retention deletes log records, metric points and scores older than the cutoff, and keeps the rest")
    func retentionOfSignalsAndScores() throws {
        try withTemporaryStore { store in
            func log(_ t: Int64) -> LogRow {
                LogRow(traceID: TraceID(high: 1, low: 2), spanID: nil, timeUnixNano: t, eventName: "e", severityNumber: 9, severityText: "",
                       serviceName: "s", bodyJSON: "", attributesJSON: "[]", originJSON: "{}")
            }
            func point(_ t: Int64) -> MetricPointRow {
                MetricPointRow(name: "m", unit: "s", kind: "gauge", temporality: 0, serviceName: "s", startUnixNano: t, timeUnixNano: t,
                               count: nil, sum: nil, min: nil, max: nil, value: 1, attributesJSON: "[]", distributionJSON: "", originJSON: "{}")
            }
            func score(_ id: String, _ t: Int64) -> Score {
                Score(id: id, kind: .score, traceID: TraceID(high: 1, low: 2), spanID: nil, name: "n", value: 1, label: nil, comment: nil,
                      source: "api", timeUnixNano: t)
            }
            try store.appendLogsNow([log(day(1)), log(day(9) - 10)])
            try store.appendMetricPointsNow([point(day(1)), point(day(9) - 10)])
            _ = try store.appendScoresNow([score("old", day(1)), score("new", day(9) - 10)])
            _ = try store.applyRetentionNow(RetentionPolicy(maxAgeNanos: hour(1)), nowUnixNano: day(9))
            #expect(try store.logRecords(traceID: TraceID(high: 1, low: 2)).map(\.timeUnixNano) == [day(9) - 10])
            #expect(try store.metricSummaries().map(\.points) == [1])
            #expect(try store.scores(traceID: TraceID(high: 1, low: 2)).map(\.id) == ["new"])
        }
    }

    @Test("a database written by a newer schema version does not open")
    func schemaTooNew() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-schema-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("lantern.sqlite").path
        do {
            let store = try SQLiteSpanStore(path: path)
            try store.appendNow([retained(1, at: day(1))])
        }
        do {
            let store = try SQLiteSpanStore(path: path)
            #expect(try store.allSpans().count == 1, "the current version reopens")
            try store.db.execute("PRAGMA user_version = 99")
        }
        let error = #expect(throws: StoreError.self) { try SQLiteSpanStore(path: path) }
        #expect(error == .schemaTooNew(found: 99, supported: Migrations.latest))
    }
}

// MARK: - Helpers

private let nanosPerHour: Int64 = 3_600_000_000_000
private func hour(_ n: Int64) -> Int64 { n * nanosPerHour }
private func day(_ n: Int64) -> Int64 { n * 24 * nanosPerHour }

/// A span of its own trace at `start`, optionally carrying `payload` bytes of attribute text.
private func retained(_ id: UInt64, at start: Int64, payload: Int = 0) -> CanonicalSpan {
    var attributes = [Attribute("id", .int(Int64(id)))]
    if payload > 0 {
        // Text that varies per span, so that segment sizes grow with their span counts.
        let seed = Int(id % 1000) * 7
        let text = (0..<payload).map { k -> Character in Character(UnicodeScalar(UInt8(33 + (seed + k * 13) % 90))) }
        attributes.append(Attribute("payload", .string(String(text))))
    }
    return CanonicalSpan(
        span: Span(traceID: TraceID(high: 0xAE7E, low: id), spanID: SpanID(raw: id + 1), name: "retained \(id)", kind: .server,
                   startTimeUnixNano: UInt64(start), endTimeUnixNano: UInt64(start) + 1_000_000, attributes: attributes),
        origin: SpanOrigin(resource: Resource(attributes: [Attribute("service.name", .string("retention"))]), scope: InstrumentationScope()),
        serviceName: "retention")
}

private func withTemporaryStore(_ body: (SQLiteSpanStore) throws -> Void) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-retention-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var config = SQLiteSpanStore.Configuration()
    config.autoSeal = false
    try body(try SQLiteSpanStore(path: dir.appendingPathComponent("lantern.sqlite").path, configuration: config))
}

/// Exactly `spans` remain, as a set: in `allSpans`, in a count query, and each by its trace.
private func expectRemaining(_ store: SQLiteSpanStore, _ spans: [CanonicalSpan], sourceLocation: SourceLocation = #_sourceLocation) throws {
    let stored = try store.allSpans()
    #expect(Set(stored.map(\.span.spanID)) == Set(spans.map(\.span.spanID)), "stored span ids", sourceLocation: sourceLocation)
    #expect(stored.count == spans.count, sourceLocation: sourceLocation)
    let counted = try store.queryNow(SpanQuery(metrics: [.count]), prices: .empty).groups.first?.spans ?? 0
    #expect(counted == spans.count, "a count query sees what remains", sourceLocation: sourceLocation)
    for s in spans.prefix(5) {
        #expect(try store.traceNow(s.span.traceID) == [s], "trace of \(s.span.name)", sourceLocation: sourceLocation)
    }
    let stats = try store.statsNow()
    #expect(stats.totalSpans == spans.count, "\(stats)", sourceLocation: sourceLocation)
}
