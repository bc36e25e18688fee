import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LanternAnalyzer
import LanternModel
import LanternYAML
import Testing

// Monitors: the rules file, the pure evaluator, the state machine on injected times, the webhook
// retry logic with injected sending and sleeping, and the runner over a fake store and a manual
// clock. Nothing here sleeps; the real-listener test is Tests/LanternServerTests/WebhookDeliveryTests.swift.

private let second: Int64 = 1_000_000_000
private let minute = 60 * second

/// A report row for one group built from hand-made figures.
private func row(_ key: [String: String] = ["model": "m"], requests: Int = 100, errors: Int = 0, modelCalls: Int? = nil,
                 feedback: Int = 0, ttftP95: Double? = nil, ttftCount: Int = 100) -> ReportRow {
    var g = GroupResult(key: key.sorted { $0.key < $1.key }.map(\.value))
    g.spans = requests
    g.modelSpans = modelCalls ?? requests
    g.errors = errors
    g.spansWithFeedback = feedback
    if let ttftP95 {
        g.modelSpansWithTTFT = ttftCount
        g.ttft = Distribution(count: ttftCount, quantiles: [0.5, 0.9, 0.95, 0.99], values: [ttftP95 / 2, ttftP95 * 0.9, ttftP95, ttftP95 * 1.2],
                              mean: ttftP95 / 2)
    }
    return ReportRow(key: key, group: g)
}

private func thresholdRule(_ metric: String = "ttft_p95", _ direction: MonitorRule.Threshold.Direction = .above, warning: Double? = 1.5,
                           alert: Double = 3, minSamples: Int = 30, groupBy: [GroupKey] = [.model], every: Int64 = minute,
                           name: String = "rule") -> MonitorRule {
    MonitorRule(name: name, metric: metric, groupBy: groupBy, windowNanos: 15 * minute, everyNanos: every,
                condition: .threshold(.init(direction: direction, warning: warning, alert: alert)), minSamples: minSamples)
}

private func evaluation(_ state: MonitorState, _ group: [String: String] = ["model": "m"], value: Double? = 1) -> MonitorEvaluation {
    MonitorEvaluation(group: group, state: state, value: value, sampleCount: 100, message: "\(state.rawValue)")
}

private func transition(at: Int64 = 1_738_324_800 * second) -> MonitorTransition {
    MonitorTransition(monitor: "ttft-p95", group: ["model": "gpt-4o", "variant": "candidate"], from: .ok, to: .alert, at: at,
                      value: 2.5, sampleCount: 412, message: "ttft-p95: ttft_p95 = 2.5 is above the alert threshold 2")
}

/// A transition's `[from, to]`.
private func fromTo(_ t: MonitorTransition) -> [MonitorState?] { [t.from, t.to] }

private func hook(maxAttempts: Int = 5, initial: Duration = .seconds(1), max: Duration = .seconds(60)) -> Webhook {
    Webhook(name: "ops", url: URL(string: "http://127.0.0.1:9000/hooks/lantern")!, headers: ["X-Token": "t"], timeout: .seconds(7),
            maxAttempts: maxAttempts, backoffInitial: initial, backoffMax: max)
}

private struct ConnectionRefused: Error, CustomStringConvertible {
    var description: String { "connection refused" }
}

/// Scripted receiver replies, and what the notifier sent and slept.
private actor Script {
    var replies: [Result<Int, any Error>]
    var requests: [URLRequest] = []
    var sleeps: [Duration] = []
    init(_ replies: [Result<Int, any Error>]) { self.replies = replies }
    func send(_ request: URLRequest) throws -> Int {
        requests.append(request)
        return try (replies.isEmpty ? .success(200) : replies.removeFirst()).get()
    }
    func slept(_ d: Duration) { sleeps.append(d) }
}

/// Holds senders until opened.
private actor Gate {
    var isOpen = false
    var waiters: [CheckedContinuation<Void, Never>] = []
    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }
    func open() {
        isOpen = true
        for w in waiters { w.resume() }
        waiters = []
    }
}

/// A value shared with @Sendable closures: the manual clock's time, a store's current answer.
private final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    var current: Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}

extension Locked where Value == Int64 {
    func advance(_ nanos: Int64) { lock.withLock { value += nanos } }
}

