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
    /// Trace ids as a dictionary plus a code per row; span ids per row (read only to join scores).
    var traceIDs: (dictionary: [TraceID], codes: [Int64])?
    var spanIDs: [UInt64]?

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
                        ints[id] = try IntCodec.decode(&r)
                    case .inputTokens, .outputTokens, .cacheReadTokens, .cacheCreationTokens, .reasoningTokens:
                        // A column with no values at all is left out: readers treat it as absent.
                        let d = try NullableIntCodec.decodeDense(&r)
                        if d.present.contains(true) { nullableInts[id] = d }
                    case .timeToFirstToken, .reportedCost:
                        let d = try NullableDoubleCodec.decodeDense(&r)
                        if d.present.contains(true) { doubles[id] = d }
                    case .traceID:
                        let n = try r.count(limit: r.remaining / 16)
                        var d: [TraceID] = []
                        d.reserveCapacity(n)
                        for _ in 0..<n { d.append(TraceID(high: try r.fixed64(), low: try r.fixed64())) }
                        let codes = try IntCodec.decode(&r)
                        guard codes.allSatisfy({ $0 >= 0 && $0 < Int64(n) }) else { throw .corrupt("trace id code out of range") }
                        traceIDs = (d, codes)
                    case .spanID:
                        let n = try r.count(limit: r.remaining / 8)
                        var out: [UInt64] = []
                        out.reserveCapacity(n)
                        for _ in 0..<n { out.append(try r.fixed64()) }
                        spanIDs = out
                    default:
                        let (d, codes) = try StringDictionaryCodec.decodeCodes(&r)
                        strings[id] = StringCodes(dictionary: d, codes: codes)
                    }
                }
            }
        }
        guard let rows = ints[.startTime]?.count else { throw .corrupt("a query batch needs the start time column") }
        count = rows
        let consistent = ints.values.allSatisfy { $0.count == rows } && strings.values.allSatisfy { $0.codes.count == rows }
            && nullableInts.values.allSatisfy { $0.values.count == rows && $0.present.count == rows }
            && doubles.values.allSatisfy { $0.values.count == rows && $0.present.count == rows }
            && (traceIDs?.codes.count ?? rows) == rows && (spanIDs?.count ?? rows) == rows
        guard consistent else { throw .corrupt("columns of one segment disagree on the row count") }
    }
}

/// Runs `SpanQuery` aggregates over segments and the journal: zone maps skip segments, only the
/// needed columns are read, filters become per-code flag tables, and each row finds its group
/// through a dense per-segment table of local codes.
struct QueryEngine {
    let query: SpanQuery
    let prices: PriceBook
    /// The scores a quality query joins to spans (empty when none could match).
    let scores: ScoreJoin

    private var groupIndex: [[String]: Int] = [:]
    var groups: [Accumulator] = []

    struct Accumulator {
        var result: GroupResult
        var ttft: [Double] = []
        var latency: [Double] = []
        var tpot: [Double] = []
        var outputLength: [Double] = []
        /// Indices into the score join of scores on the group's spans, and of scores on whole
        /// traces the group's model-calling spans belong to (a set: a trace counts once).
        var spanScores: [Int32] = []
        var traceScores: Set<Int32> = []
        /// Token sums per price slot, for spans whose cost is linear in their tokens.
        var priced: [(slot: Int, sums: TokenSums)] = []
    }

    /// Exact integer sums of the tokens of spans priced at one price.
    struct TokenSums {
        var spans = 0
        var upperBound = 0
        var input: Int64 = 0, output: Int64 = 0, cacheRead: Int64 = 0, cacheCreation: Int64 = 0, reasoning: Int64 = 0

        mutating func add(_ o: TokenSums) {
            spans += o.spans; upperBound += o.upperBound
            input = input.clampedAdding(o.input); output = output.clampedAdding(o.output)
            cacheRead = cacheRead.clampedAdding(o.cacheRead); cacheCreation = cacheCreation.clampedAdding(o.cacheCreation)
            reasoning = reasoning.clampedAdding(o.reasoning)
        }
    }

    /// Spans per (request model, response model) pair, when grouping by `model`: a span without a
    /// response model (a failed call) is grouped under the response model its request model is
    /// most often answered by (`resolveRequestOnlyModels`).
    var modelPairs: [String: [String: Int]] = [:]
    /// Marks a `model` key taken from the request model alone, until `finish` resolves it.
    static let requestOnlyMarker = "\u{1}"

    /// Prices that spans were summed under (a model's period without tiers), by slot number.
    var slotPrices: [TokenPrices] = []
    private var slotIndex: [String: Int] = [:]

    init(query: SpanQuery, prices: PriceBook, scores: ScoreJoin = ScoreJoin(scores: [])) {
        self.query = query
        self.prices = prices
        self.scores = scores
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
        // The model columns are always read: every group reports how many spans called a model.
        var c: Set<ColumnID> = [.startTime, .requestModel, .responseModel]
        let f = query.filter
        let m = query.metrics
        if !f.services.isEmpty { c.insert(.serviceName) }
        if !f.variants.isEmpty { c.insert(.variant) }
        if !f.environments.isEmpty { c.insert(.environment) }
        if !f.operations.isEmpty { c.insert(.operation) }
        if !f.models.isEmpty { c.formUnion([.requestModel, .responseModel]) }
        if f.genAIOnly { c.formUnion([.operation, .provider, .requestModel, .responseModel, .inputTokens, .outputTokens]) }
        for g in query.groupBy {
            if let col = Self.column(for: g) { c.insert(col) }
            if g == .model { c.formUnion([.requestModel, .responseModel]) }
        }
        if m.contains(.errors) { c.insert(.statusCode) }
        if m.contains(.latency) { c.insert(.duration) }
        if m.contains(.ttft) { c.formUnion([.timeToFirstToken, .requestModel, .responseModel]) }
        if m.contains(.tokens) || m.contains(.cost) {
            c.formUnion([.inputTokens, .outputTokens, .cacheReadTokens, .reasoningTokens, .requestModel, .responseModel])
        }
        if m.contains(.cost) { c.formUnion([.cacheCreationTokens, .reportedCost, .requestModel, .responseModel]) }
        if m.contains(.tpot) { c.formUnion([.duration, .timeToFirstToken, .outputTokens]) }
        if m.contains(.outputLength) { c.insert(.outputTokens) }
        if m.contains(.mixes) { c.formUnion([.finishReason, .errorType, .statusCode]) }
        if m.contains(.quality) && !scores.isEmpty { c.formUnion([.traceID, .spanID]) }
        return c
    }

