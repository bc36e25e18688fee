import LanternModel

/// Decoded columns of one segment or journal batch, as a query needs them.
struct ColumnBatch {
    var count = 0
    var ints: [ColumnID: [Int64]] = [:]
    var strings: [ColumnID: (dictionary: [String], codes: [Int64])] = [:]
    var nullableInts: [ColumnID: [Int64?]] = [:]
    var doubles: [ColumnID: [Double?]] = [:]

    init(chunks: [ColumnID: [UInt8]]) throws(StoreError) {
        for (id, chunk) in chunks {
            let payload = try chunk.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) in try ChunkCompression.open(b) }
            try payload.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) in
                var r = ByteReader(b)
                switch id {
                case .startTime, .duration, .statusCode, .kind:
                    let v = try IntCodec.decode(&r)
                    ints[id] = v
                    count = v.count
                case .inputTokens, .outputTokens, .cacheReadTokens, .cacheCreationTokens, .reasoningTokens:
                    nullableInts[id] = try NullableIntCodec.decode(&r)
                case .timeToFirstToken, .reportedCost:
                    doubles[id] = try NullableDoubleCodec.decode(&r)
                default:
                    strings[id] = try StringDictionaryCodec.decodeCodes(&r)
                }
            }
        }
    }
}

/// Runs `SpanQuery` aggregates over segments and the journal: zone maps skip segments, only the
/// needed columns are read, and groups are found through a per-segment dense code table.
struct QueryEngine {
    let query: SpanQuery
    let prices: PriceBook

    private var groupIndex: [[Int64]: Int] = [:]
    private var groups: [Accumulator] = []
    /// Global id per distinct string per group dimension.
    private var dimensionIDs: [[String: Int64]]
    private var dimensionNames: [[String]]

    struct Accumulator {
        var key: [Int64]
        var result: GroupResult
        var ttft: [Double] = []
        var latency: [Double] = []
    }

    init(query: SpanQuery, prices: PriceBook) {
        self.query = query
        self.prices = prices
        dimensionIDs = query.groupBy.map { _ in [:] }
        dimensionNames = query.groupBy.map { _ in [] }
    }

    static func column(for key: GroupKey) -> ColumnID? {
        switch key {
        case .service: return .serviceName
        case .serviceVersion: return .serviceVersion
        case .environment: return .environment
        case .operation: return .operation
        case .provider: return .provider
        case .requestModel: return .requestModel
        case .responseModel: return .responseModel
        case .variant: return .variant
        case .rollout: return .rollout
        case .errorType: return .errorType
        case .finishReason: return .finishReason
        case .model, .minute, .hour, .day: return nil
        }
    }

    /// The columns this query reads.
    var neededColumns: Set<ColumnID> {
        var c: Set<ColumnID> = [.startTime]
        let f = query.filter
        let m = query.metrics
        if !f.services.isEmpty { c.insert(.serviceName) }
        if !f.variants.isEmpty { c.insert(.variant) }
        if !f.environments.isEmpty { c.insert(.environment) }
        if !f.operations.isEmpty { c.insert(.operation) }
        if !f.models.isEmpty { c.formUnion([.requestModel, .responseModel]) }
        if f.genAIOnly { c.formUnion([.operation, .provider, .requestModel, .responseModel]) }
        for g in query.groupBy {
            if let col = Self.column(for: g) { c.insert(col) }
            if g == .model { c.formUnion([.requestModel, .responseModel]) }
        }
        if m.contains(.errors) { c.insert(.statusCode) }
        if m.contains(.latency) { c.insert(.duration) }
        if m.contains(.ttft) { c.insert(.timeToFirstToken) }
        if m.contains(.tokens) || m.contains(.cost) {
            c.formUnion([.inputTokens, .outputTokens, .cacheReadTokens, .reasoningTokens])
        }
        if m.contains(.cost) { c.formUnion([.cacheCreationTokens, .reportedCost, .requestModel, .responseModel]) }
        return c
    }

    /// Per-code flags: which dictionary codes of a column pass a filter list.
    private static func allowed(_ col: (dictionary: [String], codes: [Int64])?, _ wanted: [String]) -> [Bool]? {
        guard !wanted.isEmpty, let col else { return nil }
        return [false] + col.dictionary.map { wanted.contains($0) }
    }

