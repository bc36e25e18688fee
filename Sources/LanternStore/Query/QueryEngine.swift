import Foundation
import LanternModel

/// Decoded columns of one segment or journal batch, as a query needs them: integers dense,
/// strings as dictionary codes, nullable columns as values plus presence flags.
struct ColumnBatch {
    var count = 0
    var ints: [ColumnID: [Int64]] = [:]
    var strings: [ColumnID: StringCodes] = [:]
    var nullableInts: [ColumnID: (values: [Int64], present: [Bool])] = [:]
    var doubles: [ColumnID: (values: [Double], present: [Bool])] = [:]

    struct StringCodes {
        var dictionary: [String]
        /// 0 = null, k = dictionary[k - 1].
        var codes: [Int64]
        func value(_ i: Int) -> String? { codes[i] == 0 ? nil : dictionary[Int(codes[i] - 1)] }
    }

    init(chunks: [ColumnID: [UInt8]]) throws(StoreError) {
        for (id, chunk) in chunks {
            try chunk.withUnsafeBufferPointer { (c: UnsafeBufferPointer<UInt8>) throws(StoreError) in
                try ChunkCompression.withPayload(c) { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) in
                    var r = ByteReader(b)
                    switch id {
                    case .startTime, .duration, .statusCode, .kind:
                        let v = try IntCodec.decode(&r)
                        ints[id] = v
                        count = v.count
                    case .inputTokens, .outputTokens, .cacheReadTokens, .cacheCreationTokens, .reasoningTokens:
                        nullableInts[id] = try NullableIntCodec.decodeDense(&r)
                    case .timeToFirstToken, .reportedCost:
                        doubles[id] = try NullableDoubleCodec.decodeDense(&r)
                    default:
                        let (d, codes) = try StringDictionaryCodec.decodeCodes(&r)
                        strings[id] = StringCodes(dictionary: d, codes: codes)
                    }
                }
            }
        }
    }
}

/// Runs `SpanQuery` aggregates over segments and the journal: zone maps skip segments, only the
/// needed columns are read, filters become per-code flag tables, and each row finds its group
/// through a dense per-segment table of local codes.
struct QueryEngine {
    let query: SpanQuery
    let prices: PriceBook

    private var groupIndex: [[String]: Int] = [:]
    private(set) var groups: [Accumulator] = []

    struct Accumulator {
        var result: GroupResult
        var ttft: [Double] = []
        var latency: [Double] = []
    }

