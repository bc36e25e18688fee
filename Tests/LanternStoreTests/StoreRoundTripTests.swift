import Foundation
import Testing
@testable import LanternStore
import LanternCollector
import LanternModel
import LanternTesting

// What goes into the store comes back exactly: every OTLP field, attribute types and order, string
// bytes, double bit patterns and the canonical fields, from the journal, from sealed segments and
// after the file is closed and opened again.

/// One trace payload of the shared OTLP fixtures.
struct StoreFixturePayload: Sendable, CustomTestStringConvertible {
    var caseName: String
    var file: String
    var testDescription: String { "\(caseName)/\(file)" }

    static func all() throws -> [StoreFixturePayload] {
        try Fixtures.tracePayloads().map { StoreFixturePayload(caseName: $0.caseName, file: $0.file) }
    }

    /// Decoded and normalized as the collector does it.
    func canonicalSpans() throws -> [CanonicalSpan] {
        let bytes = try Fixtures.file(caseName, file)
        let format: OTLPFormat = file.hasSuffix(".pb") ? .protobuf : .json
        let encoding: ContentEncoding = file.hasSuffix(".gz") ? .gzip : .identity
        let decoded = try OTLPTraceBodyDecoder().decode(bytes, format: format, encoding: encoding)
        return Normalizer().normalize(decoded.export)
    }
}

@Suite("Store round trip")
struct StoreRoundTripTests {
    @Test("the shared trace fixtures are found")
    func fixturesArePresent() throws {
        let payloads = try StoreFixturePayload.all()
        #expect(payloads.count >= 19, "\(payloads.map(\.testDescription))")
    }

    @Test("fixture spans round-trip: journal, reopened journal, sealed, reopened segments", arguments: try StoreFixturePayload.all())
    func fixtureRoundTrip(_ payload: StoreFixturePayload) throws {
        let spans = try payload.canonicalSpans()
        try #require(!spans.isEmpty)
        try withTemporaryStorePath { path in
            do {
                let store = try SQLiteSpanStore(path: path)
                try store.appendNow(spans)
                try expectStored(store, spans, "journal")
                try expectStats(store, spans, sealed: 0, segments: 0, journalBatches: 1)
            }
            do {
                let store = try SQLiteSpanStore(path: path)
                try expectStored(store, spans, "journal after reopening")
                try expectStats(store, spans, sealed: 0, segments: 0, journalBatches: 1)
                #expect(try store.seal(force: true) == 1)
                try expectStored(store, spans, "sealed")
                try expectStats(store, spans, sealed: spans.count, segments: 1, journalBatches: 0)
            }
            let store = try SQLiteSpanStore(path: path)
            try expectStored(store, spans, "sealed after reopening")
            try expectStats(store, spans, sealed: spans.count, segments: 1, journalBatches: 0)
        }
    }

    @Test("every attribute value kind, events, links, odd times and unknown enums round-trip")
    func everyKindOfValue() throws {
        let rich = richSpan()
        var child = minimalSpan(id: 0xC0FFEE, trace: rich.span.traceID)
        child.span.parentSpanID = rich.span.spanID  // parent in an earlier batch
        child.span.startTimeUnixNano = rich.span.startTimeUnixNano + 10
        child.span.endTimeUnixNano = rich.span.startTimeUnixNano + 20
        let batches = [
            [rich, minimalSpan(id: 2, trace: TraceID(high: 0, low: 1))],
            [child],
            [extremeTimesSpan()],
        ]
        let spans = batches.flatMap { $0 }
        try withTemporaryStorePath { path in
            do {
                let store = try SQLiteSpanStore(path: path)
                for b in batches { try store.appendNow(b) }
                try expectStored(store, spans, "journal")
                try store.seal(force: true)
                try expectStored(store, spans, "sealed")
            }
            try expectStored(try SQLiteSpanStore(path: path), spans, "reopened")
        }
    }

