import LanternModel

extension SpanColumns {
    /// Encodes every column into its own chunk. Sealed segments compress where it pays;
    /// journal entries stay uncompressed so appends stay cheap.
    func encodeChunks(compress: Bool) -> [(ColumnID, [UInt8])] {
        ColumnID.allCases.map { id in
            var w = ByteWriter()
            encode(id, into: &w, journal: !compress)
            return (id, ChunkCompression.seal(w.bytes, allowCompression: compress && id.compressible))
        }
    }

    /// Encodes one column; the `journal` form stores strings plainly (no dictionary to build).
    func encode(_ id: ColumnID, into w: inout ByteWriter, journal: Bool = false) {
        switch id {
        case .traceID:
            var index: [TraceID: Int64] = [:]
            var distinct: [TraceID] = []
            var codes = [Int64](repeating: 0, count: count)
            for i in 0..<count {
                let t = TraceID(high: traceHigh[i], low: traceLow[i])
                if let c = index[t] { codes[i] = c } else {
                    codes[i] = Int64(distinct.count)
                    index[t] = Int64(distinct.count)
                    distinct.append(t)
                }
            }
            w.varint(distinct.count)
            for t in distinct { w.fixed64(t.high); w.fixed64(t.low) }
            IntCodec.encode(codes, into: &w)
        case .spanID:
            w.varint(count)
            for v in spanID { w.fixed64(v) }
        case .parentSpanID:
            var rowOf: [UInt64: Int] = [:]
            rowOf.reserveCapacity(count)
            for (i, s) in spanID.enumerated() where rowOf[s] == nil { rowOf[s] = i }
            var refs = [Int64](repeating: 0, count: count)
            var literals: [UInt64] = []
            for (i, p) in parentSpanID.enumerated() where p != 0 {
                if let j = rowOf[p] {
                    refs[i] = 2 + Int64(bitPattern: zigzag(Int64(j - i)))
                } else {
                    refs[i] = 1
                    literals.append(p)
                }
            }
            IntCodec.encode(refs, into: &w)
            w.varint(literals.count)
            for l in literals { w.fixed64(l) }
        case .name: StringDictionaryCodec.encode(name, into: &w, plain: journal)
        case .kind: IntCodec.encode(kind, into: &w)
        case .startTime: IntCodec.encode(startTime, into: &w)
        case .duration: IntCodec.encode(duration, into: &w)
        case .statusCode: IntCodec.encode(statusCode, into: &w)
        case .statusMessage: StringDictionaryCodec.encode(statusMessage, into: &w, plain: journal)
        case .flags: IntCodec.encode(flags, into: &w)
        case .traceState: StringDictionaryCodec.encode(traceState, into: &w, plain: journal)
        case .droppedCounts:
            IntCodec.encode(droppedAttributes, into: &w)
            IntCodec.encode(droppedEvents, into: &w)
            IntCodec.encode(droppedLinks, into: &w)
        case .origin: Self.encodeBlobDictionary(origins, originCode, into: &w)
        case .attributeShape: Self.encodeBlobDictionary(shapes, shapeCode, into: &w)
        case .provenance:
            var index: [UInt128: Int64] = [:]
            var distinct: [UInt128] = []
            let codes = provenance.map { p -> Int64 in
                if let c = index[p] { return c }
                index[p] = Int64(distinct.count)
                distinct.append(p)
                return Int64(distinct.count - 1)
            }
            w.varint(distinct.count)
            for p in distinct { w.fixed64(UInt64(truncatingIfNeeded: p)); w.fixed64(UInt64(truncatingIfNeeded: p >> 64)) }
            IntCodec.encode(codes, into: &w)
        case .attributeValues: BytesCodec.encode(residual.writer.bytes, offsets: residual.offsets, into: &w)
        case .events: BytesCodec.encode(events.writer.bytes, offsets: events.offsets, into: &w)
        case .links: BytesCodec.encode(links.writer.bytes, offsets: links.offsets, into: &w)
        case .inputTokens, .outputTokens, .cacheReadTokens, .cacheCreationTokens, .reasoningTokens:
            NullableIntCodec.encode(ints[id] ?? [], into: &w)
        case .timeToFirstToken, .reportedCost:
            NullableDoubleCodec.encode(doubles[id] ?? [], into: &w)
        default:
            StringDictionaryCodec.encode(strings[id] ?? [], into: &w, plain: journal)
        }
    }