    mutating func add(_ b: ColumnBatch) {
        let n = b.count
        guard n > 0 else { return }
        let f = query.filter
        let start = b.ints[.startTime]!
        let services = Self.allowed(b.strings[.serviceName], f.services)
        let variants = Self.allowed(b.strings[.variant], f.variants)
        let environments = Self.allowed(b.strings[.environment], f.environments)
        let operations = Self.allowed(b.strings[.operation], f.operations)
        let reqModels = Self.allowed(b.strings[.requestModel], f.models)
        let respModels = Self.allowed(b.strings[.responseModel], f.models)
        let req = b.strings[.requestModel], resp = b.strings[.responseModel]
        let op = b.strings[.operation], prov = b.strings[.provider]
        let status = b.ints[.statusCode], duration = b.ints[.duration]
        let ttft = b.doubles[.timeToFirstToken]
        let input = b.nullableInts[.inputTokens], output = b.nullableInts[.outputTokens]
        let cacheRead = b.nullableInts[.cacheReadTokens], cacheWrite = b.nullableInts[.cacheCreationTokens]
        let reasoning = b.nullableInts[.reasoningTokens], reported = b.doubles[.reportedCost]
        let wantTokens = query.metrics.contains(.tokens) || query.metrics.contains(.cost)
        let wantCost = query.metrics.contains(.cost)

        // Prices per local model code: response model first, request model when that is unpriced.
        var respPrice: [ModelPrice?] = [], reqPrice: [ModelPrice?] = []
        if wantCost {
            respPrice = [nil] + (resp?.dictionary ?? []).map { prices.lookup(model: $0) }
            reqPrice = [nil] + (req?.dictionary ?? []).map { prices.lookup(model: $0) }
        }

        // Dense local group table: mixed radix over local codes and bucket offsets.
        var radix: [Int64] = []
        var localCodes: [(Int) -> Int64] = []
        var minStart = Int64.max, maxStart = Int64.min
        for s in start { minStart = min(minStart, s); maxStart = max(maxStart, s) }
        for g in query.groupBy {
            if let bucket = g.bucketNanos {
                let lo = Self.floorDiv(minStart, bucket)
                radix.append(Self.floorDiv(maxStart, bucket) - lo + 1)
                localCodes.append { Self.floorDiv(start[$0], bucket) - lo }
            } else if g == .model {
                let reqCount = Int64((req?.dictionary.count ?? 0) + 1)
                radix.append(reqCount * Int64((resp?.dictionary.count ?? 0) + 1))
                let rc = req?.codes, sc = resp?.codes
                localCodes.append { i in (sc?[i] ?? 0) * reqCount + (rc?[i] ?? 0) }
            } else if let col = Self.column(for: g), let s = b.strings[col] {
                radix.append(Int64(s.dictionary.count + 1))
                let codes = s.codes
                localCodes.append { codes[$0] }
            } else {
                radix.append(1)
                localCodes.append { _ in 0 }
            }
        }
        let tableSize = radix.reduce(Int64(1), *)
        let dense = tableSize <= 1 << 22
        var table = dense ? [Int32](repeating: -1, count: Int(tableSize)) : []

        for i in 0..<n {
            let t = start[i]
            if let from = f.from, t < from { continue }
            if let until = f.until, t >= until { continue }
            if let services, !services[Int(b.strings[.serviceName]!.codes[i])] { continue }
            if let variants, !variants[Int(b.strings[.variant]!.codes[i])] { continue }
            if let environments, !environments[Int(b.strings[.environment]!.codes[i])] { continue }
            if let operations, !operations[Int(op!.codes[i])] { continue }
            if !f.models.isEmpty {
                let rc = Int(req!.codes[i]), sc = Int(resp!.codes[i])
                if !(reqModels![rc] || respModels![sc]) { continue }
            }
            if f.genAIOnly && op?.codes[i] ?? 0 == 0 && prov?.codes[i] ?? 0 == 0 && req?.codes[i] ?? 0 == 0 && resp?.codes[i] ?? 0 == 0 {
                continue
            }
            var local: Int64 = 0
            for d in 0..<radix.count { local = local * radix[d] + localCodes[d](i) }
            var g: Int
            if dense, table[Int(local)] >= 0 {
                g = Int(table[Int(local)])
            } else {
                g = groupFor(row: i, batch: b)
                if dense { table[Int(local)] = Int32(g) }
            }
            groups[g].result.spans += 1
            if let status, status[i] == 2 { groups[g].result.errors += 1 }
            if let duration { groups[g].latency.append(Double(duration[i]) / 1e9) }
            if let ttft, let v = ttft[i] { groups[g].ttft.append(v) }
            if wantTokens, let input, let output {
                let inTok = input[i], outTok = output[i]
                if inTok != nil || outTok != nil {
                    groups[g].result.spansWithTokens += 1
                    groups[g].result.inputTokens += inTok ?? 0
                    groups[g].result.outputTokens += outTok ?? 0
                    groups[g].result.cacheReadTokens += cacheRead?[i] ?? 0
                    groups[g].result.reasoningTokens += reasoning?[i] ?? 0
                }
                if wantCost {
                    if let r = reported?[i] {
                        groups[g].result.spansCosted += 1
                        groups[g].result.costUSD += r
                    } else if inTok != nil || outTok != nil {
                        let rc = Int(req?.codes[i] ?? 0), sc = Int(resp?.codes[i] ?? 0)
                        if let price = respPrice[sc] ?? reqPrice[rc], let period = price.period(at: t) {
                            let usage = TokenUsage(input: inTok ?? 0, output: outTok ?? 0, cacheRead: cacheRead?[i] ?? 0,
                                                   cacheCreation: cacheWrite?[i] ?? 0, reasoning: reasoning?[i] ?? 0)
                            let p = period.prices(forInputTokens: usage.input)
                            groups[g].result.spansCosted += 1
                            groups[g].result.costUSD += PriceBook.cost(usage: usage, prices: p)
                            if cacheRead?[i] == nil && p.cachedInput != nil && usage.input > 0 { groups[g].result.spansCostUpperBound += 1 }
                        }
                    }
                }
            }
        }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// The accumulator index of a row's group, creating it on first sight.
    private mutating func groupFor(row i: Int, batch b: ColumnBatch) -> Int {
        var key: [Int64] = []
        key.reserveCapacity(query.groupBy.count)
        for (d, g) in query.groupBy.enumerated() {
            if let bucket = g.bucketNanos {
                key.append(Self.floorDiv(b.ints[.startTime]![i], bucket))
                continue
            }
            var value = ""
            if g == .model {
                value = Self.string(b.strings[.responseModel], i) ?? Self.string(b.strings[.requestModel], i) ?? ""
            } else if let col = Self.column(for: g) {
                value = Self.string(b.strings[col], i) ?? ""
            }
            if let id = dimensionIDs[d][value] {
                key.append(id)
            } else {
                let id = Int64(dimensionNames[d].count)
                dimensionIDs[d][value] = id
                dimensionNames[d].append(value)
                key.append(id)
            }
        }
        if let g = groupIndex[key] { return g }
        groups.append(Accumulator(key: key, result: GroupResult(key: [])))
        groupIndex[key] = groups.count - 1
        return groups.count - 1
    }

    static func string(_ col: (dictionary: [String], codes: [Int64])?, _ i: Int) -> String? {
        guard let col else { return nil }
        let c = col.codes[i]
        return c == 0 ? nil : col.dictionary[Int(c - 1)]
    }

    /// Finishes the groups: names, exact quantiles, sorted by key.
    func finish() -> [GroupResult] {
        var out: [GroupResult] = []
        out.reserveCapacity(groups.count)
        for var acc in groups {
            var result = acc.result
            result.key = acc.key.enumerated().map { d, id in
                let g = query.groupBy[d]
                if let bucket = g.bucketNanos { return String(id * bucket) }
                return dimensionNames[d][Int(id)]
            }
            if query.metrics.contains(.ttft) { result.ttft = Self.distribution(&acc.ttft, query.quantiles) }
            if query.metrics.contains(.latency) { result.latency = Self.distribution(&acc.latency, query.quantiles) }
            out.append(result)
        }
        let bucketDims = Set(query.groupBy.indices.filter { query.groupBy[$0].bucketNanos != nil })
        return out.sorted { a, b in
            for d in a.key.indices where a.key[d] != b.key[d] {
                if bucketDims.contains(d) { return Int64(a.key[d])! < Int64(b.key[d])! }
                return a.key[d] < b.key[d]
            }
            return false
        }
    }

    /// Quantiles by linear interpolation between closest ranks (numpy's default, DuckDB's quantile_cont).
    static func distribution(_ values: inout [Double], _ quantiles: [Double]) -> Distribution? {
        guard !values.isEmpty else { return nil }
        values.sort()
        let n = values.count
        let qs = quantiles.map { q -> Double in
            let pos = Double(n - 1) * q
            let lo = Int(pos.rounded(.down))
            let hi = min(lo + 1, n - 1)
            return values[lo] + (values[hi] - values[lo]) * (pos - Double(lo))
        }
        let mean = values.reduce(0, +) / Double(n)
        return Distribution(count: n, quantiles: quantiles, values: qs, mean: mean)
    }
}

extension SQLiteSpanStore {
    /// Aggregates stored spans (sealed and journal) for a query.
    public func queryNow(_ query: SpanQuery, prices: PriceBook) throws(StoreError) -> QueryResult {
        var engine = QueryEngine(query: query, prices: prices)
        let columns = engine.neededColumns
        var scanned = 0, skipped = 0, journal = 0
        try withLock { () throws(StoreError) in
            for seg in try segments() {
                guard seg.zone.mayMatch(query.filter) else { skipped += 1; continue }
                scanned += 1
                engine.add(try ColumnBatch(chunks: try segmentChunks(seg.id, columns)))
            }
            for chunks in try journalChunks(columns, filter: query.filter) {
                journal += 1
                engine.add(try ColumnBatch(chunks: chunks))
            }
        }
        return QueryResult(groupBy: query.groupBy, groups: engine.finish(), segmentsScanned: scanned, segmentsSkipped: skipped,
                           journalBatchesScanned: journal)
    }
}
