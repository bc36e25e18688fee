import LanternModel

/// Where a span attribute can feed a canonical field: which field, how strongly (lower wins),
/// how its value is read, and which convention it belongs to.
struct AttributeRule: Sendable {
    enum Reader: Sendable {
        case string, integer, seconds, milliseconds, isoTimestamp, finishReasons, operationKind, jsonModel, outputMessages, number
    }
    var field: CanonicalField
    var priority: Int
    var reader: Reader
    var convention: Convention
}

/// Every attribute key the normalizer understands, from DESIGN.md's list and OTEL.md's notes.
enum ConventionTable {
    static let rules: [String: AttributeRule] = {
        var t: [String: AttributeRule] = [:]
        func add(_ key: String, _ field: CanonicalField, _ priority: Int, _ reader: AttributeRule.Reader, _ convention: Convention) {
            t[key] = AttributeRule(field: field, priority: priority, reader: reader, convention: convention)
        }
        add("gen_ai.operation.name", .operation, 0, .string, .otelGenAI)
        add("llm.request.type", .operation, 1, .string, .openLLMetry)
        add("openinference.span.kind", .operation, 2, .operationKind, .openInference)

        add("gen_ai.provider.name", .provider, 0, .string, .otelGenAI)
        add("gen_ai.system", .provider, 1, .string, .otelGenAIDeprecated)
        add("llm.provider", .provider, 2, .string, .openInference)
        add("llm.system", .provider, 3, .string, .openInference)
        add("ai.model.provider", .provider, 4, .string, .vercelAI)

        add("gen_ai.request.model", .requestModel, 0, .string, .otelGenAI)
        add("llm.request.model_name", .requestModel, 1, .string, .openInference)
        add("ai.model.id", .requestModel, 2, .string, .vercelAI)
        add("llm.invocation_parameters", .requestModel, 3, .jsonModel, .openInference)

        add("gen_ai.response.model", .responseModel, 0, .string, .otelGenAI)
        add("llm.response.model_name", .responseModel, 1, .string, .openInference)
        add("llm.model_name", .responseModel, 2, .string, .openInference)
        add("ai.response.model", .responseModel, 3, .string, .vercelAI)

        add("gen_ai.usage.input_tokens", .inputTokens, 0, .integer, .otelGenAI)
        add("gen_ai.usage.prompt_tokens", .inputTokens, 1, .integer, .otelGenAIDeprecated)
        add("llm.token_count.prompt", .inputTokens, 2, .integer, .openInference)
        add("llm.usage.prompt_tokens", .inputTokens, 3, .integer, .openLLMetry)
        add("ai.usage.inputTokens", .inputTokens, 4, .integer, .vercelAI)
        add("ai.usage.promptTokens", .inputTokens, 5, .integer, .vercelAI)

        add("gen_ai.usage.output_tokens", .outputTokens, 0, .integer, .otelGenAI)
        add("gen_ai.usage.completion_tokens", .outputTokens, 1, .integer, .otelGenAIDeprecated)
        add("llm.token_count.completion", .outputTokens, 2, .integer, .openInference)
        add("llm.usage.completion_tokens", .outputTokens, 3, .integer, .openLLMetry)
        add("ai.usage.outputTokens", .outputTokens, 4, .integer, .vercelAI)
        add("ai.usage.completionTokens", .outputTokens, 5, .integer, .vercelAI)

        add("gen_ai.usage.cache_read.input_tokens", .cacheReadTokens, 0, .integer, .otelGenAI)
        add("gen_ai.usage.cache_read_input_tokens", .cacheReadTokens, 1, .integer, .openLLMetry)
        add("llm.token_count.prompt_details.cache_read", .cacheReadTokens, 2, .integer, .openInference)
        add("ai.usage.cachedInputTokens", .cacheReadTokens, 3, .integer, .vercelAI)

        add("gen_ai.usage.cache_creation.input_tokens", .cacheCreationTokens, 0, .integer, .otelGenAI)
        add("gen_ai.usage.cache_creation_input_tokens", .cacheCreationTokens, 1, .integer, .openLLMetry)
        add("llm.token_count.prompt_details.cache_write", .cacheCreationTokens, 2, .integer, .openInference)

        add("gen_ai.usage.reasoning.output_tokens", .reasoningTokens, 0, .integer, .otelGenAI)
        add("gen_ai.usage.reasoning_tokens", .reasoningTokens, 1, .integer, .openLLMetry)
        add("llm.usage.reasoning_tokens", .reasoningTokens, 2, .integer, .openLLMetry)
        add("llm.token_count.completion_details.reasoning", .reasoningTokens, 3, .integer, .openInference)
        add("ai.usage.reasoningTokens", .reasoningTokens, 4, .integer, .vercelAI)

        add("gen_ai.response.time_to_first_chunk", .timeToFirstToken, 0, .seconds, .otelGenAI)
        add("langfuse.observation.completion_start_time", .timeToFirstToken, 1, .isoTimestamp, .langfuse)
        add("ai.response.msToFirstChunk", .timeToFirstToken, 2, .milliseconds, .vercelAI)
        add("ai.stream.msToFirstChunk", .timeToFirstToken, 3, .milliseconds, .vercelAI)

        add("gen_ai.response.finish_reasons", .finishReason, 0, .finishReasons, .otelGenAI)
        add("gen_ai.response.finish_reason", .finishReason, 1, .finishReasons, .openLLMetry)
        add("llm.finish_reason", .finishReason, 2, .finishReasons, .openInference)
        add("gen_ai.completion.0.finish_reason", .finishReason, 3, .finishReasons, .openLLMetry)
        add("ai.response.finishReason", .finishReason, 4, .finishReasons, .vercelAI)
        add("gen_ai.output.messages", .finishReason, 5, .outputMessages, .content)

        add("error.type", .errorType, 0, .string, .otelGeneral)

        add("gen_ai.conversation.id", .conversationID, 0, .string, .otelGenAI)
        add("session.id", .conversationID, 1, .string, .otelGeneral)
        add("langfuse.session.id", .conversationID, 2, .string, .langfuse)
        add("traceloop.association.properties.session_id", .conversationID, 3, .string, .openLLMetry)

        add("user.id", .userID, 0, .string, .otelGeneral)
        add("enduser.id", .userID, 1, .string, .otelGeneral)
        add("langfuse.user.id", .userID, 2, .string, .langfuse)
        add("traceloop.association.properties.user_id", .userID, 3, .string, .openLLMetry)

        add("gen_ai.prompt.name", .promptName, 0, .string, .otelGenAI)
        add("langfuse.prompt.name", .promptName, 1, .string, .langfuse)
        add("traceloop.prompt.key", .promptName, 2, .string, .openLLMetry)

        add("gen_ai.prompt.version", .promptVersion, 0, .string, .otelGenAI)
        add("langfuse.prompt.version", .promptVersion, 1, .string, .langfuse)
        add("traceloop.prompt.version", .promptVersion, 2, .string, .openLLMetry)
        add("llm.prompt_template.version", .promptVersion, 3, .string, .openInference)

        add("gen_ai.usage.cost", .reportedCost, 0, .number, .otelGenAI)
        add("llm.cost.total", .reportedCost, 1, .number, .openInference)

        add("lantern.variant", .variant, 0, .string, .lantern)
        add("lantern.rollout", .rollout, 0, .string, .lantern)

        add("langfuse.environment", .environment, 2, .string, .langfuse)
        add("langfuse.release", .serviceVersion, 2, .string, .langfuse)
        return t
    }()