    /// The indices of the rows that pass the filter, ascending, in memory the caller deallocates:
    /// each condition narrows the list the previous ones left (the first reads every row).
    private func selectedRows(_ b: ColumnBatch) -> UnsafeMutableBufferPointer<Int> {
        let n = b.count
        let f = query.filter
        let rows = UnsafeMutableBufferPointer<Int>.allocate(capacity: n)
        var count = 0
        var all = true
        /// Keeps the rows (every row, before the first condition) for which `pass` holds. Every row
        /// is written and the count advanced by the condition's outcome: no branch to mispredict.
        func narrow(_ pass: (Int) -> Bool) {
            var kept = 0
            if all {
                for i in 0..<n { rows[kept] = i; kept &+= pass(i).asInt }
                all = false
            } else {
                // In place: `kept` never passes the row being read.
                for j in 0..<count { let i = rows[j]; rows[kept] = i; kept &+= pass(i).asInt }
            }
            count = kept
        }
        if f.from != nil || f.until != nil {
            let lo = f.from ?? .min, hi = f.until ?? .max
            let start = b.ints[.startTime]!
            start.withUnsafeBufferPointer { s in narrow { s[$0] >= lo && s[$0] < hi } }
        }
        func restrict(_ id: ColumnID, _ wanted: [String]) {
            guard !wanted.isEmpty, let col = b.strings[id] else { return }
            let allowed = [false] + col.dictionary.map { wanted.contains($0) }
            allowed.withUnsafeBufferPointer { a in
                col.codes.withUnsafeBufferPointer { codes in narrow { a[Int(codes[$0])] } }
            }
        }
        restrict(.serviceName, f.services)
        restrict(.variant, f.variants)
        restrict(.environment, f.environments)
        restrict(.operation, f.operations)
        if !f.models.isEmpty, let req = b.strings[.requestModel], let resp = b.strings[.responseModel] {
            let a = [false] + req.dictionary.map { f.models.contains($0) }
            let c = [false] + resp.dictionary.map { f.models.contains($0) }
            narrow { a[Int(req.codes[$0])] || c[Int(resp.codes[$0])] }
        }
        if f.genAIOnly {
            let cols = [ColumnID.operation, .provider, .requestModel, .responseModel].compactMap { b.strings[$0]?.codes }
            let tokens = [ColumnID.inputTokens, .outputTokens].compactMap { b.nullableInts[$0]?.present }
            narrow { i in !cols.allSatisfy({ $0[i] == 0 }) || tokens.contains(where: { $0[i] }) }
        }
        if all {
            for i in 0..<n { rows[i] = i }
            count = n
        }
        return UnsafeMutableBufferPointer(rebasing: rows[..<count])
    }

