import Foundation
import LanternTesting
import LanternStore
import Testing

/// The acceptance test with real OpenTelemetry clients: the unmodified OpenTelemetry Python SDK and
/// exporters with three OpenAI instrumentations (OpenLLMetry, OpenInference, the official openai-v2),
/// from `../shared/otel-clients`, call a fake OpenAI server and export to a real `lantern serve`, over
/// OTLP/HTTP (protobuf, gzipped JSON) and gzipped OTLP/gRPC; then `lantern query --json` must show
/// what the fake server actually answered.
///
/// The Python venvs come from `scripts/otel-clients-env.sh` (run by `scripts/install-deps.sh`, so CI has
/// them); when they are missing the test fails and says how to build them.
@Suite("Real OpenTelemetry clients against lantern serve", .serialized)
struct OTelClientTests {
    // MARK: Switches for signals the server does not take yet

    /// Set to true once `lantern serve` answers `POST /v1/metrics`: the emitters then export their
    /// metrics too (OpenLLMetry and openai-v2 have some) instead of running with `--no-metrics`, and a
    /// failed export fails the test like a failed trace export does.
    static let serverTakesMetrics = true
    /// Set to true once `lantern serve` answers `POST /v1/logs`: the emitters then run without
    /// `--no-logs`, and openai-v2 is asked for its log events (`--event`).
    static let serverTakesLogs = true

    // MARK: What the fake OpenAI server answers (see fake_openai.py and emit_common.py)

    /// `fake_openai.py --model`: the response model (the request model is ignored, like a dated snapshot).
    static let responseModel = "gpt-fake-1-2026-11-01"
    /// `emit_common.py --model` default: the request model.
    static let requestModel = "gpt-fake-1"
    /// `fake_openai.py --ttft`: seconds before the first SSE chunk.
    static let ttft = 0.3
    /// `fake_openai.py --chunk-delay`: seconds between the 8 word chunks, so the last content chunk comes
    /// 0.7 s after the first and a TTFT taken from the wrong chunk event (or the span's end) cannot pass.
    static let chunkDelay = 0.1
    /// `fake_openai.py --cached-tokens`: counted into the prompt tokens and reported as cached.
    static let cachedTokens: Int64 = 4
    /// Prompt tokens = words in the messages + cached tokens. The messages (emit_common.run_scenarios) are
    /// "You are a terse assistant." (5 words) and "Say hello to the observability platform (<label>)."
    /// (7 words; every emitter's label is one word).
    static let promptTokens: Int64 = 5 + 7 + cachedTokens
    /// Completion tokens = words in fake_openai.py's default `--text`,
    /// "Hello from the fake model. Observability is fun.".
    static let completionTokens: Int64 = 8
    /// Every scenario of emit_common.py: chat and stream carry usage, stream_nousage carries none, the
    /// error scenarios get a 500 and a 429 (forced with `x-fake-status`; no retries).
    static let scenarios = ["chat", "stream", "stream_nousage", "error500", "error429"]
    static let callsWithUsage: Int64 = 2
    static let streamingCalls = 2
    static let errorTypes = ["InternalServerError", "RateLimitError"]

    struct Emitter {
        /// Also the `service.name` it reports, so each instrumentation is a group of its own.
        var service: String
        /// `.venv-otel/<venv>`: `main` has the protobuf exporters, `json` the OTLP/JSON one.
        var venv: String
        var script: String
        var arguments: [String]
        var serviceVersion: String
        /// Spans that carry a TTFT (shared/OTEL.md): OpenLLMetry one `gen_ai.content.completion.chunk`
        /// event per chunk, OpenInference a `First Token Stream Event`; openai-v2 2.4b0 nothing.
        var givesTTFT: Bool
        /// openai-v2 2.4b0 does not report `prompt_tokens_details.cached_tokens`.
        var givesCachedTokens: Bool

        /// Exports over OTLP/gRPC (to the server's gRPC port) rather than OTLP/HTTP.
        var grpc: Bool { arguments.contains("grpc") }
    }

