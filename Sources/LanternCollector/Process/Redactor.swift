import Foundation
import LanternModel

// Redaction of prompt and completion content before anything is written (DESIGN.md, "Security").
// Only content-bearing values are scanned: span attributes with a content key, the attributes of
// content events, and log record bodies handed in by the caller. Model names, token counts, ids and
// every other attribute are never looked at.

/// Why a redaction rule could not be built.
public struct RedactionRuleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The name of the rule at fault.
    public var rule: String
    public var message: String

    public init(rule: String, message: String) {
        self.rule = rule
        self.message = message
    }

    public var description: String { "redaction rule '\(rule)': \(message)" }
}

/// One redaction rule: a built-in detector or a user regular expression, compiled once.
public struct RedactionRule: Sendable {
    /// The detectors Lantern ships, in the order they run by default.
    public enum Detector: String, Sendable, CaseIterable {
        /// OpenAI `sk-…` / `sk-proj-…`, Anthropic `sk-ant-…`, AWS `AKIA…`, GitHub `ghp_…` / `github_pat_…`,
        /// Google `AIza…`, Slack `xox?-…`, and `Bearer <token>`.
        case apiKey = "api_key"
        case email
        /// 13–19 digits with optional single spaces or dashes, replaced only when the Luhn check passes.
        case card
        /// International (`+44 20 7946 0958`) and North American (`(415) 555-0100`) shapes.
        case phone
    }

    public enum Kind: Sendable, Equatable {
        case detector(Detector)
        /// A user regular expression (ICU syntax, as `NSRegularExpression` reads it).
        case pattern(String)
    }

    /// The name shown in the replacement text, `[REDACTED:<name>]`.
    public let name: String
    public let kind: Kind
    let regex: CompiledRegex
    let replacement: String

    /// A built-in detector, named by its raw value (`email`, `phone`, `card`, `api_key`).
    public static func detector(_ detector: Detector) -> RedactionRule {
        RedactionRule(detector: detector)
    }

    private init(detector: Detector) {
        name = detector.rawValue
        kind = .detector(detector)
        regex = BuiltInPatterns.compiled(detector)
        replacement = "[REDACTED:\(detector.rawValue)]"
    }

    /// A user rule. Throws, naming the rule and the regex error, when the pattern does not compile
    /// or matches the empty string (which would redact between every character).
    public init(name: String, pattern: String) throws(RedactionRuleError) {
        guard !name.isEmpty else { throw RedactionRuleError(rule: name, message: "the rule has no name") }
        guard !pattern.isEmpty else { throw RedactionRuleError(rule: name, message: "the pattern is empty") }
        let compiled: NSRegularExpression
        do {
            compiled = try NSRegularExpression(pattern: pattern)
        } catch {
            throw RedactionRuleError(rule: name, message: "invalid regular expression '\(pattern)': \(Self.explain(pattern, error))")
        }
        if compiled.firstMatch(in: "", options: [], range: NSRange(location: 0, length: 0)) != nil {
            throw RedactionRuleError(rule: name, message: "the regular expression '\(pattern)' matches the empty string")
        }
        self.name = name
        kind = .pattern(pattern)
        regex = CompiledRegex(compiled)
        replacement = "[REDACTED:\(name)]"
    }

    /// The built-in rule with this name, if there is one.
    public static func detector(named name: String) -> RedactionRule? {
        Detector(rawValue: name).map { RedactionRule(detector: $0) }
    }

    /// `NSRegularExpression` only says a pattern is invalid; Swift's own regex parser says what and where.
    private static func explain(_ pattern: String, _ error: any Error) -> String {
        do {
            _ = try Regex<AnyRegexOutput>(pattern)
        } catch {
            return String(describing: error)
        }
        return error.localizedDescription
    }

    /// A cheap test of whether the rule can match text with these features at all.
    func mightMatch(_ f: TextFeatures) -> Bool {
        switch kind {
        case .detector(.email): return f.hasAt
        case .detector(.phone): return f.maybePhone
        case .detector(.card): return f.maybeCard
        case .detector(.apiKey): return f.maybeKey
        case .pattern: return true
        }
    }