    mutating func add(_ b: ColumnBatch) {
        let n = b.count
        guard n > 0 else { return }
        // The selected rows' indices: every later pass visits only these. The per-row working
        // arrays below are raw memory, freed on return: indexed without checks or copy-on-write.
        let rows = UnsafeBufferPointer(selectedRows(b))
        defer { rows.deallocate() }
        let m = rows.count
        guard m > 0 else { return }
        let start = b.ints[.startTime]!

        // Local group code per selected row: mixed radix over dictionary codes and bucket offsets.
        let local = UnsafeMutableBufferPointer<Int>.allocate(capacity: m)
        local.initialize(repeating: 0)
        defer { local.deallocate() }
        var radix = 1
        var dense = true
        var minStart = Int64.max, maxStart = Int64.min
        for i in rows { minStart = min(minStart, start[i]); maxStart = max(maxStart, start[i]) }
        for g in query.groupBy {
            var width: Int
            if let bucket = g.bucketNanos {
                let lo = Self.floorDiv(minStart, bucket)
                width = Int(Self.floorDiv(maxStart, bucket) - lo + 1)
                // Bucket offsets by multiplying with the reciprocal, corrected to be exact.
                let (origin, overflow) = lo.multipliedReportingOverflow(by: bucket)
                // A start time within a bucket of Int64.min (an unsigned time past 2^63 ns): no offsets, every row's key is built.
                if overflow { dense = false; radix = Int.max; continue }
                let inverse = 1.0 / Double(bucket)
                start.withUnsafeBufferPointer { s in
                    for j in 0..<m {
                        let d = s[rows[j]] &- origin
                        var k = Int64(Double(d) * inverse)
                        if k &* bucket > d { k -= 1 } else if (k &+ 1) &* bucket <= d { k += 1 }
                        local[j] = local[j] &* width &+ Int(k)
                    }
                }
            } else if g == .model {
                let req = b.strings[.requestModel], resp = b.strings[.responseModel]
                let reqWidth = (req?.dictionary.count ?? 0) + 1
                width = reqWidth * ((resp?.dictionary.count ?? 0) + 1)
                for j in 0..<m {
                    let i = rows[j]
                    local[j] = local[j] &* width &+ Int(resp?.codes[i] ?? 0) * reqWidth + Int(req?.codes[i] ?? 0)
                }
            } else if let col = Self.column(for: g), let s = b.strings[col] {
                width = s.dictionary.count + 1
                s.codes.withUnsafeBufferPointer { codes in
                    for j in 0..<m { local[j] = local[j] &* width &+ Int(codes[rows[j]]) }
                }
            } else {
                width = 1
            }
            let (product, overflow) = radix.multipliedReportingOverflow(by: width)
            radix = overflow ? Int.max : product
            if overflow || radix > 1 << 22 { dense = false }
        }
        var table = [Int32](repeating: -1, count: dense ? radix : 0)
        var sparse: [Int: Int32] = [:]
        let cacheable = dense || radix < Int.max / 2 && !query.groupBy.isEmpty || query.groupBy.isEmpty

        let metrics = query.metrics
        let wantTokens = metrics.contains(.tokens) || metrics.contains(.cost)
        let wantCost = metrics.contains(.cost)
        // Columns a metric did not ask for, or that hold no value in this batch, are never indexed:
        // each use below is behind the flag that says the column is there.
        let hasStatus = metrics.contains(.errors) && b.ints[.statusCode] != nil
        let status = b.ints[.statusCode] ?? []
        let hasDuration = metrics.contains(.latency) && b.ints[.duration] != nil
        let duration = b.ints[.duration] ?? []
        let wantTTFT = metrics.contains(.ttft)
        let hasTTFT = (wantTTFT || metrics.contains(.tpot)) && b.doubles[.timeToFirstToken] != nil
        let ttft = b.doubles[.timeToFirstToken] ?? ([], [])
        // Whether this query reads the token columns (`neededColumns`): a batch decoded for several
        // queries may carry them when this one did not ask, and must not change its answer.
        let tokenColumnsRead = wantTokens || metrics.contains(.tpot) || metrics.contains(.outputLength) || query.filter.genAIOnly
        let hasTokens = wantTokens && (b.nullableInts[.inputTokens] != nil || b.nullableInts[.outputTokens] != nil || b.doubles[.reportedCost] != nil)
        let readsUsage = tokenColumnsRead && (b.nullableInts[.inputTokens] != nil || b.nullableInts[.outputTokens] != nil)
        // Token columns are dense where they are read at all (a missing one as zeros, never present).
        let usageRows = hasTokens || readsUsage || metrics.contains(.outputLength) || metrics.contains(.tpot)
        func tokens(_ id: ColumnID) -> (values: [Int64], present: [Bool]) {
            b.nullableInts[id] ?? (usageRows ? ([Int64](repeating: 0, count: n), [Bool](repeating: false, count: n)) : ([], []))
        }
        typealias Ints = (values: [Int64], present: [Bool])
        let input = tokens(.inputTokens), output = tokens(.outputTokens)
        let cacheRead: Ints = wantTokens ? tokens(.cacheReadTokens) : ([], []), cacheWrite: Ints = wantCost ? tokens(.cacheCreationTokens) : ([], [])
        let reasoning: Ints = wantTokens ? tokens(.reasoningTokens) : ([], [])
        let reported: (values: [Double], present: [Bool]) =
            wantCost ? (b.doubles[.reportedCost] ?? ([Double](repeating: 0, count: n), [Bool](repeating: false, count: n))) : ([], [])
        let noCodes = [Int64](repeating: 0, count: b.strings[.requestModel] == nil || b.strings[.responseModel] == nil ? n : 0)
        let reqCodes = b.strings[.requestModel]?.codes ?? noCodes, respCodes = b.strings[.responseModel]?.codes ?? noCodes
        let wantTPOT = metrics.contains(.tpot) && b.ints[.duration] != nil && hasTTFT
        let wantOutputLength = metrics.contains(.outputLength)
        // Mixes are counted per (group, local code) in flat tables and folded into the groups' maps after the batch.
        let wantMixes = metrics.contains(.mixes) && b.ints[.statusCode] != nil
        let finishColumn = b.strings[.finishReason], errorColumn = b.strings[.errorType]
        let finishCodes = finishColumn?.codes ?? [Int64](repeating: 0, count: wantMixes ? n : 0)
        let errorCodes = errorColumn?.codes ?? [Int64](repeating: 0, count: wantMixes ? n : 0)
        let finishWidth = (finishColumn?.dictionary.count ?? 0) + 1, errorWidth = (errorColumn?.dictionary.count ?? 0) + 1
        // Scores: which of the batch's traces have any, by local trace code.
        let joinScores = metrics.contains(.quality) && !scores.isEmpty && b.traceIDs != nil && b.spanIDs != nil
        let traceCodes = b.traceIDs?.codes ?? []
        let spanIDs = b.spanIDs ?? []
        let scoredTrace: [Int32?] = joinScores ? b.traceIDs!.dictionary.map { self.scores.traceIndex[$0] } : []

        // Prices per local model code (response model first, else request model), resolved to one
        // period when the batch's time range lies inside it.
        var priceTable: [[ModelPrice?]] = []
        var fixedPeriod: [[PricePeriod?]] = []
        var linearSlots: [[Int]] = []
        if wantCost {
            let req = b.strings[.requestModel], resp = b.strings[.responseModel]
            let reqPrice = [nil] + (req?.dictionary ?? []).map { prices.lookup(model: $0) }
            let respPrice = [nil] + (resp?.dictionary ?? []).map { prices.lookup(model: $0) }
            priceTable = respPrice.map { rp in reqPrice.map { rq in rp ?? rq } }
            fixedPeriod = priceTable.map { row in
                row.map { price -> PricePeriod? in
                    guard let price, let p = price.period(at: minStart), let q = price.period(at: maxStart), p == q else { return nil }
                    return p
                }
            }
            linearSlots = zip(priceTable, fixedPeriod).map { prices, periods in
                zip(prices, periods).map { price, period -> Int in
                    guard let price, let period, period.tiers.isEmpty else { return -1 }
                    return linearSlot(price, period)
                }
            }
        }

        // Pass 1: each selected row's group (creating groups on first sight), as a local index into
        // `touched`, the groups this batch touches: the per-batch count tables are as small as those.
        var touched: [Int] = []
        var localOfGroup: [Int: Int32] = [:]
        func localIndex(_ g: Int) -> Int32 {
            if let l = localOfGroup[g] { return l }
            let l = Int32(touched.count)
            touched.append(g)
            localOfGroup[g] = l
            return l
        }
        let groupOf = UnsafeMutableBufferPointer<Int32>.allocate(capacity: m)
        defer { groupOf.deallocate() }
        table.withUnsafeMutableBufferPointer { table in
            for j in 0..<m {
                if dense {
                    let t = table[local[j]]
                    if t >= 0 { groupOf[j] = t; continue }
                    // Several local codes can name one group (model: request/response pairs answered by one model).
                    let l = localIndex(groupFor(row: rows[j], batch: b))
                    table[local[j]] = l
                    groupOf[j] = l
                } else if cacheable, let t = sparse[local[j]] {
                    groupOf[j] = t
                } else {
                    let l = localIndex(groupFor(row: rows[j], batch: b))
                    if cacheable { sparse[local[j]] = l }
                    groupOf[j] = l
                }
            }
        }
        let touchedCount = touched.count
        if query.groupBy.contains(.model), let req = b.strings[.requestModel], let resp = b.strings[.responseModel] {
            let reqWidth = req.dictionary.count + 1
            var pairs = [Int](repeating: 0, count: reqWidth * (resp.dictionary.count + 1))
            for i in rows where req.codes[i] != 0 && resp.codes[i] != 0 {
                pairs[Int(resp.codes[i]) * reqWidth + Int(req.codes[i])] += 1
            }
            for (k, count) in pairs.enumerated() where count > 0 {
                modelPairs[req.dictionary[k % reqWidth - 1], default: [:]][resp.dictionary[k / reqWidth - 1], default: 0] += count
            }
        }

        // Pass 2, column at a time: the counts every query reports, per local group, without branches.
        let counts = BatchCounts(groups: touchedCount)
        defer { counts.deallocate() }
        reqCodes.withUnsafeBufferPointer { req in
            respCodes.withUnsafeBufferPointer { resp in
                for j in 0..<m {
                    let i = rows[j], l = Int(groupOf[j])
                    counts.spans[l] &+= 1
                    counts.modelSpans[l] &+= ((req[i] | resp[i]) != 0).asInt
                }
                if hasStatus {
                    status.withUnsafeBufferPointer { status in
                        for j in 0..<m { counts.errors[Int(groupOf[j])] &+= (status[rows[j]] == 2).asInt }
                    }
                }
                if hasTTFT {
                    ttft.present.withUnsafeBufferPointer { present in
                        for j in 0..<m {
                            let i = rows[j]
                            counts.modelSpansWithTTFT[Int(groupOf[j])] &+= ((req[i] | resp[i]) != 0).asInt & present[i].asInt
                        }
                    }
                }
                if readsUsage {
                    input.present.withUnsafeBufferPointer { input in
                        output.present.withUnsafeBufferPointer { output in
                            for j in 0..<m {
                                let i = rows[j]
                                counts.modelSpansWithTokens[Int(groupOf[j])] &+= ((req[i] | resp[i]) != 0).asInt & (input[i].asInt | output[i].asInt)
                            }
                        }
                    }
                }
            }
        }
        for l in 0..<touchedCount { add(counts, local: l, to: touched[l]) }
        // The values quantiles are taken of, staged per group and appended a group at a time.
        if wantTTFT && hasTTFT {
            ttft.values.withUnsafeBufferPointer { values in
                ttft.present.withUnsafeBufferPointer { present in
                    appendStaged(to: \.ttft, touched: touched, rows: rows, groupOf: UnsafeBufferPointer(groupOf)) { i in (present[i], values[i]) }
                }
            }
        }
        if hasDuration {
            duration.withUnsafeBufferPointer { duration in
                appendStaged(to: \.latency, touched: touched, rows: rows, groupOf: UnsafeBufferPointer(groupOf)) { i in
                    (true, Double(max(0, duration[i])) / 1e9)
                }
            }
        }

        // Pass 3, a row at a time, for what the columns above do not cover.
        guard wantMixes || wantTPOT || wantOutputLength || joinScores || hasTokens else { return }
        let refusalCode = [false] + (finishColumn?.dictionary ?? []).map(RefusalReasons.contains)
        var mixCounts = [Int](repeating: 0, count: wantMixes ? touchedCount * finishWidth : 0)
        var errorCounts = [Int](repeating: 0, count: wantMixes ? touchedCount * errorWidth : 0)
        let linearPrices = self.slotPrices
        let join = self.scores
        groups.withUnsafeMutableBufferPointer { groups in
          for j in 0..<m {
            let i = rows[j]
            let local = Int(groupOf[j])
            let g = touched[local]
            let rc = Int(reqCodes[i]), sc = Int(respCodes[i])
            do {
                let callsModel = rc != 0 || sc != 0
                if wantMixes {
                    let fc = Int(finishCodes[i])
                    if fc != 0 {
                        mixCounts[local &* finishWidth &+ fc] += 1
                        if callsModel && refusalCode[fc] { groups[g].result.refusals += 1 }
                    }
                    if status[i] == 2 { errorCounts[local &* errorWidth &+ Int(errorCodes[i])] += 1 }
                }
                if wantTPOT && ttft.1[i] && output.present[i] && output.values[i] > 1 {
                    let generating = Double(max(0, duration[i])) / 1e9 - ttft.0[i]
                    if generating >= 0 { groups[g].tpot.append(generating / Double(output.values[i] - 1)) }
                }
                if wantOutputLength && output.present[i] { groups[g].outputLength.append(Double(output.values[i])) }
                if joinScores, let t = scoredTrace[Int(traceCodes[i])] {
                    var feedback = false
                    for k in join.byTrace[Int(t)] {
                        let score = join.scores[Int(k)]
                        if let span = score.spanID {
                            guard span.raw == spanIDs[i] else { continue }
                            groups[g].spanScores.append(k)
                            if score.kind == .feedback { feedback = true }
                        } else if callsModel {
                            groups[g].traceScores.insert(k)
                            if score.kind == .feedback { feedback = true }
                        }
                    }
                    if feedback && callsModel { groups[g].result.spansWithFeedback += 1 }
                }
                guard hasTokens else { continue }
                let hasUsage = input.present[i] || output.present[i]
                if hasUsage {
                    groups[g].result.spansWithTokens += 1
                    groups[g].result.inputTokens = groups[g].result.inputTokens.clampedAdding(input.values[i])
                    groups[g].result.outputTokens = groups[g].result.outputTokens.clampedAdding(output.values[i])
                    groups[g].result.cacheReadTokens = groups[g].result.cacheReadTokens.clampedAdding(cacheRead.values[i])
                    groups[g].result.reasoningTokens = groups[g].result.reasoningTokens.clampedAdding(reasoning.values[i])
                }
                guard wantCost else { continue }
                if reported.present[i] {
                    groups[g].result.spansCosted += 1
                    groups[g].result.costUSD += reported.values[i]
                    continue
                }
                guard hasUsage else { continue }
                let inTok = input.values[i], cached = cacheRead.values[i], written = cacheWrite.values[i]
                let outTok = output.values[i], reasoned = reasoning.values[i]
                let slot = linearSlots[sc][rc]
                let (cachedAndWritten, overflow) = cached.addingReportingOverflow(written)
                if slot >= 0 && cached >= 0 && written >= 0 && reasoned >= 0 && !overflow && cachedAndWritten <= inTok && reasoned <= outTok {
                    // Linear in the tokens: sum them exactly and price the sums once, in finish().
                    var k = 0
                    while k < groups[g].priced.count && groups[g].priced[k].slot != slot { k += 1 }
                    if k == groups[g].priced.count { groups[g].priced.append((slot, TokenSums())) }
                    groups[g].priced[k].sums.spans += 1
                    var one = TokenSums()
                    one.input = inTok; one.output = outTok; one.cacheRead = cached; one.cacheCreation = written; one.reasoning = reasoned
                    groups[g].priced[k].sums.add(one)
                    if !cacheRead.present[i] && linearPrices[slot].cachedInput != nil && inTok > 0 { groups[g].priced[k].sums.upperBound += 1 }
                    continue
                }
                guard let price = priceTable[sc][rc], let period = fixedPeriod[sc][rc] ?? price.period(at: start[i]) else { continue }
                let usage = TokenUsage(input: inTok, output: outTok, cacheRead: cached, cacheCreation: written, reasoning: reasoned)
                let p = period.tiers.isEmpty ? period.base : period.prices(forInputTokens: usage.input)
                groups[g].result.spansCosted += 1
                groups[g].result.costUSD += PriceBook.cost(usage: usage, prices: p)
                if !cacheRead.present[i] && p.cachedInput != nil && usage.input > 0 { groups[g].result.spansCostUpperBound += 1 }
            }
          }
        }
        if wantMixes {
            for (local, g) in touched.enumerated() {
                for code in 1..<finishWidth where mixCounts[local * finishWidth + code] > 0 {
                    groups[g].result.finishReasons[finishColumn!.dictionary[code - 1], default: 0] += mixCounts[local * finishWidth + code]
                }
                for code in 0..<errorWidth where errorCounts[local * errorWidth + code] > 0 {
                    let type = code == 0 ? "" : errorColumn!.dictionary[code - 1]
                    groups[g].result.errorTypes[type, default: 0] += errorCounts[local * errorWidth + code]
                }
            }
        }
    }

