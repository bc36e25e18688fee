import Testing
@testable import LanternCollector
import LanternModel
import LanternTesting

// Every OTLP trace payload captured from a real instrumentation (../shared/fixtures/otlp) is decoded
// in both encodings and normalized. The expected values below were read off each payload's `.txt`
// listing by hand; nothing parses the listings at test time.

/// What the `.txt` listings of the trace fixtures say.
enum NormalizationFixtures {
    enum Family: String, Sendable {
        case otelV2 = "otel-v2"
        case openLLMetry = "openllmetry"
        case openInference = "openinference"
        /// OpenInference with `--genai-semconv`: `gen_ai.*` attributes beside the `llm.*` ones.
        case openInferenceGenAI = "openinference-genai"
    }

    /// The harness's requests, named by the `app.scenario` attribute of each trace's root span.
    enum Scenario: String, Sendable, CaseIterable {
        case chat, stream, streamNoUsage = "stream_nousage", error500, error429

        var isError: Bool { self == .error500 || self == .error429 }
        var isStream: Bool { self == .stream || self == .streamNoUsage }
    }

    /// One LLM span of a listing: ids, status and `dur=` (milliseconds, rounded to 0.1).
    struct ListedSpan: Sendable {
        var scenario: Scenario
        var trace: String
        var span: String
        var parent: String
        var status: StatusCode
        var millis: Double
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var family: Family
        /// The request bodies as the client sent them (`.req.*`).
        var requests: [String]
        /// The same request in the other encoding (`.conv.*`).
        var twin: String
        var serviceVersion: String
        /// The five LLM spans in listing order (chat, stream, stream_nousage, error500, error429).
        var llm: [ListedSpan]
        /// `event '...' at +N ms` of the first streaming event, per stream scenario.
        var firstChunkMillis: [Scenario: Double]

        var payloads: [String] { requests + [twin] }
        var testDescription: String { name }
    }

    struct Payload: Sendable, CustomTestStringConvertible {
        var fixture: Case
        var file: String
        var testDescription: String { "\(fixture.name)/\(file)" }
    }

    static func payloads(of families: Family...) -> [Payload] {
        cases.filter { families.isEmpty || families.contains($0.family) }
            .flatMap { c in c.payloads.map { Payload(fixture: c, file: $0) } }
    }