    init(query: SpanQuery, prices: PriceBook) {
        self.query = query
        self.prices = prices
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

    /// Rows that pass the filter.
    private func selection(_ b: ColumnBatch) -> [Bool] {
        let n = b.count
        let f = query.filter
        var keep = [Bool](repeating: true, count: n)
        let start = b.ints[.startTime]!
        if f.from != nil || f.until != nil {
            let lo = f.from ?? .min, hi = f.until ?? .max
            for i in 0..<n where start[i] < lo || start[i] >= hi { keep[i] = false }
        }
        func restrict(_ id: ColumnID, _ wanted: [String]) {
            guard !wanted.isEmpty, let col = b.strings[id] else { return }
            let allowed = [false] + col.dictionary.map { wanted.contains($0) }
            col.codes.withUnsafeBufferPointer { codes in
                for i in 0..<n where !allowed[Int(codes[i])] { keep[i] = false }
            }
        }
        restrict(.serviceName, f.services)
        restrict(.variant, f.variants)
        restrict(.environment, f.environments)
        restrict(.operation, f.operations)
        if !f.models.isEmpty, let req = b.strings[.requestModel], let resp = b.strings[.responseModel] {
            let a = [false] + req.dictionary.map { f.models.contains($0) }
            let c = [false] + resp.dictionary.map { f.models.contains($0) }
            for i in 0..<n where !(a[Int(req.codes[i])] || c[Int(resp.codes[i])]) { keep[i] = false }
        }
        if f.genAIOnly {
            let cols = [ColumnID.operation, .provider, .requestModel, .responseModel].compactMap { b.strings[$0]?.codes }
            for i in 0..<n where keep[i] && cols.allSatisfy({ $0[i] == 0 }) { keep[i] = false }
        }
        return keep
    }

    mutating func add(_ b: ColumnBatch) {
        let n = b.count
        guard n > 0 else { return }
        let keep = selection(b)
        let start = b.ints[.startTime]!

        // Local group code per row: mixed radix over dictionary codes and bucket offsets.
        var local = [Int](repeating: 0, count: n)
        var radix = 1
        var dense = true
        let minStart = start.min()!, maxStart = start.max()!
        for g in query.groupBy {
            var width: Int
            if let bucket = g.bucketNanos {
                let lo = Self.floorDiv(minStart, bucket)
                width = Int(Self.floorDiv(maxStart, bucket) - lo + 1)
                for i in 0..<n { local[i] = local[i] &* width &+ Int(Self.floorDiv(start[i], bucket) - lo) }
            } else if g == .model {
                let req = b.strings[.requestModel], resp = b.strings[.responseModel]
                let reqWidth = (req?.dictionary.count ?? 0) + 1
                width = reqWidth * ((resp?.dictionary.count ?? 0) + 1)
                for i in 0..<n { local[i] = local[i] &* width &+ Int(resp?.codes[i] ?? 0) * reqWidth + Int(req?.codes[i] ?? 0) }
            } else if let col = Self.column(for: g), let s = b.strings[col] {
                width = s.dictionary.count + 1
                s.codes.withUnsafeBufferPointer { codes in
                    for i in 0..<n { local[i] = local[i] &* width &+ Int(codes[i]) }
                }
            } else {
                width = 1
            }
            let (product, overflow) = radix.multipliedReportingOverflow(by: width)
            radix = product
            if overflow || radix > 1 << 22 { dense = false }
        }
        var table = [Int32](repeating: -1, count: dense ? radix : 0)
        var sparse: [Int: Int] = [:]

        let metrics = query.metrics
        let status = metrics.contains(.errors) ? b.ints[.statusCode] : nil
        let duration = metrics.contains(.latency) ? b.ints[.duration] : nil
        let ttft = metrics.contains(.ttft) ? b.doubles[.timeToFirstToken] : nil
        let wantTokens = metrics.contains(.tokens) || metrics.contains(.cost)
        let wantCost = metrics.contains(.cost)
        let input = b.nullableInts[.inputTokens], output = b.nullableInts[.outputTokens]
        let cacheRead = b.nullableInts[.cacheReadTokens], cacheWrite = b.nullableInts[.cacheCreationTokens]
        let reasoning = b.nullableInts[.reasoningTokens], reported = b.doubles[.reportedCost]
        let req = b.strings[.requestModel], resp = b.strings[.responseModel]
        // Prices per local model code: response model first, request model when that is unpriced.
        var respPrice: [ModelPrice?] = [], reqPrice: [ModelPrice?] = []
        if wantCost {
            respPrice = [nil] + (resp?.dictionary ?? []).map { prices.lookup(model: $0) }
            reqPrice = [nil] + (req?.dictionary ?? []).map { prices.lookup(model: $0) }
        }

        for i in 0..<n where keep[i] {
            let g: Int
            if dense {
                let t = table[local[i]]
                if t >= 0 { g = Int(t) } else {
                    g = groupFor(row: i, batch: b)
                    table[local[i]] = Int32(g)
                }
            } else if let t = sparse[local[i]] {
                g = t
            } else {
                g = groupFor(row: i, batch: b)
                sparse[local[i]] = g
            }
            groups[g].result.spans += 1
            if let status, status[i] == 2 { groups[g].result.errors += 1 }
            if let duration { groups[g].latency.append(Double(duration[i]) / 1e9) }
            if let ttft, ttft.present[i] { groups[g].ttft.append(ttft.values[i]) }
            guard wantTokens, let input, let output, input.present[i] || output.present[i] || reported?.present[i] == true else { continue }
            let inTok = input.values[i], outTok = output.values[i]
            if input.present[i] || output.present[i] {
                groups[g].result.spansWithTokens += 1
                groups[g].result.inputTokens += inTok
                groups[g].result.outputTokens += outTok
                groups[g].result.cacheReadTokens += cacheRead?.values[i] ?? 0
                groups[g].result.reasoningTokens += reasoning?.values[i] ?? 0
            }
            guard wantCost else { continue }
            if let reported, reported.present[i] {
                groups[g].result.spansCosted += 1
                groups[g].result.costUSD += reported.values[i]
                continue
            }
            let rc = Int(req?.codes[i] ?? 0), sc = Int(resp?.codes[i] ?? 0)
            guard let price = respPrice[sc] ?? reqPrice[rc], let period = price.period(at: start[i]) else { continue }
            let usage = TokenUsage(input: inTok, output: outTok, cacheRead: cacheRead?.values[i] ?? 0,
                                   cacheCreation: cacheWrite?.values[i] ?? 0, reasoning: reasoning?.values[i] ?? 0)
            let p = period.prices(forInputTokens: usage.input)
            groups[g].result.spansCosted += 1
            groups[g].result.costUSD += PriceBook.cost(usage: usage, prices: p)
            if cacheRead?.present[i] != true && p.cachedInput != nil && usage.input > 0 { groups[g].result.spansCostUpperBound += 1 }
        }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// The accumulator index of a row's group, creating it on first sight.
    private mutating func groupFor(row i: Int, batch b: ColumnBatch) -> Int {
        let key = query.groupBy.map { g -> String in
            if let bucket = g.bucketNanos { return String(Self.floorDiv(b.ints[.startTime]![i], bucket) * bucket) }
            if g == .model { return b.strings[.responseModel]?.value(i) ?? b.strings[.requestModel]?.value(i) ?? "" }
            if let col = Self.column(for: g) { return b.strings[col]?.value(i) ?? "" }
            return ""
        }
        return group(key)
    }

    private mutating func group(_ key: [String]) -> Int {
        if let g = groupIndex[key] { return g }
        groups.append(Accumulator(result: GroupResult(key: key)))
        groupIndex[key] = groups.count - 1
        return groups.count - 1
    }

    /// Folds another engine's groups (from another thread's share of the segments) into this one.
    mutating func merge(_ other: QueryEngine) {
        for acc in other.groups {
            let g = group(acc.result.key)
            var r = groups[g].result
            let o = acc.result
            r.spans += o.spans; r.errors += o.errors; r.spansWithTokens += o.spansWithTokens
            r.inputTokens += o.inputTokens; r.outputTokens += o.outputTokens; r.cacheReadTokens += o.cacheReadTokens
            r.reasoningTokens += o.reasoningTokens; r.spansCosted += o.spansCosted; r.costUSD += o.costUSD
            r.spansCostUpperBound += o.spansCostUpperBound
            groups[g].result = r
            groups[g].ttft += acc.ttft
            groups[g].latency += acc.latency
        }
    }

    /// Finishes the groups: exact quantiles, sorted by key (time buckets numerically).
    func finish() -> [GroupResult] {
        var out: [GroupResult] = []
        out.reserveCapacity(groups.count)
        for var acc in groups {
            var result = acc.result
            if query.metrics.contains(.ttft) { result.ttft = Self.distribution(&acc.ttft, query.quantiles) }
            if query.metrics.contains(.latency) { result.latency = Self.distribution(&acc.latency, query.quantiles) }
            out.append(result)
        }
        let bucketDims = Set(query.groupBy.indices.filter { query.groupBy[$0].bucketNanos != nil })
        return out.sorted { a, b in
            for d in a.key.indices where a.key[d] != b.key[d] {
                if bucketDims.contains(d) { return (Int64(a.key[d]) ?? 0) < (Int64(b.key[d]) ?? 0) }
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
    /// Aggregates stored spans (sealed and journal) for a query, decoding segments on two threads.
    public func queryNow(_ query: SpanQuery, prices: PriceBook) throws(StoreError) -> QueryResult {
        let columns = QueryEngine(query: query, prices: prices).neededColumns
        let (segments, journal) = try withLock { () throws(StoreError) in
            (try self.segments(), try journalChunks(columns, filter: query.filter))
        }
        let wanted = segments.filter { $0.zone.mayMatch(query.filter) }
        let workers = min(2, max(1, wanted.count))
        let engines = EngineSlots(count: workers, query: query, prices: prices)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var engine = QueryEngine(query: query, prices: prices)
            do throws(StoreError) {
                for k in stride(from: w, to: wanted.count, by: workers) {
                    let chunks = try withLock { () throws(StoreError) in try segmentChunks(wanted[k].id, columns) }
                    engine.add(try ColumnBatch(chunks: chunks))
                }
                if w == 0 { for chunks in journal { engine.add(try ColumnBatch(chunks: chunks)) } }
            } catch {
                engines.fail(error)
            }
            engines.set(w, engine)
        }
        if let error = engines.error { throw error }
        var total = engines.engines[0]
        for e in engines.engines.dropFirst() { total.merge(e) }
        return QueryResult(groupBy: query.groupBy, groups: total.finish(), segmentsScanned: wanted.count,
                           segmentsSkipped: segments.count - wanted.count, journalBatchesScanned: journal.count)
    }
}

/// Per-worker engines of a parallel query.
private final class EngineSlots: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var engines: [QueryEngine]
    private(set) var error: StoreError?

    init(count: Int, query: SpanQuery, prices: PriceBook) {
        engines = (0..<count).map { _ in QueryEngine(query: query, prices: prices) }
    }

    func set(_ i: Int, _ e: QueryEngine) { lock.lock(); engines[i] = e; lock.unlock() }
    func fail(_ e: StoreError) { lock.lock(); error = e; lock.unlock() }
}
