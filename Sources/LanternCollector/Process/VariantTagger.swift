import LanternModel

/// Maps spans to a release variant of a rollout. Every criterion that is set must match; a rule
/// with no criterion matches every span (a catch-all, to be put last).
public struct VariantRule: Sendable, Equatable {
    public static let baseline = "baseline"
    public static let candidate = "candidate"
    public static let shadow = "shadow"

    /// The variant to tag: `baseline`, `candidate`, `shadow` or any other name.
    public var variant: String
    /// The rollout the variant belongs to, if known.
    public var rollout: String?
    /// Only spans of this service (resource `service.name`).
    public var serviceName: String?
    /// Spans of this `service.version`.
    public var serviceVersion: String?
    /// Spans whose request or response model is this one.
    public var model: String?

    public init(variant: String, rollout: String? = nil, serviceName: String? = nil,
                serviceVersion: String? = nil, model: String? = nil) {
        self.variant = variant
        self.rollout = rollout
        self.serviceName = serviceName
        self.serviceVersion = serviceVersion
        self.model = model
    }

    /// True when every criterion the rule sets matches the span.
    public func matches(_ span: CanonicalSpan) -> Bool {
        if let serviceName, span.serviceName != serviceName { return false }
        if let serviceVersion, span.serviceVersion != serviceVersion { return false }
        if let model, span.genAI.requestModel != model, span.genAI.responseModel != model { return false }
        return true
    }
}

/// Tags spans with their release variant (DESIGN.md, "Canonical span"): `lantern.variant` on the
/// span or its resource wins (the normalizer has already read it); otherwise the first rule that
/// matches the span's service, version or model decides. Tagged fields record the
/// `rolloutMapping` convention.
public struct VariantTagger: Sendable {
    public var rules: [VariantRule]

    public init(rules: [VariantRule]) {
        self.rules = rules
    }

    /// Sets `release.variant` (and `release.rollout` when the span names none) from the first
    /// matching rule, unless the span already carries a variant. A span that names its rollout
    /// (`lantern.rollout`) is only matched by rules of that rollout or of none.
    public func tag(_ span: inout CanonicalSpan) {
        if let variant = span.release.variant, !variant.isEmpty { return }
        guard !rules.isEmpty else { return }
        let namedRollout = span.release.rollout.flatMap { $0.isEmpty ? nil : $0 }
        for rule in rules where rule.matches(span) {
            if let namedRollout, let ruleRollout = rule.rollout, ruleRollout != namedRollout { continue }
            span.release.variant = rule.variant
            span.provenance[.variant] = .rolloutMapping
            span.provenance.setAttributeIndex(nil, for: .variant)
            if namedRollout == nil, let ruleRollout = rule.rollout {
                span.release.rollout = ruleRollout
                span.provenance[.rollout] = .rolloutMapping
                span.provenance.setAttributeIndex(nil, for: .rollout)
            }
            return
        }
    }

    /// Tags every span of a batch.
    public func tag(_ spans: inout [CanonicalSpan]) {
        guard !rules.isEmpty else { return }
        for i in spans.indices { tag(&spans[i]) }
    }
}
