import Foundation
import Testing
@testable import LanternCollector
import LanternModel
import LanternTesting

// OTLP logs and metrics: every payload captured from a real instrumentation (../shared/fixtures/otlp)
// decoded in both encodings and checked against values read by hand off each payload's `.txt`
// listing (and, for what the listing leaves out, its `.conv.json`); round trips through both wire
// forms of every data kind; and broken input, which must never crash the decoder.

/// What the listings of the logs and metrics fixtures say.
enum SignalFixtures {
    /// One request body on disk.
    struct Payload: Sendable, CustomTestStringConvertible {
        var caseName: String
        var file: String

        var format: OTLPFormat { file.hasSuffix(".pb") ? .protobuf : .json }
        var encoding: ContentEncoding { file.hasSuffix(".gz") ? .gzip : .identity }
        var testDescription: String { "\(caseName)/\(file)" }

        func bytes() throws -> [UInt8] { try Fixtures.file(caseName, file) }
    }

    /// One listed log record: `log event_name=... trace=... span=...` and its attribute lines.
    struct ListedLog: Sendable {
        var trace: String
        var span: String
        var attributeCount: Int
        /// From the `.conv.json` (the listing does not print it).
        var observedTimeUnixNano: UInt64
        var errorType: String?
    }

    struct LogsPayload: Sendable, CustomTestStringConvertible {
        var fixture: LogsCase
        var payload: Payload
        var testDescription: String { payload.testDescription }
    }

    struct LogsCase: Sendable, CustomTestStringConvertible {
        var caseName: String
        var files: [String]
        var records: [ListedLog]

        var payloads: [Payload] { files.map { Payload(caseName: caseName, file: $0) } }
        var testDescription: String { "\(caseName)/\(files[0])" }
    }

    static let logs: [LogsCase] = [
        LogsCase(caseName: "otel-v2-http-protobuf", files: ["0001-logs.req.pb", "0001-logs.conv.json"], records: [
            ListedLog(trace: "7e80629d3ebddfa7344ef2d3b7ce62bf", span: "c6f603a00d75e0db", attributeCount: 14,
                      observedTimeUnixNano: 1_795_360_382_468_336_400),
            ListedLog(trace: "99ae55194994abe94dc27b993661f8e5", span: "e6ba612ce60e12bf", attributeCount: 11,
                      observedTimeUnixNano: 1_795_360_382_974_176_741),
        ]),
        LogsCase(caseName: "otel-v2-http-protobuf", files: ["0004-logs.req.pb", "0004-logs.conv.json"], records: [
            ListedLog(trace: "8c0097364946b54a3499b2f72b6eff15", span: "3cadffb6b94ac729", attributeCount: 9,
                      observedTimeUnixNano: 1_795_360_383_476_175_749),
            ListedLog(trace: "ac82aab3672cc2d8e96a2cf4d7eb17ec", span: "44d4014b9f54f416", attributeCount: 5,
                      observedTimeUnixNano: 1_795_360_383_534_302_542, errorType: "<class 'openai.InternalServerError'>"),
            ListedLog(trace: "01671bb4743dc38aa9eab2587b76496e", span: "5b49c7a9285401a5", attributeCount: 5,
                      observedTimeUnixNano: 1_795_360_383_631_704_930, errorType: "<class 'openai.RateLimitError'>"),
        ]),
    ]

    enum Family: String, Sendable {
        case otelV2 = "otel-v2"
        case openLLMetry = "openllmetry"
    }

    /// One metrics request, in every encoding the fixtures hold, and its listed sums.
    struct MetricsCase: Sendable, CustomTestStringConvertible {
        var caseName: String
        var family: Family
        var files: [String]
        var serviceVersion: String
        /// `gen_ai.client.operation.duration`: `sum=` of the four points (chat, streams, error500, error429).
        var durationSums: [Double]
        /// OpenLLMetry only: `gen_ai.server.time_to_first_token` and `llm.chat_completions.streaming_time_to_generate`.
        var ttftSum: Double? = nil
        var timeToGenerateSum: Double? = nil

        var payloads: [Payload] { files.map { Payload(caseName: caseName, file: $0) } }
        var testDescription: String { caseName }
    }

    struct MetricsPayload: Sendable, CustomTestStringConvertible {
        var fixture: MetricsCase
        var payload: Payload
        var testDescription: String { payload.testDescription }
    }

    static let metrics: [MetricsCase] = [
        MetricsCase(caseName: "otel-v2-grpc", family: .otelV2, files: ["0002-metrics.req.pb", "0002-metrics.conv.json"],
                    serviceVersion: "v2", durationSums: [0.2236, 1.0026, 0.0567, 0.0981]),
        MetricsCase(caseName: "otel-v2-http-json", family: .otelV2, files: ["0002-metrics.req.json", "0002-metrics.conv.pb"],
                    serviceVersion: "v2", durationSums: [0.2219, 1.0499, 0.0585, 0.0988]),
        MetricsCase(caseName: "otel-v2-http-protobuf", family: .otelV2, files: ["0003-metrics.req.pb", "0003-metrics.conv.json"],
                    serviceVersion: "v1", durationSums: [0.2170, 1.0059, 0.0575, 0.0968]),
        MetricsCase(caseName: "openllmetry-grpc", family: .openLLMetry, files: ["0002-metrics.req.pb", "0002-metrics.conv.json"],
                    serviceVersion: "v2", durationSums: [0.2201, 1.0009, 0.0592, 0.1067], ttftSum: 0.7295, timeToGenerateSum: 0.2716),
        MetricsCase(caseName: "openllmetry-http-json-gzip", family: .openLLMetry,
                    files: ["0002-metrics.req.gz", "0002-metrics.req.json", "0002-metrics.conv.pb"],
                    serviceVersion: "v2", durationSums: [0.2230, 1.0046, 0.0573, 0.1019], ttftSum: 0.7188, timeToGenerateSum: 0.2859),
        MetricsCase(caseName: "openllmetry-http-protobuf", family: .openLLMetry, files: ["0002-metrics.req.pb", "0002-metrics.conv.json"],
                    serviceVersion: "v1", durationSums: [0.2238, 1.0055, 0.0613, 0.1028], ttftSum: 0.7274, timeToGenerateSum: 0.2782),
    ]

    static var logPayloads: [Payload] { logs.flatMap(\.payloads) }
    static var logsPayloads: [LogsPayload] { logs.flatMap { c in c.payloads.map { LogsPayload(fixture: c, payload: $0) } } }
    static var metricsPayloads: [MetricsPayload] { metrics.flatMap { c in c.payloads.map { MetricsPayload(fixture: c, payload: $0) } } }

    /// Every logs or metrics body on disk, as `case/file`.
    static func onDisk() throws -> Set<String> {
        var out: Set<String> = []
        let fm = FileManager.default
        for c in try fm.contentsOfDirectory(atPath: Fixtures.otlp.path) {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: Fixtures.otlp.appendingPathComponent(c).path, isDirectory: &isDir), isDir.boolValue else { continue }
            for f in try fm.contentsOfDirectory(atPath: Fixtures.otlp.appendingPathComponent(c).path)
            where (f.contains("-logs.") || f.contains("-metrics.")) && (f.hasSuffix(".pb") || f.hasSuffix(".json") || f.hasSuffix(".gz"))
                && !f.hasSuffix("headers.json") {
                out.insert("\(c)/\(f)")
            }
        }
        return out
    }

    static let durationBoundsOtelV2: [Double] = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
    static let tokenBoundsOtelV2: [Double] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
    static let boundsOpenLLMetry: [Double] = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]
}

@Suite("OTLP logs and metrics decoding")
struct SignalDecodingTests {
    typealias Payload = SignalFixtures.Payload

    static func decodeLogs(_ p: Payload, limits: DecodingLimits = .default) throws -> DecodedLogs {
        try OTLPBodyDecoder(limits: limits).decodeLogs(p.bytes(), format: p.format, encoding: p.encoding)
    }

    static func decodeMetrics(_ p: Payload, limits: DecodingLimits = .default) throws -> DecodedMetrics {
        try OTLPBodyDecoder(limits: limits).decodeMetrics(p.bytes(), format: p.format, encoding: p.encoding)
    }

    @Test("the tests cover every logs and metrics payload in the fixtures")
    func everyPayloadIsCovered() throws {
        let covered = Set((SignalFixtures.logPayloads + SignalFixtures.metricsPayloads.map(\.payload)).map(\.testDescription))
        #expect(covered.count == 17)
        #expect(try SignalFixtures.onDisk() == covered)
    }

    // MARK: - Logs fixtures