    static let emitters = [
        Emitter(service: "acc-openllmetry", venv: "main", script: "emit_openllmetry.py",
                arguments: ["--protocol", "http/protobuf"], serviceVersion: "v1", givesTTFT: true, givesCachedTokens: true),
        Emitter(service: "acc-openinference", venv: "json", script: "emit_openinference.py",
                arguments: ["--protocol", "http/json", "--gzip"], serviceVersion: "v2", givesTTFT: true, givesCachedTokens: true),
        Emitter(service: "acc-otel-v2", venv: "main", script: "emit_otel_v2.py",
                arguments: ["--protocol", "http/protobuf"] + (serverTakesLogs ? ["--event"] : []),
                serviceVersion: "v1", givesTTFT: false, givesCachedTokens: false),
        Emitter(service: "acc-otel-v2-json", venv: "json", script: "emit_otel_v2.py",
                arguments: ["--protocol", "http/json", "--gzip"] + (serverTakesLogs ? ["--event"] : []),
                serviceVersion: "v2", givesTTFT: false, givesCachedTokens: false),
        // Traces, metrics and logs over gzipped OTLP/gRPC (TraceService, MetricsService, LogsService Export).
        Emitter(service: "acc-openllmetry-grpc", venv: "main", script: "emit_openllmetry.py",
                arguments: ["--protocol", "grpc", "--gzip"], serviceVersion: "v2", givesTTFT: true, givesCachedTokens: true),
    ]

    static var clients: URL { Fixtures.shared.appendingPathComponent("otel-clients") }

    static func python(_ venv: String) -> URL {
        Fixtures.repositoryRoot.appendingPathComponent(".venv-otel/\(venv)/bin/python")
    }

