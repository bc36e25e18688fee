/// Copies the write-ahead log back into the database file on a connection of its own, so the
/// work (and its fsync) never runs inside an append's commit. A PASSIVE checkpoint does not block
/// writers or readers; it copies what no reader still needs and stops.
final class WALCheckpointer {
    private let db: SQLiteDatabase

    init(path: String) throws(StoreError) {
        db = try SQLiteDatabase(path: path)
    }

    /// Runs one passive checkpoint; returns the WAL frames it copied.
    @discardableResult
    func checkpoint() throws(StoreError) -> Int {
        let q = try db.prepare("PRAGMA wal_checkpoint(PASSIVE)")
        guard try q.step() else { return 0 }
        return Int(q.int(2))
    }
}
