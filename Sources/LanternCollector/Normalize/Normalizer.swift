import LanternModel

/// Facts read once per resource and shared by all of its spans.
public struct ResourceFacts: Sendable, Equatable {
    public var serviceName: String?
    public var serviceVersion: String?
    public var environment: String?
    public var environmentConvention: Convention = .absent
    public var variant: String?
    public var rollout: String?

    public init(resource: Resource) {
        let a = resource.attributes
        serviceName = a[key: "service.name"]?.stringValue
        serviceVersion = a[key: "service.version"]?.stringValue
        if let env = a[key: "deployment.environment.name"]?.stringValue {
            environment = env
            environmentConvention = .resource
        } else if let env = a[key: "deployment.environment"]?.stringValue {
            environment = env
            environmentConvention = .resource
        }
        variant = a[key: "lantern.variant"]?.stringValue
        rollout = a[key: "lantern.rollout"]?.stringValue
    }
}

/// Maps spans of any supported convention to Lantern's canonical span. A pure function of the
/// span and its origin: the same input always yields the same canonical fields.
public struct Normalizer: Sendable {
    public init() {}

    /// Normalizes every span of a decoded request.
    public func normalize(_ export: TraceExport) -> [CanonicalSpan] {
        var out: [CanonicalSpan] = []
        out.reserveCapacity(export.spanCount)
        for rs in export.resourceSpans {
            let facts = ResourceFacts(resource: rs.resource)
            for ss in rs.scopeSpans {
                let origin = SpanOrigin(resource: rs.resource, resourceSchemaURL: rs.schemaURL, scope: ss.scope, scopeSchemaURL: ss.schemaURL)
                for span in ss.spans {
                    out.append(normalize(span, origin: origin, facts: facts))
                }
            }
        }
        return out
    }

    public func normalize(_ span: Span, origin: SpanOrigin, facts: ResourceFacts) -> CanonicalSpan {
        normalize(span, origin: origin, facts: facts, attributeRules: nil)
    }

    /// The candidate chosen for one canonical field: the attribute, its rule and the value read.
    struct Choice {
        var index = -1
        var rule = -1
        var value: ReadValue? = nil
        /// The attribute holds exactly `value` (so the store can keep it once, in the column).
        var verbatim = false

        init() {}

        init(index: Int, rule: Int, value: ReadValue, attribute: AttributeValue) {
            self.index = index
            self.rule = rule
            self.value = value
            switch (value, attribute) {
            case (.text(let s), .string(let v)): verbatim = s == v
            case (.integer(let n), .int(let v)): verbatim = n == v
            case (.seconds(let s), .double(let v)): verbatim = s.bitPattern == v.bitPattern
            default: verbatim = false
            }
        }
    }

    /// `attributeRules`, when given, holds the `ConventionTable` rule index of each attribute (the
    /// protobuf decoder learns them while interning keys); otherwise keys are looked up here.
    func normalize(_ span: consuming Span, origin: SpanOrigin, facts: ResourceFacts, attributeRules: [Int16]?) -> CanonicalSpan {
        // The fields are promoted from the span first, then moved into the canonical span with it.
        var genAI = GenAIFields(), release = ReleaseFields(), provenance = FieldProvenance()
        var serviceVersion = facts.serviceVersion, environment = facts.environment
        promote(span, facts: facts, attributeRules: attributeRules, genAI: &genAI, release: &release,
                provenance: &provenance, serviceVersion: &serviceVersion, environment: &environment)
        return CanonicalSpan(span: span, origin: origin, serviceName: facts.serviceName, serviceVersion: serviceVersion,
                             environment: environment, genAI: genAI, release: release, provenance: provenance)
    }

    /// Normalizes `span` onto the end of `spans`.
    func normalize(_ span: consuming Span, origin: SpanOrigin, facts: ResourceFacts, attributeRules: [Int16]?,
                   appendingTo spans: inout [CanonicalSpan]) {
        spans.append(normalize(span, origin: origin, facts: facts, attributeRules: attributeRules))
    }