    @Test("a parent sealed in an earlier segment than its child")
    func parentInAnotherSegment() throws {
        let trace = TraceID(high: 5, low: 5)
        var parent = minimalSpan(id: 1, trace: trace)
        parent.span.name = "parent"
        var child = minimalSpan(id: 2, trace: trace)
        child.span.parentSpanID = parent.span.spanID
        child.span.startTimeUnixNano = 5
        try withTemporaryStorePath { path in
            let store = try SQLiteSpanStore(path: path)
            try store.appendNow([parent])
            try store.seal(force: true)
            try store.appendNow([child])
            try expectStored(store, [parent, child], "segment and journal")
            try store.seal(force: true)
            #expect(try store.statsNow().segments == 2)
            try expectStored(store, [parent, child], "two segments")
        }
    }

    @Test("canonically equivalent strings keep their own bytes (NFC vs NFD)")
    func unicodeNormalizationForms() throws {
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        #expect(nfc == nfd, "Swift's String == cannot tell these apart; the byte comparison below can")
        var a = minimalSpan(id: 1, trace: TraceID(high: 1, low: 1))
        var b = minimalSpan(id: 2, trace: TraceID(high: 1, low: 1))
        a.span.name = nfc
        b.span.name = nfd
        a.serviceName = nfc
        b.serviceName = nfd
        a.genAI.requestModel = nfc
        b.genAI.requestModel = nfd
        a.span.attributes = [Attribute(nfc, .string(nfc))]
        b.span.attributes = [Attribute(nfd, .string(nfd))]
        a.origin.resource.attributes = [Attribute("service.name", .string(nfc))]
        b.origin.resource.attributes = [Attribute("service.name", .string(nfd))]
        try withTemporaryStorePath { path in
            let store = try SQLiteSpanStore(path: path)
            try store.appendNow([a, b])
            try expectStored(store, [a, b], "journal")
            try store.seal(force: true)
            try expectStored(store, [a, b], "sealed")
        }
    }

