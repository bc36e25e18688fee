import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LanternCollector
import LanternModel
import Logging
import ServiceLifecycle

/// Realistic LLM traffic for `lantern demo`: a support assistant whose `v1` (baseline) calls
/// gpt-4o-mini and whose `v2` (candidate, a fifth of the traffic) calls gpt-4.1-mini, each request
/// an HTTP server span with one streaming chat span under it, in the official GenAI conventions:
/// tokens with cached input, TTFT, finish reasons, and rate-limit and server errors; each answered
/// call is judged by a `gen_ai.evaluation.result` event (helpfulness), and about one in twenty gets
/// a user's thumbs up or down.
public struct DemoTraffic: Sendable {
    /// One batch of demo traffic: the spans, their evaluation events (OTLP/JSON logs) and feedback
    /// (the body of `POST /api/v1/feedback`, nil when none was given).
    public struct Batch: Sendable {
        public var traces: TraceExport
        public var logsJSON: [UInt8]
        public var feedbackJSON: [UInt8]?
    }

    struct Variant: Sendable {
        var version: String
        var variant: String
        /// Median helpfulness score of an answer, 0 to 1.
        var helpfulness: Double
        var requestModel: String
        var responseModel: String
        /// Median TTFT and total latency, seconds.
        var ttft: Double
        var latency: Double
        var errorRate: Double
    }

    let variants = [
        Variant(version: "v1", variant: "baseline", helpfulness: 0.82, requestModel: "gpt-4o-mini", responseModel: "gpt-4o-mini-2024-07-18",
                ttft: 0.42, latency: 1.6, errorRate: 0.02),
        Variant(version: "v2", variant: "candidate", helpfulness: 0.78, requestModel: "gpt-4.1-mini", responseModel: "gpt-4.1-mini-2025-04-14",
                ttft: 0.31, latency: 1.3, errorRate: 0.04),
    ]

    public init() {}

