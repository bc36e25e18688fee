import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
import LanternCollector
import LanternModel
@testable import LanternServer
import LanternStore
import LanternTesting
import Testing

/// `lantern serve` with a configuration file: keys, admin token, back-pressure, processors,
/// /metrics and --check-config, all against a real server process.
@Suite("lantern serve: configuration, security, back-pressure, processors", .serialized)
struct ServeOperationsTests {
    let ingestKey = "lnt_ingest_test_key_0123456789"
    let adminToken = "lnt_admin_test_token_9876543210"

    /// A JSON trace request with one GenAI span per `(spanID, serviceVersion, prompt)`.
    static func genAIRequest(_ spans: [(id: Int, version: String, prompt: String)]) -> [UInt8] {
        let resources = spans.map { s in
            let span = #"{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"\#(String(format: "%016x", s.id))","name":"chat gpt-4o","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"10"}},{"key":"gen_ai.input.messages","value":{"stringValue":\#(OTLPResponseEncoder.jsonString(s.prompt))}}]}"#
            return #"{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},{"key":"service.version","value":{"stringValue":"\#(s.version)"}}]},"scopeSpans":[{"spans":[\#(span)]}]}"#
        }
        return Array(#"{"resourceSpans":[\#(resources.joined(separator: ","))]}"#.utf8)
    }

    func writeConfig(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("with ingest keys, OTLP needs one (Bearer or X-Lantern-Key); the admin route needs the admin token; no secret is logged")
    func keys() async throws {
        let config = try writeConfig("""
        auth:
          ingest_keys:
            - name: checkout
              sha256: "\(SecretDigest(secret: ingestKey))"
          admin_token: "\(SecretDigest(secret: adminToken))"
        retention:
          max_age: 36500d
        """)
        defer { try? FileManager.default.removeItem(atPath: config) }
        try await withLanternServe(arguments: ["--config", config]) { server in
            let body = Self.genAIRequest([(1, "v1", "hi")])
            let none = try await server.post(body, type: "application/x-protobuf")
            #expect(none.status == 401)
            let wrong = try await server.post(body, type: "application/json", headers: ["Authorization": "Bearer nope"])
            #expect(wrong.status == 401)
            #expect(String(decoding: wrong.body, as: UTF8.self).contains("not valid"))
            let admin = try await server.post(body, type: "application/json", headers: ["Authorization": "Bearer \(adminToken)"])
            #expect(admin.status == 401, "the admin token is not an ingest key")
            let bearer = try await server.post(body, type: "application/json", headers: ["Authorization": "Bearer \(ingestKey)"])
            #expect(bearer.status == 200)
            let header = try await server.post(Self.genAIRequest([(2, "v1", "hi")]), type: "application/json", headers: ["X-Lantern-Key": ingestKey])
            #expect(header.status == 200)
            #expect(try SQLiteSpanStore(path: server.db).statsNow().totalSpans == 2)

            let noToken = try await server.send(path: "/api/v1/admin/retention")
            #expect(noToken.status == 401)
            let ingestAsAdmin = try await server.send(path: "/api/v1/admin/retention", headers: ["Authorization": "Bearer \(ingestKey)"])
            #expect(ingestAsAdmin.status == 403, "an ingest key does not open admin routes")
            let ok = try await server.send(path: "/api/v1/admin/retention", headers: ["Authorization": "Bearer \(adminToken)"])
            #expect(ok.status == 200)
            #expect(String(decoding: ok.body, as: UTF8.self).contains(#""spans_deleted":0"#))

            #expect(server.stop() == 0)
            let log = server.logText()
            #expect(!log.contains(ingestKey) && !log.contains(adminToken), "secrets never reach the log")
        }
    }

    @Test("a full in-flight budget gets 503 with Retry-After before the body is read; freed, requests pass again")
    func backPressure() async throws {
        let config = try writeConfig("limits:\n  max_body: 1MiB\n  max_in_flight: 1MiB\n")
        defer { try? FileManager.default.removeItem(atPath: config) }
        try await withLanternServe(maxBodyMib: 1, arguments: ["--config", config]) { server in
            // A client that declared a 1 MiB body and is still sending it holds the whole budget.
            let slow = try RawConnection(port: server.port)
            try slow.send("POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(1 << 20)\r\n\r\n{\"resourceSpans\":[")
            // Probe only once the server has admitted the slow head: a probe in flight at that moment
            // would get the slow request refused instead.
            try #require(try await server.waitForInFlightBytes(atLeast: 1 << 20), "the slow request's head is admitted; server log:\n\(server.logText())")
            var refused: (status: Int, body: [UInt8], headers: [String: String])?
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                let r = try await server.send(Self.genAIRequest([(1, "v1", "hi")]), type: "application/json")
                if r.status == 503 { refused = r; break }
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            let r = try #require(refused, "a request past the in-flight budget must be refused; server log:\n\(server.logText())")
            #expect(r.headers["Retry-After"] == "1")
            #expect(String(decoding: r.body, as: UTF8.self).contains("in flight"))
            slow.close()
            var passed = false
            for _ in 0..<500 where !passed {
                passed = try await server.send(Self.genAIRequest([(2, "v1", "hi")]), type: "application/json").status == 200
                if !passed { try await Task.sleep(nanoseconds: 20_000_000) }
            }
            #expect(passed, "once the slow client is gone the budget is free again")
        }
    }

    @Test("prompt content is redacted before it is written; variants come from the configured mapping; /metrics counts it all")
    func processorsAndMetrics() async throws {
        let config = try writeConfig("""
        redaction:
          patterns:
            - name: employee_id
              regex: 'EMP-[0-9]{6}'
        variants:
          - service: checkout
            service_version: v2
            variant: candidate
            rollout: checkout-gpt5
          - service: checkout
            variant: baseline
            rollout: checkout-gpt5
        """)
        defer { try? FileManager.default.removeItem(atPath: config) }
        try await withLanternServe(arguments: ["--config", config]) { server in
            let prompt = #"[{"role":"user","parts":[{"type":"text","content":"I am ann@example.com, EMP-123456, card 4111 1111 1111 1111"}]}]"#
            let r = try await server.post(Self.genAIRequest([(1, "v1", prompt), (2, "v2", prompt), (3, "v2", "plain")]), type: "application/json")
            #expect(r.status == 200)
            let store = try SQLiteSpanStore(path: server.db)
            let spans = try store.allSpans()
            #expect(spans.count == 3)
            for span in spans {
                let content = span.span.attributes.first { $0.key == "gen_ai.input.messages" }?.value.stringValue ?? ""
                #expect(!content.contains("ann@example.com") && !content.contains("EMP-123456") && !content.contains("4111 1111"), "\(content)")
                if span.span.spanID != SpanID(raw: 3) {
                    #expect(content.contains("[REDACTED:email]") && content.contains("[REDACTED:employee_id]") && content.contains("[REDACTED:card]"), "\(content)")
                }
            }
            let result = try store.queryNow(SpanQuery(groupBy: [.variant]), prices: .empty)
            #expect(result.groups.first { $0.key == ["candidate"] }?.spans == 2)
            #expect(result.groups.first { $0.key == ["baseline"] }?.spans == 1)

            let metrics = try await server.send(method: "GET", path: "/metrics")
            let text = String(decoding: metrics.body, as: UTF8.self)
            #expect(metrics.status == 200)
            #expect(text.contains(#"lantern_items_accepted_total{signal="traces"} 3"#), "\(text)")
            #expect(text.contains("lantern_redactions_total 6"), "\(text)")
            #expect(text.contains("lantern_commit_seconds_bucket"), "\(text)")
            let bad = try await server.post([0x0A, 0xFF], type: "application/x-protobuf")
            #expect(bad.status == 400)
            let after = String(decoding: try await server.send(method: "GET", path: "/metrics").body, as: UTF8.self)
            #expect(after.contains(#"lantern_requests_refused_total{reason="undecodable"} 1"#), "\(after)")
        }
    }

    @Test("/v1/logs and /v1/metrics keep every record and data point durably; log events attach to their spans; partial success names what was refused")
    func logsAndMetrics() async throws {
        try await withLanternServe { server in
            let logs = try await server.post(try Fixtures.file("otel-v2-http-protobuf", "0001-logs.req.pb"), type: "application/x-protobuf", path: "/v1/logs")
            #expect(logs.status == 200 && logs.body.isEmpty)
            let jsonLogs = try await server.post(try Fixtures.file("otel-v2-http-protobuf", "0004-logs.conv.json"), type: "application/json", path: "/v1/logs")
            #expect(jsonLogs.status == 200)
            let metrics = try await server.post(try Fixtures.file("otel-v2-http-protobuf", "0003-metrics.req.pb"), type: "application/x-protobuf", path: "/v1/metrics")
            #expect(metrics.status == 200 && metrics.body.isEmpty)

            let store = try SQLiteSpanStore(path: server.db)
            let events = try store.logEventCounts()
            #expect(events.reduce(0) { $0 + $1.count } == 5, "\(events)")
            #expect(events.first { $0.eventName == "gen_ai.client.inference.operation.details" }.map { $0.count >= 2 } == true, "\(events)")
            let attached = try store.logRecords(traceID: TraceID(hex: "7e80629d3ebddfa7344ef2d3b7ce62bf")!)
            #expect(attached.contains { $0.spanID == SpanID(hex: "c6f603a00d75e0db") && $0.attributesJSON.contains("gen_ai.input.messages") })
            let duration = try store.metricSummaries(name: "gen_ai.client.operation.duration")
            #expect(duration.count == 4 && duration.allSatisfy { $0.kind == "histogram" && $0.unit == "s" })
            let observations: Int64 = duration.map(\.count).reduce(0, +)
            let seconds: Double = duration.map(\.sum).reduce(0, +)
            let expected: Double = 0.2170 + 1.0059 + 0.0575 + 0.0968
            #expect(observations == 5)
            #expect(abs(seconds - expected) < 0.001, "\(seconds)")

            let bad = #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1","traceId":"abcd","body":{"stringValue":"x"}},{"timeUnixNano":"2","body":{"stringValue":"kept"}}]}]}]}"#
            let partial = try await server.post(Array(bad.utf8), type: "application/json", path: "/v1/logs")
            let text = String(decoding: partial.body, as: UTF8.self)
            #expect(partial.status == 200 && text.contains(#""rejectedLogRecords":"1""#) && text.contains("trace_id"), "\(text)")
            #expect(try store.logEventCounts().reduce(0) { $0 + $1.count } == 6)
            let wrongType = try await server.post([1, 2, 3], type: "text/plain", path: "/v1/metrics")
            #expect(wrongType.status == 415)
        }
    }

    @Test("lantern demo serves and feeds itself realistic traffic over OTLP/HTTP, then stops after --duration")
    func demo() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("demo.db").path
        let port = 20_000 + Int.random(in: 0..<30_000)
        let r = try await ChildProcess.run("demo", lanternExecutable, ["demo", "--db", db, "--port", String(port), "--rate", "200", "--duration", "3"],
                                           outputIn: dir, timeout: 120)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("demo stopped"), "\(r.stdout)")
        let store = try SQLiteSpanStore(path: db)
        let result = try store.queryNow(SpanQuery(filter: SpanFilter(genAIOnly: true), groupBy: [.serviceVersion]), prices: .empty)
        let v1 = result.groups.first { $0.key == ["v1"] }?.spans ?? 0, v2 = result.groups.first { $0.key == ["v2"] }?.spans ?? 0
        #expect(v1 + v2 >= 200, "about 600 requests in 3 s: \(result.groups.map { ($0.key, $0.spans) })")
        #expect(v1 > 2 * v2 && v2 > 0, "80/20 split: v1 \(v1), v2 \(v2)")
        #expect(try store.statsNow().totalSpans == 2 * (v1 + v2), "an HTTP server span over each chat span")
        // Variants, evaluation events joined to their calls, and some user feedback.
        let quality = try store.queryNow(SpanQuery(filter: SpanFilter(genAIOnly: true), groupBy: [.variant], metrics: [.count, .errors, .quality]),
                                         prices: .empty)
        #expect(quality.groups.map(\.key) == [["baseline"], ["candidate"]], "\(quality.groups.map(\.key))")
        for g in quality.groups {
            let helpfulness = g.scores.first { $0.name == "helpfulness" }
            #expect(helpfulness?.count == g.spans - g.errors, "\(g.key): one evaluation per answered call")
            #expect(helpfulness?.values.map { $0.mean > 0.5 && $0.mean < 1 } == true, "\(g.key)")
        }
        #expect(quality.groups.reduce(0) { $0 + $1.spansWithFeedback } > 0, "about one call in twenty gets feedback")
    }