/// A store that answers queries and sample requests from closures and records them.
private final class FakeStore: SpanStore, @unchecked Sendable {
    private let lock = NSLock()
    private var groups: (SpanQuery) -> [GroupResult]
    private let values: (SampleMetric, SpanFilter) -> [Double]
    private var _queries: [SpanQuery] = []
    private var _sampleFilters: [SpanFilter] = []

    init(groups: @escaping (SpanQuery) -> [GroupResult], values: @escaping (SampleMetric, SpanFilter) -> [Double] = { _, _ in [] }) {
        self.groups = groups
        self.values = values
    }
    var queries: [SpanQuery] { lock.withLock { _queries } }
    var sampleFilters: [SpanFilter] { lock.withLock { _sampleFilters } }
    func answer(_ groups: @escaping (SpanQuery) -> [GroupResult]) { lock.withLock { self.groups = groups } }

    func query(_ query: SpanQuery, prices: PriceBook) async throws -> QueryResult {
        lock.withLock {
            _queries.append(query)
            return QueryResult(groupBy: query.groupBy, groups: groups(query))
        }
    }
    func samples(_ metric: SampleMetric, filter: SpanFilter) async throws -> [Double] {
        lock.withLock {
            _sampleFilters.append(filter)
            return values(metric, filter)
        }
    }
    func append(_ spans: [CanonicalSpan]) async throws {}
    func trace(_ id: TraceID) async throws -> [CanonicalSpan] { [] }
    func stats() async throws -> StoreStats {
        StoreStats(sealedSpans: 0, journalSpans: 0, segments: 0, journalBatches: 0, fileBytes: 0, minStartUnixNano: nil, maxStartUnixNano: nil)
    }
    func appendScores(_ scores: [Score]) async throws -> [ScoreWriteOutcome] { [] }
    func applyRetention(_ policy: RetentionPolicy, nowUnixNano: Int64) async throws -> RetentionResult { RetentionResult() }
}

@Suite struct MonitorFileTests {
    @Test("the example collectors/monitors.yaml parses without a problem")
    func exampleFile() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("collectors/monitors.yaml").path
        let (config, problems) = MonitorFile.load(path: path)
        #expect(problems.isEmpty, "\(problems.map(\.description))")
        #expect(config.rules.map(\.name) == ["ttft-p95", "error-rate", "ttft-drift", "finish-reason-mix"])

        let ttft = try #require(config.rules.first)
        #expect(ttft.metric == "ttft_p95")
        #expect(ttft.groupBy == [.model, .variant])
        #expect(ttft.windowNanos == 15 * minute && ttft.everyNanos == minute)
        #expect(ttft.minSamples == 50)
        #expect(ttft.condition == .threshold(.init(direction: .above, warning: 1.5, alert: 3)))
        #expect(ttft.notify == ["ops"])

        let errors = config.rules[1]
        #expect(errors.filter.operations == ["chat", "text_completion"])
        #expect(errors.minSamples == MonitorRule.defaultMinSamples)
        #expect(errors.condition == .threshold(.init(direction: .above, warning: 0.02, alert: 0.05)))