    /// The text with every accepted match replaced, and how many there were; nil when nothing matched.
    func replace(in text: String) -> (text: String, count: Int)? {
        let matches = regex.regex.matches(in: text, options: [], range: NSRange(text.startIndex..<text.endIndex, in: text))
        if matches.isEmpty { return nil }
        var out = ""
        var last = text.startIndex
        var count = 0
        for m in matches {
            guard m.range.length > 0, let found = Range(m.range, in: text) else { continue }
            let accepted: Range<String.Index>?
            switch kind {
            case .detector(.email): accepted = BuiltInPatterns.acceptEmail(text, found, floor: last)
            case .detector(.card): accepted = BuiltInPatterns.acceptCard(text, found)
            case .detector(.phone): accepted = BuiltInPatterns.acceptPhone(text, found)
            default: accepted = found
            }
            guard let hit = accepted, hit.lowerBound >= last, !hit.isEmpty else { continue }
            if count == 0 { out.reserveCapacity(text.utf8.count) }
            out.append(contentsOf: text[last..<hit.lowerBound])
            out.append(replacement)
            last = hit.upperBound
            count += 1
        }
        guard count > 0 else { return nil }
        out.append(contentsOf: text[last...])
        return (out, count)
    }
}

/// An `NSRegularExpression`, which is immutable and safe to share between threads once compiled.
final class CompiledRegex: @unchecked Sendable {
    let regex: NSRegularExpression
    init(_ regex: NSRegularExpression) { self.regex = regex }
}

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

// MARK: - Content keys

