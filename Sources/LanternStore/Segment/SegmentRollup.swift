import LanternModel

/// A sealed segment's pre-aggregates: for each distinct combination of a span's start hour, its
/// low-cardinality dimensions (the zone map's listed columns) and two flags (has token usage, has
/// a reported cost), the span count and the additive measures a count, error, token or cost query
/// needs. A query that groups and filters only by these reads the rollup (hundreds of cells)
/// instead of the segment's columns (tens of thousands of rows); `QueryEngine.add(rollup:...)`
/// gives the same answer a scan of the rows would, or declines.
struct SegmentRollup: Equatable {
    static let dimensions = ZoneMap.listedColumns
    static let hourNanos: Int64 = 3_600_000_000_000
    /// A segment with more distinct values in one dimension, or more cells, gets no rollup
    /// (queries scan it): the rollup would save little.
    static let maxValues = 4096
    static let maxCellsPerRow = 0.25

    /// Per dimension (in `dimensions` order) its values; a cell's code k names values[k - 1], 0 is null.
    var values: [[String]]
    /// Per cell: its hour (start time floor-divided by an hour), and per dimension its code.
    var hour: [Int64] = []
    var codes: [[Int32]]
    var usage: [Bool] = []
    var reported: [Bool] = []
    var measures = Measures()

    /// Sums per cell. Token sums are clamped instead of trapping (a segment is built inside the server).
    struct Measures: Equatable {
        var spans: [Int64] = []
        /// Spans with status ERROR.
        var errors: [Int64] = []
        var input: [Int64] = [], output: [Int64] = [], cacheRead: [Int64] = [], cacheCreation: [Int64] = [], reasoning: [Int64] = []
        /// Spans with usage and input tokens but no cache-read count (their cost is an upper bound
        /// where the model has a cached-input price).
        var cacheReadMissing: [Int64] = []
        /// Spans with usage whose tokens are not consistent enough to price by sums (negative
        /// counts, cached past input, reasoning past output): a cost query scans such a segment.
        var irregular: [Int64] = []
        var reportedCost: [Double] = []

        mutating func appendZero() {
            spans.append(0); errors.append(0); input.append(0); output.append(0); cacheRead.append(0)
            cacheCreation.append(0); reasoning.append(0); cacheReadMissing.append(0); irregular.append(0); reportedCost.append(0)
        }
    }

    var cellCount: Int { hour.count }

    /// The rollup of a segment's columns; nil when it would not be much smaller than the rows.
    init?(_ columns: SpanColumns) {
        let n = columns.count
        guard n > 0 else { return nil }
        values = Self.dimensions.map { _ in [] }
        codes = Self.dimensions.map { _ in [] }
        // Per dimension, each row's code (a dictionary per dimension, with the last value remembered:
        // neighbouring rows mostly share theirs).
        var rowCodes = [[UInt16]](repeating: [], count: Self.dimensions.count)
        for (d, id) in Self.dimensions.enumerated() {
            // Values by exact bytes, as the column's dictionary keeps them.
            var table = UTF8CodeTable()
            var out = [UInt16](repeating: 0, count: n)
            var last: (String, UInt16)? = nil
            for (i, v) in (columns.strings[id] ?? []).enumerated() {
                guard let v else { continue }
                if let (s, c) = last, utf8Identical(s, v) { out[i] = c; continue }
                let code = table.code(v)
                guard code <= Self.maxValues else { return nil }
                out[i] = UInt16(code)
                last = (v, UInt16(code))
            }
            values[d] = table.values
            rowCodes[d] = out
        }
        let input = columns.ints[.inputTokens] ?? [], output = columns.ints[.outputTokens] ?? []
        let cacheRead = columns.ints[.cacheReadTokens] ?? [], cacheCreation = columns.ints[.cacheCreationTokens] ?? []
        let reasoning = columns.ints[.reasoningTokens] ?? [], cost = columns.doubles[.reportedCost] ?? []
        func at<T>(_ a: [T?], _ i: Int) -> T? { i < a.count ? a[i] : nil }
        var cellOf: [CellKey: Int] = [:]
        let maxCells = max(16, Int(Double(n) * Self.maxCellsPerRow))
        for i in 0..<n {
            let h = QueryEngine.floorDiv(columns.startTime[i], Self.hourNanos)
            let inTok = at(input, i), outTok = at(output, i)
            let hasUsage = inTok != nil || outTok != nil
            let reportedCost = at(cost, i)
            var key = CellKey(hour: h, flags: (hasUsage ? 1 : 0) | (reportedCost != nil ? 2 : 0))
            for d in rowCodes.indices { key.set(d, rowCodes[d][i]) }
            let c: Int
            if let known = cellOf[key] {
                c = known
            } else {
                guard hour.count < maxCells else { return nil }
                c = hour.count
                cellOf[key] = c
                hour.append(h)
                usage.append(hasUsage)
                reported.append(reportedCost != nil)
                for d in rowCodes.indices { codes[d].append(Int32(rowCodes[d][i])) }
                measures.appendZero()
            }
            measures.spans[c] &+= 1
            if columns.statusCode[i] == 2 { measures.errors[c] &+= 1 }
            if let reportedCost { measures.reportedCost[c] += reportedCost }
            guard hasUsage else { continue }
            let inputTokens = inTok ?? 0, outputTokens = outTok ?? 0
            let cached = at(cacheRead, i) ?? 0, written = at(cacheCreation, i) ?? 0, reasoned = at(reasoning, i) ?? 0
            measures.input[c] = measures.input[c].clampedAdding(inputTokens)
            measures.output[c] = measures.output[c].clampedAdding(outputTokens)
            measures.cacheRead[c] = measures.cacheRead[c].clampedAdding(cached)
            measures.cacheCreation[c] = measures.cacheCreation[c].clampedAdding(written)
            measures.reasoning[c] = measures.reasoning[c].clampedAdding(reasoned)
            if at(cacheRead, i) == nil && inputTokens > 0 { measures.cacheReadMissing[c] &+= 1 }
            let (cachedAndWritten, overflow) = cached.addingReportingOverflow(written)
            if cached < 0 || written < 0 || reasoned < 0 || overflow || cachedAndWritten > inputTokens || reasoned > outputTokens {
                measures.irregular[c] &+= 1
            }
        }
    }

