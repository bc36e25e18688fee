import LanternModel

/// Scores and feedback: a plain row table keyed by the client's id, so posting the same score
/// twice stores it once.
extension SQLiteSpanStore {
    /// Stores scores durably in one transaction; reports per score whether it was new, a
    /// duplicate of a stored one, or in conflict with a stored one of the same id.
    public func appendScoresNow(_ scores: [Score]) throws(StoreError) -> [ScoreWriteOutcome] {
        guard !scores.isEmpty else { return [] }
        return try withLock { () throws(StoreError) in
            try db.transaction { () throws(StoreError) -> [ScoreWriteOutcome] in
                let insert = try db.prepare("""
                    INSERT INTO scores(id, kind, trace_id, span_id, name, value, label, comment, source, time_unix_nano)
                    VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING
                    """)
                var out: [ScoreWriteOutcome] = []
                for s in scores {
                    try insert.bind(1, s.id)
                    try insert.bind(2, s.kind.rawValue)
                    try insert.bind(3, s.traceID.bytes)
                    if let span = s.spanID { try insert.bind(4, span.bytes) } else { try insert.bindNull(4) }
                    try insert.bind(5, s.name)
                    if let v = s.value { try insert.bind(6, v) } else { try insert.bindNull(6) }
                    if let l = s.label { try insert.bind(7, l) } else { try insert.bindNull(7) }
                    if let c = s.comment { try insert.bind(8, c) } else { try insert.bindNull(8) }
                    try insert.bind(9, s.source)
                    try insert.bind(10, s.timeUnixNano)
                    try insert.run()
                    if db.changes > 0 {
                        out.append(.stored)
                    } else {
                        let stored = try scoreRows(where: "id = ?") { q throws(StoreError) in try q.bind(1, s.id) }
                        out.append(stored.first.map { $0.sameContent(as: s) } == true ? .duplicate : .conflict)
                    }
                }
                return out
            }
        }
    }

    /// The scores of one trace, oldest first.
    public func scores(traceID: TraceID) throws(StoreError) -> [Score] {
        try withLock { () throws(StoreError) in
            try scoreRows(where: "trace_id = ? ORDER BY time_unix_nano, id") { q throws(StoreError) in try q.bind(1, traceID.bytes) }
        }
    }

    /// Scores given at or after `from` (Unix nanoseconds), oldest first.
    public func scores(since from: Int64) throws(StoreError) -> [Score] {
        try withLock { () throws(StoreError) in
            try scoreRows(where: "time_unix_nano >= ? ORDER BY time_unix_nano, id") { q throws(StoreError) in try q.bind(1, from) }
        }
    }

    /// Reads score rows; the caller holds the lock.
    func scoreRows(where clause: String, bind: (SQLiteStatement) throws(StoreError) -> Void) throws(StoreError) -> [Score] {
        let q = try db.prepare("""
            SELECT id, kind, trace_id, span_id, name, value, label, comment, source, time_unix_nano FROM scores WHERE \(clause)
            """)
        try bind(q)
        var out: [Score] = []
        while try q.step() {
            guard let trace = TraceID(bytes: q.blob(2)) else { throw .corrupt("a stored score has a malformed trace id") }
            out.append(Score(id: q.string(0), kind: Score.Kind(rawValue: q.string(1)) ?? .score, traceID: trace,
                             spanID: q.isNull(3) ? nil : SpanID(bytes: q.blob(3)), name: q.string(4),
                             value: q.isNull(5) ? nil : q.double(5), label: q.isNull(6) ? nil : q.string(6),
                             comment: q.isNull(7) ? nil : q.string(7), source: q.string(8), timeUnixNano: q.int(9)))
        }
        return out
    }
}

/// Scores a quality query joins to spans, indexed by trace.
struct ScoreJoin: Sendable {
    let scores: [Score]
    /// Trace -> slot in `byTrace`.
    let traceIndex: [TraceID: Int32]
    /// Per slot, the indices of the trace's scores.
    let byTrace: [[Int32]]

    init(scores: [Score]) {
        self.scores = scores
        var index: [TraceID: Int32] = [:]
        var lists: [[Int32]] = []
        for (i, s) in scores.enumerated() {
            if let slot = index[s.traceID] {
                lists[Int(slot)].append(Int32(i))
            } else {
                index[s.traceID] = Int32(lists.count)
                lists.append([Int32(i)])
            }
        }
        traceIndex = index
        byTrace = lists
    }

    var isEmpty: Bool { scores.isEmpty }

    /// Summaries per score name of the given scores, sorted by name.
    func summaries(of indices: [Int32], quantiles: [Double]) -> [ScoreSummary] {
        var values: [String: [Double]] = [:], labels: [String: [String: Int]] = [:], counts: [String: Int] = [:]
        for k in indices {
            let s = scores[Int(k)]
            counts[s.name, default: 0] += 1
            if let v = s.value { values[s.name, default: []].append(v) }
            if let l = s.label { labels[s.name, default: [:]][l, default: 0] += 1 }
        }
        return counts.keys.sorted().map { name in
            var v = values[name] ?? []
            return ScoreSummary(name: name, count: counts[name]!, values: QueryEngine.distribution(&v, quantiles), labels: labels[name] ?? [:])
        }
    }
}