    @Test("a provenance index whose canonical field is empty never makes the span unreadable")
    func provenanceIndexWithoutValue() throws {
        var c = minimalSpan(id: 7, trace: TraceID(high: 7, low: 7))
        // The text "\u{0}" is what the owning check compares an absent field with.
        c.span.attributes = [Attribute("gen_ai.operation.name", .string("\u{0}")), Attribute("gen_ai.usage.input_tokens", .int(5))]
        c.provenance.setAttributeIndex(0, for: .operation)  // genAI.operation stays nil
        c.provenance.setAttributeIndex(1, for: .inputTokens)  // genAI.inputTokens stays nil
        try withTemporaryStorePath { path in
            let store = try SQLiteSpanStore(path: path)
            try store.appendNow([c])
            for phase in ["journal", "sealed"] {
                let back = try store.allSpans()
                #expect(back.map(\.span) == [c.span], "\(phase)")
                #expect(back.map { exactBytes(CanonicalSpan(span: $0.span, origin: $0.origin)) } == [exactBytes(CanonicalSpan(span: c.span, origin: c.origin))],
                        "\(phase): attribute bytes")
                #expect(back.map(\.genAI) == [c.genAI], "\(phase)")
                try store.seal(force: true)
            }
        }
    }

    @Test("an attribute nested deeper than the reader allows is refused at append or read back")
    func deepNesting() throws {
        var value = AttributeValue.string("bottom")
        for level in 0..<100 { value = level % 2 == 0 ? .array([value]) : .kvlist([Attribute("level", value)]) }
        var deep = minimalSpan(id: 1, trace: TraceID(high: 2, low: 2))
        deep.span.attributes = [Attribute("deep", value)]
        let healthy = minimalSpan(id: 2, trace: TraceID(high: 2, low: 3))
        try withTemporaryStorePath { path in
            let store = try SQLiteSpanStore(path: path)
            do {
                try store.appendNow([deep, healthy])
            } catch let error as StoreError {
                // Refusing the batch is fine, but then nothing may have been stored.
                guard case .invalidArgument = error else { Issue.record("refused with \(error)"); return }
                #expect(try store.allSpans().isEmpty)
                return
            }
            // Accepted: then it must read back, and it must not make its neighbours unreadable.
            try expectStored(store, [deep, healthy], "journal")
            try store.seal(force: true)
            try expectStored(store, [deep, healthy], "sealed")
        }
    }

    @Test("what a crash can leave between a seal's steps is cleaned up at open and never read twice")
    func sealLeftovers() throws {
        let spans = (0..<1500).map { generatedSpan($0) }
        var config = SQLiteSpanStore.Configuration()
        config.segmentRows = 1000
        config.autoSeal = false
        try withTemporaryStorePath { path in
            do {
                let store = try SQLiteSpanStore(path: path, configuration: config)
                try store.appendNow(Array(spans[0..<1000]))
                try store.db.execute("CREATE TABLE kept AS SELECT * FROM journal")
                #expect(try store.seal(force: false) == 1)
                // As if the sealer had died after marking the rows sealed but before deleting them,
                // and in the middle of writing a second segment's chunks.
                try store.db.execute("INSERT INTO journal SELECT * FROM kept")
                try store.db.execute("DROP TABLE kept")
                try store.appendNow(Array(spans[1000..<1500]))
                let sealedThrough = try store.db.scalarInt("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'journal_sealed_through'")
                #expect(sealedThrough >= 1)
                #expect(try store.db.scalarInt("SELECT coalesce(sum(span_count), 0) FROM journal WHERE seq > \(sealedThrough)") == 500,
                        "new rows are numbered past the sealed ones")
                try store.db.execute("INSERT INTO segment_columns(id, data) VALUES (\((sealedThrough + 50) * 256 + 1), x'00')")
                try store.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('journal_sealed_through', '\(sealedThrough)')")
                try expectStored(store, spans, "before reopening")
            }
            do {
                let store = try SQLiteSpanStore(path: path, configuration: config)
                // Opening writes nothing (a reader may open a store a server is sealing); the next seal cleans up.
                let stats = try store.statsNow()
                #expect(stats.totalSpans == 1500 && stats.journalSpans == 500, "\(stats)")
                try expectStored(store, spans, "reopened")
                try store.seal(force: true)
                try expectStored(store, spans, "sealed after reopening")
                #expect(try store.db.scalarInt("SELECT count(*) FROM journal") == 0)
                #expect(try store.db.scalarInt("SELECT count(*) FROM segment_columns WHERE id / 256 NOT IN (SELECT id FROM segments)") == 0)
                // Segment ids are never reused, even after the newest segment is deleted.
                let newest = try store.db.scalarInt("SELECT max(id) FROM segments")
                try store.db.execute("DELETE FROM segment_columns WHERE id >= \(newest * 256)")
                try store.db.execute("DELETE FROM segments WHERE id = \(newest)")
                try store.appendNow(Array(spans[0..<1000]))
                try store.seal(force: true)
                #expect(try store.db.scalarInt("SELECT max(id) FROM segments") > newest)
            }
        }
    }

    @Test("3000 spans in 5 batches seal into several segments automatically and all round-trip")
    func manySpans() throws {
        let batches = (0..<5).map { b in (0..<600).map { i in generatedSpan(b * 600 + i) } }
        let spans = batches.flatMap { $0 }
        var config = SQLiteSpanStore.Configuration()
        config.segmentRows = 1000
        try withTemporaryStorePath { path in
            do {
                let store = try SQLiteSpanStore(path: path, configuration: config)
                for b in batches { try store.appendNow(b) }
                let stats = try store.statsNow()
                #expect(stats.segments >= 2, "\(stats)")
                #expect(stats.totalSpans == 3000)
                #expect(stats.journalSpans < config.segmentRows, "only a partial segment stays in the journal: \(stats)")
                #expect(stats.journalSpans > 0, "the last batch does not fill a segment: \(stats)")
                try expectStored(store, spans, "auto-sealed", traces: 12)

                let segmentsBefore = stats.segments
                #expect(try store.seal(force: true) >= 1)
                let sealed = try store.statsNow()
                #expect(sealed.sealedSpans == 3000 && sealed.journalSpans == 0 && sealed.journalBatches == 0, "\(sealed)")
                #expect(sealed.segments > segmentsBefore)
                try expectStored(store, spans, "force-sealed", traces: 12)
            }
            let reopened = try SQLiteSpanStore(path: path, configuration: config)
            try expectStored(reopened, spans, "reopened", traces: 12)
            #expect(try reopened.statsNow().sealedSpans == 3000)
        }
    }

    @Test("sealing without force makes progress whenever the journal holds a segment's worth", arguments: [1, 3, 6, 7, 9, 10, 13, 25])
    func sealMakesProgress(batchSize: Int) throws {
        var manual = SQLiteSpanStore.Configuration()
        manual.segmentRows = 10
        manual.autoSeal = false
        var automatic = manual
        automatic.autoSeal = true
        let batches = (0..<6).map { b in (0..<batchSize).map { generatedSpan(b * batchSize + $0) } }

        // seal(force: false), as the background sealer calls it.
        try withTemporaryStorePath { path in
            let store = try SQLiteSpanStore(path: path, configuration: manual)
            for b in batches { try store.appendNow(b) }
            #expect(try store.statsNow().journalSpans == 6 * batchSize)
            let written = try store.seal(force: false)
            let stats = try store.statsNow()
            if 6 * batchSize >= manual.segmentRows {
                #expect(written >= 1, "\(6 * batchSize) journal spans, segments of 10: \(stats)")
            } else {
                #expect(written == 0, "less than a segment's worth is not sealed without force: \(stats)")
            }
            #expect(stats.journalSpans < manual.segmentRows, "less than a segment's worth stays unsealed: \(stats)")
            try expectStored(store, batches.flatMap { $0 }, "batches of \(batchSize), sealed without force", traces: 2)
        }
        // autoSeal: after every append the journal holds less than a segment's worth.
        try withTemporaryStorePath { path in
            let store = try SQLiteSpanStore(path: path, configuration: automatic)
            for (k, b) in batches.enumerated() {
                try store.appendNow(b)
                let stats = try store.statsNow()
                #expect(stats.journalSpans < automatic.segmentRows, "batches of \(batchSize), after append \(k + 1): \(stats)")
            }
            try expectStored(store, batches.flatMap { $0 }, "batches of \(batchSize), auto-sealed", traces: 2)
        }
    }

    @Test("group commit: several batches in one append, empty ones skipped")
    func groupCommit() throws {
        let a = (0..<3).map { generatedSpan($0) }, b = (3..<4).map { generatedSpan($0) }
        try withTemporaryStorePath { path in
            let store = try SQLiteSpanStore(path: path)
            try store.appendNow([])
            try store.appendNow(batches: [[], a, [], b])
            let stats = try store.statsNow()
            #expect(stats.journalBatches == 2)
            #expect(stats.journalSpans == 4)
            try expectStored(store, a + b, "journal")
        }
    }

    @Test("stats of an empty store")
    func emptyStats() throws {
        try withTemporaryStorePath { path in
            let store = try SQLiteSpanStore(path: path)
            let stats = try store.statsNow()
            #expect(stats.sealedSpans == 0 && stats.journalSpans == 0 && stats.segments == 0 && stats.journalBatches == 0)
            #expect(stats.minStartUnixNano == nil && stats.maxStartUnixNano == nil)
            #expect(try store.allSpans().isEmpty)
            #expect(try store.seal(force: true) == 0)
            #expect(try store.traceNow(TraceID(high: 1, low: 1)).isEmpty)
        }
    }
}