    /// Reads the canonical fields out of `span`'s attributes and events (and `facts` of its resource).
    func promote(_ span: Span, facts: ResourceFacts, attributeRules: [Int16]?, genAI: inout GenAIFields, release: inout ReleaseFields,
                 provenance: inout FieldProvenance, serviceVersion: inout String?, environment: inout String?) {
        let ruleList = ConventionTable.ruleList
        // Per field: the winning attribute's priority, index and rule (plain values: no allocation).
        var priority = InlineArray<32, Int>(repeating: .max)
        var chosenIndex = InlineArray<32, Int16>(repeating: -1)
        var chosenRule = InlineArray<32, Int16>(repeating: -1)
        // OpenInference's GenAI mode writes the *response* model into gen_ai.request.model; its own
        // invocation parameters hold the model that was actually requested.
        var isOpenInference = false
        var invocationParameters = -1
        let count = min(span.attributes.count, Int(Int16.max))
        let knownRules = attributeRules.flatMap { $0.count == span.attributes.count ? $0 : nil }
        for i in 0..<count {
            let r = knownRules.map { $0[i] } ?? ConventionTable.ruleIndex(span.attributes[i].key)
            guard r >= 0 else { continue }
            let rule = ruleList[Int(r)]
            if rule.reader == .operationKind { isOpenInference = true }
            if rule.reader == .jsonModel && invocationParameters < 0 { invocationParameters = i }
            let f = rule.field.rawValue
            if rule.priority < priority[f], Self.read(span.attributes[i].value, rule.reader, span: span) != nil {
                priority[f] = rule.priority
                chosenIndex[f] = Int16(i)
                chosenRule[f] = r
            }
        }
        if isOpenInference, invocationParameters >= 0,
           Self.read(span.attributes[invocationParameters].value, .jsonModel, span: span) != nil {
            chosenIndex[CanonicalField.requestModel.rawValue] = Int16(invocationParameters)
            chosenRule[CanonicalField.requestModel.rawValue] = ConventionTable.ruleIndex(span.attributes[invocationParameters].key)
        }
        /// The value chosen for a field, read again from its attribute.
        func chosen(_ f: Int) -> Choice {
            let i = Int(chosenIndex[f]), r = Int(chosenRule[f])
            guard i >= 0, r >= 0, let value = Self.read(span.attributes[i].value, ruleList[r].reader, span: span) else { return Choice() }
            return Choice(index: i, rule: r, value: value, attribute: span.attributes[i].value)
        }

        if facts.serviceName != nil { provenance[.serviceName] = .resource }
        if facts.serviceVersion != nil { provenance[.serviceVersion] = .resource }
        provenance[.environment] = facts.environmentConvention

        /// Records where a field came from; `verbatim` when the stored value is the attribute's own.
        func record(_ field: CanonicalField, _ choice: Choice, verbatim: Bool, _ provenance: inout FieldProvenance) {
            provenance[field] = ruleList[choice.rule].convention
            if verbatim { provenance.setAttributeIndex(choice.index, for: field) }
        }
        /// The text chosen for a field, recorded; verbatim when the attribute held exactly that string.
        func text(_ field: CanonicalField, _ provenance: inout FieldProvenance) -> String? {
            let choice = chosen(field.rawValue)
            guard case .text(let s)? = choice.value else { return nil }
            record(field, choice, verbatim: choice.verbatim, &provenance)
            return s
        }
        genAI.requestModel = text(.requestModel, &provenance)
        genAI.responseModel = text(.responseModel, &provenance)
        genAI.conversationID = text(.conversationID, &provenance)
        genAI.userID = text(.userID, &provenance)
        genAI.promptName = text(.promptName, &provenance)
        genAI.promptVersion = text(.promptVersion, &provenance)
        genAI.operation = text(.operation, &provenance)
        genAI.finishReason = text(.finishReason, &provenance)

        let providerChoice = chosen(CanonicalField.provider.rawValue)
        if case .text(let raw)? = providerChoice.value {
            let mapped = ConventionTable.providerAliases[raw] ?? raw
            genAI.provider = mapped
            record(.provider, providerChoice, verbatim: mapped == raw && providerChoice.verbatim, &provenance)
        }

        var tokens = InlineArray<5, Int64>(repeating: -1)
        for k in 0..<5 {
            let field = Self.tokenFields[k]
            let choice = chosen(field.rawValue)
            if case .integer(let n)? = choice.value {
                tokens[k] = n
                record(field, choice, verbatim: choice.verbatim, &provenance)
            }
        }
        // Input includes cache reads and writes, output includes reasoning (the OTel GenAI rule).
        // A count smaller than its parts was reported exclusive of them: add them once, never twice.
        // (Sums saturate: counts near Int64.max are nonsense, but must not trap.)
        if tokens[0] >= 0 {
            var input = tokens[0]
            let cached = max(tokens[2], 0).addingReportingOverflow(max(tokens[3], 0))
            if !cached.overflow, cached.partialValue > input {
                let sum = input.addingReportingOverflow(cached.partialValue)
                input = sum.overflow ? .max : sum.partialValue
                provenance.setAttributeIndex(nil, for: .inputTokens)
            }
            genAI.inputTokens = input
        }
        if tokens[1] >= 0 {
            var output = tokens[1]
            if tokens[4] > output {
                let sum = output.addingReportingOverflow(tokens[4])
                output = sum.overflow ? .max : sum.partialValue
                provenance.setAttributeIndex(nil, for: .outputTokens)
            }
            genAI.outputTokens = output
        }
        if tokens[2] >= 0 { genAI.cacheReadTokens = tokens[2] }
        if tokens[3] >= 0 { genAI.cacheCreationTokens = tokens[3] }
        if tokens[4] >= 0 { genAI.reasoningTokens = tokens[4] }

        let start = span.startTimeUnixNano
        let ttftChoice = chosen(CanonicalField.timeToFirstToken.rawValue)
        if case .seconds(let s)? = ttftChoice.value {
            genAI.timeToFirstToken = s
            record(.timeToFirstToken, ttftChoice, verbatim: ttftChoice.verbatim, &provenance)
        } else if !span.events.isEmpty, let first = span.events.first(where: {
            $0.timeUnixNano >= start && ConventionTable.firstChunkEvents.contains($0.name)
        }) {
            genAI.timeToFirstToken = Double(first.timeUnixNano - start) / 1e9
            provenance[.timeToFirstToken] = .spanEvent
        }

        let errorChoice = chosen(CanonicalField.errorType.rawValue)
        if case .text(let raw)? = errorChoice.value {
            let cleaned = Self.cleanErrorType(raw)
            genAI.errorType = cleaned
            record(.errorType, errorChoice, verbatim: cleaned == raw && errorChoice.verbatim, &provenance)
        } else if span.statusCode == .error,
                  let exception = span.events.first(where: { $0.name == "exception" }),
                  let type = exception.attributes[key: "exception.type"]?.stringValue {
            genAI.errorType = Self.cleanErrorType(type)
            provenance[.errorType] = .spanEvent
        }

        let costChoice = chosen(CanonicalField.reportedCost.rawValue)
        if case .number(let d)? = costChoice.value {
            genAI.reportedCost = d
            record(.reportedCost, costChoice, verbatim: false, &provenance)
        }

        if let v = text(.variant, &provenance) {
            release.variant = v
        } else if let v = facts.variant {
            release.variant = v
            provenance[.variant] = .resource
        }
        if let r = text(.rollout, &provenance) {
            release.rollout = r
        } else if let r = facts.rollout {
            release.rollout = r
            provenance[.rollout] = .resource
        }
        let environmentChoice = chosen(CanonicalField.environment.rawValue)
        if environment == nil, case .text(let s)? = environmentChoice.value {
            environment = s
            record(.environment, environmentChoice, verbatim: false, &provenance)
        }
        let versionChoice = chosen(CanonicalField.serviceVersion.rawValue)
        if serviceVersion == nil, case .text(let s)? = versionChoice.value {
            serviceVersion = s
            record(.serviceVersion, versionChoice, verbatim: false, &provenance)
        }
    }