    /// Every rule, addressed by the index `ruleIndex` returns.
    static let ruleList: [AttributeRule] = ruleKeys.map { rules[$0]! }
    private static let ruleKeys: [String] = rules.keys.sorted()

    /// The rule for an attribute key.
    static func lookup(_ key: String) -> AttributeRule? {
        let i = ruleIndex(key)
        return i < 0 ? nil : ruleList[Int(i)]
    }

    /// The index in `ruleList` of the rule for an attribute key, -1 when none reads it: an
    /// open-addressing table hashed on the key's UTF-8 bytes (several times faster than a
    /// String-keyed Dictionary on this hot path).
    static func ruleIndex(_ key: String) -> Int16 {
        var k = key
        let h = k.withUTF8 { fnv1a($0) }
        var slot = Int(truncatingIfNeeded: h) & (slotCount - 1)
        while true {
            let entry = slots[slot]
            if entry.index < 0 { return -1 }
            if entry.hash == h && ruleKeys[Int(entry.index)] == key { return entry.index }
            slot = (slot + 1) & (slotCount - 1)
        }
    }

    private static let slotCount = 512
    private static let slots: [(hash: UInt64, index: Int16)] = {
        var table = [(hash: UInt64, index: Int16)](repeating: (0, -1), count: slotCount)
        for (i, key) in ruleKeys.enumerated() {
            var k = key
            let h = k.withUTF8 { fnv1a($0) }
            var slot = Int(truncatingIfNeeded: h) & (slotCount - 1)
            while table[slot].index >= 0 { slot = (slot + 1) & (slotCount - 1) }
            table[slot] = (h, Int16(i))
        }
        return table
    }()

    @inline(__always)
    static func fnv1a(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h ^ (h >> 32)
    }

    /// Span events whose first occurrence marks the first streamed chunk.
    static let firstChunkEvents: Set<String> = [
        "First Token Stream Event", "gen_ai.content.completion.chunk", "llm.content.completion.chunk",
    ]

    /// Old or instrumentation-specific provider names mapped to `gen_ai.provider.name` values.
    static let providerAliases: [String: String] = [
        "az.ai.openai": "azure.ai.openai", "az.ai.inference": "azure.ai.inference", "azure": "azure.ai.openai",
        "vertex_ai": "gcp.vertex_ai", "gemini": "gcp.gemini", "google": "gcp.gemini", "xai": "x_ai",
        "mistralai": "mistral_ai", "mistral": "mistral_ai", "aws": "aws.bedrock", "bedrock": "aws.bedrock",
        "Anthropic": "anthropic", "OpenAI": "openai",
    ]

    /// OpenInference span kinds mapped to `gen_ai.operation.name` values.
    static let openInferenceKinds: [String: String] = [
        "LLM": "chat", "EMBEDDING": "embeddings", "TOOL": "execute_tool", "RETRIEVER": "retrieval", "AGENT": "invoke_agent",
    ]
}
