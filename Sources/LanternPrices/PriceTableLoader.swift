import Foundation
import LanternModel
import Yams

/// One problem in a price table, with the file and line it is on.
public struct PriceTableProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public var description: String { "\(file):\(line): \(message)" }
}

/// Every problem found in a set of price tables (all are reported at once).
public struct PriceTableErrors: Error, Sendable, CustomStringConvertible {
    public var problems: [PriceTableProblem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Loads the dated price tables under `collectors/prices/` (one YAML file per provider) and
/// validates them, reporting every problem with its file and line.
public enum PriceTableLoader {
    /// Loads every `*.yaml` file of a directory into one price book.
    public static func load(directory: URL) throws -> PriceBook {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        guard !files.isEmpty else {
            throw PriceTableErrors(problems: [PriceTableProblem(file: directory.path, line: 0, message: "no price tables (*.yaml) found")])
        }
        var models: [ModelPrice] = []
        var problems: [PriceTableProblem] = []
        var seen: [String: String] = [:]
        for f in files {
            let path = directory.appendingPathComponent(f)
            let text = try String(contentsOf: path, encoding: .utf8)
            let (m, p) = parse(yaml: text, file: f)
            problems += p
            for model in m {
                for id in [model.model] + model.aliases {
                    if let other = seen[id.lowercased()] {
                        problems.append(PriceTableProblem(file: f, line: 0, message: "model id '\(id)' is also priced in \(other)"))
                    }
                    seen[id.lowercased()] = f
                }
            }
            models += m
        }
        guard problems.isEmpty else { throw PriceTableErrors(problems: problems) }
        return PriceBook(models: models)
    }

    /// Parses one table; returns what it could read and every problem found.
    public static func parse(yaml text: String, file: String) -> (models: [ModelPrice], problems: [PriceTableProblem]) {
        var problems: [PriceTableProblem] = []
        func problem(_ node: Node?, _ message: String) {
            problems.append(PriceTableProblem(file: file, line: (node?.mark?.line ?? 0), message: message))
        }
        let root: Node
        do {
            guard let r = try Yams.compose(yaml: text) else {
                problem(nil, "the file is empty")
                return ([], problems)
            }
            root = r
        } catch let error as YamlError {
            problems.append(PriceTableProblem(file: file, line: 0, message: "not valid YAML: \(error)"))
            return ([], problems)
        } catch {
            problems.append(PriceTableProblem(file: file, line: 0, message: "not valid YAML: \(error)"))
            return ([], problems)
        }
        guard let top = root.mapping else {
            problem(root, "the top level must be a mapping with provider, currency, unit and models")
            return ([], problems)
        }
        let known: Set<String> = ["provider", "currency", "unit", "models"]
        for key in top.keys where !known.contains(key.string ?? "") { problem(key, "unknown key '\(key.string ?? "?")'") }
        let provider = top["provider"]?.string ?? ""
        if provider.isEmpty { problem(root, "'provider' is missing") }
        if top["currency"]?.string != "USD" { problem(top["currency"] ?? root, "'currency' must be USD") }
        if top["unit"]?.string != "per_million_tokens" { problem(top["unit"] ?? root, "'unit' must be per_million_tokens") }
        guard let list = top["models"]?.sequence else {
            problem(root, "'models' must be a list")
            return ([], problems)
        }
        var models: [ModelPrice] = []
        for entry in list {
            guard let m = entry.mapping else { problem(entry, "each model must be a mapping"); continue }
            let modelKeys: Set<String> = ["model", "aliases", "prices"]
            for key in m.keys where !modelKeys.contains(key.string ?? "") { problem(key, "unknown key '\(key.string ?? "?")' in a model") }
            guard let id = m["model"]?.string, !id.isEmpty else { problem(entry, "a model needs a 'model' id"); continue }
            let aliases = m["aliases"]?.sequence?.compactMap(\.string) ?? []
            guard let periodsNode = m["prices"]?.sequence, !periodsNode.isEmpty else {
                problem(entry, "model '\(id)' needs a non-empty 'prices' list")
                continue
            }
            var periods: [PricePeriod] = []
            var lastFrom = Int64.min
            for p in periodsNode {
                guard let pm = p.mapping else { problem(p, "a price entry of '\(id)' must be a mapping"); continue }
                guard let fromText = pm["from"]?.string, let from = unixNanos(date: fromText) else {
                    problem(p, "price entry of '\(id)' needs 'from' as YYYY-MM-DD")
                    continue
                }
                if from <= lastFrom { problem(p, "price entries of '\(id)' must be in date order, oldest first") }
                lastFrom = from
                guard let base = prices(pm, id, p, &problems, file: file) else { continue }
                var tiers: [PriceTier] = []
                for t in pm["tiers"]?.sequence ?? [] {
                    guard let tm = t.mapping, let above = tm["above_input_tokens"]?.int, above > 0 else {
                        problem(t, "a tier of '\(id)' needs a positive 'above_input_tokens'")
                        continue
                    }
                    if let tp = prices(tm, id, t, &problems, file: file, extraKeys: ["above_input_tokens"]) {
                        tiers.append(PriceTier(aboveInputTokens: Int64(above), prices: tp))
                    }
                }
                periods.append(PricePeriod(fromUnixNano: from, base: base, tiers: tiers))
            }
            models.append(ModelPrice(provider: provider, model: id, aliases: aliases, periods: periods))
        }
        return (models, problems)
    }

    private static func prices(_ m: Node.Mapping, _ id: String, _ node: Node, _ problems: inout [PriceTableProblem], file: String,
                               extraKeys: Set<String> = []) -> TokenPrices? {
        let allowed = Set(["from", "input", "cached_input", "cache_write", "output", "reasoning", "tiers"]).union(extraKeys)
        for key in m.keys where !allowed.contains(key.string ?? "") {
            problems.append(PriceTableProblem(file: file, line: key.mark?.line ?? 0, message: "unknown key '\(key.string ?? "?")' in a price of '\(id)'"))
        }
        func number(_ key: String, required: Bool) -> Double?? {
            guard let n = m[key] else {
                if required { problems.append(PriceTableProblem(file: file, line: node.mark?.line ?? 0, message: "price of '\(id)' needs '\(key)'")) }
                return .some(nil)
            }
            guard let v = n.float, v >= 0, v.isFinite else {
                problems.append(PriceTableProblem(file: file, line: n.mark?.line ?? 0, message: "'\(key)' of '\(id)' must be a non-negative number"))
                return nil
            }
            return .some(v)
        }
        guard let input = number("input", required: true), let output = number("output", required: true),
              let cached = number("cached_input", required: false), let write = number("cache_write", required: false),
              let reasoning = number("reasoning", required: false), let input, let output else { return nil }
        return TokenPrices(input: input, cachedInput: cached, cacheWrite: write, output: output, reasoning: reasoning)
    }

    /// Midnight UTC of a `YYYY-MM-DD` date, in Unix nanoseconds.
    public static func unixNanos(date: String) -> Int64? {
        let parts = date.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]),
              (1...12).contains(m), (1...31).contains(d) else { return nil }
        return daysSinceEpoch(year: y, month: m, day: d) * 86_400_000_000_000
    }

