import Foundation
import LanternModel

// Redaction of prompt and completion content before anything is written (DESIGN.md, "Security").
// Only content-bearing values are scanned: span attributes with a content key, the attributes of
// content events, and log record bodies handed in by the caller. Model names, token counts, ids and
// every other attribute are never looked at.

/// Replaces sensitive text in prompt and completion content with `[REDACTED:<rule>]`.
public struct Redactor: Sendable {
    public let rules: [RedactionRule]

    public init(rules: [RedactionRule] = Redactor.defaultRules) {
        self.rules = rules
    }

    /// Every built-in detector: `api_key`, `email`, `card`, `phone`.
    public static let defaultRules: [RedactionRule] = RedactionRule.Detector.allCases.map { RedactionRule.detector($0) }

    /// The built-in detectors minus those named; an unknown name is an error, so a typo in the
    /// configuration cannot leave a detector silently on.
    public static func defaultRules(disabling names: some Sequence<String>) throws(RedactionRuleError) -> [RedactionRule] {
        let off = Set(names)
        for name in off where RedactionRule.Detector(rawValue: name) == nil {
            let known = RedactionRule.Detector.allCases.map(\.rawValue).joined(separator: ", ")
            throw RedactionRuleError(rule: name, message: "no built-in rule has this name (built-ins: \(known))")
        }
        return defaultRules.filter { !off.contains($0.name) }
    }

    /// Redacts the content of one span in place: attributes with a content key and the attributes
    /// of content events. Returns the number of replacements.
    @discardableResult
    public func redact(_ span: inout Span) -> Int {
        guard !rules.isEmpty else { return 0 }
        var total = 0
        for i in span.attributes.indices where ContentKeys.isContent(span.attributes[i].key) {
            var value = span.attributes[i].value
            let n = redactValue(&value, depth: 0)
            if n > 0 {
                span.attributes[i].value = value
                total += n
            }
        }
        for e in span.events.indices where !span.events[e].attributes.isEmpty {
            let contentEvent = ContentKeys.isContentEvent(span.events[e].name)
            for a in span.events[e].attributes.indices {
                let key = span.events[e].attributes[a].key
                guard contentEvent ? ContentKeys.isContentInContentEvent(key) : ContentKeys.isContent(key) else { continue }
                var value = span.events[e].attributes[a].value
                let n = redactValue(&value, depth: 0)
                if n > 0 {
                    span.events[e].attributes[a].value = value
                    total += n
                }
            }
        }
        return total
    }

    /// Redacts the original span of a canonical span (the promoted fields carry no content).
    @discardableResult
    public func redact(_ span: inout CanonicalSpan) -> Int {
        redact(&span.span)
    }

    /// Redacts a value that is content as a whole (a GenAI log record body): every string in it,
    /// through arrays and key-value lists. Returns the number of replacements.
    @discardableResult
    public func redact(_ value: inout AttributeValue) -> Int {
        guard !rules.isEmpty else { return 0 }
        return redactValue(&value, depth: 0)
    }

    /// Redacts a piece of text; JSON text is redacted inside its string literals so it stays valid JSON.
    @discardableResult
    public func redact(_ text: inout String) -> Int {
        guard !rules.isEmpty else { return 0 }
        return redactText(&text, depth: 0)
    }

    // MARK: - Values

    /// OTLP decoding bounds nesting already; this only keeps a hand-built value from recursing forever.
    private static let maxDepth = 64
    /// How many levels of JSON encoded inside JSON strings are unwrapped.
    private static let maxJSONDepth = 4

    private func redactValue(_ value: inout AttributeValue, depth: Int) -> Int {
        switch value {
        case .string(let s):
            var text = s
            let n = redactText(&text, depth: 0)
            if n > 0 { value = .string(text) }
            return n
        case .array(let items):
            guard depth < Self.maxDepth else { return 0 }
            var out = items
            var total = 0
            for i in out.indices {
                var item = out[i]
                let n = redactValue(&item, depth: depth + 1)
                if n > 0 {
                    out[i] = item
                    total += n
                }
            }
            if total > 0 { value = .array(out) }
            return total
        case .kvlist(let pairs):
            guard depth < Self.maxDepth else { return 0 }
            var out = pairs
            var total = 0
            for i in out.indices {
                var item = out[i].value
                let n = redactValue(&item, depth: depth + 1)
                if n > 0 {
                    out[i].value = item
                    total += n
                }
            }
            if total > 0 { value = .kvlist(out) }
            return total
        case .bool, .int, .double, .bytes, .empty:
            return 0
        }
    }

    private func redactText(_ text: inout String, depth: Int) -> Int {
        if text.isEmpty { return 0 }
        let features = TextFeatures(text)
        let anyRule = rules.contains { $0.mightMatch(features) }
        // A `\u` escape in JSON text can hide any character from the byte scan.
        guard anyRule || features.hasUnicodeEscape else { return 0 }
        if depth < Self.maxJSONDepth, features.looksLikeJSON, let n = redactJSON(&text, depth: depth) {
            return n
        }
        guard anyRule else { return 0 }
        var total = 0
        for rule in rules where rule.mightMatch(features) {
            if let result = rule.replace(in: text) {
                text = result.text
                total += result.count
            }
        }
        return total
    }

    /// Redacts inside each string literal of JSON text (decoded first, so `\n` before an address
    /// does not hide it), re-escaping only the literals that changed. nil when the text turns out
    /// not to be JSON; then it is redacted as plain text.
    private func redactJSON(_ text: inout String, depth: Int) -> Int? {
        var copy = text
        let outcome = copy.withUTF8 { redactJSONLiterals($0, depth: depth) }
        switch outcome {
        case .notJSON: return nil
        case .unchanged: return 0
        case .changed(let bytes, let count):
            text = String(decoding: bytes, as: UTF8.self)
            return count
        }
    }

    private enum JSONOutcome {
        case notJSON, unchanged
        case changed([UInt8], count: Int)
    }

    private func redactJSONLiterals(_ buf: UnsafeBufferPointer<UInt8>, depth: Int) -> JSONOutcome {
        var out: [UInt8] = []
        var copiedUpTo = 0
        var total = 0
        var i = 0
        while i < buf.count {
            guard buf[i] == JSONText.quote else {
                guard JSONText.isStructural(buf[i]) else { return .notJSON }
                i += 1
                continue
            }
            var j = i + 1
            var escaped = false
            while j < buf.count, buf[j] != JSONText.quote {
                if buf[j] == JSONText.backslash {
                    escaped = true
                    j += 2
                } else {
                    j += 1
                }
            }
            guard j < buf.count else { return .notJSON }
            let body = UnsafeBufferPointer(rebasing: buf[(i + 1)..<j])
            guard var literal = escaped ? JSONText.unescape(body) : String(decoding: body, as: UTF8.self) else { return .notJSON }
            let n = redactText(&literal, depth: depth + 1)
            if n > 0 {
                if out.isEmpty { out.reserveCapacity(buf.count + 64) }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[copiedUpTo..<i]))
                JSONText.appendQuoted(literal, to: &out)
                copiedUpTo = j + 1
                total += n
            }
            i = j + 1
        }
        guard total > 0 else { return .unchanged }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[copiedUpTo..<buf.count]))
        return .changed(out, count: total)
    }
}