/// Which attribute keys and event names carry prompt or completion content, across the
/// conventions in OTEL.md. Exact names plus numbered forms (`#` stands for one or more digits).
public enum ContentKeys {
    /// True when the attribute holds prompt or completion content. Cheap: most keys are rejected
    /// on their first byte, the rest by one hash of their bytes, and only keys with a digit are
    /// compared with the numbered forms.
    public static func isContent(_ key: String) -> Bool {
        guard let first = key.utf8.first else { return false }
        switch first {
        case UInt8(ascii: "g"), UInt8(ascii: "l"), UInt8(ascii: "i"), UInt8(ascii: "o"), UInt8(ascii: "a"),
             UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "e"):
            break
        default:
            return false
        }
        if let answer = key.utf8.withContiguousStorageIfAvailable({ isContent(bytes: $0) }) { return answer }
        var copy = key
        return copy.withUTF8 { isContent(bytes: $0) }
    }

    static func isContent(bytes key: UnsafeBufferPointer<UInt8>) -> Bool {
        for namespace in namespaces where key.count > namespace.prefix.count && key.starts(with: namespace.prefix) {
            if !namespace.next[Int(key[namespace.prefix.count])] { return false }
            break
        }
        if exact.contains(key) { return true }
        guard let first = key.first, key.contains(where: { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return false }
        for pattern in numbered where pattern.first == first {
            if matches(key, pattern) { return true }
        }
        return false
    }

    /// True for span events whose attributes are content as a whole: the v1.26 `gen_ai.content.*`
    /// events, the v1.28–1.36 message events (when sent as span events) and streaming chunk events.
    public static func isContentEvent(_ name: String) -> Bool {
        contentEvents.contains(name) || name.hasPrefix("gen_ai.content.") || name.hasPrefix("llm.content.")
    }

    /// Inside a content event every attribute is content except the ones that describe it
    /// (provider, model, token counts, ids).
    static func isContentInContentEvent(_ key: String) -> Bool {
        if isContent(key) { return true }
        return !eventMetadata.contains(key) && ConventionTable.lookup(key) == nil
    }

    static let exact = ByteKeySet(exactKeys)

    static let exactKeys: [String] = [
        // OpenTelemetry GenAI (v1.37+), and the v1.26 event attributes and the Azure event attribute.
        "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
        "gen_ai.prompt", "gen_ai.completion", "gen_ai.event.content",
        // OpenInference
        "input.value", "output.value", "llm.prompt_template.template", "llm.prompt_template.variables",
        "llm.prompts", "reranker.query",
        // Vercel AI SDK
        "ai.prompt", "ai.prompt.messages", "ai.response.text", "ai.response.object", "ai.response.toolCalls",
        "ai.response.reasoning", "ai.toolCall.args", "ai.toolCall.result", "ai.value", "ai.values",
        // Langfuse
        "langfuse.observation.input", "langfuse.observation.output", "langfuse.trace.input", "langfuse.trace.output",
        // Traceloop
        "traceloop.entity.input", "traceloop.entity.output", "traceloop.prompt.template", "traceloop.prompt.template_variables",
    ]

    static let numbered: [[UInt8]] = [
        // OpenLLMetry (legacy indexed attributes; `gen_ai.prompt.N.role` and `.finish_reason` are not content).
        "gen_ai.prompt.#.content", "gen_ai.completion.#.content",
        "gen_ai.prompt.#.tool_calls.#.arguments", "gen_ai.completion.#.tool_calls.#.arguments",
        "gen_ai.completion.#.function_call.arguments",
        "llm.prompts.#.content", "llm.completions.#.content",
        // OpenInference flattened messages, multimodal parts, tool calls, prompts and documents.
        "llm.input_messages.#.message.content", "llm.output_messages.#.message.content",
        "llm.input_messages.#.message.contents.#.message_content.text",
        "llm.output_messages.#.message.contents.#.message_content.text",
        "llm.input_messages.#.message.tool_calls.#.tool_call.function.arguments",
        "llm.output_messages.#.message.tool_calls.#.tool_call.function.arguments",
        "llm.prompts.#.prompt.text",
        "retrieval.documents.#.document.content",
        "reranker.input_documents.#.document.content", "reranker.output_documents.#.document.content",
        "embedding.embeddings.#.embedding.text",
    ].map { Array($0.utf8) }

    /// For the busiest namespaces, which bytes can follow the prefix in a content key, so that
    /// `gen_ai.usage.*`, `gen_ai.request.*`, `llm.token_count.*` and the like stop at one byte.
    static let namespaces: [(prefix: [UInt8], next: [Bool])] = ["gen_ai.", "llm."].map { name in
        let prefix = Array(name.utf8)
        var next = [Bool](repeating: false, count: 256)
        for key in exactKeys.map({ Array($0.utf8) }) + numbered where key.count > prefix.count && key.starts(with: prefix) {
            next[Int(key[prefix.count])] = true
        }
        return (prefix, next)
    }

    static let contentEvents: Set<String> = [
        "gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message", "gen_ai.tool.message",
        "gen_ai.choice", "gen_ai.client.inference.operation.details",
    ]

    /// Attributes of content events that describe the event rather than carry content.
    static let eventMetadata: Set<String> = [
        "event.name", "gen_ai.system", "gen_ai.provider.name", "gen_ai.operation.name", "gen_ai.response.id",
        "gen_ai.response.finish_reasons", "gen_ai.tool.call.id", "role", "index", "id", "finish_reason",
        "server.address", "server.port",
    ]

    /// Matches a key against a pattern in which `#` stands for one or more ASCII digits.
    static func matches(_ key: UnsafeBufferPointer<UInt8>, _ pattern: [UInt8]) -> Bool {
        var k = 0
        for p in pattern {
            if p == UInt8(ascii: "#") {
                let digitsStart = k
                while k < key.count, key[k] >= UInt8(ascii: "0"), key[k] <= UInt8(ascii: "9") { k += 1 }
                if k == digitsStart { return false }
            } else {
                guard k < key.count, key[k] == p else { return false }
                k += 1
            }
        }
        return k == key.count
    }
}

/// A fixed set of keys looked up by their UTF-8 bytes through an open-addressing table, without
/// building a `String` or hashing with SipHash.
struct ByteKeySet: Sendable {
    private let slots: [(hash: UInt64, bytes: [UInt8])?]
    private let mask: Int

