import Foundation
import LanternModel

/// The embedded store: one SQLite file in WAL mode holding a durable journal of recent batches
/// and sealed column segments with zone maps and a trace index.
///
/// Appends commit one journal row per batch (or one transaction for several batches: group
/// commit) with `synchronous=FULL`, so a returned append survives a crash or power loss.
/// `seal` moves journal rows into a segment (see `writeSegment`): a crash leaves either the
/// journal rows or the segment counted, never half of either.
public final class SQLiteSpanStore: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Spans per sealed segment.
        public var segmentRows: Int = 65_536
        /// Seal automatically after appends once the journal holds a segment's worth.
        public var autoSeal: Bool = true
        /// Leave WAL checkpoints to a `BackgroundSealer` (on a connection of its own) instead of
        /// running them inside whichever commit crosses SQLite's threshold, where they would
        /// hold up that commit's acknowledgement.
        public var checkpointInBackground: Bool = false
        /// Answer count, error, token and cost queries from sealed segments' rollups where they
        /// can (off: every segment is scanned; `lantern bench` times its cost query this way too,
        /// as `tokens_cost_model_day_scan`).
        public var readsRollups: Bool = true
        public init() {}
    }

    public let path: String
    public let configuration: Configuration
    let db: SQLiteDatabase
    private let lock = NSLock()
    private let sealLock = NSLock()
    private var journalSpans = 0
    /// Journal rows up to this `seq` are sealed into segments (`meta` key `journal_sealed_through`);
    /// they are deleted in small steps after the seal and ignored by every reader meanwhile.
    /// (Another process may seal the same file: readers take the value from `meta` in the same read
    /// transaction as the rows they read; see `readSnapshot`.)
    private var sealedThrough: Int64 = 0
    /// Set while the connection runs with synchronous=NORMAL for a seal's transactions; an append
    /// restores FULL before it writes if restoring failed.
    private var synchronousLowered = false
    private var insertJournal: SQLiteStatement!
    /// The sealer's own connection for reading the journal (guarded by `sealLock`): a WAL reader
    /// does not block the appends that go on meanwhile on `db`.
    private var sealReader: SQLiteDatabase?
    /// Whether no sealed journal row is known to be left undeleted (guarded by `sealLock`).
    private var leftoversCleared = false

    public init(path: String, configuration: Configuration = .init()) throws(StoreError) {
        self.path = path
        self.configuration = configuration
        db = try SQLiteDatabase(path: path)
        let found = Int(try db.scalarInt("PRAGMA user_version"))
        guard found <= Migrations.latest else { throw .schemaTooNew(found: found, supported: Migrations.latest) }
        // auto_vacuum must be chosen before the first table exists.
        try db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        try db.execute("PRAGMA journal_mode = WAL")
        try db.execute("PRAGMA synchronous = FULL")
        try db.execute("PRAGMA cache_size = -65536")
        try db.execute("PRAGMA temp_store = MEMORY")
        try Migrations.apply(to: db)
        if configuration.checkpointInBackground { try db.execute("PRAGMA wal_autocheckpoint = 0") }
        insertJournal = try db.prepare("INSERT INTO journal(seq, appended_unix_nano, span_count, min_start, max_start, body) VALUES (?, ?, ?, ?, ?, ?)")
        sealedThrough = try Self.readSealedThrough(db)
        journalSpans = Int(try db.scalarInt("SELECT coalesce(sum(span_count), 0) FROM journal WHERE seq > \(sealedThrough)"))
    }

    func withLock<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: append

    /// Appends one batch durably (its own transaction).
    public func appendNow(_ spans: [CanonicalSpan]) throws(StoreError) {
        try appendNow(batches: [spans])
    }

    /// Appends several batches in one transaction (group commit): one fsync for all of them.
    public func appendNow(batches: [[CanonicalSpan]]) throws(StoreError) {
        var encoded: [EncodedSpans] = []
        for batch in batches where !batch.isEmpty { encoded.append(try Self.encode(batch)) }
        try appendNow(encoded: encoded)
    }

    /// Spans shredded and encoded for the journal, ready to append. Encoding needs no store, so
    /// each request can do it on its own thread while the commit writer only writes.
    public struct EncodedSpans: Sendable {
        public let count: Int
        let minStart: Int64
        let maxStart: Int64
        let body: [UInt8]
    }

    /// Encodes spans for `appendNow(encoded:)`; refuses attribute values nested too deeply to read back.
    public static func encode(_ spans: [CanonicalSpan]) throws(StoreError) -> EncodedSpans {
        let columns = SpanColumns(spans)
        if let i = columns.firstTooDeepRow {
            throw .invalidArgument("span \(spans[i].span.spanID) of trace \(spans[i].span.traceID) nests attribute values \(ValueEncoding.maxDepth) or more levels deep")
        }
        return EncodedSpans(count: columns.count, minStart: columns.startTime.min() ?? 0, maxStart: columns.startTime.max() ?? 0,
                            body: ChunkContainer.pack(columns.encodeChunks(compress: false)))
    }

    /// Appends encoded batches in one transaction (group commit): one fsync for all of them.
    public func appendNow(encoded: [EncodedSpans]) throws(StoreError) {
        let encoded = encoded.filter { $0.count > 0 }
        guard !encoded.isEmpty else { return }
        try withLock { () throws(StoreError) in
            let now = Int64(Date().timeIntervalSince1970 * 1e9)
            if synchronousLowered {
                try db.execute("PRAGMA synchronous = FULL")
                synchronousLowered = false
            }
            try db.transaction { () throws(StoreError) in
                // Numbered past every sealed row, even once all rows are deleted (SQLite would
                // reuse numbers from 1, and a number at or below the sealed mark would hide its row).
                var seq = max(try db.scalarInt("SELECT coalesce(max(seq), 0) FROM journal"), try Self.readSealedThrough(db)) + 1
                for e in encoded {
                    try insertJournal.bind(1, seq)
                    try insertJournal.bind(2, now)
                    try insertJournal.bind(3, Int64(e.count))
                    try insertJournal.bind(4, e.minStart)
                    try insertJournal.bind(5, e.maxStart)
                    try insertJournal.bind(6, e.body)
                    try insertJournal.run()
                    seq += 1
                }
            }
            journalSpans += encoded.reduce(0) { $0 + $1.count }
        }
        if configuration.autoSeal && unsealedSpans >= configuration.segmentRows {
            _ = try seal(force: false)
        }
    }

    // MARK: seal

    /// Moves journal batches into sealed segments of `segmentRows` spans. With `force`, also
    /// seals a final partial segment. Returns the number of segments written. The segment is
    /// built outside the store lock, so appends and queries go on while it is encoded, then
    /// written in short transactions (see `writeSegment`): it appears, and its journal rows are
    /// marked sealed, in the last one; the marked rows are deleted a few at a time afterwards.
    @discardableResult
    public func seal(force: Bool) throws(StoreError) -> Int {
        sealLock.lock()
        defer { sealLock.unlock() }
        var written = 0
        // Sealed journal rows a crash (or a failed pass) left behind: looked for by the first pass
        // and after a failed one, not by every pass (the background sealer runs one every 20 ms).
        if !leftoversCleared {
            let marked = try withLock { () throws(StoreError) in
                sealedThrough = max(sealedThrough, try Self.readSealedThrough(db))
                return sealedThrough
            }
            try deleteSealedJournal(through: marked)
            leftoversCleared = true
        }
        while true {
            guard force || unsealedSpans >= configuration.segmentRows else { break }
            if sealReader == nil { sealReader = try SQLiteDatabase(path: path) }
            let after = try withLock { () throws(StoreError) in sealedThrough }
            let entries = try pendingJournal(sealReader!, after: after, limitSpans: configuration.segmentRows)
            let total = entries.reduce(0) { $0 + $1.count }
            guard total > 0, total >= configuration.segmentRows || force else { break }
            var merged = SpanColumns()
            for e in entries {
                let chunks = try e.body.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) in try ChunkContainer.unpack(b) }
                merged.append(try SpanColumns(chunks: chunks))
            }
            let segment = BuiltSegment(merged)
            // A failure from here on may leave sealed journal rows undeleted: the next pass looks for them.
            leftoversCleared = false
            try writeSegment(segment, replacingJournalThrough: entries.last!.seq, spans: total)
            try deleteSealedJournal(through: entries.last!.seq)
            leftoversCleared = true
            written += 1
        }
        return written
    }

    /// Spans in the journal, not yet sealed.
    public var unsealedSpans: Int {
        lock.lock()
        defer { lock.unlock() }
        return journalSpans
    }

    private func pendingJournal(_ db: SQLiteDatabase, after: Int64, limitSpans: Int) throws(StoreError) -> [(seq: Int64, count: Int, body: [UInt8])] {
        let s = try db.prepare("SELECT seq, span_count, body FROM journal WHERE seq > ? ORDER BY seq")
        try s.bind(1, after)
        var out: [(Int64, Int, [UInt8])] = []
        var total = 0
        // Oldest first until a segment's worth (a segment may pass the target by one batch).
        while total < limitSpans, try s.step() {
            let n = Int(s.int(1))
            out.append((s.int(0), n, s.blob(2)))
            total += n
        }
        return out
    }

    /// A segment encoded and ready to write.
    struct BuiltSegment {
        var count: Int
        var chunks: [(ColumnID, [UInt8])]
        var zone: ZoneMap
        var bloom: TraceBloom
        var rollup: [UInt8]?

        init(_ columns: SpanColumns) {
            count = columns.count
            chunks = columns.encodeChunks(compress: true)
            let summary = SegmentRollup(columns)
            zone = ZoneMap(columns, rollup: summary)
            var traces = Set<TraceID>()
            for i in 0..<columns.count { traces.insert(TraceID(high: columns.traceHigh[i], low: columns.traceLow[i])) }
            bloom = TraceBloom(traceIDs: traces)
            rollup = summary?.encoded()
        }
    }

    /// Writes a segment without holding up appends for long: each column chunk goes in a short
    /// transaction of its own, under a segment id no `segments` row names yet (invisible to
    /// readers, removed at open if a crash leaves it behind); a last short transaction adds the
    /// segment's row and marks the journal rows it replaces as sealed (`deleteSealedJournal`
    /// removes them afterwards, a few at a time: freeing their pages in one commit held appends
    /// up for tens of milliseconds). None of these transactions waits
    /// for an fsync inside the store lock: the sealer syncs the log itself after each one, and
    /// every append's commit (synchronous=FULL) syncs all earlier transactions with its own. A
    /// crash can so lose only a whole seal, whose journal rows are then still there.
    private func writeSegment(_ segment: BuiltSegment, replacingJournalThrough seq: Int64, spans: Int) throws(StoreError) {
        let chunks = segment.chunks, zone = segment.zone, bloom = segment.bloom
        let bytes = chunks.reduce(0) { $0 + $1.1.count }
        // Never an id used before (retention may have deleted the newest segment), so nothing that
        // still holds an old id (a query's listing, a late retention pass) can meet the new segment.
        let id = try withLock { () throws(StoreError) in
            try db.scalarInt("""
                SELECT max(coalesce((SELECT max(id) FROM segments), 0),
                           coalesce((SELECT max(CAST(value AS INTEGER)) FROM meta WHERE key = 'segment_id_high'), 0)) + 1
                """)
        }
        // Chunks an interrupted seal left at or above this id (no segment row names them).
        try unsyncedTransaction { () throws(StoreError) in
            try db.execute("DELETE FROM segment_columns WHERE id >= \(id * 256)")
        }
        for (cid, data) in chunks {
            try unsyncedTransaction { () throws(StoreError) in
                let col = try db.prepare("INSERT INTO segment_columns(id, data) VALUES (?, ?)")
                try col.bind(1, id * 256 + Int64(cid.rawValue))
                try col.bind(2, data)
                try col.run()
            }
        }
        try unsyncedTransaction { () throws(StoreError) in
            let seg = try db.prepare("""
                INSERT INTO segments(id, span_count, min_start, max_start, bytes, created_unix_nano, zone, trace_bloom, rollup)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            try seg.bind(1, id)
            try seg.bind(2, Int64(segment.count))
            try seg.bind(3, zone.minStart)
            try seg.bind(4, zone.maxStart)
            try seg.bind(5, Int64(bytes))
            try seg.bind(6, Int64(Date().timeIntervalSince1970 * 1e9))
            try seg.bind(7, zone.encoded())
            try seg.bind(8, bloom.bits)
            if let rollup = segment.rollup { try seg.bind(9, rollup) } else { try seg.bindNull(9) }
            try seg.run()
            let mark = try db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('journal_sealed_through', ?), ('segment_id_high', ?)")
            try mark.bind(1, String(seq))
            try mark.bind(2, String(id))
            try mark.run()
        } afterCommit: {
            // In the same hold of the lock: no reader sees the segment and its journal rows both.
            journalSpans -= spans
            sealedThrough = seq
        }
    }

    /// Deletes sealed journal rows in small transactions, so each holds the store lock briefly.
    private func deleteSealedJournal(through seq: Int64) throws(StoreError) {
        let left = try withLock { () throws(StoreError) in try db.scalarInt("SELECT count(*) FROM journal WHERE seq <= \(seq)") }
        guard left > 0 else { return }
        while true {
            var deleted = 0
            try unsyncedTransaction { () throws(StoreError) in
                let del = try db.prepare("DELETE FROM journal WHERE seq IN (SELECT seq FROM journal WHERE seq <= ? ORDER BY seq LIMIT 8)")
                try del.bind(1, seq)
                try del.run()
                deleted = db.changes
            }
            if deleted == 0 { return }
        }
    }

    /// Runs one transaction under the store lock with synchronous=NORMAL (no fsync at its
    /// commit), then syncs the write-ahead log outside the lock.
    private func unsyncedTransaction(_ body: () throws(StoreError) -> Void, afterCommit: () -> Void = {}) throws(StoreError) {
        try withLock { () throws(StoreError) in
            synchronousLowered = true
            try db.execute("PRAGMA synchronous = NORMAL")
            do throws(StoreError) {
                try db.transaction(body)
            } catch {
                if (try? db.execute("PRAGMA synchronous = FULL")) != nil { synchronousLowered = false }
                throw error
            }
            afterCommit()
            try db.execute("PRAGMA synchronous = FULL")
            synchronousLowered = false
        }
        syncLog()
    }

    /// fsyncs the write-ahead log file (what a synchronous=FULL commit would have done).
    private func syncLog() {
        let fd = open(path + "-wal", O_RDONLY)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// The highest journal `seq` sealed into a segment, as stored.
    static func readSealedThrough(_ db: SQLiteDatabase) throws(StoreError) -> Int64 {
        try db.scalarInt("SELECT coalesce(max(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'journal_sealed_through'")
    }

    /// Runs reads in one read transaction, with `sealedThrough` as stored at its start: segments and
    /// journal rows then come from one snapshot, even when another process seals meanwhile.
    func readSnapshot<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try db.transaction(immediate: false) { () throws(StoreError) -> T in
            sealedThrough = max(sealedThrough, try Self.readSealedThrough(db))
            return try body()
        }
    }

    // MARK: reading

    struct SegmentInfo {
        var id: Int64
        var spanCount: Int
        var zone: ZoneMap
        var bytes: Int64
    }

    func segments() throws(StoreError) -> [SegmentInfo] {
        let s = try db.prepare("SELECT id, span_count, min_start, max_start, zone, bytes FROM segments ORDER BY id")
        var out: [SegmentInfo] = []
        while try s.step() {
            let zone = try s.withBlob(4) { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) in
                try ZoneMap(minStart: s.int(2), maxStart: s.int(3), encoded: b)
            }
            out.append(SegmentInfo(id: s.int(0), spanCount: Int(s.int(1)), zone: zone, bytes: s.int(5)))
        }
        return out
    }

    /// The chunks of some columns of one segment; nil when the segment is gone (retention
    /// deleted it after it was listed).
    func segmentChunks(_ segment: Int64, _ columns: Set<ColumnID>) throws(StoreError) -> [ColumnID: [UInt8]]? {
        let s = try db.prepare("SELECT data FROM segment_columns WHERE id = ?")
        var out: [ColumnID: [UInt8]] = [:]
        for c in columns {
            s.reset()
            try s.bind(1, segment * 256 + Int64(c.rawValue))
            guard try s.step() else {
                let exists = try db.prepare("SELECT 1 FROM segments WHERE id = ?")
                try exists.bind(1, segment)
                if try !exists.step() { return nil }
                throw .corrupt("segment \(segment) has no column \(c)")
            }
            out[c] = s.blob(0)
        }
        return out
    }

    /// A segment's rollup; nil when it has none (sealed before rollups, or too varied for one) or is gone.
    func segmentRollup(_ segment: Int64) throws(StoreError) -> SegmentRollup? {
        let s = try db.prepare("SELECT rollup FROM segments WHERE id = ?")
        try s.bind(1, segment)
        guard try s.step(), !s.isNull(0) else { return nil }
        return try s.withBlob(0) { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) in try SegmentRollup(encoded: b) }
    }

    /// Journal batches (unsealed spans) whose start range may meet the filter: their chunks.
    func journalChunks(_ columns: Set<ColumnID>, filter: SpanFilter) throws(StoreError) -> [[ColumnID: [UInt8]]] {
        let s = try db.prepare("SELECT min_start, max_start, body FROM journal WHERE seq > ? ORDER BY seq")
        try s.bind(1, sealedThrough)
        var out: [[ColumnID: [UInt8]]] = []
        while try s.step() {
            if let from = filter.from, s.int(1) < from { continue }
            if let until = filter.until, s.int(0) >= until { continue }
            out.append(try s.withBlob(2) { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) in try ChunkContainer.unpack(b, only: columns) })
        }
        return out
    }

    // MARK: traces

    /// Every stored span of one trace, ordered by start time.
    public func traceNow(_ id: TraceID) throws(StoreError) -> [CanonicalSpan] {
        try withLock { () throws(StoreError) -> [CanonicalSpan] in try readSnapshot { () throws(StoreError) -> [CanonicalSpan] in
            var out: [CanonicalSpan] = []
            let s = try db.prepare("SELECT id, trace_bloom FROM segments ORDER BY id")
            var candidates: [Int64] = []
            while try s.step() {
                if TraceBloom(bytes: s.blob(1)).mayContain(id) { candidates.append(s.int(0)) }
            }
            var batches: [[ColumnID: [UInt8]]] = []
            for seg in candidates { batches.append(try segmentChunks(seg, [.traceID]) ?? [:]) }
            var segmentOf: [Int] = Array(candidates.indices)
            let journal = try journalChunks(Set(ColumnID.allCases), filter: SpanFilter())
            batches += journal
            segmentOf += Array(repeating: -1, count: journal.count)
            for (k, chunks) in batches.enumerated() {
                guard let traceChunk = chunks[.traceID] else { continue }
                let ids = try TraceColumn.decode(traceChunk)
                guard ids.contains(id) else { continue }
                let full: [ColumnID: [UInt8]]
                if segmentOf[k] >= 0 {
                    guard let chunks = try segmentChunks(candidates[segmentOf[k]], Set(ColumnID.allCases)) else { continue }
                    full = chunks
                } else {
                    full = chunks
                }
                let columns = try SpanColumns(chunks: full)
                let spans = try columns.canonicalSpans()
                out += spans.enumerated().filter { ids[$0.offset] == id }.map(\.element)
            }
            return out.sorted { ($0.span.startTimeUnixNano, $0.span.spanID) < ($1.span.startTimeUnixNano, $1.span.spanID) }
        } }
    }

    /// Every stored span, in storage order (sealed segments first, then the journal).
    public func allSpans() throws(StoreError) -> [CanonicalSpan] {
        try withLock { () throws(StoreError) -> [CanonicalSpan] in try readSnapshot { () throws(StoreError) -> [CanonicalSpan] in
            var out: [CanonicalSpan] = []
            for seg in try segments() {
                guard let chunks = try segmentChunks(seg.id, Set(ColumnID.allCases)) else { continue }
                out += try SpanColumns(chunks: chunks).canonicalSpans()
            }
            for chunks in try journalChunks(Set(ColumnID.allCases), filter: SpanFilter()) {
                out += try SpanColumns(chunks: chunks).canonicalSpans()
            }
            return out
        } }
    }

    // MARK: stats and retention

    public func statsNow() throws(StoreError) -> StoreStats {
        try withLock { () throws(StoreError) -> StoreStats in try readSnapshot { () throws(StoreError) -> StoreStats in
            let seg = try db.prepare("SELECT count(*), coalesce(sum(span_count), 0), min(min_start), max(max_start) FROM segments")
            _ = try seg.step()
            let jr = try db.prepare("SELECT count(*), coalesce(sum(span_count), 0), min(min_start), max(max_start) FROM journal WHERE seq > ?")
            try jr.bind(1, sealedThrough)
            _ = try jr.step()
            let mins = [seg.isNull(2) ? nil : seg.int(2), jr.isNull(2) ? nil : jr.int(2)].compactMap { $0 }
            let maxs = [seg.isNull(3) ? nil : seg.int(3), jr.isNull(3) ? nil : jr.int(3)].compactMap { $0 }
            return StoreStats(sealedSpans: Int(seg.int(1)), journalSpans: Int(jr.int(1)), segments: Int(seg.int(0)),
                              journalBatches: Int(jr.int(0)), fileBytes: try fileBytesLocked(),
                              minStartUnixNano: mins.min(), maxStartUnixNano: maxs.max())
        } }
    }

    private func fileBytesLocked() throws(StoreError) -> Int64 {
        let pages = try db.scalarInt("PRAGMA page_count")
        let free = try db.scalarInt("PRAGMA freelist_count")
        return (pages - free) * (try db.scalarInt("PRAGMA page_size"))
    }

    /// Deletes whole segments older than the age bound, then the oldest segments until the
    /// data fits the size bound, then unsealed journal batches older than the age bound. Each
    /// segment goes in its own short transaction, so ingest is never blocked for long. A segment
    /// or batch straddling the age cutoff stays until all of it is old.
    public func applyRetentionNow(_ policy: RetentionPolicy, nowUnixNano: Int64) throws(StoreError) -> RetentionResult {
        var result = RetentionResult()
        let all = try withLock { () throws(StoreError) in try segments() }.sorted { $0.zone.maxStart < $1.zone.maxStart }
        var doomed: [SegmentInfo] = []
        if let age = policy.maxAgeNanos {
            doomed += all.filter { $0.zone.maxStart < nowUnixNano - age }
        }
        if let maxBytes = policy.maxBytes {
            var remaining = all.filter { s in !doomed.contains { $0.id == s.id } }
            var total = remaining.reduce(Int64(0)) { $0 + $1.bytes }
            while total > maxBytes, !remaining.isEmpty {
                let oldest = remaining.removeFirst()
                doomed.append(oldest)
                total -= oldest.bytes
            }
        }
        for seg in doomed {
            try withLock { () throws(StoreError) in
                try db.transaction { () throws(StoreError) in
                    let d = try db.prepare("DELETE FROM segment_columns WHERE id >= ? AND id < ?")
                    try d.bind(1, seg.id * 256)
                    try d.bind(2, seg.id * 256 + 256)
                    try d.run()
                    let s = try db.prepare("DELETE FROM segments WHERE id = ?")
                    try s.bind(1, seg.id)
                    try s.run()
                }
            }
            result.segmentsDeleted += 1
            result.spansDeleted += seg.spanCount
            result.bytesDeleted += seg.bytes
        }
        if let age = policy.maxAgeNanos {
            // Unsealed batches whose newest span is past the cutoff go too (the sealer holds the
            // seal lock while it reads the journal, so a batch is never both sealed and deleted).
            sealLock.lock()
            defer { sealLock.unlock() }
            try withLock { () throws(StoreError) in
                let old = try db.prepare("SELECT coalesce(sum(span_count), 0), coalesce(sum(length(body)), 0) FROM journal WHERE max_start < ? AND seq > ?")
                try old.bind(1, nowUnixNano - age)
                try old.bind(2, sealedThrough)
                _ = try old.step()
                let spans = Int(old.int(0)), bytes = old.int(1)
                guard spans > 0 else { return }
                let d = try db.prepare("DELETE FROM journal WHERE max_start < ? AND seq > ?")
                try d.bind(1, nowUnixNano - age)
                try d.bind(2, sealedThrough)
                try d.run()
                journalSpans -= spans
                result.spansDeleted += spans
                result.bytesDeleted += bytes
            }
        }
        if let age = policy.maxAgeNanos {
            // Log records, metric points and scores older than the cutoff: plain rows, one statement each.
            try withLock { () throws(StoreError) in
                for table in ["log_records", "metric_points", "scores"] {
                    let d = try db.prepare("DELETE FROM \(table) WHERE time_unix_nano < ?")
                    try d.bind(1, nowUnixNano - age)
                    try d.run()
                }
            }
        }
        if result.spansDeleted > 0 { try withLock { () throws(StoreError) in try db.execute("PRAGMA incremental_vacuum") } }
        return result
    }

    /// Returns free pages to the file system and checkpoints the WAL into the main file.
    public func compact() throws(StoreError) {
        try withLock { () throws(StoreError) in
            try db.execute("PRAGMA incremental_vacuum")
            try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }
}

/// The asynchronous face of the store. Reads and score writes run on a global dispatch queue, not
/// on the caller's (cooperative) thread: a report over a large range keeps two cores busy for
/// seconds and must not hold up the server's request handling meanwhile.
extension SQLiteSpanStore: SpanStore {
    public func append(_ spans: [CanonicalSpan]) async throws { try await offload { try self.appendNow(spans) } }
    public func query(_ query: SpanQuery, prices: PriceBook) async throws -> QueryResult {
        try await offload { try self.queryNow(query, prices: prices) }
    }
    public func queryMany(_ queries: [SpanQuery], prices: PriceBook) async throws -> [QueryResult] {
        try await offload { try self.queryManyNow(queries, prices: prices) }
    }
    public func trace(_ id: TraceID) async throws -> [CanonicalSpan] { try await offload { try self.traceNow(id) } }
    public func stats() async throws -> StoreStats { try await offload { try self.statsNow() } }
    public func samples(_ metric: SampleMetric, filter: SpanFilter) async throws -> [Double] {
        try await offload { try self.samplesNow(metric, filter: filter) }
    }
    public func appendScores(_ scores: [Score]) async throws -> [ScoreWriteOutcome] { try await offload { try self.appendScoresNow(scores) } }
    public func applyRetention(_ policy: RetentionPolicy, nowUnixNano: Int64) async throws -> RetentionResult {
        try await offload { try self.applyRetentionNow(policy, nowUnixNano: nowUnixNano) }
    }

    /// Runs blocking store work on a global queue and resumes the caller with its result.
    private func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<T, any Error>) in
            DispatchQueue.global(qos: .userInitiated).async {
                do {
                    done.resume(returning: try work())
                } catch {
                    done.resume(throwing: error)
                }
            }
        }
    }
}

/// Decodes a trace-id chunk to one id per row.
enum TraceColumn {
    static func decode(_ chunk: [UInt8]) throws(StoreError) -> [TraceID] {
        let payload = try chunk.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) in try ChunkCompression.open(b) }
        return try payload.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) -> [TraceID] in
            var r = ByteReader(b)
            let n = try r.count(limit: r.remaining / 16)
            var d: [TraceID] = []
            for _ in 0..<n { d.append(TraceID(high: try r.fixed64(), low: try r.fixed64())) }
            return try IntCodec.decode(&r).map { (c: Int64) throws(StoreError) -> TraceID in
                guard c >= 0, c < Int64(n) else { throw .corrupt("trace id code out of range") }
                return d[Int(c)]
            }
        }
    }
}