    @Test("each logs payload decodes to the listed GenAI event records", arguments: SignalFixtures.logsPayloads)
    func logsPayloadDecodes(_ lp: SignalFixtures.LogsPayload) throws {
        let c = lp.fixture
        let d = try Self.decodeLogs(lp.payload)
        #expect(d.rejections.isEmpty, "\(d.rejections)")
        try #require(d.export.count == c.records.count)
        for (entry, listed) in zip(d.export.entries, c.records) {
            let origin = entry.origin
            #expect(origin.resource.attributes[key: "service.name"] == .string("acceptance-llm-app"))
            #expect(origin.resource.attributes[key: "service.version"] == .string("v1"))
            #expect(origin.resource.attributes[key: "deployment.environment.name"] == .string("staging"))
            #expect(origin.resource.attributes.count == 7)
            #expect(origin.resourceSchemaURL == "")
            #expect(origin.scope.name == "opentelemetry.util.genai.handler")
            #expect(origin.scope.version == "1.1b0")
            #expect(origin.scopeSchemaURL == "https://opentelemetry.io/schemas/1.37.0")

            let r = entry.record
            #expect(r.eventName == "gen_ai.client.inference.operation.details")
            #expect(r.resolvedEventName == "gen_ai.client.inference.operation.details")
            #expect(r.traceID?.hex == listed.trace)
            #expect(r.spanID?.hex == listed.span)
            #expect(r.severityNumber == .unspecified)
            #expect(r.severityText == "")
            // The body is present but holds no value (`"body": {}`): everything is in the attributes.
            #expect(r.body == .empty)
            #expect(r.flags == 3)
            #expect(r.timeUnixNano == 0)
            #expect(r.observedTimeUnixNano == listed.observedTimeUnixNano)
            #expect(r.effectiveTimeUnixNano == listed.observedTimeUnixNano)
            #expect(r.droppedAttributesCount == 0)
            #expect(r.attributes.count == listed.attributeCount)
            #expect(r.attributes[key: "gen_ai.operation.name"] == .string("chat"))
            #expect(r.attributes[key: "gen_ai.request.model"] == .string("gpt-fake-1"))
            #expect(r.attributes[key: "gen_ai.provider.name"] == .string("openai"))
            #expect(r.attributes[key: "error.type"] == listed.errorType.map { .string($0) })
            // Structured content: an array of kvlists, each with a role and an array of parts.
            guard case .array(let input)? = r.attributes[key: "gen_ai.input.messages"] else {
                Issue.record("gen_ai.input.messages is not an array")
                continue
            }
            #expect(input.count == 2)
            guard case .kvlist(let system)? = input.first, case .kvlist(let user)? = input.last else {
                Issue.record("messages are not kvlists")
                continue
            }
            #expect(system[key: "role"] == .string("system"))
            #expect(user[key: "role"] == .string("user"))
            #expect(user[key: "parts"] == .array([.kvlist([
                Attribute("content", .string("Say hello to the observability platform (otel-v2).")), Attribute("type", .string("text")),
            ])]))
        }
    }

    @Test("the first logs request's chat record carries the listed typed attributes")
    func chatRecordAttributes() throws {
        let d = try Self.decodeLogs(Payload(caseName: "otel-v2-http-protobuf", file: "0001-logs.req.pb"))
        let r = try #require(d.export.entries.first?.record)
        #expect(r.attributes.map(\.key) == [
            "gen_ai.operation.name", "gen_ai.request.model", "gen_ai.provider.name", "gen_ai.request.temperature",
            "gen_ai.request.max_tokens", "gen_ai.response.finish_reasons", "gen_ai.response.model", "gen_ai.response.id",
            "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.input.messages", "gen_ai.output.messages",
            "openai.response.service_tier", "openai.response.system_fingerprint",
        ])
        #expect(r.attributes[key: "gen_ai.request.temperature"] == .double(0.2))
        #expect(r.attributes[key: "gen_ai.request.max_tokens"] == .int(64))
        #expect(r.attributes[key: "gen_ai.response.finish_reasons"] == .array([.string("stop")]))
        #expect(r.attributes[key: "gen_ai.response.model"] == .string("gpt-fake-1-2026-11-01"))
        #expect(r.attributes[key: "gen_ai.response.id"] == .string("chatcmpl-703859740e654d21bd667c74"))
        #expect(r.attributes[key: "gen_ai.usage.input_tokens"] == .int(16))
        #expect(r.attributes[key: "gen_ai.usage.output_tokens"] == .int(8))
        #expect(r.attributes[key: "openai.response.system_fingerprint"] == .string("fp_fake"))
        #expect(r.attributes[key: "gen_ai.output.messages"] == .array([.kvlist([
            Attribute("role", .string("assistant")),
            Attribute("parts", .array([.kvlist([
                Attribute("content", .string("Hello from the fake model. Observability is fun.")), Attribute("type", .string("text")),
            ])])),
            Attribute("finish_reason", .string("stop")),
        ])]))
    }

    @Test("a logs request and its other-encoding twin decode to the same records", arguments: SignalFixtures.logs)
    func logsMatchTwin(_ c: SignalFixtures.LogsCase) throws {
        let decoded = try c.payloads.map { try Self.decodeLogs($0) }
        for d in decoded.dropFirst() { #expect(d == decoded[0]) }
    }

    // MARK: - Metrics fixtures

    @Test("each metrics payload decodes to the listed histograms and sums", arguments: SignalFixtures.metricsPayloads)
    func metricsPayloadDecodes(_ mp: SignalFixtures.MetricsPayload) throws {
        let c = mp.fixture
        let d = try Self.decodeMetrics(mp.payload)
        #expect(d.rejections.isEmpty, "\(d.rejections)")
        let origins = d.export.entries.map(\.origin)
        try #require(!origins.isEmpty)
        #expect(origins.allSatisfy { $0 == origins[0] })
        let origin = origins[0]
        #expect(origin.resource.attributes[key: "service.name"] == .string("acceptance-llm-app"))
        #expect(origin.resource.attributes[key: "service.version"] == .string(c.serviceVersion))
        #expect(origin.resource.attributes[key: "deployment.environment.name"] == .string("staging"))
        #expect(origin.resource.attributes[key: "telemetry.sdk.version"] == .string("1.45.2"))

        func histogram(_ name: String, unit: String) throws -> Metric.Histogram {
            let m = try #require(d.export.metrics(named: name).first, "\(name)")
            #expect(m.unit == unit, "\(name) unit")
            let h = try #require(m.histogram, "\(name) is a histogram")
            #expect(h.aggregationTemporality == .cumulative)
            for p in h.dataPoints {
                #expect(p.bucketCounts.count == p.explicitBounds.count + 1)
                #expect(p.bucketCounts.reduce(0, +) == p.count)
                let (lo, hi) = (try #require(p.min), try #require(p.max))
                #expect(lo <= hi)
                #expect(p.startTimeUnixNano > 0 && p.startTimeUnixNano <= p.timeUnixNano)
                // Each point keeps one exemplar linking it to the span it was measured in.
                #expect(p.exemplars.count == 1)
                #expect(p.exemplars.first?.traceID != nil && p.exemplars.first?.spanID != nil)
            }
            return h
        }
        func expectSums(_ h: Metric.Histogram, _ sums: [Double], _ what: String) {
            let got = h.dataPoints.map { $0.sum ?? .nan }
            #expect(got.count == sums.count && zip(got, sums).allSatisfy { abs($0 - $1) <= 0.000051 }, "\(what) sums \(got)")
        }

        switch c.family {
        case .otelV2:
            #expect(origin.scope.name == "opentelemetry.util.genai.handler")
            #expect(origin.scope.version == "")
            #expect(origin.scopeSchemaURL == "https://opentelemetry.io/schemas/1.37.0")
            #expect(d.export.entries.map(\.metric.name) == ["gen_ai.client.operation.duration", "gen_ai.client.token.usage"])
            #expect(d.export.dataPointCount == 8)

            let duration = try histogram("gen_ai.client.operation.duration", unit: "s")
            #expect(d.export.entries[0].metric.description == "Duration of GenAI client operation")
            #expect(duration.dataPoints.map(\.count) == [1, 2, 1, 1])
            expectSums(duration, c.durationSums, "duration")
            #expect(duration.dataPoints.allSatisfy { $0.explicitBounds == SignalFixtures.durationBoundsOtelV2 })
            #expect(duration.dataPoints.map { $0.attributes[key: "error.type"] } == [
                nil, nil, .string("<class 'openai.InternalServerError'>"), .string("<class 'openai.RateLimitError'>"),
            ])
            #expect(duration.dataPoints[0].attributes[key: "openai.response.system_fingerprint"] == .string("fp_fake"))
            #expect(duration.dataPoints[0].attributes.count == 6)

            let tokens = try histogram("gen_ai.client.token.usage", unit: "{token}")
            #expect(tokens.dataPoints.map(\.count) == [1, 1, 1, 1])
            expectSums(tokens, [16, 8, 16, 8], "token usage")
            #expect(tokens.dataPoints.map { $0.attributes[key: "gen_ai.token.type"] }
                    == [.string("input"), .string("output"), .string("input"), .string("output")])
            #expect(tokens.dataPoints.allSatisfy { $0.explicitBounds == SignalFixtures.tokenBoundsOtelV2 })
            // 16 tokens fall in (4, 16], the third bucket; 8 tokens too.
            #expect(tokens.dataPoints.allSatisfy { $0.bucketCounts[2] == 1 })
            #expect(tokens.dataPoints.map { $0.exemplars.first?.value } == [.int(16), .int(8), .int(16), .int(8)])

        case .openLLMetry:
            #expect(origin.scope.name == "opentelemetry.instrumentation.openai.v1")
            #expect(origin.scope.version == "0.62.4")
            #expect(origin.scopeSchemaURL == "")
            #expect(d.export.entries.map(\.metric.name) == [
                "gen_ai.client.token.usage", "gen_ai.client.generation.choices", "gen_ai.client.operation.duration",
                "gen_ai.server.time_to_first_token", "llm.chat_completions.streaming_time_to_generate",
                "llm.openai.chat_completions.exceptions",
            ])
            #expect(d.export.dataPointCount == 4 + 4 + 4 + 1 + 1 + 2)

            let tokens = try histogram("gen_ai.client.token.usage", unit: "token")
            #expect(tokens.dataPoints.map(\.count) == [1, 1, 1, 1])
            expectSums(tokens, [8, 16, 16, 8], "token usage")
            #expect(tokens.dataPoints.map { $0.attributes[key: "gen_ai.token.type"] }
                    == [.string("output"), .string("input"), .string("input"), .string("output")])
            #expect(tokens.dataPoints.map { $0.attributes[key: "stream"] } == [.bool(false), .bool(false), .bool(true), .bool(true)])
            #expect(tokens.dataPoints.allSatisfy { $0.explicitBounds == SignalFixtures.boundsOpenLLMetry })

            let choices = try #require(d.export.metrics(named: "gen_ai.client.generation.choices").first)
            #expect(choices.unit == "choice")
            let choiceSum = try #require(choices.sum)
            #expect(choiceSum.isMonotonic)
            #expect(choiceSum.aggregationTemporality == .cumulative)
            #expect(choiceSum.dataPoints.map(\.value) == [.int(1), .int(1), .int(2), .int(2)])
            #expect(choiceSum.dataPoints.map { $0.attributes[key: "gen_ai.response.finish_reason"] } == [nil, .string("stop"), nil, .string("stop")])

            let duration = try histogram("gen_ai.client.operation.duration", unit: "s")
            #expect(duration.dataPoints.map(\.count) == [1, 2, 1, 1])
            expectSums(duration, c.durationSums, "duration")
            #expect(duration.dataPoints.map { $0.attributes[key: "error.type"] }
                    == [nil, nil, .string("InternalServerError"), .string("RateLimitError")])
            // Every duration under 5 s lands in (0, 5], the second bucket.
            #expect(duration.dataPoints.allSatisfy { $0.bucketCounts[1] == $0.count })

            let ttft = try histogram("gen_ai.server.time_to_first_token", unit: "s")
            #expect(ttft.dataPoints.map(\.count) == [2])
            expectSums(ttft, [try #require(c.ttftSum)], "time to first token")
            #expect(ttft.dataPoints[0].attributes[key: "gen_ai.response.model"] == .string("gpt-fake-1"))

            let generate = try histogram("llm.chat_completions.streaming_time_to_generate", unit: "s")
            #expect(generate.dataPoints.map(\.count) == [2])
            expectSums(generate, [try #require(c.timeToGenerateSum)], "time to generate")

            let exceptions = try #require(d.export.metrics(named: "llm.openai.chat_completions.exceptions").first?.sum)
            #expect(exceptions.isMonotonic)
            #expect(exceptions.dataPoints.map(\.value) == [.int(1), .int(1)])
            #expect(exceptions.dataPoints.map { $0.attributes } == [
                [Attribute("error.type", .string("InternalServerError"))], [Attribute("error.type", .string("RateLimitError"))],
            ])
        }
    }

    @Test("a metrics request decodes the same from every encoding the fixtures hold", arguments: SignalFixtures.metrics)
    func metricsMatchTwin(_ c: SignalFixtures.MetricsCase) throws {
        let decoded = try c.payloads.map { try Self.decodeMetrics($0) }
        for (p, d) in zip(c.payloads, decoded).dropFirst() { #expect(d == decoded[0], "\(p.file)") }
    }

    @Test("a duration histogram's exemplars name the spans of the log records of the same run")
    func exemplarsLinkToLogRecords() throws {
        let metrics = try Self.decodeMetrics(Payload(caseName: "otel-v2-http-protobuf", file: "0003-metrics.req.pb"))
        let logs = try Self.decodeLogs(Payload(caseName: "otel-v2-http-protobuf", file: "0001-logs.req.pb"))
            .export.entries + Self.decodeLogs(Payload(caseName: "otel-v2-http-protobuf", file: "0004-logs.req.pb")).export.entries
        let duration = try #require(metrics.export.metrics(named: "gen_ai.client.operation.duration").first?.histogram)
        let exemplarSpans = duration.dataPoints.compactMap { $0.exemplars.first?.spanID }
        #expect(exemplarSpans.map(\.hex) == ["c6f603a00d75e0db", "3cadffb6b94ac729", "44d4014b9f54f416", "5b49c7a9285401a5"])
        let logSpans = Set(logs.compactMap(\.record.spanID))
        #expect(exemplarSpans.allSatisfy { logSpans.contains($0) })
        let first = try #require(duration.dataPoints.first?.exemplars.first)
        #expect(first.traceID?.hex == "7e80629d3ebddfa7344ef2d3b7ce62bf")
        #expect(first.timeUnixNano == 1_795_360_382_468_023_986)
        #expect(first.value == .double(0.21700084799999786))
    }

    // MARK: - Round trips

    @Test("fixtures re-encoded in every wire form decode to the same result", arguments: SignalWire.allCases)
    func fixturesRoundTrip(_ wire: SignalWire) throws {
        for p in SignalFixtures.logPayloads where p.format == .protobuf {
            let original = try Self.decodeLogs(p)
            #expect(try wire.decodeLogs(wire.encode(original.export)) == original, "\(p)")
        }
        for mp in SignalFixtures.metricsPayloads where mp.payload.format == .protobuf {
            let original = try Self.decodeMetrics(mp.payload)
            #expect(try wire.decodeMetrics(wire.encode(original.export)) == original, "\(mp.payload)")
        }
    }

    @Test("every kind of log record survives both encodings", arguments: SignalWire.allCases)
    func syntheticLogsRoundTrip(_ wire: SignalWire) throws {
        let export = SignalSamples.logs
        let d = try wire.decodeLogs(wire.encode(export))
        #expect(d.rejections.isEmpty, "\(d.rejections)")
        #expect(d.export == export)
        #expect(d.export.entries.map(\.record.resolvedEventName) == [nil, "gen_ai.user.message", "gen_ai.client.inference.operation.details", nil, nil])
        #expect(d.export.entries[0].record.severityNumber.description == "INFO")
        #expect(d.export.entries[4].record.severityNumber.description == "SEVERITY(30)")
        #expect(SeverityNumber(rawValue: 15).description == "WARN3")
    }

    @Test("every kind of metric survives both encodings", arguments: SignalWire.allCases)
    func syntheticMetricsRoundTrip(_ wire: SignalWire) throws {
        let export = SignalSamples.metrics
        let d = try wire.decodeMetrics(wire.encode(export))
        #expect(d.rejections.isEmpty, "\(d.rejections)")
        #expect(d.export == export)
        #expect(d.export.entries.map { $0.metric.data?.kindName } == ["gauge", "sum", "histogram", "exponential_histogram", "summary", nil])
        #expect(d.export.dataPointCount == 4 + 1 + 2 + 1 + 1)
    }

    @Test("JSON enum names, snake_case keys and numbers for 64-bit integers are accepted")
    func lenientJSON() throws {
        let logs = #"{"resource_logs":[{"scope_logs":[{"log_records":[{"severity_number":"SEVERITY_NUMBER_WARN2","time_unix_nano":1700000000000000000,"#
            + #""trace_id":"5B8EFFF798038103D269B633813FC60C","span_id":"EEE19B7EC3C1B174","event_name":"e","body":{"stringValue":"x"}}]}]}]}"#
        let r = try #require(try OTLPJSONDecoder().decodeLogs(Array(logs.utf8)).export.entries.first?.record)
        #expect(r.severityNumber == SeverityNumber(rawValue: 14))
        #expect(r.timeUnixNano == 1_700_000_000_000_000_000)
        #expect(r.traceID?.hex == "5b8efff798038103d269b633813fc60c")
        #expect(r.spanID?.hex == "eee19b7ec3c1b174")
        #expect(r.eventName == "e")
        #expect(r.body == .string("x"))

        let metrics = #"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"s","sum":{"aggregation_temporality":"AGGREGATION_TEMPORALITY_DELTA","#
            + #""is_monotonic":true,"data_points":[{"as_int":7,"time_unix_nano":"5"}]}}]}]}]}"#
        let m = try OTLPJSONDecoder().decodeMetrics(Array(metrics.utf8))
        #expect(m.rejections.isEmpty, "\(m.rejections)")
        let sum = try #require(m.export.entries.first?.metric.sum)
        #expect(sum == Metric.Sum(dataPoints: [NumberDataPoint(timeUnixNano: 5, value: .int(7))], aggregationTemporality: .delta, isMonotonic: true))
    }

    @Test("protobuf ids: empty or all zeros mean none, a wrong length rejects only that record")
    func protobufLogIDs() throws {
        let records: [[UInt8]] = [
            SignalProtobuf.field(9, [UInt8](repeating: 0, count: 16)) + SignalProtobuf.field(10, []),  // no ids
            SignalProtobuf.field(9, [UInt8](repeating: 7, count: 5)),                                   // bad trace_id
            SignalProtobuf.field(10, [UInt8](repeating: 7, count: 9)),                                  // bad span_id
            SignalProtobuf.field(12, Array("ok".utf8)),
        ]
        let d = try OTLPProtobufDecoder().decodeLogs(SignalProtobuf.envelope([(SignalSamples.origin, records)]))
        #expect(d.export.entries.map(\.record) == [LogRecord(), LogRecord(eventName: "ok")])
        #expect(d.rejections.map(\.location) == ["resource_logs[0].scope_logs[0].log_records[1]", "resource_logs[0].scope_logs[0].log_records[2]"])
        #expect(d.rejections.first?.reason.contains("trace_id") == true, "\(d.rejections)")
        #expect(d.rejections.last?.reason.contains("span_id") == true, "\(d.rejections)")
    }

    // MARK: - Bad input: truncation

    static let protobufBodies: [Payload] = [
        Payload(caseName: "otel-v2-http-protobuf", file: "0001-logs.req.pb"),
        Payload(caseName: "otel-v2-http-protobuf", file: "0003-metrics.req.pb"),
        Payload(caseName: "openllmetry-http-protobuf", file: "0002-metrics.req.pb"),
    ]

    @Test("every prefix of a logs or metrics protobuf body decodes or throws a truncation error", arguments: protobufBodies)
    func everyPrefix(_ p: Payload) throws {
        let body = try p.bytes()
        let isLogs = p.file.contains("logs")
        var wrong: [String] = []
        var decoded = 0
        for n in 0..<body.count {
            do {
                let prefix = Array(body[0..<n])
                let count = try isLogs ? OTLPProtobufDecoder().decodeLogs(prefix).export.count
                    : OTLPProtobufDecoder().decodeMetrics(prefix).export.dataPointCount
                decoded += 1
                if count != 0 { wrong.append("prefix \(n) decoded \(count) items") }
            } catch {
                let text = error.description
                if !(text.contains("runs past the end") || text.contains("truncated")) || error.offset == nil {
                    wrong.append("prefix \(n): \(text)")
                } else if let offset = error.offset, offset > n {
                    wrong.append("prefix \(n): offset \(offset) is past the end: \(text)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) bad outcomes, e.g. \(wrong.prefix(5))")
        // One resource field: only the empty prefix is a (empty) request.
        #expect(decoded == 1)
    }

    @Test("a log record or metric cut short anywhere fails the request naming it, or decodes shorter", arguments: [
        Payload(caseName: "otel-v2-http-protobuf", file: "0004-logs.req.pb"),
        Payload(caseName: "openllmetry-http-protobuf", file: "0002-metrics.req.pb"),
    ])
    func truncatedItems(_ p: Payload) throws {
        let isLogs = p.file.contains("logs")
        let (noun, itemsPath) = isLogs
            ? ("record", "resource_logs[0].scope_logs[0].log_records") : ("metric", "resource_metrics[0].scope_metrics[0].metrics")
        /// How many items a body keeps, and its rejections.
        func decode(_ body: [UInt8]) throws(OTLPDecodingError) -> (count: Int, rejections: [ItemRejection]) {
            if isLogs {
                let d = try OTLPProtobufDecoder().decodeLogs(body)
                return (d.export.count, d.rejections)
            }
            let d = try OTLPProtobufDecoder().decodeMetrics(body)
            return (d.export.entries.count, d.rejections)
        }
        // The fixture's items, each encoded alone, and their origins.
        let original: [(origin: SignalOrigin, item: [UInt8])]
        if isLogs {
            original = try OTLPProtobufDecoder().decodeLogs(p.bytes()).export.entries
                .map { (origin: $0.origin, item: SignalProtobuf.logRecord($0.record)) }
        } else {
            original = try OTLPProtobufDecoder().decodeMetrics(p.bytes()).export.entries
                .map { (origin: $0.origin, item: SignalProtobuf.metric($0.metric)) }
        }
        let items = original.map { $0.item }
        let origins = original.map { $0.origin }
        var wrong: [String] = []
        var structural = 0, shorter = 0
        for k in items.indices {
            let location = "\(itemsPath)[\(k)]"
            let full = items[k]
            for cut in 0..<full.count {
                var patched = items
                patched[k] = Array(full.prefix(cut))
                let body = SignalProtobuf.envelope(SignalProtobuf.groups(zip(origins, patched).map { (origin: $0, item: $1) }))
                do {
                    let d = try decode(body)
                    shorter += 1
                    if d.count != items.count || !d.rejections.isEmpty {
                        wrong.append("\(noun) \(k) cut \(cut): \(d.count) \(noun)s, \(d.rejections)")
                    }
                } catch {
                    structural += 1
                    let text = error.description
                    if !error.location.hasPrefix(location) || !(text.contains("runs past the end") || text.contains("truncated"))
                        || error.offset == nil {
                        wrong.append("\(noun) \(k) cut \(cut): \(text)")
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) bad outcomes, e.g. \(wrong.prefix(5))")
        #expect(structural > 0)
        #expect(shorter > 0)
    }

    @Test("every cut of a synthetic metric of each kind fails or decodes, never traps", arguments: SignalWire.allCases)
    func truncatedSyntheticMetrics(_ wire: SignalWire) throws {
        let export = SignalSamples.metrics
        var wrong: [String] = []
        for k in export.entries.indices {
            for cut in 0..<wire.encodeMetric(export.entries[k].metric).count {
                let body = wire.encode(export, patchingMetric: k) { Array($0.prefix(cut)) }
                do {
                    let d = try wire.decodeMetrics(body)
                    if let problem = Self.invariantViolation(d) { wrong.append("metric \(k) cut \(cut): \(problem)") }
                } catch {
                    if error.reason.isEmpty { wrong.append("metric \(k) cut \(cut): empty reason") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) bad outcomes, e.g. \(wrong.prefix(5))")
    }

    // MARK: - Bad input: random damage

    @Test("random byte flips in logs and metrics bodies never crash the decoder")
    func randomFlips() throws {
        let cases: [(Payload, rounds: Int)] = [
            (Payload(caseName: "otel-v2-http-protobuf", file: "0001-logs.req.pb"), 600),
            (Payload(caseName: "otel-v2-http-protobuf", file: "0001-logs.conv.json"), 300),
            (Payload(caseName: "otel-v2-http-protobuf", file: "0003-metrics.req.pb"), 600),
            (Payload(caseName: "openllmetry-http-protobuf", file: "0002-metrics.req.pb"), 600),
            (Payload(caseName: "otel-v2-http-json", file: "0002-metrics.req.json"), 300),
            (Payload(caseName: "openllmetry-http-json-gzip", file: "0002-metrics.req.gz"), 300),
        ]
        var rng = SplitMix64(seed: 0x5EED_5160)
        var wrong: [String] = []
        for (p, rounds) in cases {
            let body = try p.bytes()
            let isLogs = p.file.contains("logs")
            for round in 0..<rounds {
                var damaged = body
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    damaged[Int.random(in: 0..<damaged.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
                if round % 7 == 0 { damaged.removeLast(Int.random(in: 0..<damaged.count, using: &rng)) }
                do {
                    let decoder = OTLPBodyDecoder()
                    if isLogs {
                        let d = try decoder.decodeLogs(damaged, format: p.format, encoding: p.encoding)
                        if let problem = Self.invariantViolation(d) { wrong.append("\(p) round \(round): \(problem)") }
                    } else {
                        let d = try decoder.decodeMetrics(damaged, format: p.format, encoding: p.encoding)
                        if let problem = Self.invariantViolation(d) { wrong.append("\(p) round \(round): \(problem)") }
                    }
                } catch {
                    if error.description.isEmpty { wrong.append("\(p) round \(round): empty description") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test("log bodies nested 2000 deep reject their record without deep recursion")
    func hostileBodyNesting() throws {
        var value = SignalProtobuf.field(1, Array("x".utf8))
        for _ in 0..<2_000 { value = SignalProtobuf.field(5, SignalProtobuf.field(1, value)) }
        let records = [SignalProtobuf.field(12, Array("a".utf8)), SignalProtobuf.field(5, value), SignalProtobuf.field(12, Array("c".utf8))]
        let d = try OTLPProtobufDecoder().decodeLogs(SignalProtobuf.envelope([(SignalSamples.origin, records)]))
        #expect(d.export.entries.map(\.record.eventName) == ["a", "c"])
        try #require(d.rejections.count == 1, "\(d.rejections)")
        #expect(d.rejections[0].location == "resource_logs[0].scope_logs[0].log_records[1]")
        #expect(d.rejections[0].reason.contains("body"), "\(d.rejections[0].reason)")
        #expect(d.rejections[0].reason.contains("nested deeper than 16"), "\(d.rejections[0].reason)")
    }

    // MARK: - Bad input: protobuf faults

    @Test("a wrong wire type inside a record fails the request, naming the record and the field")
    func wrongWireTypeInLogRecord() throws {
        var w = ProtobufWriter()
        w.varint(1, 5, always: true)  // time_unix_nano is fixed64, not a varint
        let body = SignalProtobuf.envelope([(SignalSamples.origin, [SignalProtobuf.field(12, Array("a".utf8)), w.bytes])])
        let error = #expect(throws: OTLPDecodingError.self) { try OTLPProtobufDecoder().decodeLogs(body) }
        #expect(error?.location == "resource_logs[0].scope_logs[0].log_records[1]", "\(String(describing: error))")
        #expect(error?.reason.contains("time_unix_nano") == true, "\(String(describing: error))")
        #expect(error?.offset != nil)
    }

    @Test("a wrong wire type or a ragged packed field in a data point fails the request, naming the point")
    func structuralFaultInDataPoint() throws {
        var wrongWire = ProtobufWriter()
        wrongWire.fixed32(4, 1, always: true)  // count is fixed64
        let cases: [(point: [UInt8], field: String)] = [
            (SignalProtobuf.field(6, [1, 2, 3]), "bucket_counts"),  // packed fixed64 of 3 bytes
            (wrongWire.bytes, "count"),
        ]
        for (point, field) in cases {
            let histogram = SignalProtobuf.field(1, point)
            let metric = SignalProtobuf.field(1, Array("h".utf8)) + SignalProtobuf.field(9, histogram)
            let body = SignalProtobuf.envelope([(SignalSamples.origin, [metric])])
            let error = #expect(throws: OTLPDecodingError.self) { try OTLPProtobufDecoder().decodeMetrics(body) }
            #expect(error?.location == "resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[0]", "\(String(describing: error))")
            #expect(error?.reason.contains(field) == true, "\(String(describing: error))")
        }
    }

    @Test("a data point that breaks a rule of its kind is rejected alone", arguments: SignalWire.allCases)
    func invalidPointsRejectedAlone(_ wire: SignalWire) throws {
        let good = HistogramDataPoint(timeUnixNano: 1, count: 3, sum: 3, bucketCounts: [1, 2], explicitBounds: [1])
        var ragged = good
        ragged.bucketCounts = [1, 1, 1]
        var unordered = good
        unordered.explicitBounds = [2, 1]
        unordered.bucketCounts = [1, 1, 1]
        var badExemplar = good
        badExemplar.exemplars = [Exemplar(timeUnixNano: 1, value: .int(1))]
        let points = [good, ragged, unordered, good, badExemplar]
        let export = MetricsExport(entries: [MetricEntry(origin: SignalSamples.origin, metric: Metric(
            name: "h", data: .histogram(Metric.Histogram(dataPoints: points, aggregationTemporality: .delta))))])
        // The last point's exemplar gets a span id of 3 bytes (protobuf) or 6 hex digits (JSON).
        let d: DecodedMetrics
        switch wire {
        case .json:
            d = try wire.decodeMetrics(wire.encode(export, patchingMetric: 0) { bytes in
                Array(String(decoding: bytes, as: UTF8.self)
                    .replacingOccurrences(of: "\"exemplars\":[{", with: "\"exemplars\":[{\"spanId\":\"abcdef\",").utf8)
            })
        case .protobuf, .protobufUnpacked:
            var data: [UInt8] = []
            for (i, p) in points.enumerated() {
                var pw = ProtobufWriter()
                SignalProtobuf.histogramPoint(i == 4 ? good : p, &pw, packed: wire == .protobuf)
                if i == 4 { pw.message(8, always: true) { w in w.bytesField(4, [1, 2, 3]) } }
                data += SignalProtobuf.field(1, pw.bytes)
            }
            var temporality = ProtobufWriter()
            temporality.varint(2, 1)
            let metric = SignalProtobuf.field(1, Array("h".utf8)) + SignalProtobuf.field(9, data + temporality.bytes)
            d = try OTLPProtobufDecoder().decodeMetrics(SignalProtobuf.envelope([(SignalSamples.origin, [metric])]))
        }
        let h = try #require(d.export.entries.first?.metric.histogram)
        #expect(h.dataPoints == [good, good])
        #expect(h.aggregationTemporality == .delta)
        let prefix = "resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points"
        #expect(d.rejections.map(\.location) == [1, 2, 4].map { "\(prefix)[\($0)]" })
        let reasons = d.rejections.map(\.reason)
        try #require(reasons.count == 3)
        #expect(reasons[0].contains("bucket_counts") && reasons[0].contains("3 bucket counts for 1 explicit bounds"), "\(reasons[0])")
        #expect(reasons[1].contains("explicit_bounds") && reasons[1].contains("strictly increasing"), "\(reasons[1])")
        #expect(reasons[2].contains("exemplars[0]") && reasons[2].contains("span_id"), "\(reasons[2])")
    }

    // MARK: - Bad input: JSON of the wrong types

    struct JSONFieldCase: Sendable, CustomTestStringConvertible {
        var key: String
        var value: String
        var mentions: String
        var testDescription: String { "\(key): \(value)" }
    }

    @Test("a log record field of the wrong JSON type rejects that record, naming the field", arguments: [
        JSONFieldCase(key: "timeUnixNano", value: "[]", mentions: "time_unix_nano"),
        JSONFieldCase(key: "observedTimeUnixNano", value: "\"soon\"", mentions: "observed_time_unix_nano"),
        JSONFieldCase(key: "severityNumber", value: "\"LOUD\"", mentions: "severity_number"),
        JSONFieldCase(key: "severityText", value: "5", mentions: "severity_text"),
        JSONFieldCase(key: "body", value: "\"text\"", mentions: "body"),
        JSONFieldCase(key: "body", value: #"{"kvlistValue":{"values":[{"key":"n","value":{"intValue":"many"}}]}}"#, mentions: "body.[0].'n'"),
        JSONFieldCase(key: "attributes", value: "{}", mentions: "attributes"),
        JSONFieldCase(key: "attributes", value: #"[{"key":"k","value":{"boolValue":"yes"}}]"#, mentions: "attributes[0].'k'"),
        JSONFieldCase(key: "droppedAttributesCount", value: "-1", mentions: "dropped_attributes_count"),
        JSONFieldCase(key: "flags", value: "\"x\"", mentions: "flags"),
        JSONFieldCase(key: "traceId", value: "\"abc\"", mentions: "trace_id"),
        JSONFieldCase(key: "spanId", value: "12", mentions: "span_id"),
        JSONFieldCase(key: "eventName", value: "false", mentions: "event_name"),
    ])
    func jsonLogFieldOfWrongType(_ c: JSONFieldCase) throws {
        let body = SignalJSONText.logsRequest([SignalJSONText.logRecord(), SignalJSONText.logRecord([(c.key, c.value)]), SignalJSONText.logRecord()])
        let d = try OTLPJSONDecoder().decodeLogs(Array(body.utf8))
        #expect(d.export.count == 2)
        try #require(d.rejections.count == 1, "\(d.rejections)")
        #expect(d.rejections[0].location == "resource_logs[0].scope_logs[0].log_records[1]")
        #expect(d.rejections[0].reason.hasPrefix(c.mentions), "\(d.rejections[0].reason)")
    }

    @Test("a data point field of the wrong JSON type rejects that point, naming the field", arguments: [
        JSONFieldCase(key: "count", value: "[]", mentions: "count"),
        JSONFieldCase(key: "sum", value: "\"lots\"", mentions: "sum"),
        JSONFieldCase(key: "min", value: "true", mentions: "min"),
        JSONFieldCase(key: "bucketCounts", value: #"["1","x"]"#, mentions: "bucket_counts[1]"),
        JSONFieldCase(key: "bucketCounts", value: "3", mentions: "bucket_counts"),
        JSONFieldCase(key: "explicitBounds", value: #"[1,"a"]"#, mentions: "explicit_bounds[1]"),
        JSONFieldCase(key: "startTimeUnixNano", value: "-5", mentions: "start_time_unix_nano"),
        JSONFieldCase(key: "attributes", value: #"[{"key":"k","value":{"doubleValue":[]}}]"#, mentions: "attributes[0].'k'"),
        JSONFieldCase(key: "exemplars", value: #"[{"traceId":"zz"}]"#, mentions: "exemplars[0].trace_id"),
        JSONFieldCase(key: "exemplars", value: #"[{"asInt":"1.5"}]"#, mentions: "exemplars[0].as_int"),
        JSONFieldCase(key: "flags", value: "4294967296", mentions: "flags"),
    ])
    func jsonPointFieldOfWrongType(_ c: JSONFieldCase) throws {
        let body = SignalJSONText.metricsRequest([SignalJSONText.histogramMetric(points: [
            SignalJSONText.histogramPoint(), SignalJSONText.histogramPoint([(c.key, c.value)]), SignalJSONText.histogramPoint(),
        ])])
        let d = try OTLPJSONDecoder().decodeMetrics(Array(body.utf8))
        #expect(d.export.dataPointCount == 2)
        try #require(d.rejections.count == 1, "\(d.rejections)")
        #expect(d.rejections[0].location == "resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[1]")
        #expect(d.rejections[0].reason.hasPrefix(c.mentions), "\(d.rejections[0].reason)")
    }

    @Test("a metric field of the wrong JSON type rejects every point of that metric, naming the field", arguments: [
        JSONFieldCase(key: "name", value: "5", mentions: "name"),
        JSONFieldCase(key: "unit", value: "{}", mentions: "unit"),
        JSONFieldCase(key: "metadata", value: #"[{"key":"m","value":[]}]"#, mentions: "metadata[0].'m'"),
        JSONFieldCase(key: "histogram.aggregationTemporality", value: "\"SOMETIMES\"", mentions: "histogram.aggregation_temporality"),
        JSONFieldCase(key: "histogram.dataPoints", value: "{}", mentions: "histogram.data_points"),
        JSONFieldCase(key: "histogram", value: "[]", mentions: "histogram"),
    ])
    func jsonMetricFieldOfWrongType(_ c: JSONFieldCase) throws {
        let twoPoints = [SignalJSONText.histogramPoint(), SignalJSONText.histogramPoint()]
        let body = SignalJSONText.metricsRequest([
            SignalJSONText.histogramMetric(points: twoPoints),
            SignalJSONText.histogramMetric(points: twoPoints, replacing: [(c.key, c.value)]),
        ])
        let d = try OTLPJSONDecoder().decodeMetrics(Array(body.utf8))
        #expect(d.export.entries.count == 1)
        #expect(d.export.dataPointCount == 2)
        let metric = "resource_metrics[0].scope_metrics[0].metrics[1]"
        // A metric whose points could not be counted is rejected once, at its own location.
        let expected = c.key.hasPrefix("histogram") && c.key != "histogram.aggregationTemporality"
            ? [metric] : ["\(metric).histogram.data_points[0]", "\(metric).histogram.data_points[1]"]
        #expect(d.rejections.map(\.location) == expected)
        #expect(d.rejections.allSatisfy { $0.reason.hasPrefix(c.mentions) }, "\(d.rejections)")
    }

    @Test("a number data point value of the wrong JSON type rejects that point", arguments: [
        JSONFieldCase(key: "asInt", value: "\"1.5\"", mentions: "as_int"),
        JSONFieldCase(key: "asDouble", value: "{}", mentions: "as_double"),
        JSONFieldCase(key: "asDouble", value: "\"fast\"", mentions: "as_double"),
    ])
    func jsonNumberValueOfWrongType(_ c: JSONFieldCase) throws {
        let body = SignalJSONText.metricsRequest([
            #"{"name":"g","gauge":{"dataPoints":[{"asDouble":1.5},{"\#(c.key)":\#(c.value)},{"asInt":"-3"},{"asDouble":"-Infinity"}]}}"#,
        ])
        let d = try OTLPJSONDecoder().decodeMetrics(Array(body.utf8))
        let gauge = try #require(d.export.entries.first?.metric.gauge)
        #expect(gauge.dataPoints.map(\.value) == [.double(1.5), .int(-3), .double(-.infinity)])
        #expect(d.rejections.map(\.location) == ["resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[1]"])
        #expect(d.rejections.first?.reason.hasPrefix(c.mentions) == true, "\(d.rejections)")
    }

    struct EnvelopeCase: Sendable, CustomTestStringConvertible {
        var text: String
        var location: String
        var reason: String
        var testDescription: String { text }
    }

    @Test("a JSON envelope of the wrong shape fails the request, naming the path", arguments: [
        EnvelopeCase(text: #"[]"#, location: "request", reason: "JSON object"),
        EnvelopeCase(text: #"{"resourceLogs":{}}"#, location: "resource_logs", reason: "must be an array"),
        EnvelopeCase(text: #"{"resourceLogs":[3]}"#, location: "resource_logs[0]", reason: "must be an object"),
        EnvelopeCase(text: #"{"resourceLogs":[{"scopeLogs":"x"}]}"#, location: "resource_logs[0].scope_logs", reason: "must be an array"),
        EnvelopeCase(text: #"{"resourceLogs":[{"scopeLogs":[null]}]}"#, location: "resource_logs[0].scope_logs[0]", reason: "must be an object"),
        EnvelopeCase(text: #"{"resourceLogs":[{"scopeLogs":[{"logRecords":3}]}]}"#, location: "resource_logs[0].scope_logs[0].log_records",
                     reason: "must be an array"),
        EnvelopeCase(text: #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{]}]}]}"#, location: "request", reason: "invalid JSON at line 1"),
    ])
    func jsonEnvelopeOfWrongShape(_ c: EnvelopeCase) {
        let (text, location, reason) = (c.text, c.location, c.reason)
        let error = #expect(throws: OTLPDecodingError.self) { try OTLPJSONDecoder().decodeLogs(Array(text.utf8)) }
        #expect(error?.location == location, "\(String(describing: error))")
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
        let metricsText = text.replacingOccurrences(of: "Logs", with: "Metrics").replacingOccurrences(of: "logRecords", with: "metrics")
        let metricsError = #expect(throws: OTLPDecodingError.self) { try OTLPJSONDecoder().decodeMetrics(Array(metricsText.utf8)) }
        let metricsLocation = location.replacingOccurrences(of: "_logs", with: "_metrics").replacingOccurrences(of: "log_records", with: "metrics")
        #expect(metricsError?.location == metricsLocation, "\(String(describing: metricsError))")
    }

    @Test("a resource or scope of the wrong JSON shape rejects every item under it, naming the field")
    func jsonResourceOfWrongShape() throws {
        for (resource, scope, mentions) in [
            (#""resource":[]"#, #""scope":{"name":"t"}"#, "resource: must be an object"),
            (#""resource":{"attributes":{}}"#, #""scope":{"name":"t"}"#, "resource.attributes: must be an array"),
            (#""resource":{}"#, #""scope":"t""#, "scope: must be an object"),
            (#""resource":{}"#, #""scope":{"version":2}"#, "scope.version: must be a string"),
        ] {
            let text = #"{"resourceLogs":[{\#(resource),"scopeLogs":[{\#(scope),"logRecords":[{},{}]}]}]}"#
            let d = try OTLPJSONDecoder().decodeLogs(Array(text.utf8))
            #expect(d.export.count == 0)
            #expect(d.rejections.map(\.location) == (0..<2).map { "resource_logs[0].scope_logs[0].log_records[\($0)]" })
            #expect(d.rejections.allSatisfy { $0.reason.hasPrefix(mentions) }, "\(d.rejections)")
        }
    }

    @Test("a log record or metric that is not an object is rejected alone")
    func jsonItemNotAnObject() throws {
        let logs = try OTLPJSONDecoder().decodeLogs(Array(SignalJSONText.logsRequest([SignalJSONText.logRecord(), "[]", "7"]).utf8))
        #expect(logs.export.count == 1)
        #expect(logs.rejections.map(\.location) == ["resource_logs[0].scope_logs[0].log_records[1]", "resource_logs[0].scope_logs[0].log_records[2]"])
        #expect(logs.rejections.allSatisfy { $0.reason.contains("must be an object") })
        let metrics = try OTLPJSONDecoder().decodeMetrics(Array(SignalJSONText.metricsRequest([
            "\"m\"", SignalJSONText.histogramMetric(points: [SignalJSONText.histogramPoint(), "null", "[1]"]),
        ]).utf8))
        #expect(metrics.export.dataPointCount == 1)
        #expect(metrics.rejections.map(\.location) == [
            "resource_metrics[0].scope_metrics[0].metrics[0]",
            "resource_metrics[0].scope_metrics[0].metrics[1].histogram.data_points[1]",
            "resource_metrics[0].scope_metrics[0].metrics[1].histogram.data_points[2]",
        ])
    }

    // MARK: - Limits

    @Test("a resource or scope past a limit rejects every item under it", arguments: SignalWire.allCases)
    func resourceOverLimit(_ wire: SignalWire) throws {
        var limits = DecodingLimits()
        limits.maxAttributes = 4
        let big = SignalOrigin(resource: Resource(attributes: (0..<5).map { Attribute("r\($0)", .int(Int64($0))) }),
                               scope: InstrumentationScope(name: "s"))
        let logs = LogsExport(entries: [LogEntry(origin: SignalSamples.origin, record: LogRecord(eventName: "kept"))]
            + (0..<3).map { LogEntry(origin: big, record: LogRecord(eventName: "e\($0)")) })
        let d = try wire.decodeLogs(wire.encode(logs), limits: limits)
        #expect(d.export.entries.map(\.record.eventName) == ["kept"])
        #expect(d.rejections.map(\.location) == (0..<3).map { "resource_logs[1].scope_logs[0].log_records[\($0)]" })
        #expect(d.rejections.allSatisfy { $0.reason.hasPrefix("resource.attributes") }, "\(d.rejections)")

        let bigScope = SignalOrigin(resource: Resource(), scope: InstrumentationScope(name: "s", attributes: big.resource.attributes))
        let metrics = MetricsExport(entries: [MetricEntry(origin: bigScope, metric: SignalSamples.metrics.entries[2].metric)])
        let m = try wire.decodeMetrics(wire.encode(metrics), limits: limits)
        #expect(m.export.entries.isEmpty)
        #expect(m.rejections.map(\.location) == (0..<2).map { "resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[\($0)]" })
        #expect(m.rejections.allSatisfy { $0.reason.hasPrefix("scope.attributes") }, "\(m.rejections)")
    }

    @Test("points past the bucket, exemplar or value limits are rejected alone; a metric name past it rejects its points",
          arguments: SignalWire.allCases)
    func pointLimits(_ wire: SignalWire) throws {
        var limits = DecodingLimits()
        limits.maxBucketsPerPoint = 3
        limits.maxExemplarsPerPoint = 1
        limits.maxValueBytes = 100
        let ok = HistogramDataPoint(timeUnixNano: 1, count: 2, bucketCounts: [1, 1, 0], explicitBounds: [1, 2],
                                    exemplars: [Exemplar(timeUnixNano: 1, value: .double(1))])
        var manyBuckets = ok
        manyBuckets.explicitBounds = [1, 2, 3]
        manyBuckets.bucketCounts = [1, 1, 0, 0]
        var manyExemplars = ok
        manyExemplars.exemplars += manyExemplars.exemplars
        var longValue = ok
        longValue.attributes = [Attribute("long", .string(String(repeating: "x", count: 101)))]
        let exp = ExponentialHistogramDataPoint(count: 4, positive: .init(offset: 0, bucketCounts: [1, 1, 1, 1]))
        let summary = SummaryDataPoint(quantileValues: (0..<4).map { .init(quantile: Double($0) / 4, value: 1) })
        let export = MetricsExport(entries: [
            MetricEntry(origin: SignalSamples.origin, metric: Metric(name: "h", data: .histogram(.init(dataPoints: [ok, manyBuckets, manyExemplars, longValue])))),
            MetricEntry(origin: SignalSamples.origin, metric: Metric(name: "e", data: .exponentialHistogram(.init(dataPoints: [exp])))),
            MetricEntry(origin: SignalSamples.origin, metric: Metric(name: "q", data: .summary(.init(dataPoints: [summary])))),
            MetricEntry(origin: SignalSamples.origin, metric: Metric(name: String(repeating: "n", count: 101),
                                                                      data: .histogram(.init(dataPoints: [ok, ok])))),
        ])
        let d = try wire.decodeMetrics(wire.encode(export), limits: limits)
        #expect(d.export.entries.map(\.metric.name) == ["h", "e", "q"])
        #expect(d.export.entries.first?.metric.histogram?.dataPoints == [ok])
        let m = "resource_metrics[0].scope_metrics[0].metrics"
        #expect(d.rejections.map(\.location) == [
            "\(m)[0].histogram.data_points[1]", "\(m)[0].histogram.data_points[2]", "\(m)[0].histogram.data_points[3]",
            "\(m)[1].exponential_histogram.data_points[0]", "\(m)[2].summary.data_points[0]",
            "\(m)[3].histogram.data_points[0]", "\(m)[3].histogram.data_points[1]",
        ])
        let reasons = d.rejections.map(\.reason)
        try #require(reasons.count == 7)
        #expect(reasons[0].contains("more than 3 values"), "\(reasons[0])")
        #expect(reasons[1].hasPrefix("exemplars") && reasons[1].contains("more than 1 exemplars"), "\(reasons[1])")
        #expect(reasons[2].contains("'long'") && reasons[2].contains("100"), "\(reasons[2])")
        #expect(reasons[3].hasPrefix("positive.bucket_counts"), "\(reasons[3])")
        #expect(reasons[4].hasPrefix("quantile_values"), "\(reasons[4])")
        #expect(reasons[5].hasPrefix("name") && reasons[6].hasPrefix("name"), "\(reasons[5])")
    }

    // MARK: - Body level

    @Test("bodies are inflated within the size limit before decoding")
    func bodyLevel() throws {
        let gz = try Fixtures.file("openllmetry-http-json-gzip", "0002-metrics.req.gz")
        let plain = try Fixtures.file("openllmetry-http-json-gzip", "0002-metrics.req.json")
        #expect(try OTLPBodyDecoder().decodeMetrics(gz, format: .json, encoding: .gzip)
                == OTLPBodyDecoder().decodeMetrics(plain, format: .json, encoding: .identity))
        #expect(throws: OTLPBodyDecoder.Failure.tooLarge("decompressed body exceeds the limit of 1000 bytes")) {
            try OTLPBodyDecoder(maxBodyBytes: 1000).decodeMetrics(gz, format: .json, encoding: .gzip)
        }
        let logs = try Fixtures.file("otel-v2-http-protobuf", "0001-logs.req.pb")
        #expect(throws: OTLPBodyDecoder.Failure.self) {
            try OTLPBodyDecoder(maxBodyBytes: 1000).decodeLogs(logs, format: .protobuf, encoding: .identity)
        }
        let corrupt = #expect(throws: OTLPBodyDecoder.Failure.self) {
            try OTLPBodyDecoder().decodeLogs(Array(gz.prefix(40)), format: .json, encoding: .gzip)
        }
        guard case .malformed? = corrupt else {
            Issue.record("a cut gzip stream is \(String(describing: corrupt))")
            return
        }
        // Empty requests are empty successes.
        #expect(try OTLPBodyDecoder().decodeLogs([], format: .protobuf, encoding: .identity) == DecodedLogs())
        #expect(try OTLPBodyDecoder().decodeMetrics(Array("{}".utf8), format: .json, encoding: .identity) == DecodedMetrics())
        #expect(try OTLPBodyDecoder().decodeTraces([], format: .protobuf, encoding: .identity) == DecodedTraces())
    }
}

// MARK: - Helpers

extension SignalDecodingTests {
    /// What the decoder promises of every result, or nil when all holds.
    static func invariantViolation(_ d: DecodedLogs) -> String? {
        for e in d.export.entries {
            if e.record.traceID?.isZero == true || e.record.spanID?.isZero == true { return "a zero id kept on a record" }
        }
        if let r = d.rejections.first(where: { !$0.location.hasPrefix("resource_logs[") || $0.reason.isEmpty }) {
            return "rejection without a location or reason: \(r)"
        }
        return nil
    }

    static func invariantViolation(_ d: DecodedMetrics) -> String? {
        for e in d.export.entries {
            if let h = e.metric.histogram {
                for p in h.dataPoints where !p.bucketCounts.isEmpty && p.bucketCounts.count != p.explicitBounds.count + 1 {
                    return "histogram \(e.metric.name) kept a point with \(p.bucketCounts.count) counts for \(p.explicitBounds.count) bounds"
                }
            }
        }
        if let r = d.rejections.first(where: { !$0.location.hasPrefix("resource_metrics[") || $0.reason.isEmpty }) {
            return "rejection without a location or reason: \(r)"
        }
        return nil
    }
}

/// The wire forms a test can write logs and metrics in.
enum SignalWire: String, Sendable, CaseIterable {
    case protobuf
    /// Protobuf with repeated numbers written one field each, as proto2 senders do.
    case protobufUnpacked
    case json

    func encode(_ e: LogsExport) -> [UInt8] {
        switch self {
        case .protobuf, .protobufUnpacked: return SignalProtobuf.logs(e)
        case .json: return Array(SignalJSONText.logs(e).utf8)
        }
    }

    func encode(_ e: MetricsExport, patchingMetric index: Int? = nil, _ patch: ([UInt8]) -> [UInt8] = { $0 }) -> [UInt8] {
        switch self {
        case .protobuf, .protobufUnpacked: return SignalProtobuf.metrics(e, packed: self == .protobuf, patching: index, patch)
        case .json: return Array(SignalJSONText.metrics(e, patching: index) { String(decoding: patch(Array($0.utf8)), as: UTF8.self) }.utf8)
        }
    }

    func encodeMetric(_ m: Metric) -> [UInt8] {
        switch self {
        case .protobuf, .protobufUnpacked: return SignalProtobuf.metric(m, packed: self == .protobuf)
        case .json: return Array(SignalJSONText.metric(m).utf8)
        }
    }

    func decodeLogs(_ bytes: [UInt8], limits: DecodingLimits = .default) throws(OTLPDecodingError) -> DecodedLogs {
        switch self {
        case .protobuf, .protobufUnpacked: return try OTLPProtobufDecoder(limits: limits).decodeLogs(bytes)
        case .json: return try OTLPJSONDecoder(limits: limits).decodeLogs(bytes)
        }
    }

    func decodeMetrics(_ bytes: [UInt8], limits: DecodingLimits = .default) throws(OTLPDecodingError) -> DecodedMetrics {
        switch self {
        case .protobuf, .protobufUnpacked: return try OTLPProtobufDecoder(limits: limits).decodeMetrics(bytes)
        case .json: return try OTLPJSONDecoder(limits: limits).decodeMetrics(bytes)
        }
    }
}

/// Hand-built exports holding every field and data kind.
enum SignalSamples {
    static let origin = SignalOrigin(resource: Resource(attributes: [Attribute("service.name", .string("svc"))]),
                                     resourceSchemaURL: "https://example.com/r", scope: InstrumentationScope(name: "t", version: "1"),
                                     scopeSchemaURL: "https://example.com/s")
    static let otherOrigin = SignalOrigin(resource: Resource(attributes: [Attribute("service.name", .string("other"))], droppedAttributesCount: 2),
                                          scope: InstrumentationScope(name: "u", attributes: [Attribute("a", .int(1))], droppedAttributesCount: 1))

    static let logs = LogsExport(entries: [
        LogEntry(origin: origin, record: LogRecord(
            timeUnixNano: 1_700_000_000_000_000_001, observedTimeUnixNano: 1_700_000_000_000_000_002, severityNumber: .info,
            severityText: "INFO", body: .string("hello"), attributes: [Attribute("k", .double(0.5))], flags: 1,
            traceID: TraceID(high: 0xAB, low: 1), spanID: SpanID(raw: 2))),
        LogEntry(origin: origin, record: LogRecord(
            severityNumber: .warn, body: .kvlist([Attribute("content", .string("hi")), Attribute("role", .string("user"))]),
            attributes: [Attribute("event.name", .string("gen_ai.user.message"))], traceID: TraceID(high: 0xAB, low: 1))),
        LogEntry(origin: otherOrigin, record: LogRecord(body: .empty, eventName: "gen_ai.client.inference.operation.details")),
        LogEntry(origin: otherOrigin, record: LogRecord()),
        LogEntry(origin: origin, record: LogRecord(severityNumber: SeverityNumber(rawValue: 30), body: .bytes([0, 1, 2]),
                                                   droppedAttributesCount: 3, spanID: SpanID(raw: 9))),
    ])

    static let metrics: MetricsExport = {
        let exemplar = Exemplar(timeUnixNano: 5, value: .int(-7), traceID: TraceID(high: 1, low: 2), spanID: SpanID(raw: 3),
                                filteredAttributes: [Attribute("f", .bool(true))])
        let gauge = Metric(name: "g", description: "a gauge", unit: "1", metadata: [Attribute("m", .string("x"))], data: .gauge(.init(dataPoints: [
            NumberDataPoint(attributes: [Attribute("k", .string("v"))], timeUnixNano: 10, value: .double(-2.5)),
            NumberDataPoint(timeUnixNano: 11, value: .int(Int64.min), flags: 2),
            NumberDataPoint(timeUnixNano: 12, value: nil, flags: DataPointFlags.noRecordedValue),
            NumberDataPoint(timeUnixNano: 13, value: .double(.infinity)),
        ])))
        let sum = Metric(name: "s", unit: "{request}", data: .sum(.init(
            dataPoints: [NumberDataPoint(startTimeUnixNano: 1, timeUnixNano: 2, value: .int(42), exemplars: [exemplar])],
            aggregationTemporality: .delta, isMonotonic: true)))
        let histogram = Metric(name: "h", unit: "s", data: .histogram(.init(dataPoints: [
            HistogramDataPoint(attributes: [Attribute("gen_ai.token.type", .string("input"))], startTimeUnixNano: 1, timeUnixNano: 2,
                               count: 6, sum: 12.5, bucketCounts: [1, 2, 3], explicitBounds: [-1, 2.5], min: -3, max: 9,
                               exemplars: [Exemplar(timeUnixNano: 4, value: .double(2.25))], flags: 0),
            HistogramDataPoint(timeUnixNano: 3),
        ], aggregationTemporality: .cumulative)))
        let exponential = Metric(name: "e", data: .exponentialHistogram(.init(dataPoints: [
            ExponentialHistogramDataPoint(startTimeUnixNano: 1, timeUnixNano: 2, count: 10, sum: 55, scale: -3, zeroCount: 1,
                                          zeroThreshold: 1e-9, positive: .init(offset: -2, bucketCounts: [1, 0, UInt64.max]),
                                          negative: .init(offset: 5, bucketCounts: [4]), min: -8, max: 300, exemplars: [exemplar]),
        ], aggregationTemporality: .delta)))
        let summary = Metric(name: "q", description: "quantiles", data: .summary(.init(dataPoints: [
            SummaryDataPoint(attributes: [Attribute("a", .array([.int(1), .bool(false)]))], startTimeUnixNano: 1, timeUnixNano: 2,
                             count: 4, sum: 10, quantileValues: [.init(quantile: 0, value: 1), .init(quantile: 0.5, value: 2.5),
                                                                 .init(quantile: 1, value: 4)]),
        ])))
        return MetricsExport(entries: [
            MetricEntry(origin: origin, metric: gauge), MetricEntry(origin: origin, metric: sum),
            MetricEntry(origin: otherOrigin, metric: histogram), MetricEntry(origin: otherOrigin, metric: exponential),
            MetricEntry(origin: origin, metric: summary), MetricEntry(origin: origin, metric: Metric(name: "no data")),
        ])
    }()
}

/// Logs and metrics protobuf written by hand, for tests (the product has no encoder for them).
enum SignalProtobuf {
    static func field(_ number: Int, _ bytes: [UInt8]) -> [UInt8] {
        var w = ProtobufWriter()
        w.bytesField(number, bytes, always: true)
        return w.bytes
    }

    /// Consecutive entries of the same origin, as one resource with one scope each.
    static func groups<T>(_ items: [(origin: SignalOrigin, item: T)]) -> [(origin: SignalOrigin, items: [T])] {
        var out: [(origin: SignalOrigin, items: [T])] = []
        for (origin, item) in items {
            if let last = out.last, last.origin == origin {
                out[out.count - 1].items.append(item)
            } else {
                out.append((origin, [item]))
            }
        }
        return out
    }

    /// A request holding these encoded items, one resource and scope per group.
    static func envelope(_ groups: [(origin: SignalOrigin, items: [[UInt8]])]) -> [UInt8] {
        var out = ProtobufWriter()
        for g in groups {
            var rw = ProtobufWriter()
            rw.message(1) { w in
                for a in g.origin.resource.attributes { w.message(1) { w in OTLPProtobufEncoder.keyValue(a, &w) } }
                w.varint(2, UInt64(g.origin.resource.droppedAttributesCount))
            }
            var sw = ProtobufWriter()
            sw.message(1) { w in
                w.string(1, g.origin.scope.name)
                w.string(2, g.origin.scope.version)
                for a in g.origin.scope.attributes { w.message(3) { w in OTLPProtobufEncoder.keyValue(a, &w) } }
                w.varint(4, UInt64(g.origin.scope.droppedAttributesCount))
            }
            for item in g.items { sw.bytesField(2, item, always: true) }
            sw.string(3, g.origin.scopeSchemaURL)
            rw.bytesField(2, sw.bytes, always: true)
            rw.string(3, g.origin.resourceSchemaURL)
            out.bytesField(1, rw.bytes, always: true)
        }
        return out.bytes
    }

    static func logs(_ e: LogsExport, patching target: Int? = nil, _ patch: ([UInt8]) -> [UInt8] = { $0 }) -> [UInt8] {
        let items = e.entries.enumerated().map { (i, entry) in
            (origin: entry.origin, item: i == target ? patch(logRecord(entry.record)) : logRecord(entry.record))
        }
        return envelope(groups(items))
    }

    static func logRecord(_ r: LogRecord) -> [UInt8] {
        var w = ProtobufWriter()
        w.fixed64(1, r.timeUnixNano)
        w.varint(2, UInt64(bitPattern: Int64(r.severityNumber.rawValue)))
        w.string(3, r.severityText)
        if let body = r.body { w.message(5, always: true) { w in OTLPProtobufEncoder.anyValue(body, &w) } }
        for a in r.attributes { w.message(6) { w in OTLPProtobufEncoder.keyValue(a, &w) } }
        w.varint(7, UInt64(r.droppedAttributesCount))
        w.fixed32(8, r.flags)
        if let t = r.traceID { w.bytesField(9, t.bytes) }
        if let s = r.spanID { w.bytesField(10, s.bytes) }
        w.fixed64(11, r.observedTimeUnixNano)
        w.string(12, r.eventName)
        return w.bytes
    }

    static func metrics(_ e: MetricsExport, packed: Bool = true, patching target: Int? = nil,
                        _ patch: ([UInt8]) -> [UInt8] = { $0 }) -> [UInt8] {
        let items = e.entries.enumerated().map { (i, entry) in
            (origin: entry.origin, item: i == target ? patch(metric(entry.metric, packed: packed)) : metric(entry.metric, packed: packed))
        }
        return envelope(groups(items))
    }

    static func metric(_ m: Metric, packed: Bool = true) -> [UInt8] {
        var w = ProtobufWriter()
        w.string(1, m.name)
        w.string(2, m.description)
        w.string(3, m.unit)
        switch m.data {
        case .gauge(let g)?:
            w.message(5, always: true) { w in
                for p in g.dataPoints { w.message(1, always: true) { w in numberPoint(p, &w) } }
            }
        case .sum(let s)?:
            w.message(7, always: true) { w in
                for p in s.dataPoints { w.message(1, always: true) { w in numberPoint(p, &w) } }
                w.varint(2, UInt64(bitPattern: Int64(s.aggregationTemporality.rawValue)))
                w.varint(3, s.isMonotonic ? 1 : 0)
            }
        case .histogram(let h)?:
            w.message(9, always: true) { w in
                for p in h.dataPoints { w.message(1, always: true) { w in histogramPoint(p, &w, packed: packed) } }
                w.varint(2, UInt64(bitPattern: Int64(h.aggregationTemporality.rawValue)))
            }
        case .exponentialHistogram(let h)?:
            w.message(10, always: true) { w in
                for p in h.dataPoints { w.message(1, always: true) { w in exponentialPoint(p, &w, packed: packed) } }
                w.varint(2, UInt64(bitPattern: Int64(h.aggregationTemporality.rawValue)))
            }
        case .summary(let s)?:
            w.message(11, always: true) { w in
                for p in s.dataPoints { w.message(1, always: true) { w in summaryPoint(p, &w) } }
            }
        case nil:
            break
        }
        for a in m.metadata { w.message(12) { w in OTLPProtobufEncoder.keyValue(a, &w) } }
        return w.bytes
    }

    static func double(_ field: Int, _ d: Double?, _ w: inout ProtobufWriter) {
        if let d { w.fixed64(field, d.bitPattern, always: true) }
    }

    static func zigZag(_ v: Int32) -> UInt64 { UInt64(UInt32(bitPattern: (v << 1) ^ (v >> 31))) }

    static func fixed64s(_ field: Int, _ values: [UInt64], _ w: inout ProtobufWriter, packed: Bool) {
        if packed {
            var bytes: [UInt8] = []
            for v in values { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
            w.bytesField(field, bytes)
        } else {
            for v in values { w.fixed64(field, v, always: true) }
        }
    }

    static func exemplar(_ e: Exemplar, _ w: inout ProtobufWriter) {
        for a in e.filteredAttributes { w.message(7) { w in OTLPProtobufEncoder.keyValue(a, &w) } }
        w.fixed64(2, e.timeUnixNano)
        switch e.value {
        case .double(let d)?: w.fixed64(3, d.bitPattern, always: true)
        case .int(let i)?: w.fixed64(6, UInt64(bitPattern: i), always: true)
        case nil: break
        }
        if let s = e.spanID { w.bytesField(4, s.bytes) }
        if let t = e.traceID { w.bytesField(5, t.bytes) }
    }

    static func numberPoint(_ p: NumberDataPoint, _ w: inout ProtobufWriter) {
        for a in p.attributes { w.message(7) { w in OTLPProtobufEncoder.keyValue(a, &w) } }
        w.fixed64(2, p.startTimeUnixNano)
        w.fixed64(3, p.timeUnixNano)
        switch p.value {
        case .double(let d)?: w.fixed64(4, d.bitPattern, always: true)
        case .int(let i)?: w.fixed64(6, UInt64(bitPattern: i), always: true)
        case nil: break
        }
        for e in p.exemplars { w.message(5, always: true) { w in exemplar(e, &w) } }
        w.varint(8, UInt64(p.flags))
    }

    static func histogramPoint(_ p: HistogramDataPoint, _ w: inout ProtobufWriter, packed: Bool) {
        for a in p.attributes { w.message(9) { w in OTLPProtobufEncoder.keyValue(a, &w) } }
        w.fixed64(2, p.startTimeUnixNano)
        w.fixed64(3, p.timeUnixNano)
        w.fixed64(4, p.count)
        double(5, p.sum, &w)
        fixed64s(6, p.bucketCounts, &w, packed: packed)
        fixed64s(7, p.explicitBounds.map(\.bitPattern), &w, packed: packed)
        for e in p.exemplars { w.message(8, always: true) { w in exemplar(e, &w) } }
        w.varint(10, UInt64(p.flags))
        double(11, p.min, &w)
        double(12, p.max, &w)
    }

    static func exponentialPoint(_ p: ExponentialHistogramDataPoint, _ w: inout ProtobufWriter, packed: Bool) {
        func buckets(_ field: Int, _ b: ExponentialHistogramDataPoint.Buckets, _ w: inout ProtobufWriter) {
            w.message(field) { w in
                w.varint(1, zigZag(b.offset))
                if packed {
                    var inner = ProtobufWriter()
                    for c in b.bucketCounts { inner.rawVarint(c) }
                    w.bytesField(2, inner.bytes)
                } else {
                    for c in b.bucketCounts { w.varint(2, c, always: true) }
                }
            }
        }
        for a in p.attributes { w.message(1) { w in OTLPProtobufEncoder.keyValue(a, &w) } }
        w.fixed64(2, p.startTimeUnixNano)
        w.fixed64(3, p.timeUnixNano)
        w.fixed64(4, p.count)
        double(5, p.sum, &w)
        w.varint(6, zigZag(p.scale))
        w.fixed64(7, p.zeroCount)
        buckets(8, p.positive, &w)
        buckets(9, p.negative, &w)
        w.varint(10, UInt64(p.flags))
        for e in p.exemplars { w.message(11, always: true) { w in exemplar(e, &w) } }
        double(12, p.min, &w)
        double(13, p.max, &w)
        w.fixed64(14, p.zeroThreshold.bitPattern)
    }

    static func summaryPoint(_ p: SummaryDataPoint, _ w: inout ProtobufWriter) {
        for a in p.attributes { w.message(7) { w in OTLPProtobufEncoder.keyValue(a, &w) } }
        w.fixed64(2, p.startTimeUnixNano)
        w.fixed64(3, p.timeUnixNano)
        w.fixed64(4, p.count)
        w.fixed64(5, p.sum.bitPattern)
        for q in p.quantileValues {
            w.message(6, always: true) { w in
                w.fixed64(1, q.quantile.bitPattern)
                w.fixed64(2, q.value.bitPattern)
            }
        }
        w.varint(8, UInt64(p.flags))
    }
}

/// OTLP/JSON logs and metrics written by hand.
enum SignalJSONText {
    typealias Text = BadInputTests.JSONText

    static func number(_ d: Double) -> String {
        if d.isNaN { return "\"NaN\"" }
        if d.isInfinite { return d > 0 ? "\"Infinity\"" : "\"-Infinity\"" }
        return "\(d)"
    }

    static func object(_ fields: [(String, String?)]) -> String {
        "{" + fields.compactMap { k, v in v.map { "\(Text.quote(k)):\($0)" } }.joined(separator: ",") + "}"
    }

    static func envelope(_ groups: [(origin: SignalOrigin, items: [String])], _ keys: (String, String, String)) -> String {
        let resources = groups.map { g in
            let scope = object([
                ("name", Text.quote(g.origin.scope.name)), ("version", Text.quote(g.origin.scope.version)),
                ("attributes", Text.attributes(g.origin.scope.attributes)),
                ("droppedAttributesCount", "\(g.origin.scope.droppedAttributesCount)"),
            ])
            let scopes = object([("scope", scope), (keys.2, "[" + g.items.joined(separator: ",") + "]"),
                                 ("schemaUrl", Text.quote(g.origin.scopeSchemaURL))])
            return object([
                ("resource", object([("attributes", Text.attributes(g.origin.resource.attributes)),
                                     ("droppedAttributesCount", "\(g.origin.resource.droppedAttributesCount)")])),
                (keys.1, "[" + scopes + "]"), ("schemaUrl", Text.quote(g.origin.resourceSchemaURL)),
            ])
        }
        return object([(keys.0, "[" + resources.joined(separator: ",") + "]")])
    }

    static func logs(_ e: LogsExport) -> String {
        envelope(SignalProtobuf.groups(e.entries.map { (origin: $0.origin, item: logRecord($0.record)) }),
                 ("resourceLogs", "scopeLogs", "logRecords"))
    }

    static func logRecord(_ r: LogRecord) -> String {
        object([
            ("timeUnixNano", "\"\(r.timeUnixNano)\""), ("observedTimeUnixNano", "\"\(r.observedTimeUnixNano)\""),
            ("severityNumber", "\(r.severityNumber.rawValue)"), ("severityText", Text.quote(r.severityText)),
            ("body", r.body.map { Text.value($0) }), ("attributes", Text.attributes(r.attributes)),
            ("droppedAttributesCount", "\(r.droppedAttributesCount)"), ("flags", "\(r.flags)"),
            ("traceId", r.traceID.map { "\"\($0.hex)\"" }), ("spanId", r.spanID.map { "\"\($0.hex)\"" }),
            ("eventName", Text.quote(r.eventName)),
        ])
    }

    static func metrics(_ e: MetricsExport, patching target: Int? = nil, _ patch: (String) -> String = { $0 }) -> String {
        let items = e.entries.enumerated().map { (i, entry) in
            (origin: entry.origin, item: i == target ? patch(metric(entry.metric)) : metric(entry.metric))
        }
        return envelope(SignalProtobuf.groups(items), ("resourceMetrics", "scopeMetrics", "metrics"))
    }

    static func metric(_ m: Metric) -> String {
        var fields: [(String, String?)] = [("name", Text.quote(m.name)), ("description", Text.quote(m.description)),
                                           ("unit", Text.quote(m.unit)), ("metadata", Text.attributes(m.metadata))]
        func list<P>(_ points: [P], _ f: (P) -> String) -> String { "[" + points.map(f).joined(separator: ",") + "]" }
        switch m.data {
        case .gauge(let g)?:
            fields.append(("gauge", object([("dataPoints", list(g.dataPoints, numberPoint))])))
        case .sum(let s)?:
            fields.append(("sum", object([("dataPoints", list(s.dataPoints, numberPoint)),
                                          ("aggregationTemporality", "\(s.aggregationTemporality.rawValue)"),
                                          ("isMonotonic", "\(s.isMonotonic)")])))
        case .histogram(let h)?:
            fields.append(("histogram", object([("dataPoints", list(h.dataPoints, histogramPoint)),
                                                ("aggregationTemporality", "\(h.aggregationTemporality.rawValue)")])))
        case .exponentialHistogram(let h)?:
            fields.append(("exponentialHistogram", object([("dataPoints", list(h.dataPoints, exponentialPoint)),
                                                           ("aggregationTemporality", "\(h.aggregationTemporality.rawValue)")])))
        case .summary(let s)?:
            fields.append(("summary", object([("dataPoints", list(s.dataPoints, summaryPoint))])))
        case nil:
            break
        }
        return object(fields)
    }

    static func value(_ v: NumberValue?) -> [(String, String?)] {
        switch v {
        case .double(let d)?: return [("asDouble", number(d))]
        case .int(let i)?: return [("asInt", "\"\(i)\"")]
        case nil: return []
        }
    }

    static func exemplar(_ e: Exemplar) -> String {
        let head: [(String, String?)] = [("timeUnixNano", "\"\(e.timeUnixNano)\"")]
        return object(head + value(e.value) + [
            ("traceId", e.traceID.map { "\"\($0.hex)\"" }), ("spanId", e.spanID.map { "\"\($0.hex)\"" }),
            ("filteredAttributes", Text.attributes(e.filteredAttributes)),
        ])
    }

    static func common(_ attributes: [Attribute], _ start: UInt64, _ time: UInt64, _ flags: UInt32) -> [(String, String?)] {
        [("attributes", Text.attributes(attributes)), ("startTimeUnixNano", "\"\(start)\""), ("timeUnixNano", "\"\(time)\""),
         ("flags", "\(flags)")]
    }

    static func exemplars(_ list: [Exemplar]) -> String { "[" + list.map(exemplar).joined(separator: ",") + "]" }
    static func counts(_ list: [UInt64]) -> String { "[" + list.map { "\"\($0)\"" }.joined(separator: ",") + "]" }

    static func numberPoint(_ p: NumberDataPoint) -> String {
        object(common(p.attributes, p.startTimeUnixNano, p.timeUnixNano, p.flags) + value(p.value) + [("exemplars", exemplars(p.exemplars))])
    }

    static func histogramPoint(_ p: HistogramDataPoint) -> String {
        object(common(p.attributes, p.startTimeUnixNano, p.timeUnixNano, p.flags) + [
            ("count", "\"\(p.count)\""), ("sum", p.sum.map(number)), ("bucketCounts", counts(p.bucketCounts)),
            ("explicitBounds", "[" + p.explicitBounds.map(number).joined(separator: ",") + "]"),
            ("min", p.min.map(number)), ("max", p.max.map(number)), ("exemplars", exemplars(p.exemplars)),
        ])
    }

    static func exponentialPoint(_ p: ExponentialHistogramDataPoint) -> String {
        func buckets(_ b: ExponentialHistogramDataPoint.Buckets) -> String {
            object([("offset", "\(b.offset)"), ("bucketCounts", counts(b.bucketCounts))])
        }
        return object(common(p.attributes, p.startTimeUnixNano, p.timeUnixNano, p.flags) + [
            ("count", "\"\(p.count)\""), ("sum", p.sum.map(number)), ("scale", "\(p.scale)"), ("zeroCount", "\"\(p.zeroCount)\""),
            ("zeroThreshold", number(p.zeroThreshold)), ("positive", buckets(p.positive)), ("negative", buckets(p.negative)),
            ("min", p.min.map(number)), ("max", p.max.map(number)), ("exemplars", exemplars(p.exemplars)),
        ])
    }

    static func summaryPoint(_ p: SummaryDataPoint) -> String {
        let quantiles = p.quantileValues.map { object([("quantile", number($0.quantile)), ("value", number($0.value))]) }
        return object(common(p.attributes, p.startTimeUnixNano, p.timeUnixNano, p.flags) + [
            ("count", "\"\(p.count)\""), ("sum", number(p.sum)), ("quantileValues", "[" + quantiles.joined(separator: ",") + "]"),
        ])
    }

    // MARK: requests with fields replaced

    /// `fields` with some replaced or added (value `nil` drops one).
    static func replacing(_ fields: [(String, String)], _ changes: [(String, String)]) -> String {
        var out = fields
        for (key, value) in changes {
            if let i = out.firstIndex(where: { $0.0 == key }) { out[i].1 = value } else { out.append((key, value)) }
        }
        return "{" + out.map { "\(Text.quote($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    static func logsRequest(_ records: [String]) -> String {
        #"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"#
            + #""scopeLogs":[{"scope":{"name":"t"},"logRecords":[\#(records.joined(separator: ","))]}]}]}"#
    }

    static func logRecord(_ changes: [(String, String)] = []) -> String {
        replacing([
            ("timeUnixNano", "\"1700000000000000000\""), ("traceId", "\"5b8efff798038103d269b633813fc60c\""),
            ("spanId", "\"eee19b7ec3c1b174\""), ("eventName", "\"gen_ai.choice\""), ("body", #"{"stringValue":"ok"}"#),
        ], changes)
    }

    static func metricsRequest(_ metrics: [String]) -> String {
        #"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"#
            + #""scopeMetrics":[{"scope":{"name":"t"},"metrics":[\#(metrics.joined(separator: ","))]}]}]}"#
    }

    static func histogramPoint(_ changes: [(String, String)] = []) -> String {
        replacing([
            ("startTimeUnixNano", "\"1700000000000000000\""), ("timeUnixNano", "\"1700000001000000000\""), ("count", "\"3\""),
            ("sum", "6.5"), ("bucketCounts", #"["1","2"]"#), ("explicitBounds", "[1.5]"), ("min", "1"), ("max", "4"),
        ], changes)
    }

    /// A histogram metric; a key `histogram.x` replaces field `x` of the histogram message.
    static func histogramMetric(points: [String], replacing changes: [(String, String)] = []) -> String {
        let inner = changes.filter { $0.0.hasPrefix("histogram.") }.map { (String($0.0.dropFirst("histogram.".count)), $0.1) }
        let histogram = replacing([("aggregationTemporality", "2"), ("dataPoints", "[" + points.joined(separator: ",") + "]")], inner)
        return replacing([("name", "\"h\""), ("unit", "\"s\""), ("histogram", histogram)], changes.filter { !$0.0.hasPrefix("histogram.") })
    }
}
