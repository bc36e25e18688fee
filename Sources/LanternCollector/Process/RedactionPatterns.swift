import Foundation

// What the built-in detectors match: their patterns (ICU syntax), the checks a regular expression
// cannot express (Luhn, card layout, email local part, E.164 length), and the byte prefilter that
// skips a detector when the text cannot hold a match.

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
