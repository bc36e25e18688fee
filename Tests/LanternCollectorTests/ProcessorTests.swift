import Testing
@testable import LanternCollector
import LanternModel
import LanternTesting

// The processors that run between normalization and the journal: redaction of prompt and
// completion content, and variant tagging. Expected replacements were worked out by hand from the
// detector shapes; the key-like strings are assembled from pieces so secret scanners leave this
// file alone.

@Suite("Processors: redaction of prompt and completion content")
struct RedactorTests {
    static let redactor = Redactor()

    /// A text after redaction and the number of replacements made in it.
    struct Redacted: Equatable, CustomStringConvertible {
        var text: String
        var count: Int
        init(_ text: String, _ count: Int) {
            self.text = text
            self.count = count
        }
        var description: String { "\(count) replacement(s): \(text)" }
    }

    /// The text after the given rules (the defaults unless said otherwise).
    static func redacted(_ text: String, _ redactor: Redactor = RedactorTests.redactor) -> Redacted {
        var value = AttributeValue.string(text)
        let count = redactor.redact(&value)
        return Redacted(value.stringValue ?? "<not a string>", count)
    }

    static func span(_ attributes: [Attribute], events: [SpanEvent] = []) -> Span {
        Span(traceID: TraceID(high: 1, low: 2), spanID: SpanID(raw: 3), name: "chat gpt-4o", kind: .client,
             startTimeUnixNano: 1_000_000, endTimeUnixNano: 2_000_000, attributes: attributes, events: events)
    }

    static func isJSON(_ text: String) -> Bool {
        (try? JSONParser().parse(Array(text.utf8))) != nil
    }

    // MARK: - Detectors

    static let keys: [String] = [
        "sk-" + "proj-abcDEF1234567890abcdefGHIJ",
        "sk-" + "ant-api03-abcdefghijklmnopqrstuvwxyz012345",
        "AKIA" + "IOSFODNN7EXAMPLE",
        "gh" + "p_" + String(repeating: "a1B2", count: 9),
        "github" + "_pat_" + "11ABCDEFG0123456789_abcdefghijklmnop",
        "AI" + "zaSyA-1234567890abcdefghijklmnopqrstu",
        "xo" + "xb-1234567890-abcdefghij",
    ]

    /// Texts holding one value a built-in detector must find, and the text after redaction.
    static let detections: [(String, String)] = {
        var cases: [(String, String)] = [
            // Email addresses.
            ("mail bob.smith+tag@example.co.uk now", "mail [REDACTED:email] now"),
            ("see foo@bar.com.", "see [REDACTED:email]."),
            ("<ALICE@Example.ORG>", "<[REDACTED:email]>"),
            // International and North American phone numbers.
            ("call +1 415 555 0100 today", "call [REDACTED:phone] today"),
            ("+1 (415) 555-0100", "[REDACTED:phone]"),
            ("(415) 555-0100", "[REDACTED:phone]"),
            ("415-555-0100", "[REDACTED:phone]"),
            ("415.555.0100", "[REDACTED:phone]"),
            ("1-415-555-0100", "[REDACTED:phone]"),
            ("+44 20 7946 0958", "[REDACTED:phone]"),
            ("+442079460958", "[REDACTED:phone]"),
            ("+33 1 23 45 67 89", "[REDACTED:phone]"),
            ("+49 (0)30 123456", "[REDACTED:phone]"),
            // Past E.164's 15 digits the trailing groups are not part of the number.
            ("+44 20 7946 0958 2024 2025", "[REDACTED:phone] 2024 2025"),
            // Card numbers that pass the Luhn check.
            ("card 4111 1111 1111 1111 ok", "card [REDACTED:card] ok"),
            ("4111-1111-1111-1111", "[REDACTED:card]"),
            ("4111111111111111", "[REDACTED:card]"),
            ("amex 3782 822463 10005", "amex [REDACTED:card]"),
            ("5555555555554444 12", "[REDACTED:card] 12"),
            ("32 4111 1111 1111 1111", "32 [REDACTED:card]"),
            // A bearer token is redacted with its scheme.
            ("Authorization: Bearer " + "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", "Authorization: [REDACTED:api_key]"),
        ]
        cases += RedactorTests.keys.map { key in ("use \(key) here", "use [REDACTED:api_key] here") }
        return cases
    }()