    init(_ keys: [String]) {
        var size = 16
        while size < keys.count * 4 { size *= 2 }
        var slots = [(hash: UInt64, bytes: [UInt8])?](repeating: nil, count: size)
        for key in keys {
            let bytes = Array(key.utf8)
            let h = bytes.withUnsafeBufferPointer { ConventionTable.fnv1a($0) }
            var slot = Int(truncatingIfNeeded: h) & (size - 1)
            while slots[slot] != nil { slot = (slot + 1) & (size - 1) }
            slots[slot] = (h, bytes)
        }
        self.slots = slots
        mask = size - 1
    }

    func contains(_ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let h = ConventionTable.fnv1a(key)
        var slot = Int(truncatingIfNeeded: h) & mask
        while let entry = slots[slot] {
            if entry.hash == h && entry.bytes.elementsEqual(key) { return true }
            slot = (slot + 1) & mask
        }
        return false
    }
}

// MARK: - Prefilter

/// What one pass over a text's bytes says about it, so detectors that cannot match are skipped
/// without running a regular expression. Each flag is necessary for its detector to match, never
/// sufficient.
struct TextFeatures {
    var hasAt = false
    /// `+` and a digit 1–9, or a run of exactly 3 digits, one of ` .-`, and a run of exactly 4.
    var maybePhone = false
    /// At least 13 digits with at most one space or dash between neighbours.
    var maybeCard = false
    var maybeKey = false
    var hasUnicodeEscape = false
    var looksLikeJSON = false

    init(_ text: String) {
        var text = text
        self = text.withUTF8 { Self.scan($0) }
    }

    private init() {}

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private static func scan(_ b: UnsafeBufferPointer<UInt8>) -> TextFeatures {
        var f = TextFeatures()
        let n = b.count
        func at(_ i: Int, _ c: Unicode.Scalar) -> Bool { i < n && b[i] == UInt8(ascii: c) }
        var run = 0                 // length of the digit run being read
        var previousRun = 0         // length of the run that ended at previousRunEnd
        var previousRunEnd = -8     // index just past that run
        var cardDigits = 0          // digits of the current card-shaped sequence
        /// Called at index `i`, just past a run of `run` digits.
        func endRun(_ i: Int) {
            if run == 4, previousRun == 3, previousRunEnd == i - 5,
               b[i - 5] == UInt8(ascii: " ") || b[i - 5] == UInt8(ascii: ".") || b[i - 5] == UInt8(ascii: "-") {
                f.maybePhone = true
            }
            previousRun = run
            previousRunEnd = i
            run = 0
        }
        var i = 0
        while i < n {
            let c = b[i]
            if isDigit(c) {
                if run == 0 {
                    let joined = previousRunEnd == i - 1 && i >= 2 && (b[i - 1] == UInt8(ascii: " ") || b[i - 1] == UInt8(ascii: "-"))
                    if !joined { cardDigits = 0 }
                }
                run += 1
                cardDigits += 1
                if cardDigits >= 13 { f.maybeCard = true }
                i += 1
                continue
            }
            if run > 0 { endRun(i) }
            switch c {
            case UInt8(ascii: "@"):
                f.hasAt = true
            case UInt8(ascii: "+"):
                if i + 1 < n, b[i + 1] >= UInt8(ascii: "1"), b[i + 1] <= UInt8(ascii: "9") { f.maybePhone = true }
            case UInt8(ascii: "\\"):
                if at(i + 1, "u") { f.hasUnicodeEscape = true }
            case UInt8(ascii: "s"):                                   // sk-
                if at(i + 1, "k") && at(i + 2, "-") { f.maybeKey = true }
            case UInt8(ascii: "A"):                                   // AKIA, ASIA, AIza
                if (at(i + 1, "K") || at(i + 1, "S")) && at(i + 2, "I") && at(i + 3, "A") { f.maybeKey = true }
                if at(i + 1, "I") && at(i + 2, "z") && at(i + 3, "a") { f.maybeKey = true }
            case UInt8(ascii: "g"):                                   // gh?_ , github_pat_
                if at(i + 1, "h") && at(i + 3, "_") { f.maybeKey = true }
                if at(i + 1, "i") && at(i + 2, "t") && at(i + 3, "h") && at(i + 6, "_") { f.maybeKey = true }
            case UInt8(ascii: "x"):                                   // xox?-
                if at(i + 1, "o") && at(i + 2, "x") { f.maybeKey = true }
            case UInt8(ascii: "e"):                                   // Bearer
                if at(i + 1, "a") && at(i + 2, "r") && at(i + 3, "e") && at(i + 4, "r") { f.maybeKey = true }
            default:
                break
            }
            i += 1
        }
        if run > 0 { endRun(n) }
        var first = 0, last = n - 1
        while first < n, JSONText.isSpace(b[first]) { first += 1 }
        while last > first, JSONText.isSpace(b[last]) { last -= 1 }
        if first < last {
            f.looksLikeJSON = (b[first] == UInt8(ascii: "{") && b[last] == UInt8(ascii: "}"))
                || (b[first] == UInt8(ascii: "[") && b[last] == UInt8(ascii: "]"))
        }
        return f
    }
}

