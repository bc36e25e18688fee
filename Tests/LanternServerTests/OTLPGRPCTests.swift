import Foundation
import GRPCCore
import LanternCollector
import LanternGRPC
import LanternModel
@testable import LanternServer
import LanternStore
import LanternTesting
import LanternYAML
import Testing

/// OTLP/gRPC: `lantern serve`'s gRPC listener driven by a real gRPC client (grpcio from
/// `.venv-otel/main`, what the OpenTelemetry Python gRPC exporter uses), and the status mapping.
@Suite("OTLP/gRPC export services", .serialized)
struct OTLPGRPCTests {
    static let traceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    static let metricsExport = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
    static let logsExport = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

    /// One unary call made by `probe`: the method path, the message (hex, then `zeros` zero bytes),
    /// metadata, and whether grpcio gzips the message.
    struct Call: Encodable {
        var method: String
        var body: String
        var zeros = 0
        var metadata: [[String]] = []
        var gzip = false

        init(_ method: String, _ body: [UInt8] = [], zeros: Int = 0, metadata: [[String]] = [], gzip: Bool = false) {
            self.method = method
            let digits = Array("0123456789abcdef".utf8)
            self.body = String(decoding: body.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
            self.zeros = zeros
            self.metadata = metadata
            self.gzip = gzip
        }
    }

    /// What the client saw: the status code's name, its message, the response (hex) and the trailers
    /// (binary ones in hex).
    struct Result: Decodable {
        var code: String
        var details: String?
        var body: String?
        var trailers: [String: String]?
    }

    /// grpcio, with no protobuf classes: messages are passed through as bytes.
    static let probe = #"""
    import json, sys
    import grpc