        #expect(config.rules[2].condition == .drift(.init(subject: .numeric(.ttft), test: .mannWhitney, reference: .previous,
                                                          threshold: .init(direction: .below, warning: 0.01, alert: 0.001))))
        #expect(config.rules[2].everyNanos == 5 * minute)
        #expect(config.rules[3].condition == .drift(.init(subject: .categorical(.finishReason), test: .chiSquare,
                                                          reference: .offset(86_400 * second),
                                                          threshold: .init(direction: .below, warning: nil, alert: 0.001))))

        let webhook = try #require(config.webhook(named: "ops"))
        #expect(webhook.url.absoluteString == "http://127.0.0.1:9000/hooks/lantern")
        #expect(webhook.headers == ["X-Lantern-Source": "lantern-monitors"])
        #expect(webhook.timeout == .seconds(10) && webhook.maxAttempts == 5)
        #expect(webhook.backoffInitial == .seconds(1) && webhook.backoffMax == .seconds(60))
    }

    @Test("every problem is reported at once, each with its line")
    func everyProblemAtOnce() {
        let yaml = """
        webhooks:
          ops:
            url: ftp://example.com/x
            max_attempts: 0
            backoff:
              initial: soon
          pager:
            timeout: 5s
        monitors:
          - name: slow
            metric: ttft_p95
            window: 15 minutes
            every: 1m
            colour: red
            threshold:
              direction: above
              warning: 5
              alert: 3
            notify: [ops, slack]
          - name: slow
            metric: ttft_p97
            window: 5m
            threshold:
              direction: sideways
              alert: 1
          - name: drifty
            metric: ttft
            group_by: [model, hour]
            window: 1h
            drift:
              test: chi_square
              reference: 10m
          - name: mix
            metric: finish_reason
            window: 1h
            drift:
              test: chi_square
              warning: 0.1
              alert_p: 2
          - name: low-feedback
            metric: feedback_rate
            window: 1h
            threshold:
              direction: below
              warning: 0.01
              alert: 0.05
          - name: nothing
            metric: requests
            window: 0s
        """
        let (config, problems) = MonitorFile.parse(yaml: yaml, file: "bad.yaml")
        let text = problems.map(\.description)
        func has(_ line: Int, _ fragment: String) -> Bool { text.contains { $0.hasPrefix("bad.yaml:\(line):") && $0.contains(fragment) } }
        #expect(has(3, "is not an http:// or https:// URL"), "\(text)")
        #expect(has(4, "max_attempts"), "\(text)")
        #expect(has(6, "backoff.initial: 'soon' is not a duration"), "\(text)")
        #expect(has(8, "webhook 'pager': needs a 'url'"), "\(text)")
        #expect(has(12, "window: '15 minutes' is not a duration"), "\(text)")
        #expect(has(14, "unknown key 'colour'"), "\(text)")
        #expect(has(17, "threshold.warning: 5.0 must be below the alert value 3.0"), "\(text)")
        #expect(has(19, "no webhook named 'slack'"), "\(text)")
        #expect(has(20, "monitor 'slow' is defined twice (first at line 10)"), "\(text)")
        #expect(has(21, "'ttft_p97' is not one of"), "\(text)")
        #expect(has(24, "'sideways' is not above or below"), "\(text)")
        #expect(has(28, "a drift rule can group only by"), "\(text)")
        #expect(has(31, "chi_square does not apply to ttft"), "\(text)")
        #expect(has(32, "shorter than the window"), "\(text)")
        #expect(has(38, "drift.warning: chi_square is judged by its p-value"), "\(text)")
        #expect(has(39, "alert_p: a p-value bound must be between 0 and 1"), "\(text)")
        #expect(has(45, "warning: 0.01 must be above the alert value 0.05"), "\(text)")
        #expect(has(47, "needs a 'threshold' or a 'drift' condition"), "\(text)")
        #expect(has(49, "window: '0s' is not a duration"), "\(text)")
        #expect(problems.count == 19, "\(text)")
        #expect(config.rules.isEmpty)
        #expect(config.webhooks.isEmpty)
    }

    @Test("hints: a drift subject as a threshold metric, a threshold figure as a drift subject, a statistic test with p bounds")
    func hints() {
        let yaml = """
        monitors:
          - name: a
            metric: ttft
            window: 5m
            threshold: {direction: above, alert: 1}
          - name: b
            metric: ttft_p95
            window: 5m
            drift: {test: ks}
          - name: c
            metric: latency
            window: 5m
            drift: {test: psi, alert_p: 0.01}
          - name: d
            metric: latency
            window: 5m
            drift: {test: ks, warning_p: 0.05}
        """
        let (config, problems) = MonitorFile.parse(yaml: yaml, file: "m.yaml")
        let text = problems.map(\.description)
        #expect(text.contains { $0.hasPrefix("m.yaml:3:") && $0.contains("a threshold needs a figure such as ttft_p95") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("m.yaml:7:") && $0.contains("'ttft_p95' is a threshold figure") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("m.yaml:13:") && $0.contains("psi is judged by its statistic") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("m.yaml:17:") && $0.contains("'warning_p' needs an 'alert_p' too") }, "\(text)")
        #expect(config.rules.isEmpty)
    }

    @Test("defaults: every 1m, min_samples 30, drift reference previous with the test's default bounds")
    func defaults() throws {
        let yaml = """
        monitors:
          - name: p
            metric: latency
            window: 10m
            drift: {test: psi}
        """
        let (config, problems) = MonitorFile.parse(yaml: yaml, file: "m.yaml")
        #expect(problems.isEmpty, "\(problems.map(\.description))")
        let rule = try #require(config.rules.first)
        #expect(rule.everyNanos == minute && rule.minSamples == 30 && rule.notify.isEmpty && rule.groupBy.isEmpty)
        #expect(rule.condition == .drift(.init(subject: .numeric(.latency), test: .psi, reference: .previous,
                                               threshold: .init(direction: .above, warning: 0.1, alert: 0.25))))
    }
}

