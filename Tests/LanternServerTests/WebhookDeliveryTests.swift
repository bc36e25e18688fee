import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import LanternAnalyzer
import NIOCore
import Testing

/// Monitor webhooks against a real HTTP listener on a loopback port, sent with the real
/// URLSession sender and real (tiny) backoff sleeps.
@Suite("monitor webhooks over real HTTP")
struct WebhookDeliveryTests {
    /// What the receiver saw, per path.
    actor Received {
        var bodies: [String: [String]] = [:]
        var contentTypes: [String] = []
        /// Records a request; returns how many requests the path has had, this one included.
        func add(path: String, body: String, contentType: String?) -> Int {
            bodies[path, default: []].append(body)
            contentTypes.append(contentType ?? "")
            return bodies[path]!.count
        }
    }

    /// Runs a receiver whose `/hooks/flaky` answers 503 twice then 200 and whose `/hooks/refuses`
    /// answers 400; calls `body` with its port, then stops it.
    func withReceiver(_ received: Received, _ body: (Int) async throws -> Void) async throws {
        let router = Router(context: BasicRequestContext.self)
        router.post("/hooks/flaky") { request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            let text = String(buffer: buffer)
            let n = await received.add(path: "flaky", body: text, contentType: request.headers[.contentType])
            return Response(status: n <= 2 ? .serviceUnavailable : .ok)
        }
        router.post("/hooks/refuses") { request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            let text = String(buffer: buffer)
            _ = await received.add(path: "refuses", body: text, contentType: request.headers[.contentType])
            return Response(status: .badRequest)
        }
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "webhook-receiver"),
                              onServerRunning: { channel in
                                  portSink.yield(channel.localAddress?.port ?? 0)
                                  portSink.finish()
                              })
        let server = Task {
            defer { portSink.finish() }
            try await app.run()
        }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next()
        do {
            let port = try #require(port, "the receiver did not start")
            try #require(port > 0)
            try await body(port)
        } catch {
            server.cancel()
            _ = await server.result
            throw error
        }
        server.cancel()
        _ = await server.result
    }

    static func transition() -> MonitorTransition {
        MonitorTransition(monitor: "ttft-p95", group: ["model": "gpt-4o", "variant": "candidate"], from: .ok, to: .alert,
                          at: 1_738_324_800_000_000_000, value: 3.2, sampleCount: 412,
                          message: "ttft-p95: ttft_p95 = 3.2 is above the alert threshold 3")
    }

    @Test("503, 503, 200: three POSTs arrive with the JSON body; delivered on attempt 3; 400 is not retried")
    func retriesAgainstRealListener() async throws {
        let received = Received()
        try await withReceiver(received) { port in
            let flaky = Webhook(name: "flaky", url: URL(string: "http://127.0.0.1:\(port)/hooks/flaky")!, timeout: .seconds(5),
                                maxAttempts: 5, backoffInitial: .milliseconds(10), backoffMax: .milliseconds(40))
            let refuses = Webhook(name: "refuses", url: URL(string: "http://127.0.0.1:\(port)/hooks/refuses")!, timeout: .seconds(5),
                                  maxAttempts: 5, backoffInitial: .milliseconds(10), backoffMax: .milliseconds(40))
            let notifier = WebhookNotifier(webhooks: [flaky, refuses])  // the real URLSession sender and Task.sleep
            await notifier.notify(Self.transition(), webhooks: ["flaky", "refuses"])
            let results = await notifier.waitForDeliveries()

            #expect(results.first { $0.webhook == "flaky" }?.outcome == .delivered(attempts: 3, status: 200))
            #expect(results.first { $0.webhook == "refuses" }?.outcome == .gaveUp(attempts: 1, lastError: "HTTP 400"))

            let bodies = await received.bodies
            #expect(bodies["flaky"]?.count == 3)
            #expect(bodies["refuses"]?.count == 1)
            #expect(await received.contentTypes.allSatisfy { $0 == "application/json" })
            for text in bodies["flaky"] ?? [] {
                let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                #expect(json["monitor"] as? String == "ttft-p95")
                #expect(json["group"] as? [String: String] == ["model": "gpt-4o", "variant": "candidate"])
                #expect(json["from"] as? String == "OK" && json["to"] as? String == "ALERT")
                #expect(json["at"] as? String == "2025-01-31T12:00:00.000Z")
                #expect(json["value"] as? Double == 3.2)
                #expect((json["message"] as? String)?.hasPrefix("ttft-p95:") == true)
            }
        }
    }

    @Test("a receiver that is not listening: connection errors are retried, then the delivery gives up")
    func receiverDown() async throws {
        // A port that was just bound by a receiver and is closed again.
        var closedPort = 0
        try await withReceiver(Received()) { closedPort = $0 }
        let down = Webhook(name: "down", url: URL(string: "http://127.0.0.1:\(closedPort)/hooks/lantern")!, timeout: .seconds(2),
                           maxAttempts: 3, backoffInitial: .milliseconds(5), backoffMax: .milliseconds(10))
        let result = await WebhookNotifier.deliver(Self.transition(), to: down, send: WebhookNotifier.urlSessionSend,
                                                   sleep: { try await Task.sleep(for: $0) })
        guard case .gaveUp(let attempts, let lastError) = result.outcome else {
            Issue.record("expected the delivery to give up, got \(result.outcome)")
            return
        }
        #expect(attempts == 3)
        #expect(!lastError.isEmpty && !lastError.hasPrefix("HTTP "))
    }

    @Test("inside lantern serve: a slow candidate goes to ALERT, its webhook gets the transition (after two 503s), /api/v1/monitors shows it")
    func monitorsInsideServe() async throws {
        let received = Received()
        try await withReceiver(received) { port in
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("monitors-\(UUID().uuidString).yaml")
            try """
            webhooks:
              hook:
                url: http://127.0.0.1:\(port)/hooks/flaky
                timeout: 5s
                max_attempts: 4
                backoff: {initial: 10ms, max: 50ms}
            monitors:
              - name: ttft-p95
                metric: ttft_p95
                group_by: [variant]
                window: 1h
                every: 1s
                min_samples: 5
                threshold: {direction: above, warning: 0.8, alert: 1.5}
                notify: [hook]
            """.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            try await withLanternServe(arguments: ["--monitors", file.path]) { server in
                // Ten calls per variant in the last minute: the candidate's TTFT is 2 s, the baseline's 0.3 s.
                let now = Int64(Date().timeIntervalSince1970 * 1e9)
                var spans: [String] = []
                for i in 0..<20 {
                    let candidate = i % 2 == 1
                    let start = now - 60_000_000_000 + Int64(i) * 1_000_000_000
                    spans.append(#"{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"\#(String(format: "%016x", i + 1))","name":"chat","startTimeUnixNano":"\#(start)","endTimeUnixNano":"\#(start + 3_000_000_000)","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},{"key":"gen_ai.response.time_to_first_chunk","value":{"doubleValue":\#(candidate ? 2.0 : 0.3)}},{"key":"lantern.variant","value":{"stringValue":"\#(candidate ? "candidate" : "baseline")"}}]}"#)
                }
                let body = #"{"resourceSpans":[{"scopeSpans":[{"spans":[\#(spans.joined(separator: ","))]}]}]}"#
                #expect(try await server.post(Array(body.utf8), type: "application/json").status == 200)

                var states: [String: String] = [:]
                for _ in 0..<100 {
                    let r = try await server.send(method: "GET", path: "/api/v1/monitors")
                    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
                    let monitors = try #require(json["monitors"] as? [[String: Any]])
                    let groups = (monitors.first?["groups"] as? [[String: Any]]) ?? []
                    states = Dictionary(uniqueKeysWithValues: groups.compactMap { g in
                        ((g["group"] as? [String: String])?["variant"]).map { ($0, g["state"] as? String ?? "") }
                    })
                    let delivered = await received.bodies["flaky"]?.count ?? 0
                    if states["candidate"] == "ALERT" && delivered >= 3 { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(states == ["baseline": "OK", "candidate": "ALERT"])
                let bodies = await received.bodies["flaky"] ?? []
                #expect(bodies.count == 3, "two 503s, then delivered: \(bodies)")
                let last = try #require(bodies.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
                #expect(last["monitor"] as? String == "ttft-p95" && last["to"] as? String == "ALERT")
                #expect(last["group"] as? [String: String] == ["variant": "candidate"])
                #expect(last["value"] as? Double == 2.0)
            }
        }
    }
}