    target, calls = sys.argv[1], json.load(open(sys.argv[2]))
    channel = grpc.insecure_channel(target)
    for c in calls:
        rpc = channel.unary_unary(c["method"])
        compression = grpc.Compression.Gzip if c["gzip"] else grpc.Compression.NoCompression
        try:
            body = rpc(bytes.fromhex(c["body"]) + bytes(c["zeros"]), metadata=[tuple(m) for m in c["metadata"]], compression=compression, timeout=30)
            out = {"code": "OK", "body": body.hex()}
        except grpc.RpcError as e:
            trailers = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in (e.trailing_metadata() or [])}
            out = {"code": e.code().name, "details": e.details(), "trailers": trailers}
        print(json.dumps(out), flush=True)
    """#

    /// Runs `calls` against the server's gRPC port with grpcio, in order.
    func run(_ calls: [Call], on server: ServeProcess) async throws -> [Result] {
        let python = OTelClientTests.python("main")
        try #require(FileManager.default.isExecutableFile(atPath: python.path),
                     "the Python venv .venv-otel/main is missing: run `bash scripts/otel-clients-env.sh` (scripts/install-deps.sh runs it)")
        let port = try #require(server.grpcPort)
        let script = server.dir.appendingPathComponent("grpc_probe.py"), input = server.dir.appendingPathComponent("grpc_calls.json")
        try Data(Self.probe.utf8).write(to: script)
        try JSONEncoder().encode(calls).write(to: input)
        let r = try await ChildProcess.run("grpc-probe", python, [script.path, "127.0.0.1:\(port)", input.path], outputIn: server.dir,
                                           environment: OTelClientTests.clientEnvironment, timeout: 120)
        try #require(r.status == 0, "the grpcio probe failed:\n\(r.stderr)\n--- lantern serve log:\n\(server.logText())")
        let results = try r.stdout.split(separator: "\n").map { try JSONDecoder().decode(Result.self, from: Data($0.utf8)) }
        try #require(results.count == calls.count, "\(r.stdout)\n\(r.stderr)")
        return results
    }

    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16) }
    }

    /// An `ExportTraceServiceRequest` with one span whose trace id is all zeros (rejected alone).
    static var badSpanRequest: [UInt8] {
        func field(_ tag: UInt8, _ bytes: [UInt8]) -> [UInt8] { [tag, UInt8(bytes.count)] + bytes }
        let fixed64: (UInt8) -> [UInt8] = { [$0, 0, 0, 0, 0, 0, 0, 0] }
        let span = field(0x0A, [UInt8](repeating: 0, count: 16)) + field(0x12, [1, 2, 3, 4, 5, 6, 7, 8]) + field(0x2A, Array("bad".utf8))
            + [0x39] + fixed64(1) + [0x41] + fixed64(2)
        return field(0x0A, field(0x12, field(0x12, span)))
    }

    @Test("a real grpcio client: UNAUTHENTICATED without a valid key, OK after the spans are stored (gzip too), partial_success, INVALID_ARGUMENT, RESOURCE_EXHAUSTED past the body limit, UNIMPLEMENTED for other methods")
    func statuses() async throws {
        let key = "lnt_grpc_test_key"
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-grpc-\(UUID().uuidString).yaml")
        try Data("""
        auth:
          ingest_keys:
            - name: grpc-test
              sha256: "\(SecretDigest(secret: key).description)"
        """.utf8).write(to: config)
        defer { try? FileManager.default.removeItem(at: config) }
        let traces = try Fixtures.file("otel-v2-http-protobuf", "0002-traces.req.pb")
        let metricsBody = try Fixtures.file("otel-v2-http-protobuf", "0003-metrics.req.pb")
        let logsBody = try Fixtures.file("otel-v2-http-protobuf", "0001-logs.req.pb")
        let bearer = [["authorization", "Bearer \(key)"]]
        let tooLarge = (1 << 20) + 1
        // Past the transport's own bound (twice the body limit) the transport resets the stream.
        let farTooLarge = 3 << 20

        try await withLanternServe(maxBodyMib: 1, grpc: true, arguments: ["--config", config.path]) { server in
            let r = try await run([
                Call(Self.traceExport, traces),
                Call(Self.traceExport, traces, metadata: [["authorization", "Bearer lnt_wrong"]]),
                Call(Self.traceExport, traces, metadata: bearer, gzip: true),
                Call(Self.traceExport, [0x0A, 0xFF, 0x01], metadata: [["x-lantern-key", key]]),
                Call(Self.traceExport, Self.badSpanRequest, metadata: bearer),
                Call(Self.metricsExport, metricsBody, metadata: bearer, gzip: true),
                Call(Self.logsExport, logsBody, metadata: bearer),
                Call(Self.traceExport, [], metadata: bearer),
                Call(Self.traceExport, zeros: tooLarge, metadata: bearer),
                Call(Self.traceExport, zeros: tooLarge, metadata: bearer, gzip: true),
                Call("/opentelemetry.proto.collector.trace.v1.TraceService/Nope", traces, metadata: bearer),
                Call(Self.traceExport, zeros: farTooLarge, metadata: bearer),
                Call(Self.traceExport, traces, metadata: bearer),
            ], on: server)
            let log = "\n--- lantern serve log:\n\(server.logText())"
            #expect(r[0].code == "UNAUTHENTICATED" && r[0].details?.contains("ingest key is required") == true, "\(r[0])")
            #expect(r[1].code == "UNAUTHENTICATED" && r[1].details?.contains("not valid") == true, "\(r[1])")
            #expect(r[2].code == "OK" && r[2].body == "", "full success: an empty ExportTraceServiceResponse: \(r[2])\(log)")
            #expect(r[3].code == "INVALID_ARGUMENT" && r[3].details?.contains("runs past the end") == true, "\(r[3])")
            // partial_success (1) { rejected_spans (1) = 1, error_message (2) naming the field }
            #expect(r[4].code == "OK" && r[4].body?.hasPrefix("0a") == true && r[4].body?.dropFirst(4).hasPrefix("0801") == true, "\(r[4])")
            let partial = String(decoding: Self.bytes(hex: r[4].body ?? ""), as: UTF8.self)
            #expect(partial.contains("trace_id"), "\(partial)")
            #expect(r[5].code == "OK" && r[5].body == "", "MetricsService/Export: \(r[5])\(log)")
            #expect(r[6].code == "OK" && r[6].body == "", "LogsService/Export: \(r[6])\(log)")
            #expect(r[7].code == "OK" && r[7].body == "", "an empty request is a success: \(r[7])")
            #expect(r[8].code == "RESOURCE_EXHAUSTED" && r[8].details?.contains("exceeds the limit") == true, "past --max-body-mib: \(r[8])\(log)")
            #expect(r[8].trailers?["google.rpc.retryinfo-bin"] == nil && r[8].trailers?["grpc-status-details-bin"] == nil,
                    "no RetryInfo: not to be retried: \(r[8])")
            #expect(r[9].code == "RESOURCE_EXHAUSTED", "inflated past --max-body-mib: \(r[9])\(log)")
            #expect(r[10].code == "UNIMPLEMENTED", "\(r[10])")
            #expect(["CANCELLED", "RESOURCE_EXHAUSTED"].contains(r[11].code), "refused by the transport: \(r[11])")
            #expect(r[12].code == "OK", "the server still answers: \(r[12])\(log)")

            // Only the accepted exports were stored, durably before their OK; metrics and logs were kept.
            let expected = 2 * Normalizer().normalize(try OTLPTraceBodyDecoder().decode(traces, format: .protobuf, encoding: .identity).export).count
            let store = try SQLiteSpanStore(path: server.db)
            #expect(try store.statsNow().totalSpans == expected)
            #expect(!(try store.logEventCounts()).isEmpty, "the log records came over LogsService/Export")

            // Refusals are counted like OTLP/HTTP's.
            let metrics = String(decoding: try await server.send(method: "GET", path: "/metrics").body, as: UTF8.self)
            #expect(metrics.contains(#"lantern_requests_refused_total{reason="unauthorized"} 2"#), "\(metrics)")
            #expect(metrics.contains(#"lantern_requests_refused_total{reason="undecodable"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"lantern_requests_refused_total{reason="too_large"} 2"#), "\(metrics)")
            #expect(server.stop() == 0, "SIGTERM stops both listeners and exits 0:\n\(server.logText())")
        }
    }

    @Test("a real grpcio client gets UNAVAILABLE with RetryInfo in both trailer forms while the in-flight budget is held, and OK once it is free")
    func unavailableWhileOverloaded() async throws {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-grpc-\(UUID().uuidString).yaml")
        try Data("limits:\n  max_body: 1MiB\n  max_in_flight: 1MiB\n".utf8).write(to: config)
        defer { try? FileManager.default.removeItem(at: config) }
        let traces = try Fixtures.file("otel-v2-http-protobuf", "0002-traces.req.pb")
        try await withLanternServe(maxBodyMib: 1, grpc: true, arguments: ["--config", config.path]) { server in
            // An OTLP/HTTP client that declared a 1 MiB body and is still sending it holds the whole budget,
            // which OTLP/gRPC shares; wait until the server has admitted its head (probing before then could
            // get the slow request refused instead), then HTTP answers 503.
            let slow = try RawConnection(port: server.port)
            try slow.send("POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(1 << 20)\r\n\r\n{\"resourceSpans\":[")
            try #require(try await server.waitForInFlightBytes(atLeast: 1 << 20), "the slow request never held the in-flight budget")
            #expect(try await server.send(Array(#"{"resourceSpans":[]}"#.utf8), type: "application/json").status == 503)

            let refused = try await run([Call(Self.traceExport, traces)], on: server)[0]
            #expect(refused.code == "UNAVAILABLE", "\(refused)")
            #expect(refused.details?.contains("in flight") == true, "\(refused)")
            let retryInfo = OTLPResponseEncoder.retryInfo(seconds: 1).map { String(format: "%02x", $0) }.joined()
            #expect(refused.trailers?["google.rpc.retryinfo-bin"] == retryInfo, "RetryInfo alone: \(refused)")
            #expect(refused.trailers?["grpc-status-details-bin"]?.contains(retryInfo) == true, "RetryInfo inside the status details: \(refused)")

            slow.close()
            var accepted: Result?
            for _ in 0..<100 where accepted?.code != "OK" {
                accepted = try await run([Call(Self.traceExport, traces)], on: server)[0]
                if accepted?.code != "OK" { try await Task.sleep(nanoseconds: 50_000_000) }
            }
            #expect(accepted?.code == "OK", "once the budget is free the export is taken: \(String(describing: accepted))")
            let metrics = String(decoding: try await server.send(method: "GET", path: "/metrics").body, as: UTF8.self)
            #expect(metrics.contains(#"lantern_requests_refused_total{reason="overloaded"}"#), "\(metrics)")
        }
    }

    @Test("outcomes map to gRPC statuses: OK with partial_success, INVALID_ARGUMENT, RESOURCE_EXHAUSTED without RetryInfo, UNAVAILABLE with RetryInfo")
    func statusMapping() throws {
        let accepted = OTLPGRPCService.response(.accepted(rejections: [SpanRejection(location: "spans[0]", reason: "bad trace_id")]))
        #expect(try accepted.accepted.get().message == OTLPResponseEncoder.export(rejected: 1, message: "spans[0]: bad trace_id", format: .protobuf))
        #expect(try OTLPGRPCService.response(.accepted(rejections: [])).accepted.get().message.isEmpty)

        func failure(_ outcome: IngestOutcome) -> RPCError? {
            guard case .failure(let error) = OTLPGRPCService.response(outcome).accepted else { return nil }
            return error
        }
        #expect(failure(.undecodable("x"))?.code == .invalidArgument)
        let large = try #require(failure(.tooLarge("big")))
        #expect(large.code == .resourceExhausted && large.metadata.isEmpty, "RESOURCE_EXHAUSTED is retried only with RetryInfo")
        for outcome in [IngestOutcome.overloaded("full"), .storeFailed("disk")] {
            let error = try #require(failure(outcome))
            #expect(error.code == .unavailable && error.message == outcome.message)
            #expect(Array(error.metadata[binaryValues: "grpc-status-details-bin"]) == [OTLPResponseEncoder.status(code: 14, message: outcome.message, retryAfterSeconds: 1)])
            #expect(Array(error.metadata[binaryValues: "google.rpc.retryinfo-bin"]) == [OTLPResponseEncoder.retryInfo(seconds: 1)])
        }
        #expect(OTLPGRPCService.method(.traces).fullyQualifiedMethod == "opentelemetry.proto.collector.trace.v1.TraceService/Export")
    }

    @Test("listen.grpc: default 127.0.0.1:4317, HOST:PORT or off; non-loopback needs keys; --grpc-port 0 turns it off")
    func configuration() async throws {
        #expect(ServerConfiguration().grpc == .init(host: "127.0.0.1", port: 4317))
        let (off, offProblems) = ConfigurationFile.parse(yaml: "listen:\n  grpc: off\n", file: "t.yaml")
        #expect(off.grpc == nil && offProblems.isEmpty)
        let (moved, _) = ConfigurationFile.parse(yaml: "listen:\n  grpc: 127.0.0.1:14317\n", file: "t.yaml")
        #expect(moved.grpc == .init(host: "127.0.0.1", port: 14317))
        let (_, bad) = ConfigurationFile.parse(yaml: "listen:\n  grpc: nowhere\n", file: "t.yaml")
        #expect(bad.map(\.description) == ["t.yaml:2: listen.grpc: 'nowhere' is not HOST:PORT (e.g. 127.0.0.1:4317) or off"])
        var open = ServerConfiguration()
        open.grpc?.host = "0.0.0.0"
        #expect(open.problems().contains { $0.hasPrefix("listen.grpc: refusing to listen on non-loopback") }, "\(open.problems())")
        var clash = ServerConfiguration()
        clash.grpc?.port = 4318
        #expect(clash.problems().contains { $0.contains("also listen.http's") })

        let dir = FileManager.default.temporaryDirectory
        let checked = try await ChildProcess.run("check-grpc", lanternExecutable, ["serve", "--grpc-port", "0", "--check-config"], outputIn: dir, timeout: 60)
        #expect(checked.status == 0 && checked.stdout.contains("listen grpc   off"), "\(checked.stdout)\(checked.stderr)")
        let open2 = try await ChildProcess.run("check-grpc-open", lanternExecutable, ["serve", "--host", "0.0.0.0", "--check-config"], outputIn: dir, timeout: 60)
        #expect(open2.status == 2 && open2.stderr.contains("listen.grpc: refusing"), "\(open2.stderr)")
    }
}
