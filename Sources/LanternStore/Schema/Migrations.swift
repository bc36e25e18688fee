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
