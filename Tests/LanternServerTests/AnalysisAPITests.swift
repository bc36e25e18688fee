import Foundation
import LanternCollector
import Testing

/// The analysis JSON API against a real `lantern serve`: spans in over OTLP/HTTP, evaluation events
/// in over OTLP logs, scores and feedback posted, then report, query, compare and drift read back.
@Suite("lantern serve: analysis API", .serialized)
struct AnalysisAPITests {
    static let start: Int64 = 1_700_000_000_000_000_000
    static let trace = "5b8efff798038103d269b633813fc60c"

    /// `n` chat spans per variant; the candidate's TTFT is 150 ms later, one in ten of its calls fails.
    static func spans(_ n: Int) -> [UInt8] {
        var spans: [String] = []
        for i in 0..<(2 * n) {
            let candidate = i % 2 == 1
            let ttft = 0.2 + Double(i / 2 % 40) * 0.005 + (candidate ? 0.15 : 0)
            let begin = start + Int64(i) * 1_000_000_000
            let failed = candidate && i % 20 == 1
            let attributes = [
                #"{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}}"#,
                #"{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}}"#,
                #"{"key":"gen_ai.usage.input_tokens","value":{"intValue":"100"}}"#,
                #"{"key":"gen_ai.usage.output_tokens","value":{"intValue":"41"}}"#,
                #"{"key":"gen_ai.response.time_to_first_chunk","value":{"doubleValue":\#(ttft)}}"#,
                #"{"key":"gen_ai.response.finish_reasons","value":{"arrayValue":{"values":[{"stringValue":"\#(i % 7 == 0 ? "length" : "stop")"}]}}}"#,
                #"{"key":"lantern.variant","value":{"stringValue":"\#(candidate ? "candidate" : "baseline")"}}"#,
            ] + (failed ? [#"{"key":"error.type","value":{"stringValue":"timeout"}}"#] : [])
            let status = failed ? #","status":{"code":2}"# : ""
            spans.append(#"{"traceId":"\#(trace)","spanId":"\#(String(format: "%016x", i + 1))","name":"chat gpt-4o","startTimeUnixNano":"\#(begin)","endTimeUnixNano":"\#(begin + 2_000_000_000)","attributes":[\#(attributes.joined(separator: ","))]\#(status)}"#)
        }
        return Array(#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"chat"}}]},"scopeSpans":[{"spans":[\#(spans.joined(separator: ","))]}]}]}"#.utf8)
    }

    static func evaluationEvent(span: Int, value: Double) -> String {
        #"{"timeUnixNano":"\#(start + 500_000_000_000)","eventName":"gen_ai.evaluation.result","traceId":"\#(trace)","spanId":"\#(String(format: "%016x", span))","attributes":[{"key":"gen_ai.evaluation.name","value":{"stringValue":"relevance"}},{"key":"gen_ai.evaluation.score.value","value":{"doubleValue":\#(value)}},{"key":"gen_ai.evaluation.score.label","value":{"stringValue":"\#(value >= 0.5 ? "relevant" : "irrelevant")"}}]}"#
    }

    func json(_ r: (status: Int, body: [UInt8], headers: [String: String])) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any], "not a JSON object: \(String(decoding: r.body, as: UTF8.self))")
    }

    @Test("report, query, compare, drift, scores and feedback; bad parameters are 400s that name the parameter")
    func analysisAPI() async throws {
        try await withLanternServe { server in
            #expect(try await server.post(Self.spans(100), type: "application/json").status == 200)
            // Evaluation events on spans 1 (baseline) and 2 (candidate), sent twice (an exporter retry): stored once.
            let logs = #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[\#(Self.evaluationEvent(span: 1, value: 0.9)),\#(Self.evaluationEvent(span: 2, value: 0.3))]}]}]}"#
            for _ in 0..<2 { #expect(try await server.post(Array(logs.utf8), type: "application/json", path: "/v1/logs").status == 200) }

            let range = "from=\(Self.start)&until=\(Self.start + 3_600_000_000_000)"
            let report = try json(try await server.send(method: "GET", path: "/api/v1/report?\(range)"))
            let rows = try #require(report["rows"] as? [[String: Any]])
            #expect(rows.count == 2)
            let total = try #require(report["total"] as? [String: Any])
            #expect(total["requests"] as? Int == 200)
            #expect(total["errors"] as? Int == 10)
            let baseline = try #require(rows.first { ($0["key"] as? [String: String])?["variant"] == "baseline" })
            let scores = try #require(baseline["scores"] as? [[String: Any]])
            #expect(scores.count == 1 && scores[0]["name"] as? String == "relevance" && scores[0]["count"] as? Int == 1,
                    "the evaluation event joined its span once: \(scores)")
            let finish = try #require(total["finishReasons"] as? [String: Int])
            #expect(finish["length"] == 29 && finish["stop"] == 171)

            // Scores and feedback over the API: idempotent by id, conflicts and bad fields named.
            let feedback = #"{"id":"fb-1","trace_id":"\#(Self.trace)","span_id":"0000000000000002","value":false,"comment":"wrong answer"}"#
            let first = try await server.send(Array(feedback.utf8), type: "application/json", path: "/api/v1/feedback")
            #expect(first.status == 200)
            #expect(String(decoding: first.body, as: UTF8.self).contains(#""status":"stored""#))
            let again = try await server.send(Array(feedback.utf8), type: "application/json", path: "/api/v1/feedback")
            #expect(again.status == 200 && String(decoding: again.body, as: UTF8.self).contains(#""status":"duplicate""#))
            let changed = feedback.replacingOccurrences(of: "false", with: "true")
            #expect(try await server.send(Array(changed.utf8), type: "application/json", path: "/api/v1/feedback").status == 409)
            let bad = #"{"scores":[{"id":"a","trace_id":"\#(Self.trace)","name":"x","value":1},{"id":"b","trace_id":"xyz","name":"x","value":1}]}"#
            let badReply = try json(try await server.send(Array(bad.utf8), type: "application/json", path: "/api/v1/scores"))
            #expect(badReply["parameter"] as? String == "scores[1].trace_id")
            let future = #"{"id":"t","trace_id":"\#(Self.trace)","name":"x","value":1,"time":"3000-01-01"}"#
            let futureReply = try json(try await server.send(Array(future.utf8), type: "application/json", path: "/api/v1/scores"))
            #expect(futureReply["parameter"] as? String == "time", "a time past 2200 is refused, not a crash: \(futureReply)")
            let stored = try await server.send(method: "GET", path: "/api/v1/scores?trace_id=\(Self.trace)")
            #expect(stored.status == 200)
            let storedList = try #require(try JSONSerialization.jsonObject(with: Data(stored.body)) as? [[String: Any]])
            #expect(storedList.count == 3, "two evaluation events and one feedback, none of the rejected batch: \(storedList)")

            let candidate = try json(try await server.send(method: "GET", path: "/api/v1/report?\(range)&variant=candidate&group_by=model"))
            let candidateRow = try #require((candidate["rows"] as? [[String: Any]])?.first)
            #expect(candidateRow["spansWithFeedback"] as? Int == 1)

            let query = try json(try await server.send(method: "GET", path: "/api/v1/query?\(range)&group_by=variant&metrics=count,errors"))
            #expect((query["groups"] as? [[String: Any]])?.count == 2)

            let compare = try json(try await server.send(method: "GET", path: "/api/v1/compare?\(range)&reference_variant=baseline&candidate_variant=candidate"))
            let changes = try #require(compare["changes"] as? [[String: Any]])
            let errorRate = try #require(changes.first { $0["metric"] as? String == "error_rate" })
            #expect(errorRate["candidate"] as? Double == 0.1)

            let drift = try json(try await server.send(method: "GET", path: "/api/v1/drift?\(range)&subject=ttft&reference_variant=baseline&candidate_variant=candidate&tests=ks,mann_whitney"))
            #expect(drift["status"] as? String == "ok")
            let tests = try #require(drift["tests"] as? [[String: Any]])
            #expect(tests.map { $0["test"] as? String } == ["ks", "mann_whitney"])
            #expect(tests.allSatisfy { $0["drifted"] as? Bool == true })
            let shift = try #require(tests[1]["shift"] as? Double)
            #expect(abs(shift - 0.15) < 1e-9)

            for (path, parameter) in [("/api/v1/report?from=yesterdayish", "from"), ("/api/v1/report?group_by=colour", "group_by"),
                                      ("/api/v1/drift?subject=ttft", "reference_variant"), ("/api/v1/drift?reference_variant=a&candidate_variant=b", "subject"),
                                      ("/api/v1/drift?subject=finish_reason&tests=ks&reference_variant=a&candidate_variant=b", "tests"),
                                      ("/api/v1/query?metrics=speed", "metrics"), ("/api/v1/scores", "trace_id"),
                                      ("/api/v1/report?from=2300-01-01", "from"), ("/api/v1/report?until=-9223372036854775808", "until"),
                                      ("/api/v1/report?from=-9000000000000000000&until=9000000000000000000", "until"),
                                      ("/api/v1/report?group_by=model,model", "group_by"), ("/api/v1/query?group_by=variant,variant", "group_by"),
                                      ("/api/v1/compare?reference_variant=a&candidate_variant=b&reference_from=3000-01-01", "reference_from")] {
                let r = try await server.send(method: "GET", path: path)
                #expect(r.status == 400, "\(path)")
                #expect(try json(r)["parameter"] as? String == parameter, "\(path): \(String(decoding: r.body, as: UTF8.self))")
            }
        }
    }
}