    /// One batch's counts per local group (an index into the groups the batch touches), in one
    /// block of raw memory the caller deallocates.
    struct BatchCounts {
        let spans: UnsafeMutablePointer<Int>, modelSpans: UnsafeMutablePointer<Int>
        let modelSpansWithTTFT: UnsafeMutablePointer<Int>, modelSpansWithTokens: UnsafeMutablePointer<Int>
        let errors: UnsafeMutablePointer<Int>

        init(groups: Int) {
            spans = .allocate(capacity: 5 * groups)
            spans.initialize(repeating: 0, count: 5 * groups)
            (modelSpans, modelSpansWithTTFT) = (spans + groups, spans + 2 * groups)
            (modelSpansWithTokens, errors) = (spans + 3 * groups, spans + 4 * groups)
        }

        func deallocate() { spans.deallocate() }
    }

    /// Adds a batch's counts for local group `l` to group `g`.
    private mutating func add(_ counts: BatchCounts, local l: Int, to g: Int) {
        groups[g].result.spans += counts.spans[l]
        groups[g].result.modelSpans += counts.modelSpans[l]
        groups[g].result.modelSpansWithTTFT += counts.modelSpansWithTTFT[l]
        groups[g].result.modelSpansWithTokens += counts.modelSpansWithTokens[l]
        groups[g].result.errors += counts.errors[l]
    }