    /// The inherited environment without anything that would redirect the clients: OTEL_* settings,
    /// and proxies (the OpenAI client and the exporters honour them; everything here is on loopback).
    static var clientEnvironment: [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            let k = key.lowercased()
            return !key.hasPrefix("OTEL_") && !key.hasPrefix("TRACELOOP_") && !key.hasPrefix("OPENINFERENCE_")
                && !k.hasPrefix("openai_") && !["http_proxy", "https_proxy", "all_proxy", "no_proxy"].contains(k)
        }
        env["NO_PROXY"] = "127.0.0.1,localhost"
        env["PYTHONUNBUFFERED"] = "1"
        return env
    }

    @Test("OpenLLMetry, OpenInference and openai-v2 over http/protobuf, gzipped http/json and gzipped gRPC: lantern query reports the fake server's models, tokens, errors and TTFT")
    func realClients() async throws {
        for venv in ["main", "json"] {
            let stamp = Fixtures.repositoryRoot.appendingPathComponent(".venv-otel/\(venv)/.lantern-stamp")
            try #require(FileManager.default.isExecutableFile(atPath: Self.python(venv).path) && FileManager.default.fileExists(atPath: stamp.path),
                         "the Python venv .venv-otel/\(venv) is missing or incomplete: run `bash scripts/otel-clients-env.sh` (scripts/install-deps.sh runs it)")
        }
        for file in ["fake_openai.py", "emit_common.py"] + Self.emitters.map(\.script) {
            try #require(FileManager.default.fileExists(atPath: Self.clients.appendingPathComponent(file).path),
                         "\(Self.clients.path)/\(file) is missing: ../shared must sit beside the repository (or set LANTERN_SHARED)")
        }

        try await withLanternServe(grpc: true) { server in
            let grpcPort = try #require(server.grpcPort)
            // The fake OpenAI server, on a free port it writes to a file.
            let portFile = server.dir.appendingPathComponent("openai.port")
            let fake = try ChildProcess.start("fake-openai", Self.python("main"), [
                Self.clients.appendingPathComponent("fake_openai.py").path, "--port", "0", "--port-file", portFile.path,
                "--model", Self.responseModel, "--ttft", String(Self.ttft), "--chunk-delay", String(Self.chunkDelay),
                "--latency", "0.2", "--cached-tokens", String(Self.cachedTokens),
            ], outputIn: server.dir, environment: Self.clientEnvironment)
            defer { fake.stop() }
            var openAIPort: Int?
            for _ in 0..<300 where fake.process.isRunning {
                if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) { openAIPort = port; break }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            let port = try #require(openAIPort, "fake_openai.py did not start:\n\(fake.stdout)\n\(fake.stderr)")

            // The emitters, all at once (each reports its own service, so they do not mix): real processes
            // exporting to the real server.
            var common = ["--openai-base-url", "http://127.0.0.1:\(port)/v1",
                          "--model", Self.requestModel, "--scenarios", Self.scenarios.joined(separator: ",")]
            if !Self.serverTakesMetrics { common.append("--no-metrics") }
            if !Self.serverTakesLogs { common.append("--no-logs") }
            var running: [(Emitter, ChildProcess)] = []
            for e in Self.emitters {
                let child = try ChildProcess.start(e.service, Self.python(e.venv),
                                                   [Self.clients.appendingPathComponent(e.script).path] + e.arguments + common
                                                       + ["--otlp-endpoint", e.grpc ? "127.0.0.1:\(grpcPort)" : "http://127.0.0.1:\(server.port)"]
                                                       + ["--service-name", e.service, "--service-version", e.serviceVersion],
                                                   outputIn: server.dir, environment: Self.clientEnvironment)
                running.append((e, child))
            }
            var emittersOK = true
            for (e, child) in running {
                let status = try await child.wait(timeout: 300)
                let stderr = child.stderr
                // The SDK exporters log a failed export and carry on; the emitter still exits 0.
                let exportFailures = stderr.split(separator: "\n").filter { $0.contains("Failed to export") || $0.contains("Failed to encode") }
                if status != 0 || !exportFailures.isEmpty {
                    emittersOK = false
                    let outcome = status.map { "exited \($0)" } ?? "timed out and was killed"
                    let failures = exportFailures.isEmpty ? "" : ", export failures: " + exportFailures.joined(separator: "; ")
                    let command = "\(e.script) \(e.arguments.joined(separator: " ")) in .venv-otel/\(e.venv)"
                    Issue.record("""
                        \(e.service) (\(command)) \(outcome)\(failures)
                        --- emitter stderr:
                        \(stderr)
                        --- emitter stdout:
                        \(child.stdout)
                        --- lantern serve log:
                        \(server.logText())
                        --- fake_openai.py output:
                        \(fake.stdout)\(fake.stderr)
                        """)
                }
            }
            try #require(emittersOK, "an emitter failed (see above)")

            // Every instrumentation on its own: versions, tokens, cached tokens, errors, TTFT.
            let byService = try await query(server, by: "service,service_version")
            #expect(Set(byService.groups.map(\.key)) == Set(Self.emitters.map { [$0.service, $0.serviceVersion] }),
                    "one group per emitter with its service version: \(byService.summary)")
            for e in Self.emitters {
                guard let g = byService.group([e.service, e.serviceVersion]) else { continue }
                let context = "\(e.service): \(g.summary)"
                #expect(g.spans == Self.scenarios.count && g.modelSpans == Self.scenarios.count, "\(context)")
                #expect(g.errors == Self.errorTypes.count, "\(context)")
                #expect(g.spansWithTokens == Int(Self.callsWithUsage), "\(context)")
                #expect(g.inputTokens == Self.callsWithUsage * Self.promptTokens, "\(context)")
                #expect(g.outputTokens == Self.callsWithUsage * Self.completionTokens, "\(context)")
                #expect(g.cacheReadTokens == (e.givesCachedTokens ? Self.callsWithUsage * Self.cachedTokens : 0), "\(context)")
                #expect(g.latency?.count == Self.scenarios.count, "\(context)")
                if e.givesTTFT {
                    #expect(g.ttft?.count == Self.streamingCalls, "both streaming calls carry a TTFT; \(context)")
                    Self.expectTTFT(g, context)
                } else {
                    #expect(g.ttft == nil, "the instrumentation gives no TTFT; \(context)")
                }
            }

            // Models: the fake server's response model on every answered call, the request model on all.
            let byModel = try await query(server, by: "service,request_model,response_model")
            for e in Self.emitters {
                let answered = byModel.group([e.service, Self.requestModel, Self.responseModel])
                #expect(answered?.spans == Self.scenarios.count - Self.errorTypes.count && answered?.errors == 0,
                        "\(e.service): answered calls report \(Self.responseModel): \(byModel.summary)")
                let failed = byModel.group([e.service, Self.requestModel, ""])
                #expect(failed?.spans == Self.errorTypes.count && failed?.errors == Self.errorTypes.count,
                        "\(e.service): failed calls have no response model: \(byModel.summary)")
            }
            #expect(byModel.groups.count == 2 * Self.emitters.count, "no other models: \(byModel.summary)")

            // Errors by type, one of each per instrumentation (openai-v2's raw error.type is "<class 'openai.RateLimitError'>";
            // OpenInference has none and only an exception event).
            let byError = try await query(server, by: "service,error_type")
            for e in Self.emitters {
                for type in Self.errorTypes {
                    let g = byError.group([e.service, type])
                    #expect(g?.spans == 1 && g?.errors == 1, "\(e.service): one \(type): \(byError.summary)")
                }
                #expect(byError.group([e.service, ""])?.errors == 0, "\(e.service): \(byError.summary)")
            }

            // Operation and provider are recognised for every GenAI span.
            let byOperation = try await query(server, by: "service,operation,provider")
            #expect(Set(byOperation.groups.map(\.key)) == Set(Self.emitters.map { [$0.service, "chat", "openai"] }),
                    "every GenAI span is a chat with provider openai: \(byOperation.summary)")

            // The report by version and model the README shows: v1 = OpenLLMetry + openai-v2 (protobuf),
            // v2 = OpenInference + openai-v2 (JSON) + OpenLLMetry (gRPC).
            let byVersion = try await query(server, by: "service_version,model")
            for version in ["v1", "v2"] {
                let emitters = Self.emitters.filter { $0.serviceVersion == version }
                let answered = try #require(byVersion.group([version, Self.responseModel]), "\(version): \(byVersion.summary)")
                let context = "\(version) \(Self.responseModel): \(answered.summary)"
                // Failed calls name only the request model, which the answered calls show is served as
                // the response model: they count there, so the model's error rate includes them.
                let failures = emitters.count * Self.errorTypes.count
                #expect(answered.spans == emitters.count * Self.scenarios.count && answered.errors == failures, "\(context)")
                #expect(answered.inputTokens == Int64(emitters.count) * Self.callsWithUsage * Self.promptTokens, "\(context)")
                #expect(answered.outputTokens == Int64(emitters.count) * Self.callsWithUsage * Self.completionTokens, "\(context)")
                #expect(answered.ttft?.count == emitters.filter(\.givesTTFT).count * Self.streamingCalls, "\(context)")
                Self.expectTTFT(answered, context)
            }
            #expect(byVersion.groups.count == 2, "\(byVersion.summary)")

            // Every span arrived, the app spans (`app.handle_request`, no GenAI facts) too.
            let all = try await query(server, by: "service", allSpans: true)
            for e in Self.emitters {
                #expect(all.group([e.service])?.spans == 2 * Self.scenarios.count, "\(e.service): \(all.summary)")
            }

            // Metrics and log events were kept: openai-v2 records gen_ai.client.operation.duration for
            // every call, OpenLLMetry its gen_ai.server.time_to_first_token for each streaming call.
            let metrics = try await ChildProcess.run("metrics", lanternExecutable, ["metrics", "--db", server.db, "--json"],
                                                     outputIn: server.dir, timeout: 120)
            try #require(metrics.status == 0, "lantern metrics: \(metrics.stderr)")
            let points = try JSONSerialization.jsonObject(with: Data(metrics.stdout.utf8)) as? [[String: Any]] ?? []
            func observations(_ name: String, service: String) -> Int {
                points.filter { $0["name"] as? String == name && $0["service"] as? String == service }.reduce(0) { $0 + (($1["count"] as? Int) ?? 0) }
            }
            for e in Self.emitters where e.script == "emit_otel_v2.py" {
                #expect(observations("gen_ai.client.operation.duration", service: e.service) == Self.scenarios.count, "\(e.service): \(metrics.stdout)")
            }
            for e in Self.emitters where e.script == "emit_openllmetry.py" {
                #expect(observations("gen_ai.server.time_to_first_token", service: e.service) >= Self.streamingCalls, "\(e.service): \(metrics.stdout)")
            }
            let store = try SQLiteSpanStore(path: server.db)
            let events = try store.logEventCounts()
            #expect(!events.isEmpty, "openai-v2 with --event sends its GenAI events as log records: \(events)")

            #expect(server.stop() == 0, "SIGTERM drains and exits 0:\n\(server.logText())")
        }
    }

    /// TTFT p50 is the fake server's delay before the first chunk: never less, and well before the last chunk.
    static func expectTTFT(_ g: QueryOutput.Group, _ context: String) {
        guard let p50 = g.ttft?.value(at: 0.5) else {
            Issue.record("no TTFT p50; \(context)")
            return
        }
        #expect(p50 >= ttft && p50 < ttft + 0.3, "TTFT p50 \(p50) s for --ttft \(ttft); \(context)")
    }

    /// `lantern query --db <server's db> --by <by> --json`, run while the server is up.
    func query(_ server: ServeProcess, by: String, allSpans: Bool = false) async throws -> QueryOutput {
        let args = ["query", "--db", server.db, "--by", by, "--json"] + (allSpans ? ["--all-spans"] : [])
        let r = try await ChildProcess.run("query-\(UUID().uuidString.prefix(8))", lanternExecutable, args,
                                           outputIn: server.dir, timeout: 120)
        try #require(r.status == 0, "lantern \(args.joined(separator: " ")) exited \(r.status.map(String.init) ?? "(killed)"):\n\(r.stdout)\n\(r.stderr)")
        do {
            return try JSONDecoder().decode(QueryOutput.self, from: Data(r.stdout.utf8))
        } catch {
            Issue.record("cannot read the output of lantern \(args.joined(separator: " ")): \(error)\n\(r.stdout.prefix(4000))")
            throw error
        }
    }
}

