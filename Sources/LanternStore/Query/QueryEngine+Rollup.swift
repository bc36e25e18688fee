import LanternModel

extension QueryEngine {
    static let rollupGroupKeys: Set<GroupKey> = [
        .service, .serviceVersion, .environment, .operation, .provider, .model, .requestModel, .responseModel, .variant, .rollout,
        .hour, .day,
    ]
    static let rollupMetrics: Set<QueryMetric> = [.count, .errors, .tokens, .cost]

    /// Whether segment rollups can answer this query: it groups by rollup dimensions and whole
    /// hours or days only, and asks only for counts, errors, tokens and cost (every filter field is
    /// a rollup dimension; the time range is checked per segment).
    var readsRollups: Bool {
        query.groupBy.allSatisfy(Self.rollupGroupKeys.contains) && query.metrics.isSubset(of: Self.rollupMetrics)
    }

    /// Adds a sealed segment through its rollup instead of its rows; the segment must lie inside
    /// the filter's time range (`minStart`, `maxStart`: its zone map's). Returns false, having
    /// added nothing, when the cost of some of its spans must be priced span by span: a tiered
    /// price, a price that changes within a cell's hour, or token counts too irregular to sum.
    mutating func add(rollup r: SegmentRollup, minStart: Int64, maxStart: Int64) -> Bool {
        let n = r.cellCount
        guard n > 0 else { return true }
        let f = query.filter
        func dimension(_ id: ColumnID) -> Int { SegmentRollup.dimensions.firstIndex(of: id)! }
        func allowed(_ id: ColumnID, _ wanted: [String]) -> [Bool] { [false] + r.values[dimension(id)].map { wanted.contains($0) } }

        var keep = [Bool](repeating: true, count: n)
        for (id, wanted) in [(ColumnID.serviceName, f.services), (.variant, f.variants), (.environment, f.environments), (.operation, f.operations)]
        where !wanted.isEmpty {
            let a = allowed(id, wanted), codes = r.codes[dimension(id)]
            for k in 0..<n where !a[Int(codes[k])] { keep[k] = false }
        }
        let reqDim = dimension(.requestModel), respDim = dimension(.responseModel)
        let req = r.codes[reqDim], resp = r.codes[respDim]
        if !f.models.isEmpty {
            let a = allowed(.requestModel, f.models), b = allowed(.responseModel, f.models)
            for k in 0..<n where !(a[Int(req[k])] || b[Int(resp[k])]) { keep[k] = false }
        }
        if f.genAIOnly {
            let operation = r.codes[dimension(.operation)], provider = r.codes[dimension(.provider)]
            for k in 0..<n where operation[k] == 0 && provider[k] == 0 && req[k] == 0 && resp[k] == 0 && !r.usage[k] { keep[k] = false }
        }

        let metrics = query.metrics
        let wantTokens = metrics.contains(.tokens) || metrics.contains(.cost)
        let wantCost = metrics.contains(.cost)
        let m = r.measures
        // The price slot of each priced cell (usage, no reported cost), decided before anything is added.
        var slot = [Int](repeating: -1, count: wantCost ? n : 0)
        if wantCost {
            let reqPrice = [nil] + r.values[reqDim].map { prices.lookup(model: $0) }
            let respPrice = [nil] + r.values[respDim].map { prices.lookup(model: $0) }
            let reqWidth = reqPrice.count
            // Per (response, request) model pair: the slot when one price period covers the whole segment.
            var segmentSlot: [Int: Int?] = [:]
            for k in 0..<n where keep[k] && r.usage[k] && !r.reported[k] {
                guard let price = respPrice[Int(resp[k])] ?? reqPrice[Int(req[k])] else { continue }
                guard m.irregular[k] == 0 else { return false }
                let pair = Int(resp[k]) * reqWidth + Int(req[k])
                if segmentSlot[pair] == nil {
                    let period = price.period(at: minStart)
                    segmentSlot[pair] = .some(period != nil && period == price.period(at: maxStart) && period!.tiers.isEmpty
                                              ? linearSlot(price, period!) : nil)
                }
                if let known = segmentSlot[pair]!, known >= 0 {
                    slot[k] = known
                    continue
                }
                // The price changes within the segment (or is tiered): the cell's own hour decides.
                let (hourStart, overflow) = r.hour[k].multipliedReportingOverflow(by: SegmentRollup.hourNanos)
                let first = overflow ? minStart : max(hourStart, minStart)
                let last = overflow ? maxStart : min(hourStart &+ (SegmentRollup.hourNanos - 1), maxStart)
                let period = price.period(at: first)
                guard period == price.period(at: last) else { return false }
                guard let period else { continue }
                guard period.tiers.isEmpty else { return false }
                slot[k] = linearSlot(price, period)
            }
        }

        let tokenColumnsRead = wantTokens || f.genAIOnly
        let countErrors = metrics.contains(.errors)
        let reqWidth = r.values[reqDim].count + 1
        var pairCounts = [Int](repeating: 0, count: query.groupBy.contains(.model) ? reqWidth * (r.values[respDim].count + 1) : 0)
        let local = rollupLocalCodes(r)
        var groupOfLocal: [Int: Int] = [:]
        for k in 0..<n where keep[k] {
            let g: Int
            if let code = local?[k], let known = groupOfLocal[code] {
                g = known
            } else {
                g = group(rollupKey(r, cell: k))
                if let code = local?[k] { groupOfLocal[code] = g }
            }
            let spans = Int(truncatingIfNeeded: m.spans[k])
            let callsModel = req[k] != 0 || resp[k] != 0
            if !pairCounts.isEmpty && req[k] != 0 && resp[k] != 0 { pairCounts[Int(resp[k]) * reqWidth + Int(req[k])] &+= spans }
            var result = groups[g].result
            result.spans &+= spans
            if callsModel {
                result.modelSpans &+= spans
                if tokenColumnsRead && r.usage[k] { result.modelSpansWithTokens &+= spans }
            }
            if countErrors { result.errors &+= Int(truncatingIfNeeded: m.errors[k]) }
            if wantTokens && r.usage[k] {
                result.spansWithTokens &+= spans
                result.inputTokens = result.inputTokens.clampedAdding(m.input[k])
                result.outputTokens = result.outputTokens.clampedAdding(m.output[k])
                result.cacheReadTokens = result.cacheReadTokens.clampedAdding(m.cacheRead[k])
                result.reasoningTokens = result.reasoningTokens.clampedAdding(m.reasoning[k])
            }
            if wantCost && r.reported[k] {
                result.spansCosted &+= spans
                result.costUSD += m.reportedCost[k]
            }
            groups[g].result = result
            guard wantCost && !r.reported[k] && r.usage[k] && slot[k] >= 0 else { continue }
            let s = slot[k]
            var sums = TokenSums()
            sums.spans = spans
            sums.input = m.input[k]
            sums.output = m.output[k]
            sums.cacheRead = m.cacheRead[k]
            sums.cacheCreation = m.cacheCreation[k]
            sums.reasoning = m.reasoning[k]
            if slotPrices[s].cachedInput != nil { sums.upperBound = Int(truncatingIfNeeded: m.cacheReadMissing[k]) }
            if let i = groups[g].priced.firstIndex(where: { $0.slot == s }) {
                groups[g].priced[i].sums.add(sums)
            } else {
                groups[g].priced.append((s, sums))
            }
        }
        for (p, count) in pairCounts.enumerated() where count > 0 {
            modelPairs[r.values[reqDim][p % reqWidth - 1], default: [:]][r.values[respDim][p / reqWidth - 1], default: 0] += count
        }
        return true
    }