    /// Appends the present values of the selected rows (`value(row)`) to `path` of each row's group:
    /// staged in one buffer in group order (a counting sort, written without branches), then appended
    /// a group at a time, instead of growing a group's array row by row.
    @inline(__always)
    private mutating func appendStaged(to path: WritableKeyPath<Accumulator, [Double]>, touched: [Int], rows: UnsafeBufferPointer<Int>,
                                       groupOf: UnsafeBufferPointer<Int32>, _ value: (Int) -> (present: Bool, value: Double)) {
        let groupCount = touched.count, m = rows.count
        // begin[l + 1] counts group l's values, then begin[l] is where its region starts; each region
        // has one slot more than its values, which the rows without a value write to.
        let begin = UnsafeMutableBufferPointer<Int>.allocate(capacity: groupCount + 1)
        begin.initialize(repeating: 0)
        let cursor = UnsafeMutableBufferPointer<Int>.allocate(capacity: groupCount)
        defer { begin.deallocate(); cursor.deallocate() }
        for j in 0..<m { begin[Int(groupOf[j]) &+ 1] &+= value(rows[j]).present.asInt }
        var total = 0
        for l in 0..<groupCount {
            let count = begin[l + 1]
            begin[l] = total
            cursor[l] = total
            total += count + 1
        }
        begin[groupCount] = total
        let staged = UnsafeMutableBufferPointer<Double>.allocate(capacity: total)
        defer { staged.deallocate() }
        for j in 0..<m {
            let (present, v) = value(rows[j])
            let l = Int(groupOf[j])
            let c = cursor[l]
            staged[c] = v
            cursor[l] = c &+ present.asInt
        }
        for l in 0..<groupCount where cursor[l] > begin[l] {
            groups[touched[l]][keyPath: path].append(contentsOf: UnsafeBufferPointer(rebasing: staged[begin[l]..<cursor[l]]))
        }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// The start of the bucket holding time `t`; Int64.min for the few times whose bucket starts before it.
    static func bucketStart(_ t: Int64, _ bucket: Int64) -> Int64 {
        let (start, overflow) = floorDiv(t, bucket).multipliedReportingOverflow(by: bucket)
        return overflow ? .min : start
    }

    /// The accumulator index of a row's group, creating it on first sight.
    private mutating func groupFor(row i: Int, batch b: ColumnBatch) -> Int {
        let key = query.groupBy.map { g -> String in
            if let bucket = g.bucketNanos { return String(Self.bucketStart(b.ints[.startTime]![i], bucket)) }
            if g == .model {
                if let response = b.strings[.responseModel]?.value(i) { return response }
                return b.strings[.requestModel]?.value(i).map { Self.requestOnlyMarker + $0 } ?? ""
            }
            if let col = Self.column(for: g) { return b.strings[col]?.value(i) ?? "" }
            return ""
        }
        return group(key)
    }

    mutating func group(_ key: [String]) -> Int {
        if let g = groupIndex[key] { return g }
        groups.append(Accumulator(result: GroupResult(key: key)))
        groupIndex[key] = groups.count - 1
        return groups.count - 1
    }

    /// Folds another engine's groups (from another thread's share of the segments) into this one.
    mutating func merge(_ other: QueryEngine) {
        for (request, answers) in other.modelPairs {
            modelPairs[request, default: [:]].merge(answers, uniquingKeysWith: +)
        }
        for acc in other.groups {
            let slots = acc.priced.map { slotFor(other.slotPrices[$0.slot], key: other.slotKey($0.slot)) }
            mergeGroup(acc, into: group(acc.result.key), slots: slots)
        }
    }

    /// Adds an accumulator to group `g`; `slots` are this engine's price slots for the
    /// accumulator's priced sums, in order (engines number their slots independently).
    private mutating func mergeGroup(_ acc: Accumulator, into g: Int, slots: [Int]) {
        do {
            var r = groups[g].result
            let o = acc.result
            r.spans += o.spans; r.modelSpans += o.modelSpans; r.modelSpansWithTTFT += o.modelSpansWithTTFT
            r.modelSpansWithTokens += o.modelSpansWithTokens; r.errors += o.errors; r.spansWithTokens += o.spansWithTokens
            r.inputTokens = r.inputTokens.clampedAdding(o.inputTokens); r.outputTokens = r.outputTokens.clampedAdding(o.outputTokens)
            r.cacheReadTokens = r.cacheReadTokens.clampedAdding(o.cacheReadTokens)
            r.reasoningTokens = r.reasoningTokens.clampedAdding(o.reasoningTokens); r.spansCosted += o.spansCosted; r.costUSD += o.costUSD
            r.spansCostUpperBound += o.spansCostUpperBound
            r.finishReasons.merge(o.finishReasons, uniquingKeysWith: +)
            r.errorTypes.merge(o.errorTypes, uniquingKeysWith: +)
            r.refusals += o.refusals
            r.spansWithFeedback += o.spansWithFeedback
            groups[g].result = r
            groups[g].ttft += acc.ttft
            groups[g].latency += acc.latency
            groups[g].tpot += acc.tpot
            groups[g].outputLength += acc.outputLength
            groups[g].spanScores += acc.spanScores
            groups[g].traceScores.formUnion(acc.traceScores)
            for ((_, sums), slot) in zip(acc.priced, slots) {
                if let k = groups[g].priced.firstIndex(where: { $0.slot == slot }) {
                    groups[g].priced[k].sums.add(sums)
                } else {
                    groups[g].priced.append((slot, sums))
                }
            }
        }
    }

    /// The model a call that named only `request` is counted under: `request` itself when calls
    /// with it were answered under that same name or by no model in the majority; otherwise the
    /// response model that answered more than half of them (an alias such as `gpt-4o` answered
    /// as `gpt-4o-2024-08-06`).
    static func resolve(request: String, answers: [String: Int]) -> String {
        guard answers[request] == nil, let top = answers.max(by: { a, b in a.value != b.value ? a.value < b.value : a.key > b.key }) else {
            return request
        }
        return top.value * 2 > answers.values.reduce(0, +) ? top.key : request
    }

    /// Gives the groups keyed by a request model alone (calls that got no response model, usually
    /// failed ones) the model `resolve` finds from the (request, response) pairs of this query's
    /// spans, merging them into that model's group. So a model's error rate counts its failures.
    private mutating func resolveRequestOnlyModels() {
        let dims = query.groupBy.indices.filter { query.groupBy[$0] == .model }
        guard let d = dims.first else { return }
        let marker = Self.requestOnlyMarker
        guard groups.contains(where: { $0.result.key[d].hasPrefix(marker) }) else { return }
        var old = groups
        groups = []
        groupIndex = [:]
        let keys = old.map { acc -> (original: [String], resolved: [String]) in
            var key = acc.result.key
            for m in dims where key[m].hasPrefix(marker) {
                let request = String(key[m].dropFirst(marker.count))
                key[m] = Self.resolve(request: request, answers: modelPairs[request] ?? [:])
            }
            return (acc.result.key, key)
        }
        /// Moves accumulator `i` out of `old`, so its value arrays stay uniquely owned (no copies when they grow).
        func take(_ i: Int) -> Accumulator {
            let acc = old[i]
            old[i] = Accumulator(result: GroupResult(key: []))
            return acc
        }
        // Groups that already carry a response model first, so they keep their accumulators as they are.
        for i in keys.indices where !keys[i].original[d].hasPrefix(marker) {
            _ = group(keys[i].resolved)
            groups[groups.count - 1] = take(i)
        }
        for i in keys.indices where keys[i].original[d].hasPrefix(marker) {
            var moved = take(i)
            moved.result.key = keys[i].resolved
            if let g = groupIndex[moved.result.key] {
                mergeGroup(moved, into: g, slots: moved.priced.map(\.slot))
            } else {
                _ = group(moved.result.key)
                groups[groups.count - 1] = moved
            }
        }
    }

    /// The price slot whose token sums are priced at `period` of `price` (which has no tiers).
    mutating func linearSlot(_ price: ModelPrice, _ period: PricePeriod) -> Int {
        slotFor(period.base, key: "\(price.provider)/\(price.model)@\(period.fromUnixNano)")
    }

    private func slotKey(_ slot: Int) -> String {
        slotIndex.first { $0.value == slot }!.key
    }

    private mutating func slotFor(_ prices: TokenPrices, key: String) -> Int {
        if let s = slotIndex[key] { return s }
        slotPrices.append(prices)
        slotIndex[key] = slotPrices.count - 1
        return slotPrices.count - 1
    }

    /// Finishes the groups: request-only model keys resolved, exact quantiles, sorted by key (time
    /// buckets numerically). The collected values are consumed in place.
    mutating func finish() -> [GroupResult] {
        resolveRequestOnlyModels()
        var out: [GroupResult] = []
        out.reserveCapacity(groups.count)
        let keyOfSlot = Dictionary(uniqueKeysWithValues: slotIndex.map { ($0.value, $0.key) })
        // Exact quantiles of independent groups: two threads, each over every other group.
        let m = query.metrics
        if m.contains(.ttft) || m.contains(.latency) || m.contains(.tpot) || m.contains(.outputLength) {
            let quantiles = query.quantiles
            let wanted = [m.contains(.ttft), m.contains(.latency), m.contains(.tpot), m.contains(.outputLength)]
            let count = groups.count
            // Four distributions per group, computed on two threads over alternate groups.
            var out = [Distribution?](repeating: nil, count: count * 4)
            groups.withUnsafeMutableBufferPointer { g in
                out.withUnsafeMutableBufferPointer { o in
                    let (gp, op) = (UncheckedSendable(g), UncheckedSendable(o))
                    DispatchQueue.concurrentPerform(iterations: 2) { w in
                        for i in stride(from: w, to: count, by: 2) {
                            if wanted[0] { op.value[i * 4] = Self.distribution(&gp.value[i].ttft, quantiles) }
                            if wanted[1] { op.value[i * 4 + 1] = Self.distribution(&gp.value[i].latency, quantiles) }
                            if wanted[2] { op.value[i * 4 + 2] = Self.distribution(&gp.value[i].tpot, quantiles) }
                            if wanted[3] { op.value[i * 4 + 3] = Self.distribution(&gp.value[i].outputLength, quantiles) }
                        }
                    }
                }
            }
            for i in 0..<count {
                groups[i].result.ttft = out[i * 4]
                groups[i].result.latency = out[i * 4 + 1]
                groups[i].result.tpot = out[i * 4 + 2]
                groups[i].result.outputLength = out[i * 4 + 3]
            }
        }
        if m.contains(.quality) {
            for i in groups.indices {
                groups[i].result.scores = scores.summaries(of: groups[i].spanScores + groups[i].traceScores.sorted(), quantiles: query.quantiles)
            }
        }
        for i in groups.indices {
            var result = groups[i].result
            // Price the linear sums, in a fixed order so the result does not depend on segmentation.
            for (slot, sums) in groups[i].priced.sorted(by: { keyOfSlot[$0.slot]! < keyOfSlot[$1.slot]! }) {
                let usage = TokenUsage(input: sums.input, output: sums.output, cacheRead: sums.cacheRead,
                                       cacheCreation: sums.cacheCreation, reasoning: sums.reasoning)
                result.costUSD += PriceBook.cost(usage: usage, prices: slotPrices[slot])
                result.spansCosted += sums.spans
                result.spansCostUpperBound += sums.upperBound
            }
            groups[i].ttft = []
            groups[i].latency = []
            groups[i].tpot = []
            groups[i].outputLength = []
            out.append(result)
        }
        // Sort by key: time buckets numerically, other dimensions as text. Keys are parsed once
        // and an index array is sorted, so the (large) results are moved only once.
        let isBucket = query.groupBy.map { $0.bucketNanos != nil }
        let numeric = out.map { r in r.key.enumerated().map { d, k in isBucket[d] ? (Int64(k) ?? 0) : 0 } }
        let order = out.indices.sorted { a, b in
            for d in isBucket.indices {
                if isBucket[d] {
                    if numeric[a][d] != numeric[b][d] { return numeric[a][d] < numeric[b][d] }
                } else if out[a].key[d] != out[b].key[d] {
                    return out[a].key[d] < out[b].key[d]
                }
            }
            return false
        }
        return order.map { out[$0] }
    }

    /// Quantiles by linear interpolation between closest ranks (numpy's default, DuckDB's
    /// quantile_cont), found by selection rather than a full sort.
    static func distribution(_ values: inout [Double], _ quantiles: [Double]) -> Distribution? {
        guard !values.isEmpty else { return nil }
        let n = values.count
        var qs = [Double](repeating: 0, count: quantiles.count)
        var sum = 0.0
        values.withUnsafeMutableBufferPointer { v in
            for x in v { sum += x }
            // Order statistics needed, ascending. Once rank k is in place, everything after it is no
            // smaller, so the next rank is selected within k+1..<n and leaves position k alone.
            var ranks: [Int] = []
            ranks.reserveCapacity(quantiles.count * 2)
            for q in quantiles {
                let lo = Int((Double(n - 1) * q).rounded(.down))
                ranks.append(lo)
                ranks.append(min(lo + 1, n - 1))
            }
            ranks.sort()
            var from = 0
            var previous = -1
            for k in ranks where k != previous {
                if k == from && k > 0 && previous == k - 1 {
                    // The rank right after one in place is the smallest of the rest: one scan, no partitioning.
                    var smallest = k
                    for i in (k + 1)..<n where v[i] < v[smallest] { smallest = i }
                    v.swapAt(k, smallest)
                } else {
                    Selection.select(v, k, from: from, to: n - 1)
                }
                from = k + 1
                previous = k
            }
            for (j, q) in quantiles.enumerated() {
                let pos = Double(n - 1) * q
                let lo = Int(pos.rounded(.down))
                let hi = min(lo + 1, n - 1)
                qs[j] = v[lo] + (v[hi] - v[lo]) * (pos - Double(lo))
            }
        }
        return Distribution(count: n, quantiles: quantiles, values: qs, mean: sum / Double(n))
    }
}

/// Quickselect (median-of-three pivots, branchless Lomuto partitions): after `select(v, k, ...)`,
/// `v[k]` holds the value a full sort would put there, everything before it is no larger,
/// everything after no smaller. Branchless partitioning does not mispredict on random data (about
/// 2.5x faster than a Hoare partition here); a range that does not shrink fast enough (crafted
/// values, NaN pivots) is sorted instead, so no input makes it quadratic.
enum Selection {
    static func select(_ v: UnsafeMutableBufferPointer<Double>, _ k: Int, from: Int, to: Int) {
        guard let b = v.baseAddress else { return }
        var lo = from, hi = to
        // Each round at least halves the range on typical data; allow generous slack before sorting.
        var budget = 2 * (Int.bitWidth - (to - from + 1).leadingZeroBitCount) + 8
        while hi > lo {
            if hi - lo < 16 {
                // Insertion sort for small ranges.
                for i in (lo + 1)...hi {
                    let x = b[i]
                    var j = i - 1
                    while j >= lo && b[j] > x { b[j + 1] = b[j]; j -= 1 }
                    b[j + 1] = x
                }
                return
            }
            budget -= 1
            if budget < 0 {
                sortRange(v, lo, hi)
                return
            }
            let mid = lo + (hi - lo) / 2
            if b[mid] < b[lo] { v.swapAt(mid, lo) }
            if b[hi] < b[lo] { v.swapAt(hi, lo) }
            if b[hi] < b[mid] { v.swapAt(hi, mid) }
            // The median of the three is the pivot, kept at `hi` while the rest is partitioned.
            v.swapAt(mid, hi)
            let pivot = b[hi]
            let less = partition(b, lo, hi) { $0 < pivot }
            if k < less { hi = less - 1; continue }
            // The rest (pivot included) is no smaller: the values equal to the pivot go first.
            let equal = partition(b, less, hi + 1) { $0 <= pivot }
            if k < equal { return }
            if equal == less {
                // Nothing equals the pivot (NaN): no order to select by; sort what is left.
                sortRange(v, lo, hi)
                return
            }
            lo = equal
        }
    }