// MARK: - Helpers

private func withTemporaryStorePath(_ body: (String) throws -> Void) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-roundtrip-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try body(dir.appendingPathComponent("lantern.sqlite").path)
}

/// `allSpans()` returns the input in order, and `traceNow` each trace (checking at most `traces` of them).
private func expectStored(_ store: SQLiteSpanStore, _ spans: [CanonicalSpan], _ phase: String, traces: Int = .max,
                          sourceLocation: SourceLocation = #_sourceLocation) throws {
    expectSameSpans(try store.allSpans(), spans, phase, sourceLocation: sourceLocation)
    var ids: [TraceID] = []
    for s in spans where !ids.contains(s.span.traceID) { ids.append(s.span.traceID) }
    for id in ids.prefix(traces) {
        let expected = spans.filter { $0.span.traceID == id }
            .sorted { ($0.span.startTimeUnixNano, $0.span.spanID) < ($1.span.startTimeUnixNano, $1.span.spanID) }
        expectSameSpans(try store.traceNow(id), expected, "\(phase), trace \(id)", sourceLocation: sourceLocation)
    }
    #expect(try store.traceNow(TraceID(high: 0xDEAD, low: 0xBEEF)).isEmpty, "\(phase): unknown trace", sourceLocation: sourceLocation)
}