@Suite struct MonitorEvaluatorTests {
    @Test("above: OK, WARNING, ALERT, strictly beyond each bound")
    func aboveThresholds() {
        let rule = thresholdRule()
        func state(_ p95: Double) -> MonitorState? { MonitorEvaluator.evaluate(rule, inputs: .rows([row(ttftP95: p95)])).first?.state }
        #expect(state(1.0) == .ok)
        #expect(state(1.5) == .ok)
        #expect(state(2.0) == .warning)
        #expect(state(3.0) == .warning)
        #expect(state(4.0) == .alert)
        let e = MonitorEvaluator.evaluate(rule, inputs: .rows([row(["model": "gpt-4o"], ttftP95: 4.0, ttftCount: 412)]))
        #expect(e == [MonitorEvaluation(group: ["model": "gpt-4o"], state: .alert, value: 4.0, sampleCount: 412,
                                        message: "rule: ttft_p95 = 4 is above the alert threshold 3 (model=gpt-4o; 412 samples)")])
    }

    @Test("below: a falling figure warns, then alerts; no warning bound means OK until the alert")
    func belowThresholds() {
        let rule = thresholdRule("feedback_rate", .below, warning: 0.1, alert: 0.05)
        func state(_ feedback: Int) -> MonitorState? {
            MonitorEvaluator.evaluate(rule, inputs: .rows([row(requests: 100, feedback: feedback)])).first?.state
        }
        #expect(state(20) == .ok)
        #expect(state(10) == .ok)
        #expect(state(8) == .warning)
        #expect(state(5) == .warning)
        #expect(state(3) == .alert)
        let noWarning = thresholdRule("feedback_rate", .below, warning: nil, alert: 0.05)
        #expect(MonitorEvaluator.evaluate(noWarning, inputs: .rows([row(requests: 100, feedback: 8)])).first?.state == .ok)
    }

    @Test("NO_DATA under min_samples (counted on the figure's own values) or without a figure, never OK")
    func noData() throws {
        let rule = thresholdRule(minSamples: 30)
        // 1000 requests but only 29 timed streams: a p95 over them is not trusted.
        let few = try #require(MonitorEvaluator.evaluate(rule, inputs: .rows([row(requests: 1000, ttftP95: 9, ttftCount: 29)])).first)
        #expect(few.state == .noData && few.sampleCount == 29 && few.value == 9)
        #expect(few.message.contains("29 samples, fewer than the minimum 30"))
        #expect(MonitorEvaluator.evaluate(rule, inputs: .rows([row(requests: 1000, ttftP95: 9, ttftCount: 30)])).first?.state == .alert)
        let none = try #require(MonitorEvaluator.evaluate(rule, inputs: .rows([row(requests: 1000)])).first)
        #expect(none.state == .noData && none.value == nil && none.message.contains("no ttft_p95"))
        // error_rate counts requests.
        let errors = thresholdRule("error_rate", warning: 0.02, alert: 0.05)
        #expect(MonitorEvaluator.evaluate(errors, inputs: .rows([row(requests: 20, errors: 10)])).first?.state == .noData)
        #expect(MonitorEvaluator.evaluate(errors, inputs: .rows([row(requests: 200, errors: 10)])).first?.state == .warning)
        #expect(MonitorEvaluator.evaluate(errors, inputs: .rows([row(requests: 200, errors: 11)])).first?.state == .alert)
        // Inputs of the other kind give nothing.
        #expect(MonitorEvaluator.evaluate(errors, inputs: .drift([])).isEmpty)
    }

    @Test("every group has its own state, sorted by group")
    func groups() {
        let rule = thresholdRule(groupBy: [.model, .variant])
        let rows = [row(["model": "b", "variant": "baseline"], ttftP95: 1), row(["model": "a", "variant": "candidate"], ttftP95: 5)]
        let e = MonitorEvaluator.evaluate(rule, inputs: .rows(rows))
        #expect(e.map(\.group) == [["model": "a", "variant": "candidate"], ["model": "b", "variant": "baseline"]])
        #expect(e.map(\.state) == [.alert, .ok])
    }

    @Test("drift: the p-value against warning_p / alert_p; NO_DATA when a side is short or the group cannot be selected")
    func drift() throws {
        let drift = MonitorRule.Drift(subject: .numeric(.ttft), test: .mannWhitney,
                                      threshold: .init(direction: .below, warning: 0.05, alert: 0.01))
        let rule = MonitorRule(name: "d", metric: "ttft", groupBy: [.model], windowNanos: 30 * minute, condition: .drift(drift), minSamples: 30)
        let reference = (0..<100).map { Double($0) / 100 }
        let shifted = try DriftAnalysis.compare(reference: reference, candidate: reference.map { $0 + 0.5 }, subject: .numeric(.ttft),
                                                tests: [.mannWhitney], labels: ("reference", "current"))
        let same = try DriftAnalysis.compare(reference: reference, candidate: reference, subject: .numeric(.ttft), tests: [.mannWhitney])
        let short = try DriftAnalysis.compare(reference: reference, candidate: Array(reference.prefix(20)), subject: .numeric(.ttft),
                                              tests: [.mannWhitney])
        let e = MonitorEvaluator.evaluate(rule, inputs: .drift([
            GroupDriftOutcome(group: ["model": "a"], outcome: shifted),
            GroupDriftOutcome(group: ["model": "b"], outcome: same),
            GroupDriftOutcome(group: ["model": "c"], outcome: short),
            GroupDriftOutcome(group: ["model": ""], outcome: nil),
        ]))
        #expect(e.map(\.group) == [["model": ""], ["model": "a"], ["model": "b"], ["model": "c"]])
        #expect(e.map(\.state) == [.noData, .alert, .ok, .noData])
        let p = try #require(e[1].value)
        #expect(p < 1e-6)
        #expect(e[1].sampleCount == 100)
        #expect(e[3].sampleCount == 20 && e[3].message.contains("fewer than the minimum 30"))
        #expect(e[0].message.contains("spans without a model cannot be selected"))
    }

    @Test("a drift rule's group filter: one value per dimension, nil for an empty value")
    func restrict() {
        let base = SpanFilter(services: ["chat"], models: ["a", "b"])
        #expect(MonitorEvaluator.restrict(base, to: ["model": "a", "variant": "candidate"])
            == SpanFilter(services: ["chat"], models: ["a"], variants: ["candidate"]))
        #expect(MonitorEvaluator.restrict(base, to: ["variant": ""]) == nil)
        #expect(MonitorEvaluator.restrict(base, to: [:]) == base)
    }

    @Test("drift windows: previous is the window just before; an offset shifts the same window back")
    func windows() {
        let now = 1_000 * minute
        let previous = MonitorRule.Drift(subject: .numeric(.ttft), test: .ks, reference: .previous)
        #expect(previous.windows(now: now, windowNanos: 10 * minute) == ((980 * minute)..<(990 * minute), (990 * minute)..<now))
        let dayBefore = MonitorRule.Drift(subject: .numeric(.ttft), test: .ks, reference: .offset(1440 * minute))
        #expect(dayBefore.windows(now: 2000 * minute, windowNanos: 10 * minute).reference == (550 * minute)..<(560 * minute))
    }
}