    @Test("--check-config reports every problem at once and exits 2; the documented example passes; non-loopback without keys is refused")
    func checkConfig() async throws {
        let dir = FileManager.default.temporaryDirectory
        let example = Fixtures.repositoryRoot.appendingPathComponent("collectors/lantern.yaml").path
        let good = try await ChildProcess.run("check-good", lanternExecutable, ["serve", "--config", example, "--check-config"], outputIn: dir, timeout: 60)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("configuration is valid"))

        let bad = try writeConfig("listen:\n  http: 0.0.0.0:4318\nlimits:\n  max_body: huge\nredaction:\n  builtins: [ssn]\n")
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let r = try await ChildProcess.run("check-bad", lanternExecutable, ["serve", "--config", bad, "--check-config"], outputIn: dir, timeout: 60)
        #expect(r.status == 2)
        #expect(r.stderr.contains(":4: limits.max_body"), "\(r.stderr)")
        #expect(r.stderr.contains(":6: redaction.builtins: 'ssn'"), "\(r.stderr)")
        #expect(r.stderr.contains("non-loopback"), "\(r.stderr)")

        let open = try await ChildProcess.run("open", lanternExecutable, ["serve", "--host", "0.0.0.0", "--port", "0"], outputIn: dir, timeout: 60)
        #expect(open.status == 2 && open.stderr.contains("without ingest keys"), "\(open.stderr)")
    }
}

/// A plain TCP connection to a loopback port, for requests URLSession cannot make (a body that
/// stalls halfway).
final class RawConnection {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == bytes.count else { throw POSIXError(.EIO) }
    }

    func close() { Glibc.close(fd) }
}