    /// A cell's identity while building: hour, flags and the dimension codes packed in three words.
    private struct CellKey: Hashable {
        var hour: Int64
        var flags: UInt8
        var packed: (UInt64, UInt64, UInt64) = (0, 0, 0)

        init(hour: Int64, flags: UInt8) {
            self.hour = hour
            self.flags = flags
        }

        mutating func set(_ d: Int, _ code: UInt16) {
            let shift = UInt64(16 * (d % 4))
            switch d / 4 {
            case 0: packed.0 |= UInt64(code) << shift
            case 1: packed.1 |= UInt64(code) << shift
            default: packed.2 |= UInt64(code) << shift
            }
        }

        static func == (a: CellKey, b: CellKey) -> Bool {
            a.hour == b.hour && a.flags == b.flags && a.packed == b.packed
        }

        func hash(into h: inout Hasher) {
            h.combine(hour)
            h.combine(flags)
            h.combine(packed.0)
            h.combine(packed.1)
            h.combine(packed.2)
        }
    }

    // MARK: encoding

    static let version = 1

    /// The rollup as stored in the `segments` row (zstd-compressed when that is smaller).
    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.varint(Self.version)
        w.varint(values.count)
        for dictionary in values {
            w.varint(dictionary.count)
            for s in dictionary { w.string(s) }
        }
        w.varint(cellCount)
        IntCodec.encode(hour, into: &w)
        for c in codes { IntCodec.encode(c.map(Int64.init), into: &w) }
        IntCodec.encode(zip(usage, reported).map { Int64(($0 ? 1 : 0) | ($1 ? 2 : 0)) }, into: &w)
        let m = measures
        for column in [m.spans, m.errors, m.input, m.output, m.cacheRead, m.cacheCreation, m.reasoning, m.cacheReadMissing, m.irregular] {
            IntCodec.encode(column, into: &w)
        }
        // Reported costs of the cells that have any (most have none).
        for (v, has) in zip(m.reportedCost, reported) where has { w.fixed64(v.bitPattern) }
        return ChunkCompression.seal(w.bytes, allowCompression: true)
    }

    init(encoded chunk: UnsafeBufferPointer<UInt8>) throws(StoreError) {
        let (values, codes, hour, usage, reported, measures) = try ChunkCompression.withPayload(chunk) {
            (b: UnsafeBufferPointer<UInt8>) throws(StoreError) in
            var r = ByteReader(b)
            guard try r.varint() == UInt64(Self.version) else { throw StoreError.corrupt("segment rollup of an unknown version") }
            guard try r.count(limit: 64) == Self.dimensions.count else { throw StoreError.corrupt("segment rollup with other dimensions") }
            var values: [[String]] = []
            for _ in Self.dimensions {
                let k = try r.count(limit: Self.maxValues)
                var dictionary: [String] = []
                for _ in 0..<k { dictionary.append(try r.string()) }
                values.append(dictionary)
            }
            let cells = try r.count(limit: IntCodec.maxRows)
            func column() throws(StoreError) -> [Int64] {
                let c = try IntCodec.decode(&r)
                guard c.count == cells else { throw StoreError.corrupt("segment rollup columns disagree on the cell count") }
                return c
            }
            let hour = try column()
            var codes: [[Int32]] = []
            for d in values.indices {
                let c = try column()
                guard c.allSatisfy({ $0 >= 0 && $0 <= Int64(values[d].count) }) else { throw StoreError.corrupt("segment rollup code out of range") }
                codes.append(c.map { Int32($0) })
            }
            let flags = try column()
            guard flags.allSatisfy({ $0 >= 0 && $0 <= 3 }) else { throw StoreError.corrupt("segment rollup flags out of range") }
            var m = Measures()
            m.spans = try column(); m.errors = try column()
            m.input = try column(); m.output = try column(); m.cacheRead = try column()
            m.cacheCreation = try column(); m.reasoning = try column()
            m.cacheReadMissing = try column(); m.irregular = try column()
            m.reportedCost = [Double](repeating: 0, count: cells)
            for k in 0..<cells where flags[k] & 2 != 0 { m.reportedCost[k] = Double(bitPattern: try r.fixed64()) }
            return (values, codes, hour, flags.map { $0 & 1 != 0 }, flags.map { $0 & 2 != 0 }, m)
        }
        self.values = values
        self.codes = codes
        self.hour = hour
        self.usage = usage
        self.reported = reported
        self.measures = measures
    }
}