    static let cases: [Case] = [
        Case(name: "otel-v2-grpc", family: .otelV2, requests: ["0001-traces.req.pb"], twin: "0001-traces.conv.json",
             serviceVersion: "v2", llm: [
                .init(scenario: .chat, trace: "dff9dfa1bc50383d7ff3b83a5952252a", span: "904f1e9f2e4144d7", parent: "6817c23e6fcfcbb7", status: .unset, millis: 223.9),
                .init(scenario: .stream, trace: "a5c7f6c40142d4e649f9c5373079e7a8", span: "30cb225c06d235e1", parent: "70d3db741f77eb76", status: .unset, millis: 501.1),
                .init(scenario: .streamNoUsage, trace: "acee8fd922904faee5acacb4a4b58ad0", span: "f5ec2d656e3ccf93", parent: "df8f6b23a76ff41e", status: .unset, millis: 501.9),
                .init(scenario: .error500, trace: "eb941ef736568b63c3ee3b3183a4a4d3", span: "9424586456bf4691", parent: "67cffe428a839646", status: .error, millis: 56.9),
                .init(scenario: .error429, trace: "b96d4a3e02b74b79ae4e409054fb348b", span: "b5436a3a058086e9", parent: "f59f43f02e16b0e3", status: .error, millis: 98.3),
             ], firstChunkMillis: [:]),
        Case(name: "otel-v2-http-json", family: .otelV2, requests: ["0001-traces.req.json"], twin: "0001-traces.conv.pb",
             serviceVersion: "v2", llm: [
                .init(scenario: .chat, trace: "5ab476812dbab62d76df75fa342a8817", span: "64e557247aeaef3f", parent: "8a68a0a2c9e002a1", status: .unset, millis: 222.2),
                .init(scenario: .stream, trace: "bffbbd3c624dc0dcd3862ee6d37cb75f", span: "7fbc66afc0e252a0", parent: "20843c05335ac0e6", status: .unset, millis: 539.4),
                .init(scenario: .streamNoUsage, trace: "0b7b6a391531fe437b517c68a51a06d8", span: "f954808bcfa60fc5", parent: "03072a3498a0e514", status: .unset, millis: 510.9),
                .init(scenario: .error500, trace: "7d4ae4889be60c0c0712dd81565b64bf", span: "68bb40f70411616b", parent: "5925dda4233a6804", status: .error, millis: 58.8),
                .init(scenario: .error429, trace: "d90f965524b64a37ef0278ff1f48a9d4", span: "0c93ae9263bc6dec", parent: "22c136999dd861e9", status: .error, millis: 99.0),
             ], firstChunkMillis: [:]),
        Case(name: "otel-v2-http-protobuf", family: .otelV2, requests: ["0002-traces.req.pb"], twin: "0002-traces.conv.json",
             serviceVersion: "v1", llm: [
                .init(scenario: .chat, trace: "7e80629d3ebddfa7344ef2d3b7ce62bf", span: "c6f603a00d75e0db", parent: "f89d762bfc777a23", status: .unset, millis: 217.4),
                .init(scenario: .stream, trace: "99ae55194994abe94dc27b993661f8e5", span: "e6ba612ce60e12bf", parent: "5100f193fc2d7d84", status: .unset, millis: 505.0),
                .init(scenario: .streamNoUsage, trace: "8c0097364946b54a3499b2f72b6eff15", span: "3cadffb6b94ac729", parent: "1ac7138eff0f1f12", status: .unset, millis: 501.7),
                .init(scenario: .error500, trace: "ac82aab3672cc2d8e96a2cf4d7eb17ec", span: "44d4014b9f54f416", parent: "708432a773a2621f", status: .error, millis: 57.9),
                .init(scenario: .error429, trace: "01671bb4743dc38aa9eab2587b76496e", span: "5b49c7a9285401a5", parent: "29f1f1bd64b3e858", status: .error, millis: 97.1),
             ], firstChunkMillis: [:]),
        Case(name: "openllmetry-grpc", family: .openLLMetry, requests: ["0001-traces.req.pb"], twin: "0001-traces.conv.json",
             serviceVersion: "v2", llm: [
                .init(scenario: .chat, trace: "82de67ca99281e46ce2c0bde25158004", span: "2aa71d8f14ac823e", parent: "982f21bcd2bb27ed", status: .unset, millis: 221.6),
                .init(scenario: .stream, trace: "faf337cc28f57c6d8fec9cdf45f54b0b", span: "ba9cfa0a179e42d4", parent: "6bac63e8c76ece9c", status: .ok, millis: 498.5),
                .init(scenario: .streamNoUsage, trace: "da56964adb98dbd61fc4b583213ca39d", span: "b816369ab734f1ab", parent: "ab16d23f2c5e136b", status: .ok, millis: 504.5),
                .init(scenario: .error500, trace: "47baade1d865f54042a5cb15566aba10", span: "688ce2c2d5209762", parent: "19cd0aefa3d10f84", status: .error, millis: 68.7),
                .init(scenario: .error429, trace: "87b35ff831991f6da64354116f5bbe1b", span: "7779f6addf351b0b", parent: "99e39768e4eea9a0", status: .error, millis: 108.8),
             ], firstChunkMillis: [.stream: 369.4, .streamNoUsage: 361.6]),
        Case(name: "openllmetry-http-json-gzip", family: .openLLMetry, requests: ["0001-traces.req.gz", "0001-traces.req.json"],
             twin: "0001-traces.conv.pb", serviceVersion: "v2", llm: [
                .init(scenario: .chat, trace: "5b0f2e68843d0a84e7318602b6a975ab", span: "daf5ea6dfe9787e1", parent: "1eb939110658f9e5", status: .unset, millis: 224.5),
                .init(scenario: .stream, trace: "635d71d5fc012f040d228a5933dfb35d", span: "219cbcfa47c329a2", parent: "242f1028ffdde53b", status: .ok, millis: 506.1),
                .init(scenario: .streamNoUsage, trace: "c7119fcbdfe6053f8bee2b1e1599a7ff", span: "e672ee85a7439c72", parent: "1bb3affc002c3e36", status: .ok, millis: 500.1),
                .init(scenario: .error500, trace: "46efe2d1cddf011373995e3876e99bd6", span: "0a4c7ac242f69860", parent: "2493dbf65fd657f6", status: .error, millis: 60.0),
                .init(scenario: .error429, trace: "29bf3723e9d2a3d0d6fffd3215aac669", span: "bf9633007da56e11", parent: "7780c9f9ab6cbfbf", status: .error, millis: 103.4),
             ], firstChunkMillis: [.stream: 362.1, .streamNoUsage: 357.9]),
        Case(name: "openllmetry-http-protobuf", family: .openLLMetry, requests: ["0001-traces.req.pb"], twin: "0001-traces.conv.json",
             serviceVersion: "v1", llm: [
                .init(scenario: .chat, trace: "2e15e3c2a775389281c1f2b5fa8b6c6a", span: "0ba46e75550e4195", parent: "6a1a32a2ded0f1b6", status: .unset, millis: 225.5),
                .init(scenario: .stream, trace: "2aef0f8b91b952d38dcc948f5dcdb9d8", span: "77e8e5abb4c9ec41", parent: "9d1dfe8543a92048", status: .ok, millis: 506.3),
                .init(scenario: .streamNoUsage, trace: "54ed5d261164b77dc27cd85b0d297874", span: "dbffe2eff320ba0e", parent: "a30bc1ebf30b4093", status: .ok, millis: 505.6),
                .init(scenario: .error500, trace: "7b8cde55bb41d5f34a5f1791ec9a5ca0", span: "6931398c86802731", parent: "444f34030a5a8892", status: .error, millis: 67.6),
                .init(scenario: .error429, trace: "fbc7e14a502df9fc5feb818c7e10fe08", span: "d504f0baa57a4bdd", parent: "98be155e4f9d9a5c", status: .error, millis: 104.9),
             ], firstChunkMillis: [.stream: 371.0, .streamNoUsage: 362.2]),
        Case(name: "openinference-grpc-gzip", family: .openInference, requests: ["0001-traces.req.pb"], twin: "0001-traces.conv.json",
             serviceVersion: "v2", llm: [
                .init(scenario: .chat, trace: "8a32cef25ba071c996a7b97e2e5976c3", span: "6a34cf4059a5c8ad", parent: "2e05280dcde64601", status: .ok, millis: 222.1),
                .init(scenario: .stream, trace: "da72700e836f2146f82ef2b0fd59ae67", span: "62ef767018bbe145", parent: "ba99063e1b34c86e", status: .ok, millis: 597.5),
                .init(scenario: .streamNoUsage, trace: "0e41a39c2a0ba9432b5cdf49ca243f19", span: "ed1f336fbd0b88a7", parent: "0310d456f2a79039", status: .ok, millis: 603.5),
                .init(scenario: .error500, trace: "fa3ec9faaa06353a773ca16c48d2d39b", span: "13c0d511e155c5da", parent: "3a67d59434981a5f", status: .error, millis: 54.5),
                .init(scenario: .error429, trace: "28f962ada3c70c3ff26def30fb388dfa", span: "7d90dbd014e57a70", parent: "3d50fd8053fbd248", status: .error, millis: 96.6),
             ], firstChunkMillis: [.stream: 367.8, .streamNoUsage: 461.0]),
        Case(name: "openinference-http-protobuf", family: .openInference, requests: ["0001-traces.req.pb"], twin: "0001-traces.conv.json",
             serviceVersion: "v1", llm: [
                .init(scenario: .chat, trace: "009c3aff818d4d5c0b14c8eec8eca1cb", span: "d21af6b3b71aa432", parent: "ccd5f48a8196eb2d", status: .ok, millis: 294.6),
                .init(scenario: .stream, trace: "9b1170a5ac19cf2f976b3bc49278f7ec", span: "3fb0ee1efc668acb", parent: "baf46ce3283b2dd3", status: .ok, millis: 501.8),
                .init(scenario: .streamNoUsage, trace: "51dbf32965279f819898186322b0ec0a", span: "4f1e0cd859aafaa9", parent: "290c0a48c990e01b", status: .ok, millis: 503.2),
                .init(scenario: .error500, trace: "9cb75cc1ae75e98caa73288865437077", span: "e32e5b9ec2767c07", parent: "895a1c4c2d3200eb", status: .error, millis: 64.9),
                .init(scenario: .error429, trace: "6b09d1f10a874c3cfc889d7b05f8dd0b", span: "62c0a4dccb6e4f15", parent: "6bec94bd439d54d1", status: .error, millis: 144.8),
             ], firstChunkMillis: [.stream: 369.3, .streamNoUsage: 358.7]),
        Case(name: "openinference-genai-http-json", family: .openInferenceGenAI, requests: ["0001-traces.req.json"], twin: "0001-traces.conv.pb",
             serviceVersion: "v2", llm: [
                .init(scenario: .chat, trace: "5312d81e4a3c0a5207bff4c98d963625", span: "f6abfbeefa523479", parent: "418a387741d3ab52", status: .ok, millis: 225.9),
                .init(scenario: .stream, trace: "1fbc445086ee6544b5d77351fea91386", span: "2edeef1cba0d0f89", parent: "59fef89c32d27f54", status: .ok, millis: 497.9),
                .init(scenario: .streamNoUsage, trace: "5d42f5d64df56103c042f190e88f69ae", span: "08ca7085c742f8a1", parent: "a96d77d420dcce63", status: .ok, millis: 499.1),
                .init(scenario: .error500, trace: "18373bc4e4408854e466ec839609c78f", span: "5d9e8cd14b61fc86", parent: "ecb65df7defa7ba4", status: .error, millis: 58.6),
                .init(scenario: .error429, trace: "1ae5001b100ba83185bd99e16be99e53", span: "2db8bacc441423aa", parent: "af8baf24fa7d88f2", status: .error, millis: 102.3),
             ], firstChunkMillis: [.stream: 360.1, .streamNoUsage: 356.6]),
    ]
}

