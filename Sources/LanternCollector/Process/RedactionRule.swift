import Foundation

// A redaction rule: a built-in detector or a user regular expression, compiled once, and how it
// replaces what it matches with `[REDACTED:<name>]`.

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