    /// A cell's group key, as `groupFor(row:batch:)` builds it for a row of the cell.
    private func rollupKey(_ r: SegmentRollup, cell k: Int) -> [String] {
        query.groupBy.map { g -> String in
            if let bucket = g.bucketNanos {
                // floor(t / bucket) = floor(floor(t / hour) / (bucket / hour)) for buckets of whole hours.
                let (start, overflow) = Self.floorDiv(r.hour[k], bucket / SegmentRollup.hourNanos).multipliedReportingOverflow(by: bucket)
                return String(overflow ? .min : start)
            }
            func value(_ column: ColumnID) -> String? {
                let d = SegmentRollup.dimensions.firstIndex(of: column)!
                let code = Int(r.codes[d][k])
                return code == 0 ? nil : r.values[d][code - 1]
            }
            if g == .model {
                if let response = value(.responseModel) { return response }
                return value(.requestModel).map { Self.requestOnlyMarker + $0 } ?? ""
            }
            return Self.column(for: g).flatMap(value) ?? ""
        }
    }

    /// Per cell, a number that is the same for two cells exactly when their group keys are (mixed
    /// radix over the grouped dimensions' codes and bucket numbers); nil when it would overflow.
    private func rollupLocalCodes(_ r: SegmentRollup) -> [Int]? {
        let n = r.cellCount
        var local = [Int](repeating: 0, count: n)
        var radix = 1
        for g in query.groupBy {
            var width = 1
            if let bucket = g.bucketNanos {
                let hours = bucket / SegmentRollup.hourNanos
                let buckets = r.hour.map { Self.floorDiv($0, hours) }
                let lo = buckets.min()!
                let (span, overflow) = buckets.max()!.subtractingReportingOverflow(lo)
                guard !overflow, span < 1 << 32 else { return nil }
                width = Int(span) + 1
                for k in 0..<n { local[k] = local[k] &* width &+ Int(buckets[k] - lo) }
            } else if g == .model {
                let req = r.codes[SegmentRollup.dimensions.firstIndex(of: .requestModel)!]
                let resp = r.codes[SegmentRollup.dimensions.firstIndex(of: .responseModel)!]
                let reqWidth = r.values[SegmentRollup.dimensions.firstIndex(of: .requestModel)!].count + 1
                width = reqWidth * (r.values[SegmentRollup.dimensions.firstIndex(of: .responseModel)!].count + 1)
                for k in 0..<n { local[k] = local[k] &* width &+ Int(resp[k]) * reqWidth &+ Int(req[k]) }
            } else if let column = Self.column(for: g), let d = SegmentRollup.dimensions.firstIndex(of: column) {
                width = r.values[d].count + 1
                for k in 0..<n { local[k] = local[k] &* width &+ Int(r.codes[d][k]) }
            }
            let (product, overflow) = radix.multipliedReportingOverflow(by: width)
            guard !overflow, product < 1 << 48 else { return nil }
            radix = product
        }
        return local
    }
}
