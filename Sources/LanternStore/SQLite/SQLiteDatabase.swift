import CSQLite

/// One SQLite connection. Not thread-safe: its owner serializes access.
final class SQLiteDatabase {
    private(set) var handle: OpaquePointer?
    let path: String

    init(path: String, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw .sqlite(code: rc, message: "\(message) (\(path))")
        }
        handle = db
        sqlite3_busy_timeout(db, 5_000)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    func error(_ rc: Int32, _ context: String) -> StoreError {
        .sqlite(code: rc, message: "\(String(cString: sqlite3_errmsg(handle))) in \(context)")
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "unknown"
            sqlite3_free(message)
            throw .sqlite(code: rc, message: "\(text) in: \(sql.prefix(120))")
        }
    }

    func prepare(_ sql: String) throws(StoreError) -> SQLiteStatement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, sql) }
        return SQLiteStatement(stmt, database: self, sql: sql)
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(immediate: Bool = true, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// The single integer a query returns, e.g. a PRAGMA.
    func scalarInt(_ sql: String) throws(StoreError) -> Int64 {
        let s = try prepare(sql)
        guard try s.step() else { return 0 }
        return s.int(0)
    }
}

/// A prepared statement: bind, step, read columns, reset.
final class SQLiteStatement {
    let stmt: OpaquePointer
    unowned let database: SQLiteDatabase
    let sql: String

    init(_ stmt: OpaquePointer, database: SQLiteDatabase, sql: String) {
        self.stmt = stmt
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(stmt) }

    @discardableResult
    func reset() -> SQLiteStatement {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        return self
    }

    func bind(_ index: Int32, _ value: Int64) throws(StoreError) {
        let rc = sqlite3_bind_int64(stmt, index, value)
        guard rc == SQLITE_OK else { throw database.error(rc, sql) }
    }

    func bind(_ index: Int32, _ value: Double) throws(StoreError) {
        let rc = sqlite3_bind_double(stmt, index, value)
        guard rc == SQLITE_OK else { throw database.error(rc, sql) }
    }

    func bind(_ index: Int32, _ value: String) throws(StoreError) {
        let rc = sqlite3_bind_text(stmt, index, value, -1, sqliteTransient)
        guard rc == SQLITE_OK else { throw database.error(rc, sql) }
    }

    func bindNull(_ index: Int32) throws(StoreError) {
        let rc = sqlite3_bind_null(stmt, index)
        guard rc == SQLITE_OK else { throw database.error(rc, sql) }
    }

    func bind(_ index: Int32, _ value: [UInt8]) throws(StoreError) {
        let rc = value.withUnsafeBytes { b in
            sqlite3_bind_blob64(stmt, index, b.baseAddress ?? UnsafeRawPointer(bitPattern: 1), sqlite3_uint64(b.count), sqliteTransient)
        }
        guard rc == SQLITE_OK else { throw database.error(rc, sql) }
    }

    /// Advances; true while a row is available.
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error(rc, sql)
        }
    }

    /// Runs a statement that returns no rows, then resets it.
    func run() throws(StoreError) {
        defer { reset() }
        _ = try step()
    }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(stmt, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }

    func string(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, column) else { return "" }
        return String(cString: p)
    }

    /// Reads a BLOB column without copying it; the buffer is valid until the next step or reset.
    func withBlob<T>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws(StoreError) -> T) throws(StoreError) -> T {
        let n = Int(sqlite3_column_bytes(stmt, column))
        guard let p = sqlite3_column_blob(stmt, column), n > 0 else {
            return try body(UnsafeBufferPointer(start: nil, count: 0))
        }
        return try body(UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: n))
    }

    func blob(_ column: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(stmt, column))
        guard let p = sqlite3_column_blob(stmt, column), n > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: n))
    }
}

private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