    @Test("email addresses, phone numbers, Luhn-valid card numbers and API keys of the common shapes are redacted",
          arguments: RedactorTests.detections)
    func detected(_ input: String, _ expected: String) {
        let r = Self.redacted(input)
        #expect(r.text == expected)
        #expect(r.count == 1)
    }

    @Test("text that only looks a little like an email address, phone number, card number or API key is left alone", arguments: [
        // Email-like.
        "x@y", "user@localhost", "@mention", "price 5@10", "gpt-4o@2024",
        // Dates, times, versions, token counts, timestamps and model names are not phone numbers.
        "on 2024-05-01 we", "2024-05-01T10:30:00+02:00", "at 10:30:45.123456789", "version 1.2.3 and 10.0.19041",
        "v1.42.0-rc.1", "2.0.0", "tokens 1234 and 123456", "input_tokens=4096 output_tokens=512 total=4608",
        "ts 1715000000", "ip 192.168.1.1", "+100 tokens", "build 4.15.555", "gpt-4o-2024-08-06", "claude-3-5-sonnet-20241022",
        // Luhn failures, date ranges and long timestamps are not card numbers.
        "4111111111111112", "4111 1111 1111 1112", "order 5555555555554445", "range 2024-05-01 2024-06-01",
        "ns 1715000000000000000", "ms 1715000000000", "chatcmpl-4111111111111111",
        // Words that merely start like a key.
        "Bearer tokens are used", "task-abcdefghijklmnopqrstuvwxyz", "sk-short",
        "risk-adjusted-returns-for-the-portfolio", "AKIA is not a key",
    ])
    func lookalikes(_ input: String) {
        #expect(Self.redacted(input) == Redacted(input, 0))
    }

    @Test("the Luhn check")
    func luhn() {
        #expect(BuiltInPatterns.luhn([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]))
        #expect(!BuiltInPatterns.luhn([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]))
        #expect(BuiltInPatterns.luhn([7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]))
    }

    @Test("every replacement is counted")
    func counting() {
        let r = Self.redacted("a@example.com, b@example.com and 415-555-0100")
        #expect(r == Redacted("[REDACTED:email], [REDACTED:email] and [REDACTED:phone]", 3))
    }

    // MARK: - Structured and JSON content

    @Test("structured AnyValue messages are redacted through arrays and key-value lists")
    func structured() {
        let assistant = AttributeValue.kvlist([
            Attribute("role", .string("assistant")),
            Attribute("parts", .array([.kvlist([Attribute("type", .string("text")), Attribute("content", .string("ok"))])])),
        ])
        var value = AttributeValue.array([
            .kvlist([
                Attribute("role", .string("user")),
                Attribute("parts", .array([.kvlist([
                    Attribute("type", .string("text")),
                    Attribute("content", .string("write to bob@example.com or call (415) 555-0100")),
                ])])),
            ]),
            assistant,
        ])
        let count = Self.redactor.redact(&value)
        #expect(count == 2)
        guard case .array(let messages) = value, messages.count == 2, case .kvlist(let user) = messages[0],
              case .array(let parts)? = user[key: "parts"], case .kvlist(let part)? = parts.first else {
            Issue.record("shape changed: \(value)")
            return
        }
        #expect(user[key: "role"] == .string("user"))
        #expect(part[key: "type"] == .string("text"))
        #expect(part[key: "content"] == .string("write to [REDACTED:email] or call [REDACTED:phone]"))
        #expect(messages[1] == assistant)
    }

    @Test("JSON text is redacted inside its strings, escapes decoded first, and stays valid JSON")
    func jsonText() throws {
        let input = #"[{"role":"user","parts":[{"type":"text","content":"Mail me at bob@example.com\nor call (415) 555-0100 \u00e9"}]}]"#
        let r = Self.redacted(input)
        #expect(r.count == 2)
        #expect(r.text.hasPrefix(#"[{"role":"user","parts":[{"type":"text","content":""#))
        let json = try JSONParser().parse(Array(r.text.utf8))
        guard case .array(let messages) = json, case .array(let parts)? = messages.first?["parts"],
              case .string(let content)? = parts.first?["content"] else {
            Issue.record("shape changed: \(r.text)")
            return
        }
        #expect(content == "Mail me at [REDACTED:email]\nor call [REDACTED:phone] é")
    }