/// The JSON `lantern query --json` prints (docs/CLI.md), as far as these tests read it.
struct QueryOutput: Decodable {
    struct Distribution: Decodable {
        var count: Int
        var quantiles: [Double]
        var values: [Double]
        var mean: Double

        func value(at q: Double) -> Double? {
            quantiles.firstIndex(of: q).flatMap { $0 < values.count ? values[$0] : nil }
        }
    }

    struct Group: Decodable {
        var key: [String]
        var spans: Int
        var modelSpans: Int
        var errors: Int
        var spansWithTokens: Int
        var inputTokens: Int64
        var outputTokens: Int64
        var cacheReadTokens: Int64
        var ttft: Distribution?
        var latency: Distribution?

        var summary: String {
            "\(key): \(spans) spans (\(modelSpans) with a model), \(errors) errors, tokens in \(inputTokens) out \(outputTokens) "
                + "cached \(cacheReadTokens) on \(spansWithTokens) spans, ttft \(ttft.map { "n=\($0.count) p50=\($0.value(at: 0.5) ?? -1)" } ?? "none"), "
                + "latency \(latency.map { "n=\($0.count) p50=\($0.value(at: 0.5) ?? -1)" } ?? "none")"
        }
    }

    var groupBy: [String]
    var groups: [Group]

    func group(_ key: [String]) -> Group? { groups.first { $0.key == key } }

    var summary: String { "by \(groupBy.joined(separator: ",")):\n" + groups.map { "  " + $0.summary }.joined(separator: "\n") }
}
