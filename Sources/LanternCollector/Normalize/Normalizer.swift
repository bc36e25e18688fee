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
        var best = InlineArray<32, Int16>(repeating: -1)  // chosen attribute index per field
        var bestPriority = InlineArray<32, Int8>(repeating: Int8.max)
        // OpenInference's GenAI mode writes the *response* model into gen_ai.request.model; its own
        // invocation parameters hold the model that was actually requested.
        var isOpenInference = false
        let attributes = span.attributes
        for i in 0..<min(attributes.count, Int(Int16.max)) {
            let attribute = attributes[i]
            guard let rule = ConventionTable.lookup(attribute.key) else { continue }
            if rule.reader == .operationKind { isOpenInference = true }
            let f = rule.field.rawValue
            if Int8(rule.priority) < bestPriority[f], Self.read(attribute.value, rule.reader, span: span) != nil {
                bestPriority[f] = Int8(rule.priority)
                best[f] = Int16(i)
            }
        }
        if isOpenInference, let i = span.attributes.firstIndex(where: { $0.key == "llm.invocation_parameters" }),
           Self.read(span.attributes[i].value, .jsonModel, span: span) != nil {
            best[CanonicalField.requestModel.rawValue] = Int16(i)
        }

        var c = CanonicalSpan(span: span, origin: origin)
        c.serviceName = facts.serviceName
        c.serviceVersion = facts.serviceVersion
        c.environment = facts.environment
        if facts.serviceName != nil { c.provenance[.serviceName] = .resource }
        if facts.serviceVersion != nil { c.provenance[.serviceVersion] = .resource }
        c.provenance[.environment] = facts.environmentConvention

        func take(_ field: CanonicalField) -> (value: ReadValue, index: Int, rule: AttributeRule)? {
            let i = Int(best[field.rawValue])
            guard i >= 0 else { return nil }
            let a = span.attributes[i]
            guard let rule = ConventionTable.lookup(a.key), let v = Self.read(a.value, rule.reader, span: span) else { return nil }
            return (v, i, rule)
        }
        /// Records the field's convention, and the attribute index when the stored value is the attribute verbatim.
        func record(_ field: CanonicalField, _ hit: (value: ReadValue, index: Int, rule: AttributeRule), verbatim: Bool) {
            c.provenance[field] = hit.rule.convention
            if verbatim { c.provenance.setAttributeIndex(hit.index, for: field) }
        }

        func text(_ field: CanonicalField) -> String? {
            guard let hit = take(field), case .text(let s) = hit.value else { return nil }
            record(field, hit, verbatim: span.attributes[hit.index].value == .string(s))
            return s
        }
        c.genAI.requestModel = text(.requestModel)
        c.genAI.responseModel = text(.responseModel)
        c.genAI.conversationID = text(.conversationID)
        c.genAI.userID = text(.userID)
        c.genAI.promptName = text(.promptName)
        c.genAI.promptVersion = text(.promptVersion)

        if let hit = take(.operation), case .text(let s) = hit.value {
            c.genAI.operation = s
            record(.operation, hit, verbatim: span.attributes[hit.index].value == .string(s))
        }
        if let hit = take(.provider), case .text(let raw) = hit.value {
            let mapped = ConventionTable.providerAliases[raw] ?? raw
            c.genAI.provider = mapped
            record(.provider, hit, verbatim: mapped == raw && span.attributes[hit.index].value == .string(raw))
        }

        var tokens = InlineArray<5, Int64>(repeating: -1)
        for (k, field) in Self.tokenFields.enumerated() {
            if let hit = take(field), case .integer(let n) = hit.value {
                tokens[k] = n
                record(field, hit, verbatim: span.attributes[hit.index].value == .int(n))
            }
        }
        func token(_ k: Int) -> Int64? { tokens[k] >= 0 ? tokens[k] : nil }
        // Input includes cache reads and writes, output includes reasoning (the OTel GenAI rule).
        // A count smaller than its parts was reported exclusive of them: add them once, never twice.
        if var input = token(0) {
            let cached = (token(2) ?? 0) + (token(3) ?? 0)
            if cached > input {
                input += cached
                c.provenance.setAttributeIndex(nil, for: .inputTokens)
            }
            c.genAI.inputTokens = input
        }
        if var output = token(1) {
            if let r = token(4), r > output {
                output += r
                c.provenance.setAttributeIndex(nil, for: .outputTokens)
            }
            c.genAI.outputTokens = output
        }
        c.genAI.cacheReadTokens = token(2)
        c.genAI.cacheCreationTokens = token(3)
        c.genAI.reasoningTokens = token(4)

        if let hit = take(.timeToFirstToken), case .seconds(let s) = hit.value {
            c.genAI.timeToFirstToken = s
            record(.timeToFirstToken, hit, verbatim: span.attributes[hit.index].value == .double(s))
        } else if let first = span.events.first(where: {
            $0.timeUnixNano >= span.startTimeUnixNano && ConventionTable.firstChunkEvents.contains($0.name)
        }) {
            c.genAI.timeToFirstToken = Double(first.timeUnixNano - span.startTimeUnixNano) / 1e9
            c.provenance[.timeToFirstToken] = .spanEvent
        }

        if let hit = take(.finishReason), case .text(let s) = hit.value {
            c.genAI.finishReason = s
            record(.finishReason, hit, verbatim: span.attributes[hit.index].value == .string(s))
        }

        if let hit = take(.errorType), case .text(let raw) = hit.value {
            let cleaned = Self.cleanErrorType(raw)
            c.genAI.errorType = cleaned
            record(.errorType, hit, verbatim: cleaned == raw && span.attributes[hit.index].value == .string(raw))
        } else if span.statusCode == .error,
                  let exception = span.events.first(where: { $0.name == "exception" }),
                  let type = exception.attributes[key: "exception.type"]?.stringValue {
            c.genAI.errorType = Self.cleanErrorType(type)
            c.provenance[.errorType] = .spanEvent
        }

        if let hit = take(.reportedCost), case .number(let d) = hit.value {
            c.genAI.reportedCost = d
            record(.reportedCost, hit, verbatim: false)
        }

        if let hit = take(.variant), case .text(let s) = hit.value {
            c.release.variant = s
            record(.variant, hit, verbatim: span.attributes[hit.index].value == .string(s))
        } else if let v = facts.variant {
            c.release.variant = v
            c.provenance[.variant] = .resource
        }
        if let hit = take(.rollout), case .text(let s) = hit.value {
            c.release.rollout = s
            record(.rollout, hit, verbatim: span.attributes[hit.index].value == .string(s))
        } else if let r = facts.rollout {
            c.release.rollout = r
            c.provenance[.rollout] = .resource
        }
        if c.environment == nil, let hit = take(.environment), case .text(let s) = hit.value {
            c.environment = s
            record(.environment, hit, verbatim: false)
        }
        if c.serviceVersion == nil, let hit = take(.serviceVersion), case .text(let s) = hit.value {
            c.serviceVersion = s
            record(.serviceVersion, hit, verbatim: false)
        }
        return c
    }

    static let tokenFields: [CanonicalField] = [.inputTokens, .outputTokens, .cacheReadTokens, .cacheCreationTokens, .reasoningTokens]

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
