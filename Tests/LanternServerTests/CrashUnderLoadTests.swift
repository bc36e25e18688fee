import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LanternCollector
import LanternModel
import LanternStore
import LanternTesting
import Testing

/// The acknowledged spans, recorded by the senders as their 200s arrive.
actor Acknowledged {
    private(set) var spanIDs: Set<UInt64> = []
    func add(_ ids: [UInt64]) { spanIDs.formUnion(ids) }
}

@Suite("lantern serve: kill -9 under load", .serialized)
struct CrashUnderLoadTests {
    /// One protobuf request of `count` spans whose ids say which sender and which request made them.
    static func request(sender: Int, sequence: Int, count: Int) -> (body: [UInt8], ids: [UInt64]) {
        let trace = TraceID(high: UInt64(sender + 1), low: UInt64(sequence + 1))
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        let ids = (0..<count).map { UInt64(sender) << 48 | UInt64(sequence) << 16 | UInt64($0) | 1 << 62 }
        let spans = ids.map { id in
            Span(traceID: trace, spanID: SpanID(raw: id), name: "chat gpt-4o-mini", kind: .client, startTimeUnixNano: now, endTimeUnixNano: now + 1_000_000,
                 attributes: [Attribute("gen_ai.operation.name", .string("chat")), Attribute("gen_ai.request.model", .string("gpt-4o-mini")),
                              Attribute("gen_ai.usage.input_tokens", .int(100))])
        }
        let export = TraceExport(resourceSpans: [ResourceSpans(resource: Resource(attributes: [Attribute("service.name", .string("load"))]),
                                                               scopeSpans: [ScopeSpans(spans: spans)])])
        return (OTLPProtobufEncoder().encode(export), ids)
    }

    @Test("SIGKILL during concurrent load loses no acknowledged span; the store reopens, and a restarted server serves it")
    func killDuringLoad() async throws {
        try await withLanternServe { server in
            let acknowledged = Acknowledged()
            let configuration = URLSessionConfiguration.ephemeral
            configuration.timeoutIntervalForRequest = 10
            let session = URLSession(configuration: configuration)
            let senders = 8, spansPerRequest = 200
            let started = Date()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for sender in 0..<senders {
                    group.addTask {
                        var sequence = 0
                        while sequence < 10_000 {
                            let (body, ids) = Self.request(sender: sender, sequence: sequence, count: spansPerRequest)
                            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)/v1/traces")!)
                            request.httpMethod = "POST"
                            request.setValue("application/x-protobuf", forHTTPHeaderField: "Content-Type")
                            request.httpBody = Data(body)
                            guard let (_, response) = try? await session.data(for: request) else { return }  // the server is gone
                            if (response as? HTTPURLResponse)?.statusCode == 200 { await acknowledged.add(ids) }
                            sequence += 1
                        }
                    }
                }
                // Kill the server mid-load, once a good number of requests have been acknowledged.
                group.addTask {
                    while await acknowledged.spanIDs.count < 20 * spansPerRequest && Date().timeIntervalSince(started) < 30 {
                        try await Task.sleep(nanoseconds: 10_000_000)
                    }
                    try await Task.sleep(nanoseconds: UInt64.random(in: 50_000_000...300_000_000))
                    kill(server.process.processIdentifier, SIGKILL)
                }
                try await group.waitForAll()
            }
            server.process.waitUntilExit()
            #expect(server.process.terminationReason == .uncaughtSignal, "the server was killed, not stopped")
            let acked = await acknowledged.spanIDs
            #expect(acked.count >= 20 * spansPerRequest, "load ran before the kill: \(acked.count) spans acknowledged")

            // The store opens (replaying its journal) and holds every acknowledged span.
            let store = try SQLiteSpanStore(path: server.db)
            let stored = Set(try store.allSpans().map(\.span.spanID.raw))
            let lost = acked.subtracting(stored)
            #expect(lost.isEmpty, "\(lost.count) of \(acked.count) acknowledged spans are missing after kill -9")
            #expect(stored.count % spansPerRequest == 0, "no request is half stored: \(stored.count) spans")

            // A restarted server on the same file answers and takes more spans.
            let port = 20_000 + Int.random(in: 0..<30_000)
            let restarted = try ChildProcess.start("restart", lanternExecutable, ["serve", "--db", server.db, "--port", String(port), "--grpc-port", "0"], outputIn: server.dir)
            defer { restarted.stop() }
            var status = 0
            for _ in 0..<200 where status != 200 {
                let (body, _) = Self.request(sender: 99, sequence: 0, count: 10)
                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/traces")!)
                request.httpMethod = "POST"
                request.setValue("application/x-protobuf", forHTTPHeaderField: "Content-Type")
                request.httpBody = Data(body)
                status = ((try? await session.data(for: request))?.1 as? HTTPURLResponse)?.statusCode ?? 0
                if status != 200 { try await Task.sleep(nanoseconds: 50_000_000) }
            }
            #expect(status == 200, "the restarted server takes spans: \(restarted.stderr)")
            #expect(try SQLiteSpanStore(path: server.db).statsNow().totalSpans == stored.count + 10)
        }
    }
}
