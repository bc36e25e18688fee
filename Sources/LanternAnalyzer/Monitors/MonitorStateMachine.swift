/// A change of a monitor's state for one group: what webhooks are told.
public struct MonitorTransition: Sendable, Equatable {
    public var monitor: String
    public var group: [String: String]
    /// Nil when the group had not been evaluated before (a first evaluation that is WARNING or ALERT).
    public var from: MonitorState?
    public var to: MonitorState
    /// Evaluation time, Unix nanoseconds.
    public var at: Int64
    public var value: Double?
    public var sampleCount: Int
    public var message: String

    public init(monitor: String, group: [String: String], from: MonitorState?, to: MonitorState, at: Int64, value: Double?,
                sampleCount: Int, message: String) {
        self.monitor = monitor
        self.group = group
        self.from = from
        self.to = to
        self.at = at
        self.value = value
        self.sampleCount = sampleCount
        self.message = message
    }
}

/// The state of every (monitor, group) and when each monitor was last evaluated. A value type
/// over injected times: it reads no clock.
///
/// Transitions are produced only when a state changes, with these decisions:
/// - A group seen for the first time produces a transition (from nil) only when it is WARNING or
///   ALERT; a first OK or NO_DATA is recorded silently, so a restart does not announce every healthy group.
/// - A group the monitor has seen before but that is missing from an evaluation (no spans in the
///   window) is NO_DATA, so an ALERT never stays up for traffic that stopped.
/// - OK ↔ NO_DATA changes are transitions like any other; receivers filter on `from` / `to`.
/// States live in memory: after a restart a group still in ALERT is announced again (from nil).
public struct MonitorStateMachine: Sendable, Equatable {
    /// A monitor's group.
    public struct Key: Sendable, Hashable {
        public var monitor: String
        public var group: [String: String]
        public init(monitor: String, group: [String: String]) {
            self.monitor = monitor
            self.group = group
        }
    }

    /// A group's current state and the evaluation that set it.
    public struct Status: Sendable, Equatable {
        public var state: MonitorState
        /// When the group entered this state (or was first evaluated), Unix nanoseconds.
        public var since: Int64
        /// The latest evaluation, Unix nanoseconds, and its figures.
        public var evaluatedAt: Int64
        public var value: Double?
        public var sampleCount: Int
        public var message: String
    }

    public private(set) var statuses: [Key: Status] = [:]
    /// Monitor name -> time of its last evaluation, Unix nanoseconds.
    public private(set) var lastEvaluated: [String: Int64] = [:]

    public init() {}

    /// The state of one monitor's group, nil when never evaluated.
    public func state(monitor: String, group: [String: String]) -> MonitorState? {
        statuses[Key(monitor: monitor, group: group)]?.state
    }

    /// Records one evaluation of `monitor` at `time` and returns the state changes it makes.
    public mutating func apply(_ evaluations: [MonitorEvaluation], monitor: String, at time: Int64) -> [MonitorTransition] {
        lastEvaluated[monitor] = time
        var seen = Set<[String: String]>()
        var all = evaluations.filter { seen.insert($0.group).inserted }
        let absent = statuses.keys.filter { $0.monitor == monitor && !seen.contains($0.group) }
            .sorted { MonitorEvaluator.describe($0.group) < MonitorEvaluator.describe($1.group) }
        for key in absent {
            all.append(MonitorEvaluation(group: key.group, state: .noData, value: nil, sampleCount: 0,
                                         message: "\(monitor): no spans in the window\(MonitorEvaluator.suffix(key.group, nil))"))
        }
        var transitions: [MonitorTransition] = []
        for e in all {
            let key = Key(monitor: monitor, group: e.group)
            let previous = statuses[key]
            let changed = previous.map { $0.state != e.state } ?? (e.state == .warning || e.state == .alert)
            let since = previous.flatMap { $0.state == e.state ? $0.since : nil } ?? time
            statuses[key] = Status(state: e.state, since: since, evaluatedAt: time, value: e.value, sampleCount: e.sampleCount, message: e.message)
            if changed {
                transitions.append(MonitorTransition(monitor: monitor, group: e.group, from: previous?.state, to: e.state, at: time,
                                                     value: e.value, sampleCount: e.sampleCount, message: e.message))
            }
        }
        return transitions
    }

    /// Records an evaluation that failed (e.g. the store did not answer): the states stay, and the
    /// monitor waits a full cadence before it is tried again.
    public mutating func markEvaluated(monitor: String, at time: Int64) {
        lastEvaluated[monitor] = time
    }

    /// The rules whose cadence has elapsed at `now`: never evaluated, evaluated at least `every`
    /// ago, or evaluated "in the future" (the clock was set back).
    public func due(_ rules: [MonitorRule], now: Int64) -> [MonitorRule] {
        rules.filter { rule in
            guard let last = lastEvaluated[rule.name] else { return true }
            return now < last || now - last >= rule.everyNanos
        }
    }

    /// The earliest time at which one of `rules` is due (`now` when one already is); nil for no rules.
    public func nextDue(_ rules: [MonitorRule], now: Int64) -> Int64? {
        rules.map { rule in
            guard let last = lastEvaluated[rule.name], now >= last else { return now }
            return max(now, last + rule.everyNanos)
        }.min()
    }

    /// Drops the states of monitors not in `names` (after the rules were reloaded).
    public mutating func retain(monitors names: Set<String>) {
        statuses = statuses.filter { names.contains($0.key.monitor) }
        lastEvaluated = lastEvaluated.filter { names.contains($0.key) }
    }
}