    static let tokenFields: InlineArray<5, CanonicalField> = [.inputTokens, .outputTokens, .cacheReadTokens, .cacheCreationTokens, .reasoningTokens]

    enum ReadValue {
        case text(String)
        case integer(Int64)
        case seconds(Double)
        case number(Double)
    }

    static func read(_ value: AttributeValue, _ reader: AttributeRule.Reader, span: Span) -> ReadValue? {
        switch reader {
        case .string:
            switch value {
            case .string(let s): return s.isEmpty ? nil : .text(s)
            case .int(let i): return .text(String(i))
            default: return nil
            }
        case .integer:
            guard let n = value.lenientInt, n >= 0 else { return nil }
            return .integer(n)
        case .number:
            return value.lenientDouble.map { .number($0) }
        case .seconds:
            guard let d = value.lenientDouble, d.isFinite, d >= 0 else { return nil }
            return .seconds(d)
        case .milliseconds:
            guard let d = value.lenientDouble, d.isFinite, d >= 0 else { return nil }
            return .seconds(d / 1000)
        case .isoTimestamp:
            guard let s = value.stringValue, let ns = ISO8601.unixNanos(s) else { return nil }
            let start = Int64(clamping: span.startTimeUnixNano)
            guard ns >= start else { return nil }
            return .seconds(Double(ns - start) / 1e9)
        case .finishReasons:
            switch value {
            case .string(let s): return s.isEmpty ? nil : .text(s)
            case .array(let items):
                guard let first = items.first?.stringValue, !first.isEmpty else { return nil }
                return .text(first)
            default: return nil
            }
        case .operationKind:
            guard let s = value.stringValue, let op = ConventionTable.openInferenceKinds[s] else { return nil }
            return .text(op)
        case .jsonModel:
            guard let s = value.stringValue, s.contains("\"model\""),
                  let json = try? JSONParser().parse(Array(s.utf8)), case .string(let model)? = json["model"], !model.isEmpty else { return nil }
            return .text(model)
        case .outputMessages:
            let messages: [AttributeValue]
            switch value {
            case .string(let s):
                guard s.contains("finish_reason"), let json = try? JSONParser().parse(Array(s.utf8)), case .array(let items) = json else { return nil }
                for item in items {
                    if case .string(let r)? = item["finish_reason"], !r.isEmpty { return .text(r) }
                }
                return nil
            case .array(let items): messages = items
            default: return nil
            }
            for m in messages {
                if case .kvlist(let kv) = m, let r = kv[key: "finish_reason"]?.stringValue, !r.isEmpty { return .text(r) }
            }
            return nil
        }
    }

    /// `<class 'openai.RateLimitError'>` and `openai.RateLimitError` both become `RateLimitError`,
    /// so the same failure groups together whichever instrumentation reported it.
    static func cleanErrorType(_ raw: String) -> String {
        var s = Substring(raw)
        if s.hasPrefix("<class '"), s.hasSuffix("'>") { s = s.dropFirst(8).dropLast(2) }
        let isQualifiedName = s.contains(".") && s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }
        if isQualifiedName, let last = s.split(separator: ".").last { return String(last) }
        return String(s)
    }
}