private func expectStats(_ store: SQLiteSpanStore, _ spans: [CanonicalSpan], sealed: Int, segments: Int, journalBatches: Int,
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
    let stats = try store.statsNow()
    let starts = spans.map { Int64(bitPattern: $0.span.startTimeUnixNano) }
    #expect(stats.sealedSpans == sealed, "\(stats)", sourceLocation: sourceLocation)
    #expect(stats.journalSpans == spans.count - sealed, "\(stats)", sourceLocation: sourceLocation)
    #expect(stats.segments == segments, "\(stats)", sourceLocation: sourceLocation)
    #expect(stats.journalBatches == journalBatches, "\(stats)", sourceLocation: sourceLocation)
    #expect(stats.minStartUnixNano == starts.min(), sourceLocation: sourceLocation)
    #expect(stats.maxStartUnixNano == starts.max(), sourceLocation: sourceLocation)
    #expect(stats.fileBytes > 0, sourceLocation: sourceLocation)
}

/// Same spans in the same order, field by field and byte for byte. Reports the first few differences.
private func expectSameSpans(_ actual: [CanonicalSpan], _ expected: [CanonicalSpan], _ phase: String,
                             sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(phase): span count", sourceLocation: sourceLocation)
    let differing = zip(actual, expected).enumerated().filter { _, pair in exactBytes(pair.0) != exactBytes(pair.1) || pair.0 != pair.1 }
    #expect(differing.isEmpty, "\(phase): \(differing.count) spans differ, first at \(differing.prefix(5).map(\.offset))",
            sourceLocation: sourceLocation)
    for (i, (a, e)) in differing.prefix(3) {
        let at = "\(phase) #\(i) '\(e.span.name)' \(e.span.spanID)"
        #expect(a.span == e.span, "\(at): span", sourceLocation: sourceLocation)
        #expect(a.origin == e.origin, "\(at): origin", sourceLocation: sourceLocation)
        #expect(a.serviceName == e.serviceName, "\(at): service name", sourceLocation: sourceLocation)
        #expect(a.serviceVersion == e.serviceVersion, "\(at): service version", sourceLocation: sourceLocation)
        #expect(a.environment == e.environment, "\(at): environment", sourceLocation: sourceLocation)
        #expect(a.genAI == e.genAI, "\(at): GenAI fields", sourceLocation: sourceLocation)
        #expect(a.release == e.release, "\(at): release fields", sourceLocation: sourceLocation)
        #expect(a.provenance == e.provenance, "\(at): provenance", sourceLocation: sourceLocation)
        #expect(exactBytes(a) == exactBytes(e), "\(at): bytes differ (string bytes or double bit patterns)",
                sourceLocation: sourceLocation)
    }
}

