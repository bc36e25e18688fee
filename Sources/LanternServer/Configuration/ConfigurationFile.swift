import Foundation
import LanternCollector
import LanternModel
import LanternYAML
import Yams

/// One problem in a configuration file, with the line it is on (0 when it concerns the whole file).
public typealias ConfigurationProblem = YAMLProblem

/// Reads `lantern.yaml` (see `collectors/lantern.yaml`) into a `ServerConfiguration`, reporting
/// every problem at once with its line: unknown keys, wrong types, bad sizes, durations, digests
/// and regular expressions.
public enum ConfigurationFile {
    /// The built-in redaction detectors a configuration may name.
    public static let builtinDetectors = RedactionRule.Detector.allCases.map(\.rawValue)

    /// Reads a file; problems include the file's own absence or unreadability.
    public static func load(path: String) -> (ServerConfiguration, [ConfigurationProblem]) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            return (ServerConfiguration(), [ConfigurationProblem(file: path, line: 0, message: "cannot read the file (missing, unreadable or not UTF-8)")])
        }
        return parse(yaml: text, file: path)
    }

    /// Parses configuration text, starting from the defaults.
    public static func parse(yaml text: String, file: String) -> (ServerConfiguration, [ConfigurationProblem]) {
        var reader = YAMLReader(file: file)
        var config = ServerConfiguration()
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            return (config, [ConfigurationProblem(file: file, line: 0, message: "not valid YAML: \(error)")])
        }
        guard let root else { return (config, []) }
        guard let top = reader.mapping(root, "the top level", keys: ["database", "listen", "limits", "auth", "redaction", "variants", "retention", "monitors", "log"]) else {
            return (config, reader.problems)
        }
        if let node = top["database"] { config.databasePath = reader.string(node, "database") }
        if let node = top["monitors"] { config.monitorsPath = reader.string(node, "monitors") }
        if let node = top["listen"], let listen = reader.mapping(node, "listen", keys: ["http", "grpc"]) {
            if let http = listen["http"], let text = reader.string(http, "listen.http") {
                if let listener = parseListener(text) { config.http = listener } else {
                    reader.problem(http, "listen.http: '\(text)' is not HOST:PORT (e.g. 127.0.0.1:4318)")
                }
            }
            if let grpc = listen["grpc"], let text = reader.string(grpc, "listen.grpc") {
                if text.lowercased() == "off" { config.grpc = nil } else if let listener = parseListener(text) { config.grpc = listener } else {
                    reader.problem(grpc, "listen.grpc: '\(text)' is not HOST:PORT (e.g. 127.0.0.1:4317) or off")
                }
            }
        }
        if let node = top["limits"] {
            readLimits(node, into: &config.limits, &reader)
        }
        if let node = top["auth"] {
            readAuth(node, into: &config.auth, &reader)
        }
        if let node = top["redaction"] {
            readRedaction(node, into: &config.redaction, &reader)
        }
        if let node = top["variants"] {
            config.variants = readVariants(node, &reader)
        }
        if let node = top["retention"], let m = reader.mapping(node, "retention", keys: ["max_age", "max_size", "interval"]) {
            if let n = m["max_age"] { config.retention.maxAgeNanos = reader.duration(n, "retention.max_age") }
            if let n = m["max_size"] { config.retention.maxBytes = reader.size(n, "retention.max_size") }
            if let n = m["interval"], let v = reader.duration(n, "retention.interval") {
                if v < 1_000_000_000 { reader.problem(n, "retention.interval: must be at least 1s") } else { config.retention.intervalNanos = v }
            }
        }
        if let node = top["log"], let m = reader.mapping(node, "log", keys: ["level", "format"]) {
            if let n = m["level"], let level = reader.string(n, "log.level") { config.logging.level = level }
            if let n = m["format"], let text = reader.string(n, "log.format") {
                if let format = ServerConfiguration.Logging.Format(rawValue: text) { config.logging.format = format } else {
                    reader.problem(n, "log.format: '\(text)' is not text or json")
                }
            }
        }
        return (config, reader.problems)
    }

    /// `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback).
    public static func parseListener(_ text: String) -> ServerConfiguration.Listener? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        return ServerConfiguration.Listener(host: host, port: port)
    }

    private static func readLimits(_ node: Node, into limits: inout ServerConfiguration.Limits, _ r: inout YAMLReader) {
        let keys = ["max_body", "max_queued_spans", "max_in_flight", "max_attributes", "max_value", "max_depth"]
        guard let m = r.mapping(node, "limits", keys: keys) else { return }
        if let n = m["max_body"], let v = r.size(n, "limits.max_body") { limits.maxBodyBytes = Int(clamping: v) }
        if let n = m["max_queued_spans"], let v = r.positiveInt(n, "limits.max_queued_spans") { limits.maxQueuedSpans = v }
        if let n = m["max_in_flight"], let v = r.size(n, "limits.max_in_flight") { limits.maxInFlightBytes = Int(clamping: v) }
        if let n = m["max_attributes"], let v = r.positiveInt(n, "limits.max_attributes") { limits.decoding.maxAttributes = v }
        if let n = m["max_value"], let v = r.size(n, "limits.max_value") { limits.decoding.maxValueBytes = Int(clamping: v) }
        if let n = m["max_depth"], let v = r.positiveInt(n, "limits.max_depth") { limits.decoding.maxDepth = v }
    }

    private static func readAuth(_ node: Node, into auth: inout ServerConfiguration.Auth, _ r: inout YAMLReader) {
        guard let m = r.mapping(node, "auth", keys: ["ingest_keys", "admin_token"]) else { return }
        if let list = m["ingest_keys"] {
            guard let items = list.sequence else {
                r.problem(list, "auth.ingest_keys: must be a list of {name, sha256}")
                return
            }
            for item in items {
                guard let key = r.mapping(item, "an ingest key", keys: ["name", "sha256"]) else { continue }
                guard let nameNode = key["name"], let name = r.string(nameNode, "auth.ingest_keys.name"), !name.isEmpty else {
                    r.problem(item, "auth.ingest_keys: each key needs a 'name'")
                    continue
                }
                guard let digestNode = key["sha256"], let digest = r.digest(digestNode, "auth.ingest_keys '\(name)'.sha256") else {
                    if key["sha256"] == nil { r.problem(item, "auth.ingest_keys '\(name)': needs 'sha256' (print one with `lantern keys new`)") }
                    continue
                }
                auth.ingestKeys.append(NamedDigest(name: name, digest: digest))
            }
        }
        if let n = m["admin_token"] { auth.adminToken = r.digest(n, "auth.admin_token") }
    }

    private static func readRedaction(_ node: Node, into redaction: inout ServerConfiguration.Redaction, _ r: inout YAMLReader) {
        guard let m = r.mapping(node, "redaction", keys: ["builtins", "patterns"]) else { return }
        if let n = m["builtins"] {
            guard let items = n.sequence else {
                r.problem(n, "redaction.builtins: must be a list of \(builtinDetectors.joined(separator: ", "))")
                return
            }
            redaction.builtins = []
            for item in items {
                guard let name = r.string(item, "redaction.builtins") else { continue }
                if builtinDetectors.contains(name) { redaction.builtins.append(name) } else {
                    r.problem(item, "redaction.builtins: '\(name)' is not one of \(builtinDetectors.joined(separator: ", "))")
                }
            }
        }
        if let n = m["patterns"] {
            guard let items = n.sequence else {
                r.problem(n, "redaction.patterns: must be a list of {name, regex}")
                return
            }
            for item in items {
                guard let p = r.mapping(item, "a redaction pattern", keys: ["name", "regex"]) else { continue }
                guard let nameNode = p["name"], let name = r.string(nameNode, "redaction.patterns.name"), !name.isEmpty,
                      let regexNode = p["regex"], let regex = r.string(regexNode, "redaction.patterns '\(name)'.regex") else {
                    r.problem(item, "redaction.patterns: each pattern needs a 'name' and a 'regex'")
                    continue
                }
                do {
                    _ = try RedactionRule(name: name, pattern: regex)
                    redaction.patterns.append((name: name, regex: regex))
                } catch {
                    r.problem(regexNode, "redaction.patterns: \(error)")
                }
            }
        }
    }

    private static func readVariants(_ node: Node, _ r: inout YAMLReader) -> [VariantRule] {
        guard let items = node.sequence else {
            r.problem(node, "variants: must be a list of {service, service_version, model, variant, rollout}")
            return []
        }
        var out: [VariantRule] = []
        for item in items {
            guard let m = r.mapping(item, "a variant mapping", keys: ["service", "service_version", "model", "variant", "rollout"]) else { continue }
            func text(_ key: String) -> String? { m[key].flatMap { r.string($0, "variants.\(key)") } }
            guard let variant = text("variant"), !variant.isEmpty else {
                r.problem(item, "variants: each mapping needs a 'variant' (baseline, candidate, shadow, ...)")
                continue
            }
            let mapping = VariantRule(variant: variant, rollout: text("rollout"), serviceName: text("service"),
                                      serviceVersion: text("service_version"), model: text("model"))
            out.append(mapping)
        }
        return out
    }
}

extension YAMLReader {
    /// A secret's digest (`sha256:` and 64 hex digits).
    mutating func digest(_ node: Node, _ what: String) -> SecretDigest? {
        guard let text = node.scalar?.string else {
            problem(node, "\(what): must be a single value")
            return nil
        }
        guard let d = SecretDigest(text: text) else {
            problem(node, "\(what): must be sha256: and 64 hex digits (the digest, never the key itself; `lantern keys new` prints both)")
            return nil
        }
        return d
    }
}