    private static func sortRange(_ v: UnsafeMutableBufferPointer<Double>, _ lo: Int, _ hi: Int) {
        var range = UnsafeMutableBufferPointer(rebasing: v[lo...hi])
        range.sort()
    }

    /// Moves the values of `b[lo..<hi]` for which `before` holds to the front, in one pass without
    /// branches; returns where the others begin.
    @inline(__always)
    private static func partition(_ b: UnsafeMutablePointer<Double>, _ lo: Int, _ hi: Int, _ before: (Double) -> Bool) -> Int {
        var store = lo
        var i = lo
        while i < hi {
            let x = b[i]
            b[i] = b[store]
            b[store] = x
            store &+= before(x).asInt
            i &+= 1
        }
        return store
    }
}

extension SQLiteSpanStore {
    /// Aggregates stored spans (sealed and journal) for a query, decoding segments on two threads.
    public func queryNow(_ query: SpanQuery, prices: PriceBook) throws(StoreError) -> QueryResult {
        try queryManyNow([query], prices: prices)[0]
    }

    /// Several aggregates over the same filter in one pass: each segment is read and decoded once
    /// and fed to every query's engine (a report's rows, total and timeline). Queries whose
    /// filters differ are run one after another.
    public func queryManyNow(_ queries: [SpanQuery], prices: PriceBook) throws(StoreError) -> [QueryResult] {
        guard let first = queries.first else { return [] }
        guard queries.allSatisfy({ $0.filter == first.filter }) else {
            var out: [QueryResult] = []
            for q in queries { out += try queryManyNow([q], prices: prices) }
            return out
        }
        let t0 = Date()
        // The engines are taken out of the scan's result so `finish` selects in their value arrays in place.
        var (engines, scanned, skipped, journal, rolledUp) = try scan(queries, prices: prices)
        var results: [QueryResult] = []
        for i in engines.indices {
            results.append(QueryResult(groupBy: engines[i].query.groupBy, groups: engines[i].finish(), segmentsScanned: scanned - rolledUp,
                                       segmentsSkipped: skipped, journalBatchesScanned: journal, segmentsFromRollups: rolledUp))
        }
        if ProcessInfo.processInfo.environment["LANTERN_QUERY_TIMING"] != nil {
            FileHandle.standardError.write(Data("query \(Int(Date().timeIntervalSince(t0) * 1000)) ms (finish included)\n".utf8))
        }
        return results
    }

