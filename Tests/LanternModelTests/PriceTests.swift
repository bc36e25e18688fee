import Foundation
import LanternModel
import LanternPrices
import LanternTesting
import Testing

@Suite("Price tables and cost")
struct PriceTests {
    static let day: Int64 = 86_400_000_000_000

    @Test("the shipped price tables load without a single problem and price current models")
    func shippedTables() throws {
        let book = try PriceTableLoader.load(directory: Fixtures.repositoryRoot.appendingPathComponent("collectors/prices"))
        for model in ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "claude-sonnet-4", "claude-3-5-haiku", "gemini-2.0-flash", "gemini-1.5-pro",
                      "mistral-large"] {
            #expect(book.lookup(model: model) != nil, "\(model) is priced")
        }
        let providers = Set(book.models.map(\.provider))
        #expect(providers.isSuperset(of: ["openai", "anthropic", "gcp.gemini", "mistral_ai"]))
        for m in book.models {
            #expect(!m.periods.isEmpty, "\(m.model) has prices")
            #expect(zip(m.periods, m.periods.dropFirst()).allSatisfy { $0.fromUnixNano < $1.fromUnixNano }, "\(m.model) periods in order")
        }
    }

    @Test("snapshot ids match their base model; unrelated suffixes and longer names do not")
    func snapshotMatching() {
        let book = PriceBook(models: [
            ModelPrice(provider: "openai", model: "gpt-4o", periods: [PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 2.5, output: 10))]),
            ModelPrice(provider: "openai", model: "gpt-4o-mini", periods: [PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 0.15, output: 0.6))]),
            ModelPrice(provider: "google", model: "gemini-2.0-flash", aliases: ["gemini-flash-latest-alias"],
                       periods: [PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 0.1, output: 0.4))]),
        ])
        #expect(book.lookup(model: "gpt-4o-2024-08-06")?.model == "gpt-4o")
        #expect(book.lookup(model: "gpt-4o-mini-2024-07-18")?.model == "gpt-4o-mini", "the longest base wins")
        #expect(book.lookup(model: "GPT-4o")?.model == "gpt-4o", "ids are case-insensitive")
        #expect(book.lookup(model: "gemini-2.0-flash-001")?.model == "gemini-2.0-flash")
        #expect(book.lookup(model: "models/gemini-2.0-flash")?.model == "gemini-2.0-flash", "a provider prefix is stripped")
        #expect(book.lookup(model: "gemini-flash-latest-alias")?.model == "gemini-2.0-flash", "aliases match exactly")
        #expect(book.lookup(model: "gpt-4o-latest")?.model == "gpt-4o")
        #expect(book.lookup(model: "gpt-4o-audio-preview") == nil, "a different model is not its base's snapshot")
        #expect(book.lookup(model: "gpt-4") == nil)
        #expect(book.lookup(model: "gpt-fake-1-2026-11-01") == nil)
    }

    @Test("cost: cached input, cache writes, reasoning, tiers by input size, dated periods")
    func costRules() throws {
        let p = TokenPrices(input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15)
        // 1000 input of which 400 cached and 100 written, 200 output.
        let u = TokenUsage(input: 1000, output: 200, cacheRead: 400, cacheCreation: 100)
        let expected: Double = (1500.0 + 120.0 + 375.0 + 3000.0) / 1e6  // 500 plain, 400 cached, 100 written, 200 output
        #expect(abs(PriceBook.cost(usage: u, prices: p) - expected) < 1e-15)
        // Without a cached price, cached tokens cost the input price; never counted twice.
        let plain = TokenPrices(input: 2, output: 8)
        #expect(abs(PriceBook.cost(usage: TokenUsage(input: 1000, output: 10, cacheRead: 400), prices: plain) - 2080.0 / 1e6) < 1e-15)
        // A separate reasoning price applies to the reasoning part of the output only.
        let r = TokenPrices(input: 1, output: 4, reasoning: 10)
        #expect(abs(PriceBook.cost(usage: TokenUsage(input: 0, output: 100, reasoning: 30), prices: r) - 580.0 / 1e6) < 1e-15)
        // More cached than input (bad data) is clamped, not negative.
        #expect(PriceBook.cost(usage: TokenUsage(input: 10, output: 0, cacheRead: 50), prices: p) >= 0)

        let tiered = PricePeriod(fromUnixNano: 0, base: TokenPrices(input: 1.25, output: 5),
                                 tiers: [PriceTier(aboveInputTokens: 200_000, prices: TokenPrices(input: 2.5, output: 10))])
        #expect(tiered.prices(forInputTokens: 200_000).input == 1.25, "the tier applies above its threshold")
        #expect(tiered.prices(forInputTokens: 200_001).input == 2.5)

        let book = PriceBook(models: [ModelPrice(provider: "x", model: "m", periods: [
            PricePeriod(fromUnixNano: 10 * Self.day, base: TokenPrices(input: 5, output: 15)),
            PricePeriod(fromUnixNano: 20 * Self.day, base: TokenPrices(input: 2.5, output: 10)),
        ])])
        let usage = TokenUsage(input: 1_000_000, output: 0)
        #expect(book.cost(model: "m", at: 9 * Self.day, usage: usage) == nil, "no price before the first period")
        #expect(book.cost(model: "m", at: 10 * Self.day, usage: usage) == 5)
        #expect(book.cost(model: "m", at: 20 * Self.day - 1, usage: usage) == 5)
        #expect(book.cost(model: "m", at: 20 * Self.day, usage: usage) == 2.5, "a price change applies from its date")
        #expect(book.cost(model: "unknown", at: 20 * Self.day, usage: usage) == nil)
    }

    @Test("a broken table reports every problem at once, each with its file and line")
    func validation() throws {
        let yaml = """
        provider: openai
        currency: EUR
        unit: per_million_tokens
        colour: blue
        models:
          - model: good
            prices:
              - from: 2025-01-01
                input: 1.0
                output: 2.0
          - model: unordered
            prices:
              - from: 2025-06-01
                input: 1.0
                output: 2.0
              - from: 2025-01-01
                input: 1.0
                output: 2.0
          - model: negative
            prices:
              - from: 2025-01-01
                input: -1
                output: 2.0
          - model: no-output
            prices:
              - from: 2025-01-01
                input: 1.0
          - model: bad-date
            prices:
              - from: 01/02/2025
                input: 1
                output: 2
          - prices: []
          - model: typo
            prices:
              - from: 2025-01-01
                input: 1
                outptu: 2
                output: 2
        """
        let (models, problems) = PriceTableLoader.parse(yaml: yaml, file: "openai.yaml")
        let text = problems.map(\.description)
        func has(_ words: String...) -> Bool { text.contains { line in words.allSatisfy { line.contains($0) } } }
        #expect(has("openai.yaml:", "currency", "USD"))
        #expect(has("unknown key 'colour'"))
        #expect(has("unordered", "date order"))
        #expect(has("'input' of 'negative'", "non-negative"))
        #expect(has("no-output", "needs 'output'"))
        #expect(has("bad-date", "YYYY-MM-DD"))
        #expect(has("needs a 'model' id"))
        #expect(has("unknown key 'outptu'", "typo"))
        #expect(problems.allSatisfy { $0.line > 0 }, "every problem names its line: \(text)")
        #expect(models.contains { $0.model == "good" })

        let (_, notYAML) = PriceTableLoader.parse(yaml: "models: [unclosed", file: "x.yaml")
        #expect(notYAML.first?.description.contains("not valid YAML") == true)
    }

    @Test("a directory whose tables price one model twice is refused, naming both files")
    func duplicates() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prices-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let table = { (provider: String) in
            "provider: \(provider)\ncurrency: USD\nunit: per_million_tokens\nmodels:\n  - model: shared-model\n    prices:\n      - from: 2025-01-01\n        input: 1\n        output: 2\n"
        }
        try table("a").write(to: dir.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        try table("b").write(to: dir.appendingPathComponent("b.yaml"), atomically: true, encoding: .utf8)
        #expect {
            _ = try PriceTableLoader.load(directory: dir)
        } throws: { error in
            "\(error)".contains("shared-model") && "\(error)".contains("a.yaml")
        }
    }

    @Test("the benchmark's flat prices.json loads as undated prices")
    func benchPrices() throws {
        let book = try PriceTableLoader.loadBenchJSON(Fixtures.shared.appendingPathComponent("bench/prices.json"))
        #expect(book.cost(model: "gpt-4o", at: 0, usage: TokenUsage(input: 1_000_000, output: 1_000_000)) == 12.5)
        #expect(book.lookup(model: "claude-sonnet-4-20250514")?.model == "claude-sonnet-4")
    }

    @Test("dates are midnight UTC")
    func dates() {
        #expect(PriceTableLoader.unixNanos(date: "1970-01-02") == Self.day)
        #expect(PriceTableLoader.unixNanos(date: "2025-06-01") == Int64(1_748_736_000_000_000_000))
        #expect(PriceTableLoader.unixNanos(date: "2025-13-01") == nil)
        #expect(PriceTableLoader.unixNanos(date: "June 1") == nil)
    }
}