    @Test("JSON encoded inside a JSON string is redacted too")
    func nestedJSON() throws {
        let input = #"{"name":"send_mail","arguments":"{\"to\":\"bob@example.com\",\"body\":\"hi\"}"}"#
        let r = Self.redacted(input)
        #expect(r.count == 1)
        let outer = try JSONParser().parse(Array(r.text.utf8))
        guard case .string(let arguments)? = outer["arguments"] else {
            Issue.record("no arguments in \(r.text)")
            return
        }
        let inner = try JSONParser().parse(Array(arguments.utf8))
        #expect(inner["to"] == .string("[REDACTED:email]"))
        #expect(inner["body"] == .string("hi"))
    }

    @Test("text that only starts like JSON is redacted as plain text")
    func bracketedProse() {
        let r = Self.redacted(#"[note] reach me at\nbob@example.com [end]"#)
        #expect(r == Redacted(#"[note] reach me at\n[REDACTED:email] [end]"#, 1))
    }

    // MARK: - Spans

    @Test("content attributes of every convention are redacted; other attributes are not")
    func spanAttributes() {
        let untouched: [Attribute] = [
            Attribute("gen_ai.request.model", .string("gpt-4o-2024-08-06")),
            Attribute("gen_ai.usage.input_tokens", .int(4_111_111_111_111_111)),
            Attribute("gen_ai.response.id", .string("chatcmpl-4111 1111 1111 1111")),
            Attribute("enduser.id", .string("bob@example.com")),
            Attribute("gen_ai.prompt.0.role", .string("user")),
            Attribute("gen_ai.prompt.name", .string("support (415) 555-0100")),
            Attribute("llm.invocation_parameters", .string(#"{"model":"gpt-4o","user":"bob@example.com"}"#)),
        ]
        let content: [Attribute] = [
            Attribute("gen_ai.prompt.0.content", .string("I am bob@example.com")),
            Attribute("gen_ai.completion.0.content", .string("Call (415) 555-0100")),
            Attribute("gen_ai.input.messages", .string(#"[{"role":"user","parts":[{"type":"text","content":"bob@example.com"}]}]"#)),
            Attribute("llm.input_messages.12.message.content", .string("card 4111 1111 1111 1111")),
            Attribute("input.value", .string("call +44 20 7946 0958")),
            Attribute("ai.response.text", .string("mail a@example.com")),
            Attribute("langfuse.observation.input", .string("mail a@example.com")),
            Attribute("traceloop.entity.output", .string("mail a@example.com")),
        ]
        let original = Self.span(untouched + content)
        var span = original
        let count = Self.redactor.redact(&span)
        #expect(count == content.count)
        #expect(Array(span.attributes.prefix(untouched.count)) == untouched)
        let after = Dictionary(uniqueKeysWithValues: span.attributes.map { ($0.key, $0.value) })
        #expect(after["gen_ai.prompt.0.content"] == .string("I am [REDACTED:email]"))
        #expect(after["gen_ai.completion.0.content"] == .string("Call [REDACTED:phone]"))
        #expect(after["gen_ai.input.messages"] == .string(#"[{"role":"user","parts":[{"type":"text","content":"[REDACTED:email]"}]}]"#))
        #expect(after["llm.input_messages.12.message.content"] == .string("card [REDACTED:card]"))
        #expect(after["input.value"] == .string("call [REDACTED:phone]"))
        for key in ["ai.response.text", "langfuse.observation.input", "traceloop.entity.output"] {
            #expect(after[key] == .string("mail [REDACTED:email]"), "\(key)")
        }
    }

    @Test("content events are redacted as a whole, other events only under content keys")
    func eventAttributes() {
        let events = [
            SpanEvent(timeUnixNano: 1_100_000, name: "gen_ai.content.prompt", attributes: [
                Attribute("gen_ai.prompt", .string(#"[{"role": "user", "content": "hi, I am bob@example.com"}]"#)),
            ]),
            SpanEvent(timeUnixNano: 1_200_000, name: "gen_ai.user.message", attributes: [
                Attribute("gen_ai.system", .string("openai")),
                Attribute("gen_ai.event.content", .string(#"{"content":"call +44 20 7946 0958"}"#)),
                Attribute("note", .string("from a@example.com")),
            ]),
            SpanEvent(timeUnixNano: 1_300_000, name: "exception", attributes: [
                Attribute("exception.message", .string("bad request from bob@example.com")),
            ]),
            SpanEvent(timeUnixNano: 1_400_000, name: "custom", attributes: [
                Attribute("input.value", .string("bob@example.com")),
                Attribute("other", .string("bob@example.com")),
            ]),
        ]
        let original = Self.span([Attribute("gen_ai.request.model", .string("gpt-4o"))], events: events)
        var span = original
        let count = Self.redactor.redact(&span)
        #expect(count == 4)
        #expect(span.attributes == original.attributes)
        #expect(span.events[0].attributes[key: "gen_ai.prompt"]
                == .string(#"[{"role": "user", "content": "hi, I am [REDACTED:email]"}]"#))
        #expect(span.events[1].attributes[key: "gen_ai.system"] == .string("openai"))
        #expect(span.events[1].attributes[key: "gen_ai.event.content"] == .string(#"{"content":"call [REDACTED:phone]"}"#))
        #expect(span.events[1].attributes[key: "note"] == .string("from [REDACTED:email]"))
        #expect(span.events[2] == original.events[2])
        #expect(span.events[3].attributes[key: "input.value"] == .string("[REDACTED:email]"))
        #expect(span.events[3].attributes[key: "other"] == .string("bob@example.com"))
    }

    @Test("a rule that matches every word still never touches non-content attributes")
    func nonContentUntouched() throws {
        let everything = Redactor(rules: [try RedactionRule(name: "word", pattern: "[A-Za-z0-9]+")])
        let metadata: [Attribute] = [
            Attribute("gen_ai.request.model", .string("gpt-4o")),
            Attribute("gen_ai.response.model", .string("gpt-4o-2024-08-06")),
            Attribute("gen_ai.operation.name", .string("chat")),
            Attribute("gen_ai.usage.output_tokens", .int(42)),
            Attribute("gen_ai.response.id", .string("chatcmpl-123")),
            Attribute("gen_ai.completion.0.finish_reason", .string("stop")),
            Attribute("llm.prompt_template.version", .string("v3")),
            Attribute("session.id", .string("s-1")),
        ]
        let event = SpanEvent(timeUnixNano: 1_500_000, name: "gen_ai.content.completion", attributes: [
            Attribute("gen_ai.completion", .string("fine")),
            Attribute("gen_ai.response.model", .string("gpt-4o-2024-08-06")),
            Attribute("event.name", .string("gen_ai.content.completion")),
        ])
        var span = Self.span(metadata + [Attribute("output.value", .string("fine thanks"))], events: [event])
        let count = everything.redact(&span)
        #expect(count == 3)
        #expect(Array(span.attributes.prefix(metadata.count)) == metadata)
        #expect(span.attributes[key: "output.value"] == .string("[REDACTED:word] [REDACTED:word]"))
        #expect(span.events[0].attributes[key: "gen_ai.completion"] == .string("[REDACTED:word]"))
        #expect(span.events[0].attributes[key: "gen_ai.response.model"] == .string("gpt-4o-2024-08-06"))
        #expect(span.events[0].attributes[key: "event.name"] == .string("gen_ai.content.completion"))
    }

    @Test("a span without content keys is returned as it came")
    func nothingToDo() {
        let original = Self.span([
            Attribute("gen_ai.request.model", .string("gpt-4o")),
            Attribute("http.url", .string("https://bob@example.com/v1")),
        ], events: [SpanEvent(timeUnixNano: 1_100_000, name: "gen_ai.content.completion.chunk")])
        var span = original
        let count = Self.redactor.redact(&span)
        #expect(count == 0)
        #expect(span == original)
        var none = original
        let noRules = Redactor(rules: []).redact(&none)
        #expect(noRules == 0)
    }

    @Test("real payloads: only content changes, JSON stays JSON, canonical fields are unchanged", arguments: [
        ("otel-v2-http-protobuf", "0002-traces.req.pb"),
        ("openllmetry-http-protobuf", "0001-traces.req.pb"),
        ("openinference-http-protobuf", "0001-traces.req.pb"),
    ])
    func fixtures(_ caseName: String, _ file: String) throws {
        let export = try OTLPProtobufDecoder().decodeTraces(try Fixtures.file(caseName, file)).export
        let redactor = Redactor(rules: Redactor.defaultRules + [try RedactionRule(name: "system", pattern: "(?i)terse")])
        var replaced = 0
        for rs in export.resourceSpans {
            let facts = ResourceFacts(resource: rs.resource)
            for ss in rs.scopeSpans {
                let origin = SpanOrigin(resource: rs.resource, resourceSchemaURL: rs.schemaURL, scope: ss.scope, scopeSchemaURL: ss.schemaURL)
                for original in ss.spans {
                    var span = original
                    replaced += redactor.redact(&span)
                    #expect(span.attributes.map(\.key) == original.attributes.map(\.key))
                    for (after, before) in zip(span.attributes, original.attributes) {
                        if !ContentKeys.isContent(before.key) {
                            #expect(after == before)
                        } else if case .string(let text) = before.value, Self.isJSON(text) {
                            #expect(Self.isJSON(after.value.stringValue ?? ""), "\(before.key) is no longer JSON")
                        }
                    }
                    #expect(span.events.map(\.name) == original.events.map(\.name))
                    let normalizedBefore = Normalizer().normalize(original, origin: origin, facts: facts)
                    let normalizedAfter = Normalizer().normalize(span, origin: origin, facts: facts)
                    #expect(normalizedAfter.genAI == normalizedBefore.genAI)
                    #expect(normalizedAfter.release == normalizedBefore.release)
                }
            }
        }
        // Every LLM span's system prompt says "terse".
        #expect(replaced >= 5)
    }

    // MARK: - Rules

    @Test("a user rule replaces with its own name")
    func userRule() throws {
        let redactor = Redactor(rules: [try RedactionRule(name: "ticket", pattern: "TICKET-[0-9]{4,}")])
        #expect(Self.redacted("see TICKET-12345 and TICKET-12", redactor) == Redacted("see [REDACTED:ticket] and TICKET-12", 1))
        // The user rule alone: no built-in detector runs.
        #expect(Self.redacted("bob@example.com", redactor) == Redacted("bob@example.com", 0))
    }

    @Test("an invalid pattern is reported with the rule's name, the pattern and the regex error")
    func invalidPattern() {
        let error = #expect(throws: RedactionRuleError.self) {
            _ = try RedactionRule(name: "account", pattern: #"ACC-(\d+"#)
        }
        #expect(error?.rule == "account")
        let text = error?.description ?? ""
        #expect(text.hasPrefix("redaction rule 'account': invalid regular expression"))
        #expect(text.contains(#"ACC-(\d+"#))
        #expect(text.count > #"redaction rule 'account': invalid regular expression 'ACC-(\d+': "#.count)
    }

    @Test("a pattern that matches the empty string is refused")
    func emptyMatch() {
        let error = #expect(throws: RedactionRuleError.self) {
            _ = try RedactionRule(name: "stars", pattern: "x*")
        }
        #expect(error?.description.contains("empty string") == true)
    }

    @Test("built-in detectors can be disabled by name; an unknown name is an error")
    func disabling() throws {
        let rules = try Redactor.defaultRules(disabling: ["phone"])
        #expect(rules.map(\.name) == ["api_key", "email", "card"])
        #expect(Redactor.defaultRules.map(\.name) == ["api_key", "email", "card", "phone"])
        let r = Self.redacted("bob@example.com or (415) 555-0100", Redactor(rules: rules))
        #expect(r == Redacted("[REDACTED:email] or (415) 555-0100", 1))
        let error = #expect(throws: RedactionRuleError.self) {
            _ = try Redactor.defaultRules(disabling: ["phones"])
        }
        #expect(error?.description.contains("phones") == true)
        #expect(RedactionRule.detector(named: "card")?.kind == .detector(.card))
        #expect(RedactionRule.detector(named: "cards") == nil)
    }

    // MARK: - Key classifier

    @Test("content keys", arguments: [
        "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.prompt", "gen_ai.completion",
        "gen_ai.prompt.0.content", "gen_ai.completion.17.content", "gen_ai.completion.0.tool_calls.2.arguments",
        "llm.input_messages.0.message.content", "llm.output_messages.3.message.content",
        "llm.input_messages.0.message.contents.1.message_content.text", "input.value", "output.value",
        "llm.prompt_template.template", "llm.prompt_template.variables", "ai.prompt", "ai.prompt.messages", "ai.response.text",
        "langfuse.observation.input", "langfuse.observation.output", "traceloop.entity.input", "traceloop.entity.output",
    ])
    func contentKeys(_ key: String) {
        #expect(ContentKeys.isContent(key))
    }

    @Test("keys that are not content", arguments: [
        "", "service.name", "gen_ai.request.model", "gen_ai.response.model", "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens", "gen_ai.prompt.name", "gen_ai.prompt.version", "gen_ai.prompt.0.role",
        "gen_ai.completion.0.finish_reason", "gen_ai.prompt.x.content", "gen_ai.prompt..content", "gen_ai.prompt.0.content.extra",
        "gen_ai.prompt.0.contents", "llm.input_messages.0.message.role", "llm.model_name", "llm.token_count.prompt",
        "llm.prompt_template.version", "llm.invocation_parameters", "input.mime_type", "output.mime_type", "ai.response.model",
        "ai.response.finishReason", "ai.prompt.format", "ai.usage.promptTokens", "langfuse.observation.completion_start_time",
        "traceloop.entity.name", "traceloop.entity.version", "gen_ai.response.id", "session.id", "user.id",
    ])
    func notContentKeys(_ key: String) {
        #expect(!ContentKeys.isContent(key))
    }

    @Test("content events", arguments: [
        ("gen_ai.content.prompt", true), ("gen_ai.content.completion", true), ("gen_ai.user.message", true), ("gen_ai.choice", true),
        ("exception", false), ("First Token Stream Event", false), ("gen_ai.evaluation.result", false),
    ])
    func contentEvents(_ name: String, _ isContentEvent: Bool) {
        #expect(ContentKeys.isContentEvent(name) == isContentEvent)
    }
}

@Suite("Processors: variant tagging")
struct VariantTaggerTests {
    static let resource: [Attribute] = [
        Attribute("service.name", .string("chat-api")),
        Attribute("service.version", .string("2.0.0")),
    ]
    static let model: [Attribute] = [
        Attribute("gen_ai.request.model", .string("gpt-4o")),
        Attribute("gen_ai.response.model", .string("gpt-4o-2024-08-06")),
    ]

    /// The span as the normalizer leaves it, before tagging.
    static func canonical(span attributes: [Attribute] = VariantTaggerTests.model,
                          resource: [Attribute] = VariantTaggerTests.resource) -> CanonicalSpan {
        let resource = Resource(attributes: resource)
        let span = Span(traceID: TraceID(high: 1, low: 2), spanID: SpanID(raw: 3), name: "chat gpt-4o", kind: .client,
                        startTimeUnixNano: 1_000, endTimeUnixNano: 2_000, attributes: attributes)
        return Normalizer().normalize(span, origin: SpanOrigin(resource: resource, scope: InstrumentationScope()),
                                      facts: ResourceFacts(resource: resource))
    }

    static func tagged(_ span: CanonicalSpan, _ rules: [VariantRule]) -> CanonicalSpan {
        var span = span
        VariantTagger(rules: rules).tag(&span)
        return span
    }

    static let shadowEverything = [VariantRule(variant: VariantRule.shadow, rollout: "chat-v2", serviceVersion: "2.0.0")]

    @Test("lantern.variant on the span wins over the resource and the rules")
    func spanAttributeWins() {
        let span = Self.tagged(Self.canonical(span: Self.model + [Attribute("lantern.variant", .string("candidate"))],
                                              resource: Self.resource + [Attribute("lantern.variant", .string("baseline"))]),
                               Self.shadowEverything)
        #expect(span.release.variant == "candidate")
        #expect(span.provenance[.variant] == .lantern)
        #expect(span.release.rollout == nil)
    }

    @Test("lantern.variant on the resource wins over the rules")
    func resourceWins() {
        let span = Self.tagged(Self.canonical(resource: Self.resource + [Attribute("lantern.variant", .string("baseline"))]),
                               Self.shadowEverything)
        #expect(span.release.variant == "baseline")
        #expect(span.provenance[.variant] == .resource)
    }

    @Test("otherwise a rule maps service.version to variant and rollout, recorded as a rollout mapping")
    func ruleMapsVersion() {
        let rules = [
            VariantRule(variant: VariantRule.baseline, rollout: "chat-v2", serviceName: "chat-api", serviceVersion: "1.9.0"),
            VariantRule(variant: VariantRule.candidate, rollout: "chat-v2", serviceName: "chat-api", serviceVersion: "2.0.0"),
        ]
        let span = Self.tagged(Self.canonical(), rules)
        #expect(span.release == ReleaseFields(variant: "candidate", rollout: "chat-v2"))
        #expect(span.provenance[.variant] == .rolloutMapping)
        #expect(span.provenance[.rollout] == .rolloutMapping)
        #expect(span.provenance.attributeIndex(.variant) == nil)
        #expect(span.provenance.attributeIndex(.rollout) == nil)
        // The new convention survives the packed form the store keeps.
        #expect(FieldProvenance(packedConventions: span.provenance.packedConventions)[.variant] == .rolloutMapping)
        #expect(Convention.allCases.allSatisfy { $0.rawValue < 16 })
    }

    @Test("the first matching rule wins")
    func firstRuleWins() {
        let byModel = VariantRule(variant: "candidate", rollout: "model-swap", model: "gpt-4o")
        let byVersion = VariantRule(variant: "shadow", rollout: "chat-v2", serviceVersion: "2.0.0")
        #expect(Self.tagged(Self.canonical(), [byModel, byVersion]).release == ReleaseFields(variant: "candidate", rollout: "model-swap"))
        #expect(Self.tagged(Self.canonical(), [byVersion, byModel]).release == ReleaseFields(variant: "shadow", rollout: "chat-v2"))
    }

    @Test("a model rule matches the request or the response model")
    func modelRule() {
        #expect(Self.tagged(Self.canonical(), [VariantRule(variant: "candidate", model: "gpt-4o")]).release.variant == "candidate")
        #expect(Self.tagged(Self.canonical(), [VariantRule(variant: "candidate", model: "gpt-4o-2024-08-06")]).release.variant == "candidate")
        #expect(Self.tagged(Self.canonical(), [VariantRule(variant: "candidate", model: "gpt-4.1")]).release.variant == nil)
    }

    @Test("every criterion a rule sets must match")
    func allCriteria() {
        let otherService = VariantRule(variant: "candidate", serviceName: "billing", serviceVersion: "2.0.0")
        let otherModel = VariantRule(variant: "candidate", serviceVersion: "2.0.0", model: "claude-sonnet-4")
        #expect(Self.tagged(Self.canonical(), [otherService, otherModel]).release.variant == nil)
        let both = VariantRule(variant: "candidate", serviceName: "chat-api", serviceVersion: "2.0.0", model: "gpt-4o")
        #expect(Self.tagged(Self.canonical(), [both]).release.variant == "candidate")
    }

    @Test("no matching rule leaves the variant empty")
    func noRule() {
        for rules in [[], [VariantRule(variant: "candidate", serviceVersion: "3.0.0")]] {
            let span = Self.tagged(Self.canonical(), rules)
            #expect(span.release.variant == nil)
            #expect(span.release.rollout == nil)
            #expect(span.provenance[.variant] == .absent)
            #expect(span.provenance[.rollout] == .absent)
        }
    }

    @Test("a span that names its rollout keeps it and is matched only by rules of that rollout")
    func namedRollout() {
        let rules = [
            VariantRule(variant: "candidate", rollout: "chat-v2", serviceVersion: "2.0.0"),
            VariantRule(variant: "baseline", rollout: "chat-v3", serviceVersion: "2.0.0"),
        ]
        let span = Self.tagged(Self.canonical(span: Self.model + [Attribute("lantern.rollout", .string("chat-v3"))]), rules)
        #expect(span.release == ReleaseFields(variant: "baseline", rollout: "chat-v3"))
        #expect(span.provenance[.variant] == .rolloutMapping)
        #expect(span.provenance[.rollout] == .lantern)
    }
}