// MARK: - JSON string literals

/// Just enough JSON to redact inside string literals without re-serializing the document.
enum JSONText {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
    }

    /// Bytes allowed outside string literals: whitespace, punctuation, numbers, true/false/null.
    static func isStructural(_ b: UInt8) -> Bool {
        switch b {
        case 0x20, 0x09, 0x0A, 0x0D: return true
        case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ":"), UInt8(ascii: ","):
            return true
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
             UInt8(ascii: "e"), UInt8(ascii: "E"):
            return true
        case UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "u"), UInt8(ascii: "f"), UInt8(ascii: "a"),
             UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "n"):
            return true
        default:
            return false
        }
    }

    /// Decodes the body of a string literal (without its quotes); nil on a malformed escape.
    static func unescape(_ body: UnsafeBufferPointer<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = 0
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= body.count else { return nil }
            var v: UInt32 = 0
            for k in at..<(at + 4) {
                let c = body[k]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
            }
            return v
        }
        while i < body.count {
            let b = body[i]
            guard b == backslash else {
                out.append(b)
                i += 1
                continue
            }
            guard i + 1 < body.count else { return nil }
            switch body[i + 1] {
            case quote: out.append(quote)
            case backslash: out.append(backslash)
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard let unit = hex4(i + 2) else { return nil }
                var scalar = unit
                var consumed = 6
                if (0xD800...0xDBFF).contains(unit) {
                    // A high surrogate pairs with a following `\uDC00`–`\uDFFF`; alone it becomes U+FFFD.
                    if i + 7 < body.count, body[i + 6] == backslash, body[i + 7] == UInt8(ascii: "u"),
                       let low = hex4(i + 8), (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        consumed = 12
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00...0xDFFF).contains(unit) {
                    scalar = 0xFFFD
                }
                UTF8.encode(Unicode.Scalar(scalar) ?? "\u{FFFD}") { out.append($0) }
                i += consumed
                continue
            default:
                return nil
            }
            i += 2
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends a string as a JSON string literal, quotes included.
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(quote)
        for b in s.utf8 {
            switch b {
            case quote: out.append(backslash); out.append(quote)
            case backslash: out.append(backslash); out.append(backslash)
            case 0x0A: out.append(backslash); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(backslash); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(backslash); out.append(UInt8(ascii: "t"))
            case 0x08: out.append(backslash); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(backslash); out.append(UInt8(ascii: "f"))
            case 0x00..<0x20:
                out.append(contentsOf: [backslash, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        hexDigits[Int(b >> 4)], hexDigits[Int(b & 0xF)]])
            default: out.append(b)
            }
        }
        out.append(quote)
    }
}

// MARK: - Built-in detectors