/// A byte-exact image of a canonical span: the OTLP protobuf of the span with its resource and
/// scope, then every canonical field (strings as UTF-8, doubles as bit patterns) and the provenance.
/// Swift's `==` on strings is canonical equivalence, so this catches rewrites that `==` does not.
private func exactBytes(_ c: CanonicalSpan) -> [UInt8] {
    let export = TraceExport(resourceSpans: [
        ResourceSpans(resource: c.origin.resource, schemaURL: c.origin.resourceSchemaURL, scopeSpans: [
            ScopeSpans(scope: c.origin.scope, schemaURL: c.origin.scopeSchemaURL, spans: [c.span]),
        ]),
    ])
    var out = OTLPProtobufEncoder().encode(export)
    func word(_ v: UInt64) { for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) } }
    func text(_ s: String?) {
        guard let s else { out.append(0); return }
        out.append(1)
        word(UInt64(s.utf8.count))
        out += Array(s.utf8)
    }
    func integer(_ v: Int64?) {
        guard let v else { out.append(0); return }
        out.append(1)
        word(UInt64(bitPattern: v))
    }
    func real(_ v: Double?) {
        guard let v else { out.append(0); return }
        out.append(1)
        word(v.bitPattern)
    }
    let g = c.genAI
    for s in [c.serviceName, c.serviceVersion, c.environment, g.operation, g.provider, g.requestModel, g.responseModel,
              g.finishReason, g.errorType, g.conversationID, g.userID, g.promptName, g.promptVersion,
              c.release.variant, c.release.rollout] { text(s) }
    for v in [g.inputTokens, g.outputTokens, g.cacheReadTokens, g.cacheCreationTokens, g.reasoningTokens] { integer(v) }
    real(g.timeToFirstToken)
    real(g.reportedCost)
    for f in CanonicalField.allCases {
        out.append(c.provenance[f].rawValue)
        integer(c.provenance.attributeIndex(f).map { Int64($0) })
    }
    return out
}

private func minimalSpan(id: UInt64, trace: TraceID) -> CanonicalSpan {
    CanonicalSpan(span: Span(traceID: trace, spanID: SpanID(raw: id), name: "", kind: .unspecified, startTimeUnixNano: 0, endTimeUnixNano: 0),
                  origin: SpanOrigin(resource: Resource(), scope: InstrumentationScope()))
}