@Suite struct MonitorStateMachineTests {
    @Test("transitions only on change: OK → WARNING → ALERT → NO_DATA (group gone) → OK")
    func transitions() {
        var machine = MonitorStateMachine()
        let t0 = 1_738_324_800 * second
        #expect(machine.apply([evaluation(.ok)], monitor: "r", at: t0).isEmpty)  // a first OK is silent
        #expect(machine.state(monitor: "r", group: ["model": "m"]) == .ok)

        let warn = machine.apply([evaluation(.warning, value: 2)], monitor: "r", at: t0 + minute)
        #expect(warn == [MonitorTransition(monitor: "r", group: ["model": "m"], from: .ok, to: .warning, at: t0 + minute, value: 2,
                                           sampleCount: 100, message: "WARNING")])
        #expect(machine.apply([evaluation(.warning)], monitor: "r", at: t0 + 2 * minute).isEmpty)

        let alert = machine.apply([evaluation(.alert)], monitor: "r", at: t0 + 3 * minute)
        #expect(alert.map(fromTo) == [[.warning, .alert]])
        #expect(machine.statuses[.init(monitor: "r", group: ["model": "m"])]?.since == t0 + 3 * minute)

        // The group has no spans any more: its ALERT does not stay up.
        let gone = machine.apply([], monitor: "r", at: t0 + 4 * minute)
        #expect(gone.map(fromTo) == [[.alert, .noData]])
        #expect(gone.first?.message.contains("no spans in the window") == true)
        #expect(machine.apply([], monitor: "r", at: t0 + 5 * minute).isEmpty)

        let back = machine.apply([evaluation(.ok)], monitor: "r", at: t0 + 6 * minute)
        #expect(back.map(fromTo) == [[.noData, .ok]])
        #expect(machine.lastEvaluated["r"] == t0 + 6 * minute)
    }

    @Test("a group first seen in WARNING or ALERT is announced from nil; first NO_DATA is silent; monitors are separate")
    func firstSight() {
        var machine = MonitorStateMachine()
        let t = [
            evaluation(.alert, ["model": "a"]), evaluation(.noData, ["model": "b"]), evaluation(.warning, ["model": "c"]),
        ]
        let first = machine.apply(t, monitor: "r", at: 10)
        #expect(first.map(\.group) == [["model": "a"], ["model": "c"]])
        #expect(first.allSatisfy { $0.from == nil })
        // The same groups under another monitor are other states.
        #expect(machine.apply([evaluation(.ok, ["model": "a"])], monitor: "other", at: 10).isEmpty)
        #expect(machine.state(monitor: "r", group: ["model": "a"]) == .alert)
        #expect(machine.state(monitor: "other", group: ["model": "a"]) == .ok)
        machine.retain(monitors: ["other"])
        #expect(machine.state(monitor: "r", group: ["model": "a"]) == nil && machine.lastEvaluated["r"] == nil)
    }

    @Test("cadence: due when never evaluated, once `every` has elapsed, or when the clock went back")
    func due() {
        let fast = thresholdRule(every: minute, name: "fast")
        let slow = thresholdRule(every: 5 * minute, name: "slow")
        var machine = MonitorStateMachine()
        let t0: Int64 = 1_000 * minute
        #expect(machine.due([fast, slow], now: t0).map(\.name) == ["fast", "slow"])
        _ = machine.apply([], monitor: "fast", at: t0)
        machine.markEvaluated(monitor: "slow", at: t0)
        #expect(machine.due([fast, slow], now: t0 + 59 * second).isEmpty)
        #expect(machine.nextDue([fast, slow], now: t0 + 59 * second) == t0 + minute)
        #expect(machine.due([fast, slow], now: t0 + minute).map(\.name) == ["fast"])
        #expect(machine.due([fast, slow], now: t0 + 5 * minute).map(\.name) == ["fast", "slow"])
        #expect(machine.due([fast, slow], now: t0 - second).map(\.name) == ["fast", "slow"])
        #expect(MonitorStateMachine().nextDue([fast], now: t0) == t0)
        #expect(machine.nextDue([], now: t0) == nil)
    }
}