    /// Every value of one per-span metric over the spans a filter selects, in no particular order
    /// (the sample a drift test compares).
    public func samplesNow(_ metric: SampleMetric, filter: SpanFilter) throws(StoreError) -> [Double] {
        let query = SpanQuery(filter: filter, groupBy: [], metrics: [metric.queryMetric])
        let run = try scan([query], prices: .empty)
        guard let group = run.engines[0].groups.first else { return [] }
        switch metric {
        case .ttft: return group.ttft
        case .latency: return group.latency
        case .tpot: return group.tpot
        case .outputTokens: return group.outputLength
        case .score(let name):
            let scores = run.engines[0].scores.scores
            return (group.spanScores + group.traceScores.sorted()).compactMap { k in
                let s = scores[Int(k)]
                return s.name == name ? s.value : nil
            }
        }
    }

    /// Runs the engines of queries that share one filter over the segments its zone maps cannot
    /// rule out and the journal, each batch decoded once, and merges the workers' engines (not yet
    /// finished).
    private func scan(_ queries: [SpanQuery], prices: PriceBook) throws(StoreError) -> (engines: [QueryEngine], scanned: Int, skipped: Int, journal: Int, rolledUp: Int) {
        let filter = queries[0].filter
        // Scores can be given well after their span (feedback a day later): take every score given
        // since an hour before the range, and let the join match them to the spans in it.
        let join: ScoreJoin
        if queries.contains(where: { $0.metrics.contains(.quality) }) {
            let since = filter.from.map { $0 > Int64.min + 3_600_000_000_000 ? $0 - 3_600_000_000_000 : .min } ?? .min
            join = ScoreJoin(scores: try scores(since: since))
        } else {
            join = ScoreJoin(scores: [])
        }
        let fresh: @Sendable () -> [QueryEngine] = { queries.map { QueryEngine(query: $0, prices: prices, scores: join) } }
        let columns = fresh().reduce(into: Set<ColumnID>()) { $0.formUnion($1.neededColumns) }
        let (segments, journal) = try withLock { () throws(StoreError) in
            try readSnapshot { () throws(StoreError) in (try self.segments(), try journalChunks(columns, filter: filter)) }
        }
        let wanted = segments.filter { $0.zone.mayMatch(filter) }
        // Engines that may read a segment's rollup instead of its columns (when it lies inside the time range).
        let rollupReaders = fresh().map { configuration.readsRollups && $0.readsRollups }
        let rolledUp = Counter()
        let workers = min(2, max(1, wanted.count))
        let slots = EngineSlots(workers: workers, fresh())
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var engines = fresh()
            do throws(StoreError) {
                func feed(_ batch: ColumnBatch) {
                    for i in engines.indices { engines[i].add(batch) }
                }
                for k in stride(from: w, to: wanted.count, by: workers) {
                    var scanning = Array(engines.indices)
                    let zone = wanted[k].zone
                    if rollupReaders.contains(true) && (filter.from.map { $0 <= zone.minStart } ?? true) && (filter.until.map { zone.maxStart < $0 } ?? true),
                       let rollup = try withLock({ () throws(StoreError) in try segmentRollup(wanted[k].id) }) {
                        scanning.removeAll { rollupReaders[$0] && engines[$0].add(rollup: rollup, minStart: zone.minStart, maxStart: zone.maxStart) }
                        if scanning.isEmpty { rolledUp.add(1); continue }
                    }
                    guard let chunks = try withLock({ () throws(StoreError) in try segmentChunks(wanted[k].id, columns) }) else { continue }
                    let batch = try ColumnBatch(chunks: chunks)
                    for i in scanning { engines[i].add(batch) }
                }
                if w == 0 { for chunks in journal { feed(try ColumnBatch(chunks: chunks)) } }
            } catch {
                slots.fail(error)
            }
            slots.set(w, engines)
        }
        if let error = slots.error { throw error }
        var all = slots.takeAll()
        var total = all.removeFirst()
        for other in all {
            for i in total.indices { total[i].merge(other[i]) }
        }
        return (total, wanted.count, segments.count - wanted.count, journal.count, rolledUp.value)
    }
}

/// A count shared by a parallel scan's workers.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) { lock.lock(); count += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

/// Per-worker engines of a parallel scan (one engine per query).
private final class EngineSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var engines: [[QueryEngine]]
    private(set) var error: StoreError?

    init(workers: Int, _ empty: [QueryEngine]) {
        engines = Array(repeating: empty, count: workers)
    }

    func set(_ i: Int, _ e: [QueryEngine]) { lock.lock(); engines[i] = e; lock.unlock() }

    /// Moves the engines out (so their buffers are uniquely owned by the caller).
    func takeAll() -> [[QueryEngine]] {
        lock.lock()
        defer { lock.unlock() }
        let out = engines
        engines = []
        return out
    }
    func fail(_ e: StoreError) { lock.lock(); error = e; lock.unlock() }
}

/// Hands a buffer to worker threads that write disjoint elements of it.
private struct UncheckedSendable<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
