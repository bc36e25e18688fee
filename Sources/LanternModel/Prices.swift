/// Prices of one model over one period, in USD per million tokens.
public struct TokenPrices: Sendable, Equatable, Codable {
    public var input: Double
    public var cachedInput: Double?
    public var cacheWrite: Double?
    public var output: Double
    public var reasoning: Double?

    public init(input: Double, cachedInput: Double? = nil, cacheWrite: Double? = nil, output: Double, reasoning: Double? = nil) {
        self.input = input
        self.cachedInput = cachedInput
        self.cacheWrite = cacheWrite
        self.output = output
        self.reasoning = reasoning
    }
}

/// A price that applies when a request's input tokens exceed a threshold.
public struct PriceTier: Sendable, Equatable {
    public var aboveInputTokens: Int64
    public var prices: TokenPrices
    public init(aboveInputTokens: Int64, prices: TokenPrices) {
        self.aboveInputTokens = aboveInputTokens
        self.prices = prices
    }
}

/// The prices in force from a date (UTC midnight, in Unix nanoseconds) until the next period.
public struct PricePeriod: Sendable, Equatable {
    public var fromUnixNano: Int64
    public var base: TokenPrices
    public var tiers: [PriceTier]
    public init(fromUnixNano: Int64, base: TokenPrices, tiers: [PriceTier] = []) {
        self.fromUnixNano = fromUnixNano
        self.base = base
        self.tiers = tiers.sorted { $0.aboveInputTokens < $1.aboveInputTokens }
    }

    /// The prices for a request with this many input tokens (the highest tier it exceeds).
    public func prices(forInputTokens n: Int64) -> TokenPrices {
        tiers.last { n > $0.aboveInputTokens }?.prices ?? base
    }
}

/// The dated prices of one model.
public struct ModelPrice: Sendable, Equatable {
    public var provider: String
    public var model: String
    public var aliases: [String]
    /// Oldest first.
    public var periods: [PricePeriod]

    public init(provider: String, model: String, aliases: [String] = [], periods: [PricePeriod]) {
        self.provider = provider
        self.model = model
        self.aliases = aliases
        self.periods = periods.sorted { $0.fromUnixNano < $1.fromUnixNano }
    }

    /// The period in force at a time; nil before the first one.
    public func period(at unixNano: Int64) -> PricePeriod? {
        periods.last { $0.fromUnixNano <= unixNano }
    }
}

/// Token usage of one request, as normalized (input includes cached, output includes reasoning).
public struct TokenUsage: Sendable, Equatable {
    public var input: Int64
    public var output: Int64
    public var cacheRead: Int64
    public var cacheCreation: Int64
    public var reasoning: Int64

    public init(input: Int64 = 0, output: Int64 = 0, cacheRead: Int64 = 0, cacheCreation: Int64 = 0, reasoning: Int64 = 0) {
        self.input = input
        self.output = output
        self.cacheRead = cacheRead
        self.cacheCreation = cacheCreation
        self.reasoning = reasoning
    }
}

/// All price tables, looked up by model id with snapshot suffixes matched to their base model.
public struct PriceBook: Sendable {
    public private(set) var models: [ModelPrice]
    private var byID: [String: Int] = [:]

    public init(models: [ModelPrice]) {
        self.models = models
        for (i, m) in models.enumerated() {
            byID[m.model.lowercased()] = i
            for a in m.aliases { byID[a.lowercased()] = i }
        }
    }

    public static let empty = PriceBook(models: [])

    /// The price entry for a model id: exact id or alias, else the longest base id that the id
    /// extends with a snapshot suffix (`-2024-08-06`, `-20250514`, `-001`, `-2411`, `-latest`).
    public func lookup(model: String) -> ModelPrice? {
        let id = model.lowercased()
        if let i = byID[id] { return models[i] }
        // Strip a provider prefix such as "openai/" or "models/".
        if let slash = id.lastIndex(of: "/") {
            let tail = String(id[id.index(after: slash)...])
            if let hit = lookup(model: tail) { return hit }
        }
        var best: (Int, Int)? = nil
        for (key, i) in byID where id.count > key.count + 1 && id.hasPrefix(key) {
            let rest = id.dropFirst(key.count)
            guard rest.first == "-", Self.isSnapshotSuffix(rest.dropFirst()) else { continue }
            if best == nil || key.count > best!.0 { best = (key.count, i) }
        }
        return best.map { models[$0.1] }
    }

    /// A date (`2024-08-06`, `20250514`), a short version number (`001`, `2411`) or `latest`.
    static func isSnapshotSuffix(_ s: Substring) -> Bool {
        if s == "latest" { return true }
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigitCharacter) }) else { return false }
        if parts.count == 3 { return parts[0].count == 4 && parts[1].count == 2 && parts[2].count == 2 }
        if parts.count == 1 { return parts[0].count == 8 || (parts[0].count >= 3 && parts[0].count <= 4) }
        return false
    }

    /// Cost in USD of a request at a time, or nil when the model or period is unknown.
    public func cost(model: String, at unixNano: Int64, usage: TokenUsage) -> Double? {
        guard let m = lookup(model: model), let period = m.period(at: unixNano) else { return nil }
        return Self.cost(usage: usage, prices: period.prices(forInputTokens: usage.input))
    }

    /// Cost in USD under one price set. Cached and cache-write tokens are part of `input` and are
    /// priced at their own rates where the table has them; reasoning tokens are part of `output`.
    public static func cost(usage u: TokenUsage, prices p: TokenPrices) -> Double {
        let cached = max(0, min(u.cacheRead, u.input))
        let written = p.cacheWrite == nil ? 0 : max(0, min(u.cacheCreation, u.input - cached))
        let plainInput = u.input - cached - written
        let reasoning = p.reasoning == nil ? 0 : max(0, min(u.reasoning, u.output))
        var usd = Double(plainInput) * p.input
        usd += Double(cached) * (p.cachedInput ?? p.input)
        usd += Double(written) * (p.cacheWrite ?? p.input)
        usd += Double(u.output - reasoning) * p.output
        usd += Double(reasoning) * (p.reasoning ?? p.output)
        return usd / 1_000_000
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { asciiValue.map { $0 >= 48 && $0 <= 57 } ?? false }
}
