import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LanternCollector
@testable import LanternServer
import LanternModel
import LanternStore
import LanternTesting
import Testing

/// `lantern serve` as a real process on a loopback port, driven over HTTP with real requests.
@Suite("OTLP/HTTP trace endpoint", .serialized)
struct OTLPHTTPTests {
    typealias Server = ServeProcess

    /// `lantern serve` on a random port with a fresh database (`withLanternServe`, ServerProcess.swift).
    func withServer(maxBodyMib: Int = 64, _ body: (Server) async throws -> Void) async throws {
        try await withLanternServe(maxBodyMib: maxBodyMib, body)
    }

    @Test("protobuf, JSON and gzipped JSON fixtures are durable before the 200, answered in the request's encoding; SIGTERM exits 0")
    func fixtures() async throws {
        try await withServer { server in
            let pb = try await server.post(try Fixtures.file("otel-v2-http-protobuf", "0002-traces.req.pb"), type: "application/x-protobuf")
            #expect(pb.status == 200)
            #expect(pb.type == "application/x-protobuf")
            #expect(pb.body.isEmpty, "full success: an empty ExportTraceServiceResponse")

            let json = try await server.post(try Fixtures.file("otel-v2-http-json", "0001-traces.req.json"), type: "application/json")
            #expect(json.status == 200)
            #expect(json.type == "application/json")
            #expect(String(decoding: json.body, as: UTF8.self) == "{}")

            let gz = try await server.post(try Fixtures.file("openllmetry-http-json-gzip", "0001-traces.req.gz"),
                                           type: "application/json", encoding: "gzip")
            #expect(gz.status == 200)

            // Acknowledged spans are readable by another connection while the server runs.
            let reader = try SQLiteSpanStore(path: server.db)
            #expect(try reader.statsNow().totalSpans == 30)
            let result = try reader.queryNow(SpanQuery(filter: SpanFilter(genAIOnly: true), groupBy: [.model]), prices: .empty)
            let served = try #require(result.groups.first { $0.key == ["gpt-fake-1-2026-11-01"] })
            #expect(served.inputTokens == 16 * 6, "two calls with usage in each of the three captures")

            #expect(server.stop() == 0, "SIGTERM drains and exits 0")
            #expect(try SQLiteSpanStore(path: server.db).statsNow().totalSpans == 30)
        }
    }

