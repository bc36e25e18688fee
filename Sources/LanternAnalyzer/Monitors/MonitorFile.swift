import Foundation
import LanternModel
import LanternYAML
import Yams

/// One problem in a monitors file, with the line it is on (0 when it concerns the whole file).
public typealias MonitorProblem = YAMLProblem

/// Reads a monitors file (see `collectors/monitors.yaml`) into rules and webhooks, reporting every
/// problem at once with its line: unknown keys, bad durations and numbers, unknown metrics, tests
/// or group keys, warning thresholds on the wrong side of the alert, undefined webhooks and
/// duplicate names. Rules and webhooks with problems are left out of the result.
public enum MonitorFile {
    /// The figures a threshold rule can watch (`Comparison.headlines`).
    public static var thresholdMetrics: [String] { Comparison.headlines.map(\.0) }

    static let topKeys = ["webhooks", "monitors"]
    static let ruleKeys = ["name", "metric", "filter", "group_by", "window", "every", "threshold", "drift", "min_samples", "notify"]
    static let filterKeys = ["services", "models", "variants", "environments", "operations", "all_spans"]
    static let webhookKeys = ["url", "headers", "timeout", "max_attempts", "backoff"]
    static let thresholdKeys = ["direction", "warning", "alert"]
    static let driftKeys = ["test", "reference", "warning_p", "alert_p", "warning", "alert"]
    static let driftSubjects = "ttft, latency, tpot, output_tokens, score:<name>, finish_reason, error_type, outcome"