@Suite struct WebhookNotifierTests {
    @Test("503, 503, 200: delivered on attempt 3 after sleeping 1s then 2s")
    func retriesThenDelivers() async {
        let script = Script([.success(503), .success(503), .success(200)])
        let d = await WebhookNotifier.deliver(transition(), to: hook(), send: { try await script.send($0) }, sleep: { await script.slept($0) })
        #expect(d.outcome == .delivered(attempts: 3, status: 200))
        #expect(d.webhook == "ops" && d.monitor == "ttft-p95" && d.to == .alert)
        #expect(await script.sleeps == [.seconds(1), .seconds(2)])
        #expect(await script.requests.count == 3)
    }

    @Test("400 is final: one attempt, no sleep")
    func clientErrorIsFinal() async {
        let script = Script([.success(400)])
        let d = await WebhookNotifier.deliver(transition(), to: hook(), send: { try await script.send($0) }, sleep: { await script.slept($0) })
        #expect(d.outcome == .gaveUp(attempts: 1, lastError: "HTTP 400"))
        #expect(await script.sleeps.isEmpty)
    }

    @Test("connection errors and 429 are retried; gives up after max_attempts with the last error; backoff is capped")
    func givesUp() async {
        let script = Script([.failure(ConnectionRefused()), .success(429), .success(500), .success(502)])
        let d = await WebhookNotifier.deliver(transition(), to: hook(maxAttempts: 4, initial: .seconds(1), max: .seconds(3)),
                                              send: { try await script.send($0) }, sleep: { await script.slept($0) })
        #expect(d.outcome == .gaveUp(attempts: 4, lastError: "HTTP 502"))
        #expect(await script.sleeps == [.seconds(1), .seconds(2), .seconds(3)])

        let refused = Script([.failure(ConnectionRefused()), .failure(ConnectionRefused())])
        let r = await WebhookNotifier.deliver(transition(), to: hook(maxAttempts: 2), send: { try await refused.send($0) },
                                              sleep: { await refused.slept($0) })
        #expect(r.outcome == .gaveUp(attempts: 2, lastError: "connection refused"))
        #expect(!r.isDelivered)
    }

