/// Versioned schema migrations, applied in order inside one transaction each; the version is
/// kept in SQLite's `user_version`.
enum Migrations {
    static let all: [(version: Int, sql: String)] = [
        (1, """
        CREATE TABLE journal(
            seq INTEGER PRIMARY KEY,
            appended_unix_nano INTEGER NOT NULL,
            span_count INTEGER NOT NULL,
            min_start INTEGER NOT NULL,
            max_start INTEGER NOT NULL,
            body BLOB NOT NULL);
        CREATE TABLE segments(
            id INTEGER PRIMARY KEY,
            span_count INTEGER NOT NULL,
            min_start INTEGER NOT NULL,
            max_start INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            created_unix_nano INTEGER NOT NULL,
            zone BLOB NOT NULL,
            trace_bloom BLOB NOT NULL);
        CREATE INDEX segments_by_time ON segments(max_start);
        -- One row per column chunk; rowid = segment id * 256 + column id, so no extra index.
        CREATE TABLE segment_columns(id INTEGER PRIMARY KEY, data BLOB NOT NULL);
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """),
        (2, """
        -- OTLP log records (GenAI events among them), tied to their spans by trace and span id.
        CREATE TABLE log_records(
            id INTEGER PRIMARY KEY,
            trace_id BLOB, span_id BLOB,
            time_unix_nano INTEGER NOT NULL,
            event_name TEXT NOT NULL, severity_number INTEGER NOT NULL, severity_text TEXT NOT NULL,
            service_name TEXT NOT NULL,
            body TEXT NOT NULL, attributes TEXT NOT NULL, origin TEXT NOT NULL);
        CREATE INDEX log_records_by_trace ON log_records(trace_id) WHERE trace_id IS NOT NULL;
        CREATE INDEX log_records_by_time ON log_records(time_unix_nano);
        -- OTLP metric data points (e.g. gen_ai.server.time_to_first_token histograms).
        CREATE TABLE metric_points(
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL, unit TEXT NOT NULL, kind TEXT NOT NULL, temporality INTEGER NOT NULL,
            service_name TEXT NOT NULL,
            start_unix_nano INTEGER NOT NULL, time_unix_nano INTEGER NOT NULL,
            count INTEGER, sum REAL, min REAL, max REAL, value REAL,
            attributes TEXT NOT NULL, distribution TEXT NOT NULL, origin TEXT NOT NULL);
        CREATE INDEX metric_points_by_name_time ON metric_points(name, time_unix_nano);
        """),
        (3, """
        -- Quality signals: evaluator scores and user feedback, one row per client-supplied id.
        CREATE TABLE scores(
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            trace_id BLOB NOT NULL, span_id BLOB,
            name TEXT NOT NULL, value REAL, label TEXT, comment TEXT,
            source TEXT NOT NULL,
            time_unix_nano INTEGER NOT NULL);
        CREATE INDEX scores_by_time ON scores(time_unix_nano);
        CREATE INDEX scores_by_trace ON scores(trace_id);
        """),
        (4, """
        -- Seals mark the journal rows they replace instead of deleting them in the same commit
        -- (meta journal_sealed_through); a binary that does not know this must not open the file.
        INSERT OR IGNORE INTO meta(key, value) VALUES ('journal_sealed_through', '0');
        """),
        (5, """
        -- Per-segment pre-aggregates (SegmentRollup); segments sealed before have none and are scanned.
        ALTER TABLE segments ADD COLUMN rollup BLOB;
        """),
    ]

    static var latest: Int { all.last!.version }

    static func apply(to db: SQLiteDatabase) throws(StoreError) {
        let current = Int(try db.scalarInt("PRAGMA user_version"))
        guard current <= latest else { throw .schemaTooNew(found: current, supported: latest) }
        for m in all where m.version > current {
            try db.transaction {  () throws(StoreError) in
                try db.execute(m.sql)
                try db.execute("PRAGMA user_version = \(m.version)")
            }
        }
    }
}
