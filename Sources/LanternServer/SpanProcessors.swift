import LanternCollector
import LanternModel

/// The processors every span passes after normalization and before the journal: redaction of
/// prompt and completion content, then variant tagging.
public struct SpanProcessors: Sendable {
    public let redactor: Redactor
    public let tagger: VariantTagger

    /// Builds the processors the configuration asks for; throws for an invalid redaction pattern.
    public init(configuration: ServerConfiguration) throws {
        var rules: [RedactionRule] = []
        for name in configuration.redaction.builtins {
            guard let rule = RedactionRule.detector(named: name) else {
                throw RedactionRuleError(rule: name, message: "no built-in rule has this name")
            }
            rules.append(rule)
        }
        for pattern in configuration.redaction.patterns {
            rules.append(try RedactionRule(name: pattern.name, pattern: pattern.regex))
        }
        redactor = Redactor(rules: rules)
        tagger = VariantTagger(rules: configuration.variants)
    }

    /// Processes spans in place; returns the number of redactions made.
    public func process(_ spans: inout [CanonicalSpan]) -> Int {
        var redactions = 0
        for i in spans.indices { redactions += redactor.redact(&spans[i]) }
        tagger.tag(&spans)
        return redactions
    }
}
