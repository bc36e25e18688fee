import LanternModel

/// OTLP logs and metrics beside the spans: plain row tables (their volume is small next to
/// spans), each append durable in its own transaction before the request is acknowledged.
extension SQLiteSpanStore {
    /// Appends log records durably.
    public func appendLogsNow(_ rows: [LogRow]) throws(StoreError) {
        guard !rows.isEmpty else { return }
        try withLock { () throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                let insert = try db.prepare("""
                    INSERT INTO log_records(trace_id, span_id, time_unix_nano, event_name, severity_number, severity_text,
                                            service_name, body, attributes, origin) VALUES (?,?,?,?,?,?,?,?,?,?)
                    """)
                for r in rows {
                    if let t = r.traceID { try insert.bind(1, t.bytes) } else { try insert.bindNull(1) }
                    if let s = r.spanID { try insert.bind(2, s.bytes) } else { try insert.bindNull(2) }
                    try insert.bind(3, r.timeUnixNano)
                    try insert.bind(4, r.eventName)
                    try insert.bind(5, Int64(r.severityNumber))
                    try insert.bind(6, r.severityText)
                    try insert.bind(7, r.serviceName)
                    try insert.bind(8, r.bodyJSON)
                    try insert.bind(9, r.attributesJSON)
                    try insert.bind(10, r.originJSON)
                    try insert.run()
                }
            }
        }
    }

    /// Appends metric data points durably.
    public func appendMetricPointsNow(_ rows: [MetricPointRow]) throws(StoreError) {
        guard !rows.isEmpty else { return }
        try withLock { () throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                let insert = try db.prepare("""
                    INSERT INTO metric_points(name, unit, kind, temporality, service_name, start_unix_nano, time_unix_nano,
                                              count, sum, min, max, value, attributes, distribution, origin)
                    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                    """)
                for r in rows {
                    try insert.bind(1, r.name)
                    try insert.bind(2, r.unit)
                    try insert.bind(3, r.kind)
                    try insert.bind(4, Int64(r.temporality))
                    try insert.bind(5, r.serviceName)
                    try insert.bind(6, r.startUnixNano)
                    try insert.bind(7, r.timeUnixNano)
                    if let v = r.count { try insert.bind(8, v) } else { try insert.bindNull(8) }
                    for (index, value) in [(Int32(9), r.sum), (10, r.min), (11, r.max), (12, r.value)] {
                        if let value { try insert.bind(index, value) } else { try insert.bindNull(index) }
                    }
                    try insert.bind(13, r.attributesJSON)
                    try insert.bind(14, r.distributionJSON)
                    try insert.bind(15, r.originJSON)
                    try insert.run()
                }
            }
        }
    }

    /// The log records of one trace, oldest first.
    public func logRecords(traceID: TraceID) throws(StoreError) -> [LogRow] {
        try withLock { () throws(StoreError) in
            let q = try db.prepare("""
                SELECT span_id, time_unix_nano, event_name, severity_number, severity_text, service_name, body, attributes, origin
                FROM log_records WHERE trace_id = ? ORDER BY time_unix_nano, id
                """)
            try q.bind(1, traceID.bytes)
            var out: [LogRow] = []
            while try q.step() {
                out.append(LogRow(traceID: traceID, spanID: q.isNull(0) ? nil : SpanID(bytes: q.blob(0)), timeUnixNano: q.int(1),
                                  eventName: q.string(2), severityNumber: Int32(clamping: q.int(3)), severityText: q.string(4),
                                  serviceName: q.string(5), bodyJSON: q.string(6), attributesJSON: q.string(7), originJSON: q.string(8)))
            }
            return out
        }
    }

    /// Log records stored in a time range, counted by event name (unnamed records under "").
    public func logEventCounts(from: Int64 = .min, until: Int64 = .max) throws(StoreError) -> [(eventName: String, count: Int)] {
        try withLock { () throws(StoreError) in
            let q = try db.prepare("""
                SELECT event_name, count(*) FROM log_records WHERE time_unix_nano >= ? AND time_unix_nano < ?
                GROUP BY event_name ORDER BY event_name
                """)
            try q.bind(1, from)
            try q.bind(2, until)
            var out: [(String, Int)] = []
            while try q.step() { out.append((q.string(0), Int(q.int(1)))) }
            return out
        }
    }

    /// Metric totals per name, kind, service and attribute set over a time range, optionally
    /// for one metric name.
    public func metricSummaries(name: String? = nil, from: Int64 = .min, until: Int64 = .max) throws(StoreError) -> [MetricSummary] {
        try withLock { () throws(StoreError) in
            let q = try db.prepare("""
                SELECT name, unit, kind, service_name, attributes, count(*), coalesce(sum(count), 0),
                       coalesce(sum(coalesce(sum, value)), 0), min(min), max(max)
                FROM metric_points
                WHERE time_unix_nano >= ? AND time_unix_nano < ? AND (? IS NULL OR name = ?)
                GROUP BY name, unit, kind, service_name, attributes ORDER BY name, service_name, attributes
                """)
            try q.bind(1, from)
            try q.bind(2, until)
            if let name { try q.bind(3, name); try q.bind(4, name) } else { try q.bindNull(3); try q.bindNull(4) }
            var out: [MetricSummary] = []
            while try q.step() {
                out.append(MetricSummary(name: q.string(0), unit: q.string(1), kind: q.string(2), serviceName: q.string(3),
                                         attributesJSON: q.string(4), points: Int(q.int(5)), count: q.int(6), sum: q.double(7),
                                         min: q.isNull(8) ? nil : q.double(8), max: q.isNull(9) ? nil : q.double(9)))
            }
            return out
        }
    }
}
