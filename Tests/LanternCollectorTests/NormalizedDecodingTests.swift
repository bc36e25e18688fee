import Foundation
import Testing
@testable import LanternCollector
import LanternModel
import LanternTesting

// The ingest path decodes protobuf and normalizes each span as it is read
// (`decodeNormalizedTraces`); everything else reads a `TraceExport` first and normalizes it
// afterwards. Both must give the same canonical spans, rejections and errors, for good and for
// damaged input alike.

@Suite("One-pass decoding and normalization equals decoding then normalizing")
struct NormalizedDecodingTests {
    /// Decoding then normalizing, the reference.
    static func twoPass(_ body: [UInt8], limits: DecodingLimits = .default) throws(OTLPDecodingError) -> NormalizedTraces {
        let d = try OTLPProtobufDecoder(limits: limits).decodeTraces(body)
        return NormalizedTraces(spans: Normalizer().normalize(d.export), rejections: d.rejections)
    }

    /// The outcome of a decoding as comparable text: the spans and rejections, or the error.
    static func outcome(_ body: () throws(OTLPDecodingError) -> NormalizedTraces) -> Result<NormalizedTraces, OTLPDecodingError> {
        do throws(OTLPDecodingError) { return .success(try body()) } catch { return .failure(error) }
    }

    @Test("every trace fixture, in every encoding, gives the same canonical spans")
    func fixtures() throws {
        let payloads = try Fixtures.tracePayloads()
        try #require(!payloads.isEmpty)
        for (caseName, file) in payloads {
            let body = try Fixtures.file(caseName, file)
            let encoding: ContentEncoding = Decompression.looksGzipped(body) ? .gzip : .identity
            let inflated = try Decompression.inflate(body, encoding: encoding, limit: 64 << 20)
            let format: OTLPFormat = inflated.first == UInt8(ascii: "{") ? .json : .protobuf
            let decoder = OTLPTraceBodyDecoder()
            let reference = try decoder.decode(body, format: format, encoding: encoding)
            let oneStep = try decoder.decodeNormalized(body, format: format, encoding: encoding)
            #expect(oneStep.spans == Normalizer().normalize(reference.export), "\(caseName)/\(file)")
            #expect(oneStep.rejections == reference.rejections, "\(caseName)/\(file)")
            #expect(oneStep.spans.count > 0, "\(caseName)/\(file)")
        }
    }

    @Test("every protobuf fixture re-encoded decodes to the same spans in one pass")
    func reencodedFixtures() throws {
        for (caseName, file) in try Fixtures.tracePayloads() where file.hasSuffix(".pb") {
            let export = try OTLPProtobufDecoder().decodeTraces(try Fixtures.file(caseName, file)).export
            let body = OTLPProtobufEncoder().encode(export)
            let oneStep = try OTLPProtobufDecoder().decodeNormalizedTraces(body)
            #expect(oneStep == (try Self.twoPass(body)), "\(caseName)/\(file)")
            // The attributes and events of every span survive unchanged.
            #expect(oneStep.spans.map(\.span) == export.resourceSpans.flatMap { $0.scopeSpans.flatMap(\.spans) })
        }
    }

    @Test("damaged protobuf bodies give the same spans, rejections or error in one pass")
    func damagedBodies() throws {
        let body = try Fixtures.file("otel-v2-http-protobuf", "0002-traces.req.pb")
        var rng = SplitMix64(seed: 0x0E5E_0002)
        var limits = DecodingLimits()
        limits.maxAttributes = 12
        limits.maxValueBytes = 200
        var differing: [String] = []
        var kinds = (decoded: 0, rejected: 0, failed: 0)
        for round in 0..<2_000 {
            var damaged = body
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                damaged[Int.random(in: 0..<damaged.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
            if round % 7 == 0 { damaged.removeLast(Int.random(in: 0..<damaged.count, using: &rng)) }
            let lim = round % 2 == 0 ? limits : .default
            let a = Self.outcome { () throws(OTLPDecodingError) in try OTLPProtobufDecoder(limits: lim).decodeNormalizedTraces(damaged) }
            let b = Self.outcome { () throws(OTLPDecodingError) in try Self.twoPass(damaged, limits: lim) }
            switch (a, b) {
            case (.success(let x), .success(let y)):
                if x.spans != y.spans || x.rejections != y.rejections {
                    differing.append("round \(round): \(x.rejections) vs \(y.rejections)")
                }
                if x.rejections.isEmpty { kinds.decoded += 1 } else { kinds.rejected += 1 }
            case (.failure(let x), .failure(let y)):
                if x.description != y.description { differing.append("round \(round): \(x) vs \(y)") }
                kinds.failed += 1
            default:
                differing.append("round \(round): \(a) vs \(b)")
            }
        }
        #expect(differing.isEmpty, "\(differing.count) differ, e.g. \(differing.prefix(3))")
        // The damage reached every outcome, so the comparison covered each of them.
        #expect(kinds.decoded > 0 && kinds.rejected > 0 && kinds.failed > 0, "\(kinds)")
    }

    @Test("attribute rules learned while interning keys match the convention table, for every key")
    func internedRules() throws {
        let interner = StringInterner()
        var keys = ConventionTable.rules.keys.map { $0 } + ["service.name", "x", "gen_ai.request.model.extra", String(repeating: "k", count: 80)]
        keys += keys  // the second time each key comes from the interner's table
        for key in keys {
            let bytes = Array(key.utf8)
            let (string, rule) = try bytes.withUnsafeBufferPointer { p throws(OTLPDecodingError) in
                try interner.key(p.baseAddress!, 0..<p.count)
            }
            #expect(string == key)
            #expect(rule == ConventionTable.ruleIndex(key), "\(key)")
            #expect((rule >= 0) == (ConventionTable.rules[key] != nil), "\(key)")
        }
    }
}