    @Test("backoff doubles from the initial wait up to the cap")
    func backoff() {
        let waits = (1...6).map { WebhookNotifier.backoff(afterAttempt: $0, initial: .milliseconds(500), max: .seconds(5)) }
        #expect(waits == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        #expect(WebhookNotifier.isRetried(status: 503) && WebhookNotifier.isRetried(status: 429))
        #expect(!WebhookNotifier.isRetried(status: 404) && !WebhookNotifier.isRetried(status: 400))
    }

    @Test("the request: a JSON POST with the webhook's headers and timeout")
    func request() throws {
        let request = WebhookNotifier.request(for: transition(), to: hook())
        #expect(request.httpMethod == "POST")
        #expect(request.url?.absoluteString == "http://127.0.0.1:9000/hooks/lantern")
        #expect(request.value(forHTTPHeaderField: "Content-Type") == "application/json")
        #expect(request.value(forHTTPHeaderField: "X-Token") == "t")
        #expect(request.timeoutInterval == 7)
        let body = try #require(request.httpBody)
        let json = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(json["monitor"] as? String == "ttft-p95")
        #expect(json["group"] as? [String: String] == ["model": "gpt-4o", "variant": "candidate"])
        #expect(json["from"] as? String == "OK")
        #expect(json["to"] as? String == "ALERT")
        #expect(json["at"] as? String == "2025-01-31T12:00:00.000Z")
        #expect(json["value"] as? Double == 2.5)
        #expect(json["samples"] as? Int == 412)
        #expect((json["message"] as? String)?.contains("above the alert threshold") == true)

        var first = transition()
        first.from = nil
        first.value = nil
        let firstJSON = try #require(try JSONSerialization.jsonObject(with: WebhookNotifier.body(for: first)) as? [String: Any])
        #expect(firstJSON["from"] is NSNull && firstJSON["value"] is NSNull)
    }

    @Test("ISO-8601 UTC timestamps with milliseconds")
    func timestamps() {
        #expect(WebhookNotifier.iso8601(unixNanos: 0) == "1970-01-01T00:00:00.000Z")
        #expect(WebhookNotifier.iso8601(unixNanos: 1_709_251_199 * second + 123_456_789) == "2024-02-29T23:59:59.123Z")
        #expect(WebhookNotifier.iso8601(unixNanos: -1) == "1969-12-31T23:59:59.999Z")
    }