    /// The benchmark's flat price list (`../shared/bench/prices.json`): undated, in force always.
    public static func loadBenchJSON(_ url: URL) throws -> PriceBook {
        let data = try Data(contentsOf: url)
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let table = root["usd_per_million_tokens"] as? [String: [String: Double]] else {
            throw PriceTableErrors(problems: [PriceTableProblem(file: url.path, line: 0, message: "expected {\"usd_per_million_tokens\": {model: {input, output}}}")])
        }
        return PriceBook(models: table.map { model, p in
            ModelPrice(provider: "", model: model, periods: [PricePeriod(fromUnixNano: Int64.min, base: TokenPrices(input: p["input"] ?? 0, output: p["output"] ?? 0))])
        })
    }

    /// Finds the price tables: an explicit path, `$LANTERN_PRICES`, `./collectors/prices`, or
    /// `collectors/prices` of the checkout the executable was built in.
    public static func defaultDirectory(explicit: String? = nil) -> URL? {
        var candidates: [String] = []
        if let explicit { candidates.append(explicit) }
        if let env = ProcessInfo.processInfo.environment["LANTERN_PRICES"] { candidates.append(env) }
        candidates.append(FileManager.default.currentDirectoryPath + "/collectors/prices")
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("collectors/prices").path)
            dir.deleteLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }.map { URL(fileURLWithPath: $0) }
    }
}