    /// Reads a file; problems include the file's own absence or unreadability.
    public static func load(path: String) -> (MonitorConfiguration, [MonitorProblem]) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            return (MonitorConfiguration(), [MonitorProblem(file: path, line: 0, message: "cannot read the file (missing, unreadable or not UTF-8)")])
        }
        return parse(yaml: text, file: path)
    }

    /// Parses monitors text.
    public static func parse(yaml text: String, file: String) -> (MonitorConfiguration, [MonitorProblem]) {
        var r = YAMLReader(file: file)
        var config = MonitorConfiguration()
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            return (config, [MonitorProblem(file: file, line: 0, message: "not valid YAML: \(error)")])
        }
        guard let root else { return (config, []) }
        guard let top = r.mapping(root, "the top level", keys: topKeys) else { return (config, r.problems) }
        var webhookNames = Set<String>()
        if let node = top["webhooks"] {
            if let m = r.mapping(node, "webhooks", keys: nil) {
                for (key, value) in m {
                    guard let name = r.string(key, "webhooks"), !name.isEmpty else { continue }
                    webhookNames.insert(name)
                    if let webhook = readWebhook(name, value, &r) { config.webhooks.append(webhook) }
                }
            }
        }
        if let node = top["monitors"] {
            guard let items = node.sequence else {
                r.problem(node, "monitors: must be a list of rules (name, metric, window, threshold or drift, ...)")
                return (config, r.problems)
            }
            var firstLine: [String: Int] = [:]
            for item in items {
                var duplicate = false
                if let nameNode = item.mapping?["name"], let name = nameNode.scalar?.string, !name.isEmpty {
                    if let line = firstLine[name] {
                        r.problem(nameNode, "monitor '\(name)' is defined twice (first at line \(line))")
                        duplicate = true
                    } else {
                        firstLine[name] = nameNode.mark?.line ?? 0
                    }
                }
                if let rule = readRule(item, webhooks: webhookNames, &r), !duplicate { config.rules.append(rule) }
            }
        }
        return (config, r.problems)
    }

    private static func readWebhook(_ name: String, _ node: Node, _ r: inout YAMLReader) -> Webhook? {
        let what = "webhook '\(name)'"
        guard let m = r.mapping(node, what, keys: webhookKeys) else { return nil }
        let before = r.problems.count
        var url: URL?
        if let n = m["url"], let text = r.string(n, "\(what).url") {
            if let u = URL(string: text), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https", u.host != nil {
                url = u
            } else {
                r.problem(n, "\(what).url: '\(text)' is not an http:// or https:// URL")
            }
        } else if m["url"] == nil {
            r.problem(node, "\(what): needs a 'url'")
        }
        var webhook = Webhook(name: name, url: url ?? URL(fileURLWithPath: "/"))
        if let n = m["headers"] {
            if let h = r.mapping(n, "\(what).headers", keys: nil) {
                for (k, v) in h {
                    if let key = r.string(k, "\(what).headers"), let value = r.string(v, "\(what).headers.\(key)") { webhook.headers[key] = value }
                }
            }
        }
        if let n = m["timeout"], let v = r.duration(n, "\(what).timeout", positive: true) { webhook.timeout = .nanoseconds(v) }
        if let n = m["max_attempts"], let v = r.positiveInt(n, "\(what).max_attempts") { webhook.maxAttempts = v }
        if let n = m["backoff"], let b = r.mapping(n, "\(what).backoff", keys: ["initial", "max"]) {
            if let i = b["initial"], let v = r.duration(i, "\(what).backoff.initial", positive: true) { webhook.backoffInitial = .nanoseconds(v) }
            if let x = b["max"], let v = r.duration(x, "\(what).backoff.max", positive: true) { webhook.backoffMax = .nanoseconds(v) }
            if webhook.backoffMax < webhook.backoffInitial {
                r.problem(b["max"] ?? n, "\(what).backoff: max must be at least initial")
            }
        }
        return r.problems.count == before && url != nil ? webhook : nil
    }

    private static func readRule(_ node: Node, webhooks: Set<String>, _ r: inout YAMLReader) -> MonitorRule? {
        guard let m = r.mapping(node, "a monitor", keys: ruleKeys) else { return nil }
        let before = r.problems.count
        guard let nameNode = m["name"], let name = r.string(nameNode, "monitors.name"), !name.isEmpty else {
            if m["name"] == nil { r.problem(node, "monitors: each monitor needs a 'name'") } else if let n = m["name"] {
                r.problem(n, "monitors.name: must not be empty")
            }
            return nil
        }
        let what = "monitor '\(name)'"
        // Like `lantern report`: GenAI spans only unless the filter says all_spans: true.
        var filter = SpanFilter(genAIOnly: true)
        if let n = m["filter"], let f = r.mapping(n, "\(what).filter", keys: filterKeys) {
            if let a = f["all_spans"] {
                switch a.scalar?.string.lowercased() {
                case "true": filter.genAIOnly = false
                case "false": filter.genAIOnly = true
                default: r.problem(a, "\(what).filter.all_spans: expected true or false")
                }
            }
            func list(_ key: String) -> [String] { f[key].map { r.strings($0, "\(what).filter.\(key)") } ?? [] }
            filter.services = list("services")
            filter.models = list("models")
            filter.variants = list("variants")
            filter.environments = list("environments")
            filter.operations = list("operations")
        }
        var groupBy: [GroupKey] = []
        var groupByNodes: [(GroupKey, Node)] = []
        if let n = m["group_by"] {
            for item in (n.sequence.map(Array.init) ?? [n]) {
                guard let text = r.string(item, "\(what).group_by") else { continue }
                guard let key = GroupKey(rawValue: text) else {
                    r.problem(item, "\(what).group_by: '\(text)' is not one of \(GroupKey.allCases.map(\.rawValue).joined(separator: ", "))")
                    continue
                }
                if groupBy.contains(key) { r.problem(item, "\(what).group_by: '\(text)' is listed twice") } else {
                    groupBy.append(key)
                    groupByNodes.append((key, item))
                }
            }
        }
        var window: Int64?
        if let n = m["window"] { window = r.duration(n, "\(what).window", positive: true) } else { r.problem(node, "\(what): needs a 'window' (e.g. 15m)") }
        var every = MonitorRule.defaultEveryNanos
        if let n = m["every"], let v = r.duration(n, "\(what).every", positive: true) {
            if v < 1_000_000_000 { r.problem(n, "\(what).every: must be at least 1s") } else { every = v }
        }
        var minSamples = MonitorRule.defaultMinSamples
        if let n = m["min_samples"] {
            if let v = n.int, v >= 0 { minSamples = v } else { r.problem(n, "\(what).min_samples: must be a whole number, 0 or more") }
        }
        var notify: [String] = []
        if let n = m["notify"] {
            for item in (n.sequence.map(Array.init) ?? [n]) {
                guard let hook = r.string(item, "\(what).notify") else { continue }
                if webhooks.contains(hook) { notify.append(hook) } else {
                    let known = webhooks.sorted().joined(separator: ", ")
                    r.problem(item, "\(what).notify: no webhook named '\(hook)' is defined\(known.isEmpty ? " (the file defines none)" : " (defined: \(known))")")
                }
            }
        }
        let metricNode = m["metric"]
        let metric = metricNode.flatMap { r.string($0, "\(what).metric") }
        if metricNode == nil { r.problem(node, "\(what): needs a 'metric'") }
        var condition: MonitorRule.Condition?
        switch (m["threshold"], m["drift"]) {
        case (let t?, nil):
            if let metric, let metricNode { checkThresholdMetric(metric, metricNode, what, &r) }
            condition = readThreshold(t, what, &r).map { .threshold($0) }
        case (nil, let d?):
            for (key, item) in groupByNodes where !MonitorRule.driftGroupKeys.contains(key) {
                r.problem(item, "\(what).group_by: a drift rule can group only by \(MonitorRule.driftGroupKeys.map(\.rawValue).joined(separator: ", ")) "
                    + "(each group's spans are selected by a filter)")
            }
            let subject = metric.flatMap { text -> DriftSubject? in
                if let s = DriftSubject(text) { return s }
                r.problem(metricNode ?? node, "\(what).metric: '\(text)' is not a drift subject (\(driftSubjects))"
                    + (thresholdMetrics.contains(text) ? "; '\(text)' is a threshold figure" : ""))
                return nil
            }
            condition = readDrift(d, subject: subject, window: window, what, &r).map { .drift($0) }
        case (_?, _?):
            r.problem(node, "\(what): has both 'threshold' and 'drift'; a monitor has one condition")
        case (nil, nil):
            r.problem(node, "\(what): needs a 'threshold' or a 'drift' condition")
        }
        guard r.problems.count == before, let metric, let window, let condition else { return nil }
        return MonitorRule(name: name, metric: metric, filter: filter, groupBy: groupBy, windowNanos: window, everyNanos: every,
                           condition: condition, minSamples: minSamples, notify: notify)
    }

    private static func checkThresholdMetric(_ metric: String, _ node: Node, _ what: String, _ r: inout YAMLReader) {
        guard !thresholdMetrics.contains(metric) else { return }
        var hint = ""
        if DriftSubject(metric) != nil { hint = "; '\(metric)' is a drift subject, a threshold needs a figure such as \(metric)_p95" }
        r.problem(node, "\(what).metric: '\(metric)' is not one of \(thresholdMetrics.joined(separator: ", "))\(hint)")
    }

    private static func readThreshold(_ node: Node, _ what: String, _ r: inout YAMLReader) -> MonitorRule.Threshold? {
        guard let m = r.mapping(node, "\(what).threshold", keys: thresholdKeys) else { return nil }
        var direction: MonitorRule.Threshold.Direction?
        if let n = m["direction"], let text = r.string(n, "\(what).threshold.direction") {
            direction = MonitorRule.Threshold.Direction(rawValue: text)
            if direction == nil { r.problem(n, "\(what).threshold.direction: '\(text)' is not above or below") }
        } else if m["direction"] == nil {
            r.problem(node, "\(what).threshold: needs a 'direction' (above or below)")
        }
        let alert = m["alert"].flatMap { r.number($0, "\(what).threshold.alert") }
        if m["alert"] == nil { r.problem(node, "\(what).threshold: needs an 'alert' value") }
        let warning = m["warning"].flatMap { r.number($0, "\(what).threshold.warning") }
        guard let direction, let alert else { return nil }
        let threshold = MonitorRule.Threshold(direction: direction, warning: warning, alert: alert)
        if let warning, let n = m["warning"], !threshold.isBeyond(alert, warning) {
            r.problem(n, "\(what).threshold.warning: \(warning) must be \(direction == .above ? "below" : "above") the alert value \(alert) "
                + "(direction \(direction.rawValue): WARNING comes before ALERT)")
            return nil
        }
        return threshold
    }

    private static func readDrift(_ node: Node, subject: DriftSubject?, window: Int64?, _ what: String, _ r: inout YAMLReader) -> MonitorRule.Drift? {
        guard let m = r.mapping(node, "\(what).drift", keys: driftKeys) else { return nil }
        var test: DriftTest?
        if let n = m["test"], let text = r.string(n, "\(what).drift.test") {
            test = DriftTest(rawValue: text)
            if test == nil { r.problem(n, "\(what).drift.test: '\(text)' is not one of \(DriftTest.allCases.map(\.rawValue).joined(separator: ", "))") }
            if let t = test, let subject, !subject.defaultTests.contains(t) {
                r.problem(n, "\(what).drift.test: \(t.rawValue) does not apply to \(subject) (use \(subject.defaultTests.map(\.rawValue).joined(separator: " or ")))")
                test = nil
            }
        } else if m["test"] == nil {
            r.problem(node, "\(what).drift: needs a 'test' (\(DriftTest.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var reference = MonitorRule.Drift.Reference.previous
        var referenceOK = true
        if let n = m["reference"], let text = r.string(n, "\(what).drift.reference") {
            if text == "previous" {
                reference = .previous
            } else if let v = Quantity.durationNanos(text), v > 0 {
                reference = .offset(v)
                if let window, v < window {
                    r.problem(n, "\(what).drift.reference: the offset \(text) is shorter than the window, so the two windows overlap")
                    referenceOK = false
                }
            } else {
                r.problem(n, "\(what).drift.reference: '\(text)' is not 'previous' or an offset such as 1d or 7d")
                referenceOK = false
            }
        }
        guard let test else { return nil }
        let byP = MonitorRule.Drift.judgesPValue(test)
        let (warningKey, alertKey) = byP ? ("warning_p", "alert_p") : ("warning", "alert")
        var wrongKeys = false
        for key in (byP ? ["warning", "alert"] : ["warning_p", "alert_p"]) {
            guard let n = m[key] else { continue }
            r.problem(n, "\(what).drift.\(key): \(test.rawValue) is judged by its \(byP ? "p-value: use warning_p / alert_p" : "statistic: use warning / alert")")
            wrongKeys = true
        }
        var threshold = MonitorRule.Drift.defaultThreshold(for: test)
        let warningNode = m[warningKey], alertNode = m[alertKey]
        if warningNode != nil || alertNode != nil {
            func bound(_ n: Node, _ key: String) -> Double? {
                guard let v = r.number(n, "\(what).drift.\(key)") else { return nil }
                if byP, !(v > 0 && v < 1) {
                    r.problem(n, "\(what).drift.\(key): a p-value bound must be between 0 and 1")
                    return nil
                }
                if !byP, v < 0 {
                    r.problem(n, "\(what).drift.\(key): must be 0 or more")
                    return nil
                }
                return v
            }
            let warning = warningNode.flatMap { bound($0, warningKey) }
            guard let alertNode else {
                r.problem(node, "\(what).drift: '\(warningKey)' needs an '\(alertKey)' too")
                return nil
            }
            guard let alert = bound(alertNode, alertKey), warningNode == nil || warning != nil else { return nil }
            threshold = MonitorRule.Threshold(direction: byP ? .below : .above, warning: warning, alert: alert)
            if let warning, let n = warningNode, !threshold.isBeyond(alert, warning) {
                r.problem(n, "\(what).drift.\(warningKey): \(warning) must be \(byP ? "above" : "below") \(alertKey) \(alert) (WARNING comes before ALERT)")
                return nil
            }
        }
        guard let subject, referenceOK, !wrongKeys else { return nil }
        return MonitorRule.Drift(subject: subject, test: test, reference: reference, threshold: threshold)
    }
}