/// One span with every kind of attribute value (nested), events before and after its start, links
/// with attributes, an end before its start, unknown kind and status numbers, owned and residual
/// GenAI attributes, and a resource and scope with everything set.
private func richSpan() -> CanonicalSpan {
    let nan = Double(bitPattern: 0x7FF8_0000_DEAD_BEEF)
    let start: UInt64 = 1_760_000_000_123_456_789
    let attributes: [Attribute] = [
        Attribute("gen_ai.request.model", .string("gpt-fake-1")),  // 0: the request-model column holds it
        Attribute("gen_ai.usage.input_tokens", .int(1234)),  // 1: the input-token column holds it
        Attribute("string", .string("plain")),
        Attribute("string.empty", .string("")),
        Attribute("bool", .bool(false)),
        Attribute("int.min", .int(.min)),
        Attribute("int.max", .int(.max)),
        Attribute("double.nan", .double(nan)),
        Attribute("double.negative-zero", .double(-0.0)),
        Attribute("double.-inf", .double(-.infinity)),
        Attribute("double.subnormal", .double(.leastNonzeroMagnitude)),
        Attribute("bytes", .bytes([0, 1, 0xFE, 0xFF])),
        Attribute("bytes.empty", .bytes([])),
        Attribute("empty", .empty),
        Attribute("array.empty", .array([])),
        Attribute("kvlist.empty", .kvlist([])),
        Attribute("nested", .array([
            .kvlist([
                Attribute("blob", .bytes([9, 8, 7])),
                Attribute("none", .empty),
                Attribute("deeper", .array([.array([.double(nan), .int(-1)]), .kvlist([Attribute("", .bool(true))])])),
            ]),
            .empty,
            .bool(true),
            .string("ünïcödé ✓"),
            .bytes([]),
        ])),
        Attribute("dup", .string("first")),
        Attribute("dup", .int(2)),
        Attribute("", .string("empty key")),
        Attribute("ключ 🔑", .string("значение")),
        Attribute("nul\u{0}inside", .string("a\u{0}b")),
        // The same text as the response model, but the normalizer did not read it from here.
        Attribute("gen_ai.response.model", .string("gpt-fake-1-2026-11-01")),
        Attribute("gen_ai.usage.output_tokens", .string("56")),  // a string where the column holds an int
    ]
    let span = Span(
        traceID: TraceID(high: 0x5B8E_FFF7_98E1_4C01, low: 0x9F1A_0000_0000_0001), spanID: SpanID(raw: 0xA1B2_C3D4_E5F6_0718),
        traceState: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", parentSpanID: SpanID(raw: 0x0102_0304_0506_0708), flags: 0x0000_0301,
        name: "chat gpt-fake-1", kind: SpanKind(rawValue: 42), startTimeUnixNano: start, endTimeUnixNano: start - 1_000_000,
        attributes: attributes, droppedAttributesCount: 7,
        events: [
            SpanEvent(timeUnixNano: start + 5, name: "first",
                      attributes: [Attribute("k", .kvlist([Attribute("x", .bytes([1]))]))], droppedAttributesCount: 3),
            SpanEvent(timeUnixNano: start - 1_000, name: "before the start"),
            SpanEvent(timeUnixNano: 0, name: ""),
            SpanEvent(timeUnixNano: .max, name: "end of time", attributes: [Attribute("d", .double(nan))]),
        ],
        droppedEventsCount: .max,
        links: [
            SpanLink(traceID: TraceID(high: 1, low: 2), spanID: SpanID(raw: 3), traceState: "k=v",
                     attributes: [Attribute("link.attr", .array([.int(1), .string("two"), .empty]))], droppedAttributesCount: 4, flags: 0x100),
            SpanLink(traceID: TraceID(high: 0, low: 0), spanID: SpanID(raw: 0)),
        ],
        droppedLinksCount: 1, statusCode: StatusCode(rawValue: 9), statusMessage: "boom ✗")
    let origin = SpanOrigin(
        resource: Resource(attributes: [
            Attribute("service.name", .string("")),
            Attribute("service.version", .string("v9")),
            Attribute("host", .kvlist([Attribute("arch", .string("amd64")), Attribute("cpus", .int(2))])),
            Attribute("weird", .double(nan)),
        ], droppedAttributesCount: 2),
        resourceSchemaURL: "https://opentelemetry.io/schemas/1.37.0",
        scope: InstrumentationScope(name: "lantern.tests", version: "0.0.1", attributes: [Attribute("scope.flag", .bool(true))],
                                    droppedAttributesCount: 1),
        scopeSchemaURL: "https://example.com/scope-schema")
    var c = CanonicalSpan(span: span, origin: origin, serviceName: "", serviceVersion: "v9", environment: nil)
    c.genAI.operation = "chat"
    c.genAI.provider = "openai"
    c.genAI.requestModel = "gpt-fake-1"
    c.genAI.responseModel = "gpt-fake-1-2026-11-01"
    c.genAI.inputTokens = 1234
    c.genAI.outputTokens = 56
    c.genAI.cacheReadTokens = 1000
    c.genAI.cacheCreationTokens = 12
    c.genAI.reasoningTokens = 7
    c.genAI.timeToFirstToken = 0.123456789
    c.genAI.finishReason = "stop"
    c.genAI.errorType = "RateLimitError"
    c.genAI.conversationID = "conv-1"
    c.genAI.userID = "user-ü"
    c.genAI.promptName = "greeting"
    c.genAI.promptVersion = "v3"
    c.genAI.reportedCost = 0.0042
    c.release = ReleaseFields(variant: "candidate", rollout: "r-1")
    c.provenance[.serviceName] = .resource
    c.provenance[.serviceVersion] = .resource
    c.provenance[.requestModel] = .otelGenAI
    c.provenance.setAttributeIndex(0, for: .requestModel)
    c.provenance[.inputTokens] = .otelGenAI
    c.provenance.setAttributeIndex(1, for: .inputTokens)
    c.provenance[.responseModel] = .otelGenAI
    c.provenance[.outputTokens] = .openLLMetry
    c.provenance[.timeToFirstToken] = .spanEvent
    c.provenance[.reportedCost] = .langfuse
    return c
}