/// The built-in patterns (ICU syntax) and the checks a regular expression cannot express.
enum BuiltInPatterns {
    /// A match may start only where the previous character cannot continue the token, or right
    /// after a `\n`, `\r` or `\t` escape written out in the text.
    private static func start(_ excluded: String) -> String {
        #"(?:(?<=\\[nrt])|(?<![\#(excluded)\\]))"#
    }

    /// The `@` and domain only: a pattern that starts with a letter class costs ICU a match attempt
    /// at nearly every position (about 100 times slower), so the local part before the `@` is
    /// found by `acceptEmail`.
    static let email = #"@(?:[A-Za-z0-9\-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"#

    /// International: `+` and 10–15 digits written together, or a country code and up to six groups,
    /// each after one space, dot or dash, or in parentheses (`+49 (0)30 123456`). North American:
    /// optional `+1`/`1`, area code (in parentheses or not) and exchange starting 2–9, then 4 digits,
    /// with separators required, so that bare digit runs (timestamps, ids, counts) never match.
    static let phone = start(#"0-9A-Za-z_.+/\-"#) + "(?:"
        + #"\+[1-9][0-9]{9,14}(?![0-9])"#
        + #"|\+[1-9][0-9]{0,3}(?:[ .\-]?\([0-9]{1,5}\)[0-9]{0,6}|[ .\-][0-9]{1,6}){1,6}"#
        + #"|(?:\+?1[ .\-]?)?(?:\([2-9][0-9]{2}\)[ .\-]?|[2-9][0-9]{2}[ .\-])[2-9][0-9]{2}[ .\-][0-9]{4}"#
        + #")(?![0-9A-Za-z_]|[.\-][0-9])"#

    /// Card networks start with 2–6 (Mastercard 2-series, Amex/Diners/JCB, Visa, Mastercard,
    /// Discover/UnionPay), which also keeps nanosecond and millisecond timestamps out.
    static let card = start(#"0-9A-Za-z_.+\-"#) + #"[2-6](?:[ \-]?[0-9]){12,18}(?![0-9A-Za-z_]|[.\-][0-9])"#

    static let apiKey = start(#"A-Za-z0-9_\-"#) + "(?:"
        + #"sk-[A-Za-z0-9_\-]{20,}"#                        // OpenAI sk-, sk-proj-, Anthropic sk-ant-
        + #"|(?:AKIA|ASIA)[0-9A-Z]{16}"#                    // AWS access key ids
        + #"|gh[pousr]_[A-Za-z0-9]{36,}"#                   // GitHub classic tokens
        + #"|github_pat_[A-Za-z0-9_]{22,}"#                 // GitHub fine-grained tokens
        + #"|AIza[0-9A-Za-z_\-]{35}"#                       // Google API keys
        + #"|xox[abposr]-[A-Za-z0-9\-]{10,}"#               // Slack tokens
        + #"|[Bb]earer[ \t]+(?=[A-Za-z0-9._~+/\-]*[0-9])[A-Za-z0-9._~+/\-]{16,}=*"#  // a bearer token with a digit
        + #")(?![A-Za-z0-9_\-])"#

    static func pattern(_ detector: RedactionRule.Detector) -> String {
        switch detector {
        case .email: return email
        case .phone: return phone
        case .card: return card
        case .apiKey: return apiKey
        }
    }

    private static let table: [RedactionRule.Detector: CompiledRegex] = {
        var t: [RedactionRule.Detector: CompiledRegex] = [:]
        for d in RedactionRule.Detector.allCases {
            do {
                t[d] = CompiledRegex(try NSRegularExpression(pattern: pattern(d)))
            } catch {
                preconditionFailure("built-in redaction pattern '\(d.rawValue)' does not compile: \(error)")
            }
        }
        return t
    }()

    static func compiled(_ detector: RedactionRule.Detector) -> CompiledRegex {
        guard let regex = table[detector] else { preconditionFailure("no compiled pattern for \(detector.rawValue)") }
        return regex
    }

    /// A run of digits inside a match.
    struct DigitGroup {
        var range: Range<String.Index>
        var digits: [UInt8]
    }

    static func digitGroups(_ text: String, _ r: Range<String.Index>) -> [DigitGroup] {
        var groups: [DigitGroup] = []
        let u = text.utf8
        var i = r.lowerBound
        var start: String.Index?
        var digits: [UInt8] = []
        while i < r.upperBound {
            let b = u[i]
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                if start == nil { start = i }
                digits.append(b - UInt8(ascii: "0"))
            } else if let s = start {
                groups.append(DigitGroup(range: s..<i, digits: digits))
                digits = []
                start = nil
            }
            u.formIndex(after: &i)
        }
        if let s = start { groups.append(DigitGroup(range: s..<r.upperBound, digits: digits)) }
        return groups
    }

    /// The longest run of whole digit groups in the match that is laid out like a card number,
    /// starts with 2–6 and passes the Luhn check; nil when there is none.
    static func acceptCard(_ text: String, _ r: Range<String.Index>) -> Range<String.Index>? {
        let groups = digitGroups(text, r)
        var best: (digits: Int, range: Range<String.Index>)?
        for i in groups.indices {
            var digits: [UInt8] = []
            var lengths: [Int] = []
            for j in i..<groups.count {
                digits += groups[j].digits
                lengths.append(groups[j].digits.count)
                if digits.count > 19 { break }
                guard digits.count >= 13, let first = digits.first, (2...6).contains(first),
                      cardLayout(lengths), luhn(digits) else { continue }
                if digits.count > (best?.digits ?? 0) {
                    best = (digits.count, groups[i].range.lowerBound..<groups[j].range.upperBound)
                }
            }
        }
        return best?.range
    }

    /// Card numbers are written unbroken, in fours (the last group shorter), or 4-6-5 / 4-6-4
    /// (Amex, Diners); dates and other digit groupings are not.
    static func cardLayout(_ lengths: [Int]) -> Bool {
        if lengths.count == 1 || lengths == [4, 6, 5] || lengths == [4, 6, 4] { return true }
        guard let last = lengths.last, (1...4).contains(last) else { return false }
        return lengths.dropLast().allSatisfy { $0 == 4 }
    }

    /// The Luhn checksum over decimal digits (most significant first).
    static func luhn(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (k, d) in digits.reversed().enumerated() {
            var v = Int(d)
            if k % 2 == 1 {
                v *= 2
                if v > 9 { v -= 9 }
            }
            sum += v
        }
        return sum % 10 == 0
    }

    /// Extends an `@domain` match left over the local part (1–64 of `A-Z a-z 0-9 . _ % + -`), stopping
    /// at `floor` (the end of the previous replacement) and after a `\n`, `\r` or `\t` written out in
    /// the text; nil when there is no local part or it is longer than 64.
    static func acceptEmail(_ text: String, _ r: Range<String.Index>, floor: String.Index) -> Range<String.Index>? {
        let u = text.utf8
        var start = r.lowerBound
        var count = 0
        while start > floor {
            let p = u.index(before: start)
            let b = u[p]
            guard isLocalPart(b) else { break }
            if b == UInt8(ascii: "n") || b == UInt8(ascii: "r") || b == UInt8(ascii: "t"),
               p > u.startIndex, u[u.index(before: p)] == UInt8(ascii: "\\") {
                break
            }
            start = p
            count += 1
            if count > 64 { return nil }
        }
        return count > 0 ? start..<r.upperBound : nil
    }

    static func isLocalPart(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "%"), UInt8(ascii: "+"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// The match up to the last digit group that keeps it within E.164's 15 digits; nil below 8 digits.
    static func acceptPhone(_ text: String, _ r: Range<String.Index>) -> Range<String.Index>? {
        var count = 0
        var end: String.Index?
        for g in digitGroups(text, r) {
            if count + g.digits.count > 15 { break }
            count += g.digits.count
            end = g.range.upperBound
        }
        guard let end, count >= 8 else { return nil }
        return r.lowerBound..<end
    }
}