    @Test("a span with a bad id is rejected alone: 200 with partial_success counting it and naming the field")
    func partialSuccess() async throws {
        try await withServer { server in
            let body = #"""
            {"resourceSpans":[{"scopeSpans":[{"spans":[
              {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"ok","startTimeUnixNano":"1","endTimeUnixNano":"2"},
              {"traceId":"00000000000000000000000000000000","spanId":"eee19b7ec3c1b175","name":"bad","startTimeUnixNano":"1","endTimeUnixNano":"2"}
            ]}]}]}
            """#
            let r = try await server.post(Array(body.utf8), type: "application/json")
            #expect(r.status == 200)
            let text = String(decoding: r.body, as: UTF8.self)
            #expect(text.contains(#""rejectedSpans":"1""#) && text.contains("trace_id"), "\(text)")
            #expect(try SQLiteSpanStore(path: server.db).statsNow().totalSpans == 1)
        }
    }

    @Test("undecodable bodies get 400 with a google.rpc.Status naming the problem; nothing is stored")
    func badRequest() async throws {
        try await withServer { server in
            let r = try await server.post([0x0A, 0xFF, 0x01], type: "application/x-protobuf")
            #expect(r.status == 400)
            #expect(r.body.first == 0x08, "google.rpc.Status: field 1 (code) first")
            #expect(String(decoding: r.body, as: UTF8.self).contains("runs past the end"))
            let j = try await server.post(Array("{\"resourceSpans\": [".utf8), type: "application/json")
            #expect(j.status == 400)
            #expect(String(decoding: j.body, as: UTF8.self).contains("line 1"))
            #expect(try SQLiteSpanStore(path: server.db).statsNow().totalSpans == 0)
        }
    }

    @Test("other content types and encodings get 415")
    func unsupported() async throws {
        try await withServer { server in
            let text = try await server.post([1, 2, 3], type: "text/plain")
            #expect(text.status == 415)
            let brotli = try await server.post([1, 2, 3], type: "application/json", encoding: "br")
            #expect(brotli.status == 415)
        }
    }

    @Test("a body past the limit, or a gzip body that inflates past it, gets 413 and stores nothing")
    func tooLarge() async throws {
        try await withServer(maxBodyMib: 1) { server in
            let big = try await server.post([UInt8](repeating: 0x20, count: (1 << 20) + 10), type: "application/json")
            #expect(big.status == 413)
            // 8 MB of spaces gzips to about 8 KB: small on the wire, too large inflated.
            let file = server.dir.appendingPathComponent("bomb")
            try Data(repeating: 0x20, count: 8 << 20).write(to: file)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/gzip")
            p.arguments = ["-c", file.path]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let gz = [UInt8](pipe.fileHandleForReading.readDataToEndOfFile())
            p.waitUntilExit()
            #expect(gz.count < 1 << 20)
            let r = try await server.post(gz, type: "application/json", encoding: "gzip")
            #expect(r.status == 413)
            #expect(String(decoding: r.body, as: UTF8.self).contains(String(1 << 20)))
            #expect(try SQLiteSpanStore(path: server.db).statsNow().totalSpans == 0)

            // A real bomb: 300 MiB of zeros gzip to about 300 KB. Refused after inflating at most the
            // limit: the server's peak memory barely moves.
            let sh = Process()
            sh.executableURL = URL(fileURLWithPath: "/bin/sh")
            sh.arguments = ["-c", "head -c \(300 << 20) /dev/zero | gzip -9 -c"]
            let out = Pipe()
            sh.standardOutput = out
            try sh.run()
            let bomb = [UInt8](out.fileHandleForReading.readDataToEndOfFile())
            sh.waitUntilExit()
            try #require(bomb.count < 1 << 20, "the bomb must pass the wire limit: \(bomb.count) bytes")
            let before = try #require(peakResidentKiB(server.process.processIdentifier))
            let refused = try await server.post(bomb, type: "application/x-protobuf", encoding: "gzip")
            #expect(refused.status == 413)
            let after = try #require(peakResidentKiB(server.process.processIdentifier))
            #expect(after - before < 64 << 10, "peak RSS grew by \(after - before) KiB for a body that inflates to 300 MiB")
            #expect(try SQLiteSpanStore(path: server.db).statsNow().totalSpans == 0)
        }
    }

    /// The peak resident set size of a process (VmHWM in /proc/PID/status), in KiB.
    func peakResidentKiB(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }

    @Test("concurrent requests share commits and every acknowledged span is stored")
    func concurrentRequests() async throws {
        try await withServer { server in
            let requests = 48, spansPerRequest = 25
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for r in 0..<requests {
                    group.addTask {
                        let spans = (0..<spansPerRequest).map { s in
                            let id = String(format: "%016x", r * 1000 + s + 1)
                            return #"{"traceId":"5b8efff798038103d269b633813f\#(String(format: "%04x", r))","spanId":"\#(id)","name":"s","startTimeUnixNano":"1","endTimeUnixNano":"2"}"#
                        }
                        let body = #"{"resourceSpans":[{"scopeSpans":[{"spans":["# + spans.joined(separator: ",") + "]}]}]}"
                        return try await server.post(Array(body.utf8), type: "application/json").status
                    }
                }
                var out: [Int] = []
                for try await s in group { out.append(s) }
                return out
            }
            #expect(statuses.count == requests && statuses.allSatisfy { $0 == 200 })
            let stats = try SQLiteSpanStore(path: server.db).statsNow()
            #expect(stats.totalSpans == requests * spansPerRequest)
            #expect(stats.journalBatches <= requests, "one journal row per request at most")
        }
    }
}