/// Start and end times at the edges of UInt64 (past Int64.max, and an end that wraps below the
/// start), with events as far from both as UInt64 allows.
private func extremeTimesSpan() -> CanonicalSpan {
    var c = minimalSpan(id: .max, trace: TraceID(high: .max, low: .max))
    c.span.name = "edge of time"
    c.span.startTimeUnixNano = .max - 1
    c.span.endTimeUnixNano = 2
    c.span.flags = .max
    // Event times far from both the start and the end: deltas that need all 64 bits.
    let eventTimes: [UInt64] = [0, 1 << 62, 1 << 63, (1 << 63) + 12_345, .max - 7, .max]
    c.span.events = eventTimes.map { SpanEvent(timeUnixNano: $0, name: "t=\($0)") }
    c.span.kind = SpanKind(rawValue: .min)
    c.span.statusCode = StatusCode(rawValue: .max)
    c.genAI.inputTokens = .max
    c.genAI.outputTokens = .min
    c.genAI.timeToFirstToken = -0.0
    c.genAI.reportedCost = .infinity
    return c
}

/// The i-th span of a large synthetic workload: 12 traces whose spans are spread over every batch,
/// each span's parent being the previous span of its trace (for the first spans of a batch, in the
/// batch before), three origins, varied GenAI fields and attributes.
private func generatedSpan(_ i: Int) -> CanonicalSpan {
    let traces = 12
    let trace = TraceID(high: 0xABCD_0000 + UInt64(i % traces), low: 0x1234_5678)
    let start: UInt64 = 1_760_000_000_000_000_000 + UInt64(i) * 7_000_003
    let end: UInt64 = start + UInt64(i % 97) * 1_000_000
    var attributes = [
        Attribute("gen_ai.request.model", .string("model-\(i % 5)")),
        Attribute("i", .int(Int64(i))),
        Attribute("ratio", .double(Double(i) / 7)),
    ]
    if i % 3 == 0 { attributes.append(Attribute("tags", .array([.string("t\(i % 11)"), .bool(i % 2 == 0)]))) }
    var events: [SpanEvent] = []
    if i % 10 == 0 { events.append(SpanEvent(timeUnixNano: start + 300, name: "chunk")) }
    var links: [SpanLink] = []
    if i % 50 == 0 { links.append(SpanLink(traceID: trace, spanID: SpanID(raw: 42), attributes: [Attribute("n", .int(Int64(i)))])) }
    let names = ["chat", "embeddings", "tool call", "app.handle_request"]
    let parent: SpanID? = i >= traces ? SpanID(raw: 1_000_000 + UInt64(i - traces)) : nil
    let failed = i % 13 == 0
    let span = Span(traceID: trace, spanID: SpanID(raw: 1_000_000 + UInt64(i)), parentSpanID: parent, name: names[i % 4],
                    kind: SpanKind(rawValue: Int32(i % 6)), startTimeUnixNano: start, endTimeUnixNano: end, attributes: attributes,
                    events: events, links: links, statusCode: failed ? .error : .unset, statusMessage: failed ? "error \(i)" : "")
    let service = "svc-\(i % 3)"
    let origin = SpanOrigin(resource: Resource(attributes: [Attribute("service.name", .string(service))]),
                            scope: InstrumentationScope(name: "gen", version: "1"))
    var c = CanonicalSpan(span: span, origin: origin, serviceName: service, serviceVersion: i % 2 == 0 ? "v1" : "v2",
                          environment: i % 4 == 0 ? nil : "prod")
    c.genAI.requestModel = "model-\(i % 5)"
    c.provenance[.requestModel] = .otelGenAI
    c.provenance.setAttributeIndex(0, for: .requestModel)
    c.provenance[.serviceName] = .resource
    if i % 4 != 3 {
        c.genAI.operation = "chat"
        c.genAI.inputTokens = Int64(i % 1000)
        c.genAI.outputTokens = Int64(i % 77)
        c.genAI.cacheReadTokens = i % 2 == 0 ? Int64(i % 100) : nil
    }
    if i % 5 == 0 { c.genAI.timeToFirstToken = Double(i % 400) / 1000 }
    if i % 17 == 0 { c.genAI.reportedCost = Double(i) / 1e6 }
    c.release.variant = i % 2 == 0 ? "baseline" : "candidate"
    return c
}