extension NormalizationFixtures.Family {
    var llmSpanName: String {
        switch self {
        case .otelV2: return "chat gpt-fake-1"
        case .openLLMetry: return "openai.chat"
        case .openInference, .openInferenceGenAI: return "ChatCompletion"
        }
    }

    var llmKind: SpanKind {
        switch self {
        case .otelV2, .openLLMetry: return .client
        case .openInference, .openInferenceGenAI: return .internal
        }
    }

    /// (name, version, schema url) of the instrumentation's scope.
    var scope: (name: String, version: String, schemaURL: String) {
        switch self {
        case .otelV2: return ("opentelemetry.util.genai.handler", "1.1b0", "https://opentelemetry.io/schemas/1.37.0")
        case .openLLMetry: return ("opentelemetry.instrumentation.openai.v1", "0.62.4", "")
        case .openInference, .openInferenceGenAI: return ("openinference.instrumentation.openai", "0.1.66", "")
        }
    }

    /// The name of the span event that marks a streamed chunk, if the instrumentation records one.
    var chunkEvent: String? {
        switch self {
        case .otelV2: return nil
        case .openLLMetry: return "gen_ai.content.completion.chunk"
        case .openInference, .openInferenceGenAI: return "First Token Stream Event"
        }
    }

    /// The names of the span events the listing shows for a scenario, in order.
    func eventNames(_ s: NormalizationFixtures.Scenario) -> [String] {
        switch (self, s) {
        case (.otelV2, _), (_, .chat): return []
        case (_, .error500), (_, .error429): return ["exception"]
        case (.openLLMetry, .stream): return Array(repeating: "gen_ai.content.completion.chunk", count: 11)
        case (.openLLMetry, .streamNoUsage): return Array(repeating: "gen_ai.content.completion.chunk", count: 10)
        case (_, .stream), (_, .streamNoUsage): return ["First Token Stream Event"]
        }
    }

    func statusMessage(_ s: NormalizationFixtures.Scenario) -> String {
        let prefix: (String, String) = self == .openInference || self == .openInferenceGenAI
            ? ("InternalServerError: ", "RateLimitError: ") : ("", "")
        switch s {
        case .error500: return prefix.0 + "Error code: 500 - The server had an error (fake)"
        case .error429: return prefix.1 + "Error code: 429 - Rate limit reached (fake)"
        default: return ""
        }
    }