    @Test("notify returns while a receiver hangs; waitForDeliveries reports every result")
    func notifyDoesNotBlock() async {
        let gate = Gate()
        let notifier = WebhookNotifier(webhooks: [hook()], send: { _ in await gate.wait(); return 204 }, sleep: { _ in })
        await notifier.notify(transition(), webhooks: ["ops", "nowhere"])
        // Returned while the "ops" delivery still waits on its receiver.
        #expect(await notifier.outstandingCount >= 1)
        await gate.open()
        let results = await notifier.waitForDeliveries()
        #expect(results.count == 2)
        #expect(results.contains { $0.webhook == "ops" && $0.outcome == .delivered(attempts: 1, status: 204) })
        #expect(results.contains { $0.webhook == "nowhere" && $0.outcome == .gaveUp(attempts: 0, lastError: "no webhook named 'nowhere'") })
        #expect(await notifier.outstandingCount == 0)
        #expect(await notifier.waitForDeliveries().isEmpty)
    }
}

@Suite struct MonitorRunnerTests {
    @Test("a threshold monitor over a store on a manual clock: window, cadence, transitions and notifications")
    func thresholdRun() async throws {
        let clock = Locked<Int64>(1_000 * minute)
        let p95 = Locked<Double>(4)  // the store's current TTFT p95, in seconds
        let store = FakeStore(groups: { query in
            var g = GroupResult(key: query.groupBy.isEmpty ? [] : ["gpt-4o"])
            g.spans = 100
            g.modelSpans = 100
            let v = p95.current
            g.ttft = Distribution(count: 100, quantiles: query.quantiles, values: query.quantiles.map { _ in v }, mean: v)
            return [g]
        })
        let script = Script([])
        var rule = thresholdRule(groupBy: [.model], name: "ttft-p95")
        rule.notify = ["ops"]
        let notifier = WebhookNotifier(webhooks: [hook()], send: { try await script.send($0) }, sleep: { await script.slept($0) })
        let runner = MonitorRunner(configuration: MonitorConfiguration(rules: [rule], webhooks: [hook()]), store: store,
                                   clock: { clock.current }, notifier: notifier)

        let first = await runner.tick()
        #expect(first.evaluated == ["ttft-p95"] && first.failures.isEmpty)
        #expect(first.transitions.map(fromTo) == [[nil, .alert]])
        let query = try #require(store.queries.first)
        #expect(query.filter.from == 985 * minute && query.filter.until == 1_000 * minute)
        #expect(query.groupBy == [.model])

        clock.advance(30 * second)
        #expect(await runner.tick().evaluated.isEmpty)  // not due yet

        p95.set(1)  // back under the warning bound
        clock.advance(30 * second)
        let recovered = await runner.tick()
        #expect(recovered.evaluated == ["ttft-p95"])
        #expect(recovered.transitions.map(fromTo) == [[.alert, .ok]])
        #expect(recovered.transitions.first?.group == ["model": "gpt-4o"])

        let deliveries = await notifier.waitForDeliveries()
        #expect(deliveries.count == 2 && deliveries.allSatisfy(\.isDelivered))
        #expect(await script.requests.count == 2)
        #expect(await runner.machine.state(monitor: "ttft-p95", group: ["model": "gpt-4o"]) == .ok)
    }

    @Test("a drift monitor: each group's spans selected by a filter, reference = the previous window")
    func driftRun() async throws {
        let now = 1_000 * minute
        let store = FakeStore(groups: { _ in [GroupResult(key: ["gpt-4o"]), GroupResult(key: [""])] },
                              values: { _, filter in
                                  let base = (0..<60).map { Double($0) / 60 }
                                  return filter.until == now ? base.map { $0 + 1 } : base
                              })
        let rule = MonitorRule(name: "ttft-drift", metric: "ttft", groupBy: [.model], windowNanos: 10 * minute,
                               condition: .drift(.init(subject: .numeric(.ttft), test: .mannWhitney)), minSamples: 30)
        let runner = MonitorRunner(configuration: MonitorConfiguration(rules: [rule]), store: store, clock: { now })
        let tick = await runner.tick()
        #expect(tick.failures.isEmpty)
        #expect(tick.transitions.map(\.group) == [["model": "gpt-4o"]])
        #expect(tick.transitions.first?.to == .alert)
        let filters = store.sampleFilters
        #expect(filters.count == 2)
        #expect(filters.allSatisfy { $0.models == ["gpt-4o"] })
        #expect(filters.map(\.from) == [980 * minute, 990 * minute])
        #expect(filters.map(\.until) == [990 * minute, now])
        #expect(await runner.machine.state(monitor: "ttft-drift", group: ["model": ""]) == .noData)
    }
}
