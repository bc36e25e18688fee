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
