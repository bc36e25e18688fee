import Foundation
import LanternModel

/// Reads the JSON body of `POST /api/v1/scores` and `POST /api/v1/feedback` into scores (pure:
/// the current time is passed in). The body is one object, an array of objects, or
/// `{"scores": [...]}` / `{"feedback": [...]}`. Each object:
///
/// - `id` (required): the client's idempotency key, 1–256 characters;
/// - `trace_id` (required, 32 hex digits) and `span_id` (optional, 16 hex digits);
/// - `name` (required for scores; feedback defaults to `user_feedback`);
/// - `value` (a number, or for feedback true/false = 1/0) and/or `label` (a string): at least one;
/// - `comment` (optional, up to 10,000 characters); `time` (optional, else now).
public enum ScoreSubmission {
    public static let maxItems = 1_000
    public static let maxCommentLength = 10_000
    public static let defaultFeedbackName = "user_feedback"

    /// What was wrong, with the JSON path of the offending field (e.g. `scores[2].trace_id`).
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { path.isEmpty ? message : "\(path): \(message)" }
    }

    public static func parse(_ body: [UInt8], kind: Score.Kind, nowUnixNano: Int64) throws(Problem) -> [Score] {
        let listName = kind == .score ? "scores" : "feedback"
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(body), options: [])
        } catch {
            throw Problem(path: "", message: "the body is not valid JSON")
        }
        let items: [Any], path: String
        if let array = json as? [Any] {
            items = array
            path = ""
        } else if let object = json as? [String: Any], let array = object[listName] as? [Any], object.count == 1 {
            items = array
            path = listName
        } else if let object = json as? [String: Any] {
            items = [object]
            path = ""
        } else {
            throw Problem(path: "", message: "expected an object, an array of objects, or {\"\(listName)\": [...]}")
        }
        guard !items.isEmpty else { throw Problem(path: path, message: "no \(listName) given") }
        guard items.count <= maxItems else { throw Problem(path: path, message: "at most \(maxItems) per request, got \(items.count)") }
        var out: [Score] = []
        var seen: [String: Int] = [:]
        for (i, item) in items.enumerated() {
            let at = items.count == 1 && path.isEmpty && !(json is [Any]) ? "" : "\(path)[\(i)]"
            let score = try parseItem(item, kind: kind, at: at, nowUnixNano: nowUnixNano)
            if let first = seen[score.id], !out[first].sameContent(as: score) {
                throw Problem(path: field(at, "id"), message: "'\(score.id)' is used twice in this request with different content")
            }
            seen[score.id] = out.count
            out.append(score)
        }
        return out
    }

    private static func field(_ at: String, _ name: String) -> String { at.isEmpty ? name : "\(at).\(name)" }

    private static func parseItem(_ item: Any, kind: Score.Kind, at: String, nowUnixNano: Int64) throws(Problem) -> Score {
        guard let o = item as? [String: Any] else { throw Problem(path: at, message: "expected an object") }
        let known: Set<String> = ["id", "trace_id", "span_id", "name", "value", "label", "comment", "time"]
        if let unknown = o.keys.sorted().first(where: { !known.contains($0) }) {
            throw Problem(path: field(at, unknown), message: "unknown field; use \(known.sorted().joined(separator: ", "))")
        }
        func string(_ name: String, required: Bool, maxLength: Int) throws(Problem) -> String? {
            guard let raw = o[name], !(raw is NSNull) else {
                if required { throw Problem(path: field(at, name), message: "required") }
                return nil
            }
            guard let s = raw as? String else { throw Problem(path: field(at, name), message: "expected a string") }
            guard !s.isEmpty || !required else { throw Problem(path: field(at, name), message: "must not be empty") }
            guard s.count <= maxLength else { throw Problem(path: field(at, name), message: "longer than \(maxLength) characters") }
            return s
        }
        let id = try string("id", required: true, maxLength: 256)!
        let traceText = try string("trace_id", required: true, maxLength: 64)!
        guard let trace = TraceID(hex: traceText), trace != TraceID(high: 0, low: 0) else {
            throw Problem(path: field(at, "trace_id"), message: "expected 32 hex digits (not all zero), got '\(traceText)'")
        }
        var span: SpanID?
        if let spanText = try string("span_id", required: false, maxLength: 64) {
            guard let s = SpanID(hex: spanText), s.raw != 0 else {
                throw Problem(path: field(at, "span_id"), message: "expected 16 hex digits (not all zero), got '\(spanText)'")
            }
            span = s
        }
        let name = try string("name", required: kind == .score, maxLength: 256) ?? defaultFeedbackName
        guard !name.isEmpty else { throw Problem(path: field(at, "name"), message: "must not be empty") }
        var value: Double?
        if let raw = o["value"], !(raw is NSNull) {
            if let n = raw as? NSNumber, String(cString: n.objCType) == "c" {  // JSON true/false
                guard kind == .feedback else { throw Problem(path: field(at, "value"), message: "expected a number") }
                value = n.boolValue ? 1 : 0
            } else if let n = raw as? NSNumber, n.doubleValue.isFinite {
                value = n.doubleValue
            } else {
                throw Problem(path: field(at, "value"), message: kind == .feedback ? "expected a number or true/false" : "expected a number")
            }
        }
        let label = try string("label", required: false, maxLength: 256)
        guard value != nil || label != nil else { throw Problem(path: at, message: "give a value, a label, or both") }
        let comment = try string("comment", required: false, maxLength: maxCommentLength)
        var time = nowUnixNano
        if let raw = o["time"], !(raw is NSNull) {
            let text = (raw as? String) ?? (raw as? NSNumber).map { "\($0.int64Value)" } ?? ""
            guard let t = TimeExpression.parse(text, nowUnixNano: nowUnixNano) else {
                throw Problem(path: field(at, "time"), message: "cannot read the time '\(text)': use \(TimeExpression.accepted)")
            }
            time = t
        }
        return Score(id: id, kind: kind, traceID: trace, spanID: span, name: name, value: value, label: label, comment: comment,
                     source: kind == .score ? "api" : "feedback", timeUnixNano: time)
    }
}