    /// `requests` requests that ended just before `nowUnixNano`, with their evaluations and feedback.
    public func batch<R: RandomNumberGenerator>(requests: Int, nowUnixNano: UInt64, using random: inout R) -> Batch {
        var byVersion: [String: [Span]] = [:]
        var events: [String] = [], feedback: [String] = []
        for _ in 0..<requests {
            let v = Double.random(in: 0..<1, using: &random) < 0.8 ? variants[0] : variants[1]
            let spans = request(v, endUnixNano: nowUnixNano, using: &random)
            byVersion[v.version, default: []] += spans
            let call = spans[1]
            guard call.statusCode != .error else { continue }
            let score = min(1, max(0, v.helpfulness + 0.12 * (logNormal(0.5, &random) - 1)))
            let trace = call.traceID.hex, span = call.spanID.hex
            events.append(#"{"timeUnixNano":"\#(call.endTimeUnixNano + 50_000_000)","eventName":"gen_ai.evaluation.result","traceId":"\#(trace)","spanId":"\#(span)","attributes":[{"key":"gen_ai.evaluation.name","value":{"stringValue":"helpfulness"}},{"key":"gen_ai.evaluation.score.value","value":{"doubleValue":\#(score)}},{"key":"gen_ai.evaluation.score.label","value":{"stringValue":"\#(score >= 0.5 ? "helpful" : "unhelpful")"}}]}"#)
            if Double.random(in: 0..<1, using: &random) < 0.05 {
                let up = Double.random(in: 0..<1, using: &random) < score
                feedback.append(#"{"id":"demo-\#(trace)","trace_id":"\#(trace)","span_id":"\#(span)","value":\#(up)}"#)
            }
        }
        let traces = TraceExport(resourceSpans: byVersion.keys.sorted().map { version in
            ResourceSpans(resource: Resource(attributes: [
                Attribute("service.name", .string("support-bot")), Attribute("service.version", .string(version)),
                Attribute("deployment.environment.name", .string("demo")),
            ]), scopeSpans: [ScopeSpans(scope: InstrumentationScope(name: "lantern.demo", version: "1"), spans: byVersion[version] ?? [])])
        })
        let logs = #"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"support-bot-evaluator"}}]},"scopeLogs":[{"logRecords":[\#(events.joined(separator: ","))]}]}]}"#
        return Batch(traces: traces, logsJSON: Array(logs.utf8),
                     feedbackJSON: feedback.isEmpty ? nil : Array("[\(feedback.joined(separator: ","))]".utf8))
    }

    private func request<R: RandomNumberGenerator>(_ v: Variant, endUnixNano: UInt64, using random: inout R) -> [Span] {
        let trace = TraceID(high: random.next(), low: random.next())
        let root = SpanID(raw: random.next() | 1), call = SpanID(raw: random.next() | 1)
        let latency = v.latency * logNormal(0.35, &random)
        let ttft = min(latency * 0.9, v.ttft * logNormal(0.3, &random))
        let end = endUnixNano - UInt64.random(in: 0..<250_000_000, using: &random)
        let start = end - UInt64(latency * 1e9)
        let failed = Double.random(in: 0..<1, using: &random) < v.errorRate
        let input = Int64.random(in: 180...2_400, using: &random)
        let cached = Double.random(in: 0..<1, using: &random) < 0.4 ? input / 2 : 0
        let output = Int64.random(in: 40...600, using: &random)
        var attributes: [Attribute] = [
            Attribute("gen_ai.operation.name", .string("chat")), Attribute("gen_ai.provider.name", .string("openai")),
            Attribute("gen_ai.request.model", .string(v.requestModel)), Attribute("gen_ai.request.stream", .bool(true)),
            Attribute("lantern.variant", .string(v.variant)),
        ]
        var status = StatusCode.unset
        var message = ""
        if failed {
            let rateLimited = Double.random(in: 0..<1, using: &random) < 0.6
            attributes.append(Attribute("error.type", .string(rateLimited ? "RateLimitError" : "InternalServerError")))
            status = .error
            message = rateLimited ? "Error code: 429 - rate limit reached" : "Error code: 500 - internal error"
        } else {
            attributes += [
                Attribute("gen_ai.response.model", .string(v.responseModel)),
                Attribute("gen_ai.usage.input_tokens", .int(input)), Attribute("gen_ai.usage.output_tokens", .int(output)),
                Attribute("gen_ai.usage.cache_read.input_tokens", .int(cached)),
                Attribute("gen_ai.response.time_to_first_chunk", .double(ttft)),
                Attribute("gen_ai.response.finish_reasons", .array([.string(output > 560 ? "length" : "stop")])),
            ]
        }
        let callStart = start + 5_000_000
        return [
            Span(traceID: trace, spanID: root, name: "POST /chat", kind: .server, startTimeUnixNano: start, endTimeUnixNano: end,
                 attributes: [Attribute("http.request.method", .string("POST")), Attribute("http.response.status_code", .int(failed ? 502 : 200))],
                 statusCode: status),
            Span(traceID: trace, spanID: call, parentSpanID: root, name: "chat \(v.requestModel)", kind: .client,
                 startTimeUnixNano: callStart, endTimeUnixNano: max(callStart + 1, end - 3_000_000), attributes: attributes,
                 statusCode: status, statusMessage: message),
        ]
    }

    /// A log-normal factor with median 1.
    private func logNormal<R: RandomNumberGenerator>(_ sigma: Double, _ random: inout R) -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &random), u2 = Double.random(in: 0..<1, using: &random)
        return exp(sigma * (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
}

/// Sends `DemoTraffic` to a running server over real OTLP/HTTP protobuf, `rate` requests a
/// second, until graceful shutdown or for `duration` seconds (run it with
/// `successTerminationBehavior: .gracefullyShutdownGroup` to stop the server with it).
public struct DemoTrafficService: Service {
    let endpoint: URL
    let rate: Int
    let duration: TimeInterval?
    let logger: Logger

    public init(endpoint: URL, rate: Int, duration: TimeInterval?, logger: Logger) {
        self.endpoint = endpoint
        self.rate = rate
        self.duration = duration
        self.logger = logger
    }

    public func run() async throws {
        var random = SystemRandomNumberGenerator()
        let traffic = DemoTraffic()
        let started = Date()
        var sent = 0, failures = 0
        let tick = 0.25
        var carry = 0.0
        while !Task.isShuttingDownGracefully {
            if let duration, Date().timeIntervalSince(started) >= duration { break }
            carry += Double(rate) * tick
            let count = Int(carry)
            carry -= Double(count)
            if count > 0 {
                let now = UInt64(Date().timeIntervalSince1970 * 1e9)
                let batch = traffic.batch(requests: count, nowUnixNano: now, using: &random)
                do {
                    if try await post(OTLPProtobufEncoder().encode(batch.traces), type: "application/x-protobuf", to: endpoint) == 200 {
                        sent += count
                    } else {
                        failures += 1
                    }
                    _ = try await post(batch.logsJSON, type: "application/json", to: sibling("/v1/logs"))
                    if let feedback = batch.feedbackJSON { _ = try await post(feedback, type: "application/json", to: sibling("/api/v1/feedback")) }
                } catch {
                    failures += 1
                    if failures == 1 { logger.warning("demo traffic could not reach the server", metadata: ["error": "\(error)"]) }
                }
                if sent > 0 && sent % 500 < count { logger.info("demo traffic", metadata: ["requests_sent": "\(sent)"]) }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(nanoseconds: UInt64(tick * 1e9)) }
        }
        logger.info("demo traffic stopped", metadata: ["requests_sent": "\(sent)", "failed_posts": "\(failures)"])
    }

    /// The endpoint's server with another path.
    private func sibling(_ path: String) -> URL {
        var c = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)!
        c.path = path
        return c.url!
    }

    private func post(_ body: [UInt8], type: String, to url: URL) async throws -> Int {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue(type, forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body)
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }
}
