import ArgumentParser
import Foundation
import LanternModel
import LanternStore

struct TracesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "traces", abstract: "Look at stored traces.", subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a trace as a span tree with timings and GenAI facts.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The trace id (32 hex digits).") var traceID: String
        @Flag(name: .long, help: "Print the spans as JSON.") var json = false

        func validate() throws {
            guard TraceID(hex: traceID) != nil else { throw ValidationError("'\(traceID)' is not a trace id: expected 32 hex digits") }
        }

        func run() throws {
            let store = try SQLiteSpanStore(path: database.path)
            let id = TraceID(hex: traceID)!
            let spans = try store.traceNow(id)
            let logs = try store.logRecords(traceID: id)
            guard !spans.isEmpty else {
                printError("trace \(traceID.lowercased()) not found in \(database.path)")
                throw ExitCode(1)
            }
            if json {
                print(try jsonString(spans.map(SpanSummary.init)))
            } else {
                print(TraceTree.render(spans, logs: logs))
            }
        }
    }
}

/// A span as `traces show --json` prints it.
struct SpanSummary: Encodable {
    var spanID: String, parentSpanID: String?, name: String, kind: String, start: String, durationMs: Double
    var status: String, statusMessage: String?, service: String?, serviceVersion: String?
    var operation: String?, provider: String?, requestModel: String?, responseModel: String?
    var inputTokens: Int64?, outputTokens: Int64?, cacheReadTokens: Int64?, ttftMs: Double?, finishReason: String?, errorType: String?
    var attributes: [String: String]

    init(_ c: CanonicalSpan) {
        let s = c.span
        spanID = s.spanID.hex; parentSpanID = s.parentSpanID?.hex; name = s.name; kind = s.kind.description
        start = formatTime(Int64(bitPattern: s.startTimeUnixNano)); durationMs = Double(s.durationNanos) / 1e6
        status = s.statusCode.description; statusMessage = s.statusMessage.isEmpty ? nil : s.statusMessage
        service = c.serviceName; serviceVersion = c.serviceVersion
        let g = c.genAI
        operation = g.operation; provider = g.provider; requestModel = g.requestModel; responseModel = g.responseModel
        inputTokens = g.inputTokens; outputTokens = g.outputTokens; cacheReadTokens = g.cacheReadTokens
        ttftMs = g.timeToFirstToken.map { $0 * 1000 }; finishReason = g.finishReason; errorType = g.errorType
        attributes = Dictionary(s.attributes.map { ($0.key, $0.value.description) }, uniquingKeysWith: { a, _ in a })
    }
}

/// Renders spans as an indented tree: offset from the trace start, duration, name, GenAI facts.
enum TraceTree {
    static func render(_ spans: [CanonicalSpan], logs: [LogRow] = []) -> String {
        var events: [SpanID: [LogRow]] = [:]
        for log in logs { if let s = log.spanID { events[s, default: []].append(log) } }
        let ids = Set(spans.map(\.span.spanID))
        var children: [SpanID: [CanonicalSpan]] = [:]
        var roots: [CanonicalSpan] = []
        for s in spans {
            if let p = s.span.parentSpanID, ids.contains(p) { children[p, default: []].append(s) } else { roots.append(s) }
        }
        let t0 = spans.map(\.span.startTimeUnixNano).min() ?? 0
        let first = spans[0]
        var lines = ["trace \(first.span.traceID.hex)  service \(first.serviceName ?? "-") \(first.serviceVersion ?? "")  "
                     + "\(spans.count) spans  started \(formatTime(Int64(bitPattern: t0)))"]
        func walk(_ s: CanonicalSpan, _ depth: Int) {
            let sp = s.span
            let offset = Double(sp.startTimeUnixNano &- t0) / 1e6
            var line = String(format: "%9.1fms %9.1fms  ", offset, Double(sp.durationNanos) / 1e6)
            line += String(repeating: "  ", count: depth) + sp.name + "  [\(sp.kind)]"
            if sp.statusCode == .error { line += "  ERROR" + (sp.statusMessage.isEmpty ? "" : " \"\(sp.statusMessage)\"") }
            lines.append(line)
            let g = s.genAI
            var facts: [String] = []
            if let m = g.model { facts.append("model \(m)" + (g.requestModel != nil && g.requestModel != m ? " (requested \(g.requestModel!))" : "")) }
            if let p = g.provider { facts.append("provider \(p)") }
            if g.inputTokens != nil || g.outputTokens != nil {
                facts.append("tokens in \(g.inputTokens.map(String.init) ?? "?") out \(g.outputTokens.map(String.init) ?? "?")"
                             + (g.cacheReadTokens.map { " cached \($0)" } ?? ""))
            }
            if let t = g.timeToFirstToken { facts.append(String(format: "ttft %.1fms", t * 1000)) }
            if let f = g.finishReason { facts.append("finish \(f)") }
            if let e = g.errorType { facts.append("error.type \(e)") }
            if !facts.isEmpty { lines.append(String(repeating: " ", count: 24) + String(repeating: "  ", count: depth) + "  " + facts.joined(separator: ", ")) }
            for log in events[sp.spanID] ?? [] {
                let at = Double(log.timeUnixNano - Int64(bitPattern: t0)) / 1e6
                lines.append(String(format: "%9.1fms ", at) + String(repeating: " ", count: 14) + String(repeating: "  ", count: depth)
                             + "  log event \(log.eventName.isEmpty ? "(unnamed)" : log.eventName)" + (log.severityText.isEmpty ? "" : " \(log.severityText)"))
            }
            for c in (children[sp.spanID] ?? []).sorted(by: { $0.span.startTimeUnixNano < $1.span.startTimeUnixNano }) { walk(c, depth + 1) }
        }
        for r in roots.sorted(by: { $0.span.startTimeUnixNano < $1.span.startTimeUnixNano }) { walk(r, 0) }
        return lines.joined(separator: "\n")
    }
}