    static func encodeBlobDictionary(_ blobs: [[UInt8]], _ codes: [Int64], into w: inout ByteWriter) {
        w.varint(blobs.count)
        for b in blobs { w.lengthPrefixed(b) }
        IntCodec.encode(codes, into: &w)
    }

    static func decodeBlobDictionary(_ r: inout ByteReader) throws(StoreError) -> (blobs: [[UInt8]], codes: [Int64]) {
        let n = try r.count(limit: r.remaining)
        var blobs: [[UInt8]] = []
        for _ in 0..<n { blobs.append(Array(try r.lengthPrefixed())) }
        let codes = try IntCodec.decode(&r)
        for c in codes where c < 0 || c >= Int64(n) { throw .corrupt("dictionary code \(c) outside \(n) entries") }
        return (blobs, codes)
    }

    /// Rebuilds a batch from its chunks (every column must be present).
    init(chunks: [ColumnID: [UInt8]]) throws(StoreError) {
        self.init()
        func payload(_ id: ColumnID) throws(StoreError) -> [UInt8] {
            guard let chunk = chunks[id] else { throw .corrupt("segment is missing column \(id)") }
            return try chunk.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) in try ChunkCompression.open(b) }
        }
        func read<T>(_ id: ColumnID, _ body: (inout ByteReader) throws(StoreError) -> T) throws(StoreError) -> T {
            let p = try payload(id)
            return try p.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) -> T in
                var r = ByteReader(b)
                return try body(&r)
            }
        }
        let ids = try read(.traceID) { (r: inout ByteReader) throws(StoreError) -> ([TraceID], [Int64]) in
            let n = try r.count(limit: r.remaining / 16)
            var d: [TraceID] = []
            for _ in 0..<n { d.append(TraceID(high: try r.fixed64(), low: try r.fixed64())) }
            return (d, try IntCodec.decode(&r))
        }
        count = ids.1.count
        for c in ids.1 {
            guard c >= 0, c < Int64(ids.0.count) else { throw .corrupt("trace id code out of range") }
            traceHigh.append(ids.0[Int(c)].high); traceLow.append(ids.0[Int(c)].low)
        }
        spanID = try read(.spanID) { (r: inout ByteReader) throws(StoreError) -> [UInt64] in
            let n = try r.count(limit: r.remaining / 8)
            var out: [UInt64] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try r.fixed64()) }
            return out
        }
        let spanIDs = spanID
        parentSpanID = try read(.parentSpanID) { (r: inout ByteReader) throws(StoreError) -> [UInt64] in
            let refs = try IntCodec.decode(&r)
            let nLiterals = try r.count(limit: r.remaining / 8)
            var literals: [UInt64] = []
            for _ in 0..<nLiterals { literals.append(try r.fixed64()) }
            var next = 0
            var out = [UInt64](repeating: 0, count: refs.count)
            for (i, ref) in refs.enumerated() {
                if ref == 1 {
                    guard next < literals.count else { throw .corrupt("parent literal missing") }
                    out[i] = literals[next]; next += 1
                } else if ref >= 2 {
                    let j = i + Int(unzigzag(UInt64(ref - 2)))
                    guard j >= 0, j < spanIDs.count else { throw .corrupt("parent reference out of range") }
                    out[i] = spanIDs[j]
                }
            }
            return out
        }
        name = try read(.name) { (r: inout ByteReader) throws(StoreError) in try StringDictionaryCodec.decode(&r) }
        kind = try read(.kind) { (r: inout ByteReader) throws(StoreError) in try IntCodec.decode(&r) }
        startTime = try read(.startTime) { (r: inout ByteReader) throws(StoreError) in try IntCodec.decode(&r) }
        duration = try read(.duration) { (r: inout ByteReader) throws(StoreError) in try IntCodec.decode(&r) }
        statusCode = try read(.statusCode) { (r: inout ByteReader) throws(StoreError) in try IntCodec.decode(&r) }
        statusMessage = try read(.statusMessage) { (r: inout ByteReader) throws(StoreError) in try StringDictionaryCodec.decode(&r) }
        flags = try read(.flags) { (r: inout ByteReader) throws(StoreError) in try IntCodec.decode(&r) }
        traceState = try read(.traceState) { (r: inout ByteReader) throws(StoreError) in try StringDictionaryCodec.decode(&r) }
        let dropped = try read(.droppedCounts) { (r: inout ByteReader) throws(StoreError) in
            (try IntCodec.decode(&r), try IntCodec.decode(&r), try IntCodec.decode(&r))
        }
        (droppedAttributes, droppedEvents, droppedLinks) = dropped
        (origins, originCode) = try read(.origin) { (r: inout ByteReader) throws(StoreError) in try Self.decodeBlobDictionary(&r) }
        (shapes, shapeCode) = try read(.attributeShape) { (r: inout ByteReader) throws(StoreError) in try Self.decodeBlobDictionary(&r) }
        provenance = try read(.provenance) { (r: inout ByteReader) throws(StoreError) -> [UInt128] in
            let n = try r.count(limit: r.remaining / 16)
            var d: [UInt128] = []
            for _ in 0..<n {
                let lo = try r.fixed64(), hi = try r.fixed64()
                d.append(UInt128(hi) << 64 | UInt128(lo))
            }
            let codes = try IntCodec.decode(&r)
            var out: [UInt128] = []
            for c in codes {
                guard c >= 0, c < Int64(n) else { throw .corrupt("provenance code out of range") }
                out.append(d[Int(c)])
            }
            return out
        }
        for (id, _) in Self.stringColumns {
            strings[id] = try read(id) { (r: inout ByteReader) throws(StoreError) in try StringDictionaryCodec.decode(&r) }
        }
        for (id, _) in Self.intColumns {
            ints[id] = try read(id) { (r: inout ByteReader) throws(StoreError) in try NullableIntCodec.decode(&r) }
        }
        for (id, _) in Self.doubleColumns {
            doubles[id] = try read(id) { (r: inout ByteReader) throws(StoreError) in try NullableDoubleCodec.decode(&r) }
        }
        func stream(_ id: ColumnID) throws(StoreError) -> ByteStreamColumn {
            let (data, offsets) = try read(id) { (r: inout ByteReader) throws(StoreError) in try BytesCodec.decode(&r) }
            var s = ByteStreamColumn()
            s.writer.bytes = data
            s.offsets = offsets
            return s
        }
        residual = try stream(.attributeValues)
        events = try stream(.events)
        links = try stream(.links)
        var lengths: [Int] = [spanID.count, parentSpanID.count, name.count, kind.count, startTime.count, duration.count]
        lengths += [statusCode.count, originCode.count, shapeCode.count, provenance.count, residual.rows, events.rows, links.rows]
        lengths += [statusMessage.count, flags.count, traceState.count, droppedAttributes.count, droppedEvents.count, droppedLinks.count]
        for v in strings.values { lengths.append(v.count) }
        for v in ints.values { lengths.append(v.count) }
        for v in doubles.values { lengths.append(v.count) }
        guard lengths.allSatisfy({ $0 == count }) else { throw .corrupt("columns of one segment disagree on the row count") }
    }
}