    /// A few attributes of the `chat` LLM span with their exact OTLP value types.
    var typedChatAttributes: [Attribute] {
        switch self {
        case .otelV2:
            return [Attribute("gen_ai.request.temperature", .double(0.2)), Attribute("gen_ai.request.max_tokens", .int(64)),
                    Attribute("gen_ai.response.finish_reasons", .array([.string("stop")])), Attribute("gen_ai.usage.input_tokens", .int(16)),
                    Attribute("openai.response.system_fingerprint", .string("fp_fake"))]
        case .openLLMetry:
            return [Attribute("gen_ai.is_streaming", .bool(false)), Attribute("gen_ai.request.temperature", .double(0.2)),
                    Attribute("gen_ai.response.finish_reasons", .array([.string("stop")])), Attribute("gen_ai.usage.total_tokens", .int(24)),
                    Attribute("gen_ai.usage.cache_read.input_tokens", .int(4))]
        case .openInference:
            return [Attribute("openinference.span.kind", .string("LLM")), Attribute("llm.token_count.total", .int(24)),
                    Attribute("llm.invocation_parameters", .string(#"{"model": "gpt-fake-1", "max_tokens": 64, "temperature": 0.2}"#)),
                    Attribute("llm.finish_reason", .string("stop"))]
        case .openInferenceGenAI:
            return [Attribute("gen_ai.request.temperature", .double(0.2)), Attribute("gen_ai.request.max_tokens", .int(64)),
                    Attribute("gen_ai.response.finish_reasons", .array([.string("stop")])), Attribute("llm.token_count.total", .int(24)),
                    Attribute("gen_ai.request.model", .string("gpt-fake-1-2026-11-01"))]
        }
    }
}

// MARK: - Loading

/// One payload decoded and normalized.
struct LoadedFixture {
    var decoded: DecodedTraces
    var canonical: [CanonicalSpan]

    var export: TraceExport { decoded.export }

    init(_ caseName: String, _ file: String) throws {
        let bytes = try Fixtures.file(caseName, file)
        let format: OTLPFormat = file.hasSuffix(".pb") ? .protobuf : .json
        let encoding: ContentEncoding = file.hasSuffix(".gz") ? .gzip : .identity
        decoded = try OTLPTraceBodyDecoder().decode(bytes, format: format, encoding: encoding)
        canonical = Normalizer().normalize(decoded.export)
    }

    init(_ payload: NormalizationFixtures.Payload) throws {
        try self.init(payload.fixture.name, payload.file)
    }

    /// The harness's root span of a scenario (`app.handle_request` with that `app.scenario`).
    func harnessSpan(_ s: NormalizationFixtures.Scenario) throws -> CanonicalSpan {
        let matches = canonical.filter {
            $0.span.name == "app.handle_request" && $0.span.attributes[key: "app.scenario"] == .string(s.rawValue)
        }
        try #require(matches.count == 1, "one app.handle_request span for \(s.rawValue)")
        return matches[0]
    }

    /// The LLM span of a scenario: the only child of that scenario's harness span.
    func llmSpan(_ s: NormalizationFixtures.Scenario) throws -> CanonicalSpan {
        let root = try harnessSpan(s)
        let children = canonical.filter { $0.span.traceID == root.span.traceID && $0.span.parentSpanID == root.span.spanID }
        try #require(children.count == 1, "one LLM span under the \(s.rawValue) request")
        return children[0]
    }
}

// MARK: - Tests

@Suite("Trace fixtures: decoding and normalization")
struct FixtureNormalizationTests {
    typealias Scenario = NormalizationFixtures.Scenario
    typealias Payload = NormalizationFixtures.Payload
    typealias Case = NormalizationFixtures.Case

    @Test("the tests cover every trace payload in the fixtures")
    func everyTracePayloadIsCovered() throws {
        let onDisk = try Set(Fixtures.tracePayloads().map { "\($0.caseName)/\($0.file)" })
        let covered = Set(NormalizationFixtures.payloads().map(\.testDescription))
        #expect(covered.count == 19)
        #expect(onDisk == covered)
    }

    // MARK: 1. decoding

    @Test("each payload decodes completely, as its listing shows", arguments: NormalizationFixtures.payloads())
    func payloadDecodes(_ p: Payload) throws {
        let f = try LoadedFixture(p)
        let family = p.fixture.family
        #expect(f.decoded.rejections.isEmpty, "\(f.decoded.rejections)")
        #expect(f.export.spanCount == 10)

        try #require(f.export.resourceSpans.count == 1)
        let rs = f.export.resourceSpans[0]
        #expect(rs.schemaURL == "")
        #expect(rs.resource.attributes.map(\.key) == [
            "telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version", "service.instance.id",
            "service.name", "service.version", "deployment.environment.name",
        ])
        #expect(rs.resource.attributes[key: "telemetry.sdk.version"] == .string("1.45.2"))
        #expect(rs.resource.attributes[key: "service.name"] == .string("acceptance-llm-app"))
        #expect(rs.resource.attributes[key: "service.version"] == .string(p.fixture.serviceVersion))
        #expect(rs.resource.attributes[key: "deployment.environment.name"] == .string("staging"))

        try #require(rs.scopeSpans.count == 2)
        let (llmScope, harness) = (rs.scopeSpans[0], rs.scopeSpans[1])
        #expect(llmScope.scope.name == family.scope.name)
        #expect(llmScope.scope.version == family.scope.version)
        #expect(llmScope.schemaURL == family.scope.schemaURL)
        #expect(llmScope.spans.count == 5)
        #expect(harness.scope.name == "acceptance.harness")
        #expect(harness.scope.version == "")
        #expect(harness.schemaURL == "")
        #expect(harness.spans.count == 5)

        for listed in p.fixture.llm {
            let s = listed.scenario
            let spanID = try #require(SpanID(hex: listed.span))
            let span = try #require(llmScope.spans.first { $0.spanID == spanID }, "\(s.rawValue) span \(listed.span)")
            #expect(span.traceID.hex == listed.trace)
            #expect(span.parentSpanID?.hex == listed.parent)
            #expect(span.name == family.llmSpanName)
            #expect(span.kind == family.llmKind)
            #expect(span.flags == 0x100)
            #expect(span.statusCode == listed.status, "\(s.rawValue)")
            #expect(span.statusMessage == family.statusMessage(s), "\(s.rawValue)")
            #expect(abs(Double(span.durationNanos) / 1e6 - listed.millis) <= 0.051, "\(s.rawValue) duration")
            #expect(span.events.map(\.name) == family.eventNames(s), "\(s.rawValue) events")
            if s.isError, family != .otelV2 {
                let exception = try #require(span.events.first)
                #expect(exception.attributes.map(\.key) == ["exception.type", "exception.message", "exception.stacktrace", "exception.escaped"])
                #expect(exception.attributes[key: "exception.type"]
                        == .string(s == .error500 ? "openai.InternalServerError" : "openai.RateLimitError"))
                #expect(exception.attributes[key: "exception.escaped"] == .string("False"))
            }
            if s == .chat {
                for expected in family.typedChatAttributes {
                    #expect(span.attributes[key: expected.key] == expected.value, "chat span \(expected.key)")
                }
            }

            // Its parent is the harness's root span for the same scenario.
            let root = try #require(harness.spans.first { $0.spanID == span.parentSpanID }, "\(s.rawValue) root span")
            #expect(root.traceID == span.traceID)
            #expect(root.parentSpanID == nil)
            #expect(root.name == "app.handle_request")
            #expect(root.kind == .internal)
            #expect(root.statusCode == .unset)
            #expect(root.attributes == [Attribute("app.scenario", .string(s.rawValue))])
        }
    }

    @Test("a request and its other-encoding twin decode to the same spans", arguments: NormalizationFixtures.cases)
    func requestMatchesTwin(_ c: Case) throws {
        let twin = try LoadedFixture(c.name, c.twin).export
        for file in c.requests {
            let request = try LoadedFixture(c.name, file).export
            expectIdentical(request, twin, "\(c.name): \(file) vs \(c.twin)")
        }
    }

    /// Compares piece by piece (for readable failures), then as a whole.
    private func expectIdentical(_ a: TraceExport, _ b: TraceExport, _ what: String) {
        #expect(a.resourceSpans.count == b.resourceSpans.count, "\(what)")
        for (x, y) in zip(a.resourceSpans, b.resourceSpans) {
            #expect(x.resource == y.resource, "\(what): resource")
            #expect(x.schemaURL == y.schemaURL, "\(what): resource schema url")
            #expect(x.scopeSpans.count == y.scopeSpans.count, "\(what)")
            for (s, t) in zip(x.scopeSpans, y.scopeSpans) {
                #expect(s.scope == t.scope, "\(what): scope \(s.scope.name)")
                #expect(s.schemaURL == t.schemaURL, "\(what): scope schema url")
                #expect(s.spans.count == t.spans.count, "\(what)")
                for (u, v) in zip(s.spans, t.spans) {
                    let name = "\(what): span \(u.spanID)"
                    #expect(u.traceID == v.traceID, "\(name) trace id")
                    #expect(u.spanID == v.spanID, "\(name) span id")
                    #expect(u.parentSpanID == v.parentSpanID, "\(name) parent id")
                    #expect(u.flags == v.flags, "\(name) flags")
                    #expect(u.traceState == v.traceState, "\(name) trace state")
                    #expect(u.name == v.name, "\(name) name")
                    #expect(u.kind == v.kind, "\(name) kind")
                    #expect(u.startTimeUnixNano == v.startTimeUnixNano, "\(name) start")
                    #expect(u.endTimeUnixNano == v.endTimeUnixNano, "\(name) end")
                    #expect(u.attributes == v.attributes, "\(name) attributes")
                    #expect(u.events == v.events, "\(name) events")
                    #expect(u.links == v.links, "\(name) links")
                    #expect(u.statusCode == v.statusCode, "\(name) status")
                    #expect(u.statusMessage == v.statusMessage, "\(name) status message")
                    #expect(u.droppedAttributesCount == v.droppedAttributesCount, "\(name) dropped attributes")
                    #expect(u == v, "\(name)")
                }
            }
        }
        #expect(a == b, "\(what)")
    }

    // MARK: 2. normalization, one test per instrumentation family

    @Test("OpenTelemetry openai-v2 (util-genai 1.1b0)", arguments: NormalizationFixtures.payloads(of: .otelV2))
    func otelV2(_ p: Payload) throws {
        let f = try LoadedFixture(p)
        // Only the http-protobuf run captured content, so only there do stream spans carry
        // gen_ai.output.messages, the sole place their finish reason appears.
        let hasContent = p.fixture.name == "otel-v2-http-protobuf"
        let named: [CanonicalField: From] = [
            .operation: .attribute("gen_ai.operation.name", .otelGenAI),
            .provider: .attribute("gen_ai.provider.name", .otelGenAI),
            .requestModel: .attribute("gen_ai.request.model", .otelGenAI),
        ]
        let answered = named.merging([.responseModel: .attribute("gen_ai.response.model", .otelGenAI)]) { $1 }
        let usage = answered.merging([
            .inputTokens: .attribute("gen_ai.usage.input_tokens", .otelGenAI),
            .outputTokens: .attribute("gen_ai.usage.output_tokens", .otelGenAI),
        ]) { $1 }

        for s in Scenario.allCases {
            let c = try f.llmSpan(s)
            var e = Expected()
            switch s {
            case .chat:
                e.inputTokens = 16; e.outputTokens = 8; e.finishReason = "stop"
                e.sources = usage.merging([.finishReason: .computed(.otelGenAI)]) { $1 }  // ["stop"] -> "stop"
            case .stream, .streamNoUsage:
                e.sources = s == .stream ? usage : answered
                if s == .stream { e.inputTokens = 16; e.outputTokens = 8 }
                if hasContent {
                    e.finishReason = "stop"
                    e.sources[.finishReason] = .computed(.content)
                }
            case .error500, .error429:
                e.responseModel = nil
                e.errorType = s == .error500 ? "InternalServerError" : "RateLimitError"  // from "<class 'openai.…'>"
                e.sources = named.merging([.errorType: .computed(.otelGeneral)]) { $1 }
            }
            try expectFields(c, e, p, s)
            #expect(c.genAI.timeToFirstToken == nil, "openai-v2 records no TTFT (\(s.rawValue))")
            #expect(c.provenance[.timeToFirstToken] == .absent)
        }
        try expectHarnessSpans(f, p)
    }

    @Test("OpenLLMetry 0.62.4", arguments: NormalizationFixtures.payloads(of: .openLLMetry))
    func openLLMetry(_ p: Payload) throws {
        let f = try LoadedFixture(p)
        let named: [CanonicalField: From] = [
            .operation: .attribute("gen_ai.operation.name", .otelGenAI),
            .provider: .attribute("gen_ai.provider.name", .otelGenAI),
            .requestModel: .attribute("gen_ai.request.model", .otelGenAI),
        ]
        let answered = named.merging([
            .responseModel: .attribute("gen_ai.response.model", .otelGenAI),
            .finishReason: .computed(.otelGenAI),  // gen_ai.response.finish_reasons = ["stop"]
        ]) { $1 }
        let usage = answered.merging([
            .inputTokens: .attribute("gen_ai.usage.input_tokens", .otelGenAI),
            .outputTokens: .attribute("gen_ai.usage.output_tokens", .otelGenAI),
            .cacheReadTokens: .attribute("gen_ai.usage.cache_read.input_tokens", .otelGenAI),
        ]) { $1 }

        for s in Scenario.allCases {
            let c = try f.llmSpan(s)
            var e = Expected()
            switch s {
            case .chat, .stream:
                // 16 input tokens of which 4 were cached: the 16 already includes them.
                e.inputTokens = 16; e.outputTokens = 8; e.cacheReadTokens = 4; e.finishReason = "stop"
                e.sources = usage
                if s == .chat {
                    e.reasoningTokens = 0
                    e.sources[.reasoningTokens] = .attribute("gen_ai.usage.reasoning_tokens", .openLLMetry)
                }
            case .streamNoUsage:
                e.finishReason = "stop"
                e.sources = answered
            case .error500, .error429:
                e.responseModel = nil
                e.errorType = s == .error500 ? "InternalServerError" : "RateLimitError"
                e.sources = named.merging([.errorType: .attribute("error.type", .otelGeneral)]) { $1 }
            }
            try expectFields(c, e, p, s)

            if s.isStream {
                let ttft = try expectTTFTFromEvent(c, p, s)
                #expect((0.3...0.45).contains(ttft), "\(p.testDescription) \(s.rawValue): TTFT \(ttft) s")
            } else {
                #expect(c.genAI.timeToFirstToken == nil, "\(s.rawValue)")
            }
        }
        try expectHarnessSpans(f, p)
    }

    @Test("OpenInference 0.1.66", arguments: NormalizationFixtures.payloads(of: .openInference))
    func openInference(_ p: Payload) throws {
        let f = try LoadedFixture(p)
        let named: [CanonicalField: From] = [
            .operation: .computed(.openInference),  // openinference.span.kind = "LLM"
            .provider: .attribute("llm.system", .openInference),
            .requestModel: .computed(.openInference),  // "model" inside llm.invocation_parameters
        ]
        let answered = named.merging([
            .responseModel: .attribute("llm.model_name", .openInference),
            .finishReason: .attribute("llm.finish_reason", .openInference),
        ]) { $1 }
        let usage = answered.merging([
            .inputTokens: .attribute("llm.token_count.prompt", .openInference),
            .outputTokens: .attribute("llm.token_count.completion", .openInference),
            .cacheReadTokens: .attribute("llm.token_count.prompt_details.cache_read", .openInference),
            .reasoningTokens: .attribute("llm.token_count.completion_details.reasoning", .openInference),
        ]) { $1 }

        for s in Scenario.allCases {
            let c = try f.llmSpan(s)
            var e = Expected()
            switch s {
            case .chat, .stream:
                e.inputTokens = 16; e.outputTokens = 8; e.cacheReadTokens = 4; e.reasoningTokens = 0; e.finishReason = "stop"
                e.sources = usage
            case .streamNoUsage:
                e.finishReason = "stop"
                e.sources = answered
            case .error500, .error429:
                // No error.type: the type comes from the exception event ("openai.RateLimitError").
                e.responseModel = nil
                e.errorType = s == .error500 ? "InternalServerError" : "RateLimitError"
                e.sources = named.merging([.errorType: .computed(.spanEvent)]) { $1 }
            }
            try expectFields(c, e, p, s)

            if s.isStream {
                _ = try expectTTFTFromEvent(c, p, s)
            } else {
                #expect(c.genAI.timeToFirstToken == nil, "\(s.rawValue)")
            }
        }
        try expectHarnessSpans(f, p)
    }

    @Test("OpenInference 0.1.66 with GenAI semantic conventions", arguments: NormalizationFixtures.payloads(of: .openInferenceGenAI))
    func openInferenceGenAI(_ p: Payload) throws {
        let f = try LoadedFixture(p)
        let named: [CanonicalField: From] = [
            .operation: .attribute("gen_ai.operation.name", .otelGenAI),
            .provider: .attribute("gen_ai.provider.name", .otelGenAI),
        ]
        let answered = named.merging([
            .responseModel: .attribute("gen_ai.response.model", .otelGenAI),
            .finishReason: .computed(.otelGenAI),  // gen_ai.response.finish_reasons = ["stop"]
        ]) { $1 }
        let usage = answered.merging([
            .inputTokens: .attribute("gen_ai.usage.input_tokens", .otelGenAI),
            .outputTokens: .attribute("gen_ai.usage.output_tokens", .otelGenAI),
            .cacheReadTokens: .attribute("gen_ai.usage.cache_read.input_tokens", .otelGenAI),
            .reasoningTokens: .attribute("llm.token_count.completion_details.reasoning", .openInference),
        ]) { $1 }

        for s in Scenario.allCases {
            let c = try f.llmSpan(s)
            // In this mode gen_ai.request.model holds the *response* model ("gpt-fake-1-2026-11-01") on
            // answered spans (OTEL.md section 7); the model actually requested is the one in
            // llm.invocation_parameters / input.value: "gpt-fake-1". Where it is read from is not pinned.
            var e = Expected()
            switch s {
            case .chat, .stream:
                e.inputTokens = 16; e.outputTokens = 8; e.cacheReadTokens = 4; e.reasoningTokens = 0; e.finishReason = "stop"
                e.sources = usage
            case .streamNoUsage:
                e.finishReason = "stop"
                e.sources = answered
            case .error500, .error429:
                e.responseModel = nil
                e.errorType = s == .error500 ? "InternalServerError" : "RateLimitError"
                e.sources = named.merging([.errorType: .computed(.spanEvent)]) { $1 }
            }
            try expectFields(c, e, p, s)

            if s.isStream {
                _ = try expectTTFTFromEvent(c, p, s)
            } else {
                #expect(c.genAI.timeToFirstToken == nil, "\(s.rawValue)")
            }
        }
        try expectHarnessSpans(f, p)
    }

    // MARK: 3. provenance, on every span of every payload

    @Test("a field's attribute index points at an attribute holding exactly its value", arguments: NormalizationFixtures.payloads())
    func attributeIndexesAreVerbatim(_ p: Payload) throws {
        let f = try LoadedFixture(p)
        for c in f.canonical {
            for field in CanonicalField.allCases {
                let value = Self.value(of: field, in: c)
                #expect((value != nil) == (c.provenance[field] != .absent),
                        "\(c.span.name) \(c.span.spanID) \(field): value \(String(describing: value)), convention \(c.provenance[field])")
                guard let i = c.provenance.attributeIndex(field) else { continue }
                try #require(c.span.attributes.indices.contains(i), "\(field): index \(i) out of range")
                #expect(c.span.attributes[i].value == value, "\(c.span.name) \(c.span.spanID) \(field) <- \(c.span.attributes[i].key)")
            }
        }
    }

    // MARK: - Helpers

    /// Where a canonical field must come from: its convention and, when the value is the attribute
    /// copied unchanged, that attribute's key (`key == nil`: no attribute index may be recorded).
    struct From {
        var convention: Convention
        var key: String?

        static func attribute(_ key: String, _ convention: Convention) -> From { From(convention: convention, key: key) }
        static func computed(_ convention: Convention) -> From { From(convention: convention, key: nil) }
    }

    /// The GenAI facts of one LLM span. Defaults: a chat with OpenAI that was answered.
    struct Expected {
        var operation = "chat"
        var provider = "openai"
        var requestModel = "gpt-fake-1"
        var responseModel: String? = "gpt-fake-1-2026-11-01"
        var inputTokens: Int64?
        var outputTokens: Int64?
        var cacheReadTokens: Int64?
        var reasoningTokens: Int64?
        var finishReason: String?
        var errorType: String?
        var sources: [CanonicalField: From] = [:]
    }

    private func expectFields(_ c: CanonicalSpan, _ e: Expected, _ p: Payload, _ s: Scenario,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let at = "\(p.testDescription) \(s.rawValue)"
        let g = c.genAI
        #expect(c.span.name == p.fixture.family.llmSpanName, "\(at)", sourceLocation: sourceLocation)
        #expect(g.isGenAI, "\(at)", sourceLocation: sourceLocation)
        #expect(g.operation == e.operation, "\(at): operation", sourceLocation: sourceLocation)
        #expect(g.provider == e.provider, "\(at): provider", sourceLocation: sourceLocation)
        #expect(g.requestModel == e.requestModel, "\(at): request model", sourceLocation: sourceLocation)
        #expect(g.responseModel == e.responseModel, "\(at): response model", sourceLocation: sourceLocation)
        #expect(g.model == (e.responseModel ?? e.requestModel), "\(at): model", sourceLocation: sourceLocation)
        #expect(g.inputTokens == e.inputTokens, "\(at): input tokens", sourceLocation: sourceLocation)
        #expect(g.outputTokens == e.outputTokens, "\(at): output tokens", sourceLocation: sourceLocation)
        #expect(g.cacheReadTokens == e.cacheReadTokens, "\(at): cache-read tokens", sourceLocation: sourceLocation)
        #expect(g.cacheCreationTokens == nil, "\(at): cache-creation tokens", sourceLocation: sourceLocation)
        #expect(g.reasoningTokens == e.reasoningTokens, "\(at): reasoning tokens", sourceLocation: sourceLocation)
        #expect(g.finishReason == e.finishReason, "\(at): finish reason", sourceLocation: sourceLocation)
        #expect(g.errorType == e.errorType, "\(at): error type", sourceLocation: sourceLocation)
        #expect(c.isError == s.isError, "\(at): status", sourceLocation: sourceLocation)
        #expect(g.conversationID == nil && g.userID == nil && g.promptName == nil && g.promptVersion == nil && g.reportedCost == nil,
                "\(at): fields the span does not carry", sourceLocation: sourceLocation)
        expectResourceFields(c, p, at, sourceLocation)

        for (field, from) in e.sources.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            #expect(c.provenance[field] == from.convention, "\(at): convention of \(field)", sourceLocation: sourceLocation)
            if let key = from.key {
                let i = try #require(c.provenance.attributeIndex(field), "\(at): \(field) should point at \(key)", sourceLocation: sourceLocation)
                try #require(c.span.attributes.indices.contains(i), "\(at): \(field) index \(i)", sourceLocation: sourceLocation)
                #expect(c.span.attributes[i].key == key, "\(at): \(field) source", sourceLocation: sourceLocation)
            } else {
                #expect(c.provenance.attributeIndex(field) == nil, "\(at): \(field) is not an attribute copied verbatim",
                        sourceLocation: sourceLocation)
            }
        }
    }

    private func expectResourceFields(_ c: CanonicalSpan, _ p: Payload, _ at: String, _ sourceLocation: SourceLocation) {
        #expect(c.serviceName == "acceptance-llm-app", "\(at): service", sourceLocation: sourceLocation)
        #expect(c.serviceVersion == p.fixture.serviceVersion, "\(at): service version", sourceLocation: sourceLocation)
        #expect(c.environment == "staging", "\(at): environment", sourceLocation: sourceLocation)
        #expect(c.provenance[.serviceName] == .resource, "\(at)", sourceLocation: sourceLocation)
        #expect(c.provenance[.serviceVersion] == .resource, "\(at)", sourceLocation: sourceLocation)
        #expect(c.provenance[.environment] == .resource, "\(at)", sourceLocation: sourceLocation)
    }

    /// TTFT of a stream span = its earliest chunk event minus its start, which the listing also shows.
    /// Returns the TTFT in seconds.
    private func expectTTFTFromEvent(_ c: CanonicalSpan, _ p: Payload, _ s: Scenario,
                                     sourceLocation: SourceLocation = #_sourceLocation) throws -> Double {
        let at = "\(p.testDescription) \(s.rawValue)"
        let eventName = try #require(p.fixture.family.chunkEvent)
        let listed = try #require(p.fixture.firstChunkMillis[s], "\(at): listing", sourceLocation: sourceLocation)
        let firstChunk = try #require(c.span.events.filter { $0.name == eventName }.map(\.timeUnixNano).min(),
                                      "\(at): no \(eventName) event", sourceLocation: sourceLocation)
        try #require(firstChunk >= c.span.startTimeUnixNano, sourceLocation: sourceLocation)
        let fromEvent = Double(firstChunk - c.span.startTimeUnixNano) / 1e9

        let ttft = try #require(c.genAI.timeToFirstToken, "\(at): TTFT", sourceLocation: sourceLocation)
        #expect(abs(ttft - fromEvent) <= 1e-6, "\(at): TTFT \(ttft) vs event \(fromEvent)", sourceLocation: sourceLocation)
        #expect(abs(ttft - listed / 1000) <= 0.0001, "\(at): TTFT \(ttft) vs listed +\(listed) ms", sourceLocation: sourceLocation)
        #expect(c.provenance[.timeToFirstToken] == .spanEvent, "\(at)", sourceLocation: sourceLocation)
        #expect(c.provenance.attributeIndex(.timeToFirstToken) == nil, "\(at)", sourceLocation: sourceLocation)
        return ttft
    }

    /// The harness's `app.handle_request` spans carry no GenAI facts but do get the resource's.
    private func expectHarnessSpans(_ f: LoadedFixture, _ p: Payload, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(f.canonical.count == 10, sourceLocation: sourceLocation)
        #expect(f.canonical.filter(\.genAI.isGenAI).count == 5, "\(p.testDescription): LLM spans", sourceLocation: sourceLocation)
        for s in Scenario.allCases {
            let c = try f.harnessSpan(s)
            let at = "\(p.testDescription) app.handle_request \(s.rawValue)"
            #expect(!c.genAI.isGenAI, "\(at)", sourceLocation: sourceLocation)
            #expect(c.genAI == GenAIFields(), "\(at)", sourceLocation: sourceLocation)
            #expect(!c.isError, "\(at)", sourceLocation: sourceLocation)
            expectResourceFields(c, p, at, sourceLocation)
        }
    }

    /// A canonical field's value as the attribute value it would have been copied from.
    static func value(of field: CanonicalField, in c: CanonicalSpan) -> AttributeValue? {
        let g = c.genAI
        func text(_ v: String?) -> AttributeValue? { v.map { .string($0) } }
        func count(_ v: Int64?) -> AttributeValue? { v.map { .int($0) } }
        func number(_ v: Double?) -> AttributeValue? { v.map { .double($0) } }
        switch field {
        case .operation: return text(g.operation)
        case .provider: return text(g.provider)
        case .requestModel: return text(g.requestModel)
        case .responseModel: return text(g.responseModel)
        case .inputTokens: return count(g.inputTokens)
        case .outputTokens: return count(g.outputTokens)
        case .cacheReadTokens: return count(g.cacheReadTokens)
        case .cacheCreationTokens: return count(g.cacheCreationTokens)
        case .reasoningTokens: return count(g.reasoningTokens)
        case .timeToFirstToken: return number(g.timeToFirstToken)
        case .finishReason: return text(g.finishReason)
        case .errorType: return text(g.errorType)
        case .conversationID: return text(g.conversationID)
        case .userID: return text(g.userID)
        case .promptName: return text(g.promptName)
        case .promptVersion: return text(g.promptVersion)
        case .reportedCost: return number(g.reportedCost)
        case .variant: return text(c.release.variant)
        case .rollout: return text(c.release.rollout)
        case .serviceName: return text(c.serviceName)
        case .serviceVersion: return text(c.serviceVersion)
        case .environment: return text(c.environment)
        }
    }
}
