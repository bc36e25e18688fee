import LanternModel

/// Per-segment summary used to skip segments: start-time bounds and, for low-cardinality string
/// columns, the set of values present (nil when a column has too many to list).
struct ZoneMap: Equatable {
    static let listedColumns: [ColumnID] = [
        .serviceName, .serviceVersion, .environment, .operation, .provider, .requestModel, .responseModel, .variant, .rollout,
    ]
    static let maxListed = 256

    var minStart: Int64
    var maxStart: Int64
    var values: [ColumnID: Set<String>?] = [:]

    /// The zone map of `columns`; their `rollup`, when there is one, already holds each listed
    /// column's distinct values (a null as a cell code 0), so the rows are not read again.
    init(_ columns: SpanColumns, rollup: SegmentRollup? = nil) {
        minStart = columns.startTime.min() ?? 0
        maxStart = columns.startTime.max() ?? 0
        if let rollup {
            for (d, id) in SegmentRollup.dimensions.enumerated() {
                var set = Set(rollup.values[d])
                if rollup.codes[d].contains(0) { set.insert("") }
                values[id] = set.count > Self.maxListed ? .some(nil) : .some(set)
            }
            return
        }
        for id in Self.listedColumns {
            var set = Set<String>()
            var overflow = false
            for v in columns.strings[id] ?? [] {
                set.insert(v ?? "")
                if set.count > Self.maxListed { overflow = true; break }
            }
            values[id] = overflow ? .some(nil) : .some(set)
        }
    }

    init(minStart: Int64, maxStart: Int64, encoded: UnsafeBufferPointer<UInt8>) throws(StoreError) {
        self.minStart = minStart
        self.maxStart = maxStart
        var r = ByteReader(encoded)
        let n = try r.count(limit: 64)
        for _ in 0..<n {
            guard let id = ColumnID(rawValue: try r.count(limit: 1 << 16)) else { throw .corrupt("zone map names an unknown column") }
            let k = try r.count(limit: Self.maxListed + 1)
            if k == Self.maxListed + 1 {
                values[id] = .some(nil)
            } else {
                var set = Set<String>()
                for _ in 0..<k { set.insert(try r.string()) }
                values[id] = .some(set)
            }
        }
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.varint(values.count)
        for (id, set) in values.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            w.varint(id.rawValue)
            if let set {
                w.varint(set.count)
                for s in set.sorted() { w.string(s) }
            } else {
                w.varint(Self.maxListed + 1)
            }
        }
        return w.bytes
    }

    /// False when no span in the segment can match the filter.
    func mayMatch(_ f: SpanFilter) -> Bool {
        if let from = f.from, maxStart < from { return false }
        if let until = f.until, minStart >= until { return false }
        func could(_ id: ColumnID, _ wanted: [String]) -> Bool {
            guard !wanted.isEmpty, case .some(.some(let present)) = values[id] else { return true }
            return wanted.contains { present.contains($0) }
        }
        if !could(.serviceName, f.services) || !could(.variant, f.variants) || !could(.environment, f.environments)
            || !could(.operation, f.operations) { return false }
        if !f.models.isEmpty, case .some(.some(let req)) = values[.requestModel], case .some(.some(let resp)) = values[.responseModel],
           !f.models.contains(where: { req.contains($0) || resp.contains($0) }) { return false }
        return true
    }
}

/// A Bloom filter over a segment's trace ids: the trace index. About 10 bits per trace, 4 probes.
struct TraceBloom {
    private(set) var bits: [UInt8]

    init(traceIDs: Set<TraceID>) {
        let nbits = max(64, traceIDs.count * 10)
        bits = [UInt8](repeating: 0, count: (nbits + 7) / 8)
        for t in traceIDs { for p in Self.probes(t, bitCount: bits.count * 8) { bits[p >> 3] |= 1 << UInt8(p & 7) } }
    }

    init(bytes: [UInt8]) { bits = bytes }

    func mayContain(_ t: TraceID) -> Bool {
        guard !bits.isEmpty else { return true }
        return Self.probes(t, bitCount: bits.count * 8).allSatisfy { bits[$0 >> 3] & (1 << UInt8($0 & 7)) != 0 }
    }

    private static func probes(_ t: TraceID, bitCount: Int) -> [Int] {
        // Trace ids are random: their halves serve as the two hashes of double hashing.
        let h1 = t.high ^ (t.low &* 0x9E37_79B9_7F4A_7C15)
        let h2 = (t.low ^ (t.high >> 17)) | 1
        return (0..<4).map { Int((h1 &+ UInt64($0) &* h2) % UInt64(bitCount)) }
    }
}
