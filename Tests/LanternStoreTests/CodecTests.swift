import LanternTesting
import Testing
@testable import LanternStore
import LanternModel

// Column codecs one by one: exact round trips (bit patterns, string bytes), compact encodings where
// the design promises them, and damaged input that must throw `StoreError.corrupt`, never crash.

@Suite("Column codecs")
struct CodecTests {
    // MARK: IntCodec

    @Test("IntCodec: an empty column is one byte and decodes empty")
    func intEmpty() throws {
        let bytes = encodeInts([])
        #expect(bytes == [0])
        let decoded = try decoding(bytes) { try IntCodec.decode(&$0) }
        #expect(decoded.value == [])
        #expect(decoded.consumedAll)
    }

    @Test("IntCodec: one value", arguments: [Int64.min, Int64.min + 1, -1, 0, 1, 1_760_000_000_000_000_000, Int64.max])
    func intOneValue(_ v: Int64) throws {
        try expectIntRoundTrip([v])
    }

    @Test("IntCodec: all-equal values pack to width 0 (a header and no bits)")
    func intAllEqual() throws {
        for v in [Int64.min, -7, 0, 1_760_000_000_000_000_000, Int64.max] {
            let values = [Int64](repeating: v, count: 1000)
            let bytes = encodeInts(values)
            let header = try intHeader(bytes)
            #expect(header.width == 0, "value \(v)")
            #expect(header.end == bytes.count, "value \(v): no packed bits follow the header")
            try expectIntRoundTrip(values)
        }
    }

    @Test("IntCodec: Int64.min/max mixes whose range overflows a frame of reference")
    func intExtremes() throws {
        let cases: [[Int64]] = [
            [Int64.min, Int64.max],
            [Int64.max, Int64.min],
            [0, Int64.min, Int64.max, -1, 1],
            [-1, Int64.max, 0, Int64.min, -2],
            [Int64.min, Int64.min + 1, Int64.max - 1, Int64.max],
            (0..<100).map { $0 % 2 == 0 ? Int64.min : Int64.max },
            (0..<100).map { Int64.max - Int64($0) },
            (0..<100).map { Int64.min + Int64($0) * 3 },
            (0..<100).map { $0 % 3 == 0 ? Int64.min : Int64($0) },
            [Int64.max, Int64.max, Int64.min, Int64.min],
        ]
        for values in cases { try expectIntRoundTrip(values) }
    }

    @Test("IntCodec: sorted timestamps choose delta encoding")
    func intSortedTimestamps() throws {
        var rng = SplitMix64(seed: 7)
        var t: Int64 = 1_760_000_000_000_000_000
        var values: [Int64] = []
        for _ in 0..<5000 {
            t += 1_000_000 + Int64.random(in: 0..<64, using: &rng)
            values.append(t)
        }
        let bytes = encodeInts(values)
        let header = try intHeader(bytes)
        #expect(header.mode == 1, "delta mode")
        #expect(header.width == 6, "deltas 1_000_000...1_000_063 need 6 bits over their minimum")
        #expect(bytes.count <= header.end + (4999 * 6 + 7) / 8)
        try expectIntRoundTrip(values)
    }

    @Test("IntCodec: codes that step by 0 or 1 with a rare jump back choose blocked deltas")
    func intBlockedDeltas() throws {
        // Trace-id codes: non-decreasing by 0 or 1, except where a trace continues from an
        // earlier batch. One jump back must widen one block of 128, not the whole column.
        var rng = SplitMix64(seed: 11)
        var values: [Int64] = []
        var code: Int64 = 0
        for i in 0..<20_000 {
            if i == 9_001 { values.append(3); continue }
            code += Int64.random(in: 0...1, using: &rng)
            values.append(code)
        }
        let bytes = encodeInts(values)
        #expect(try intHeader(bytes).mode == 2, "blocked delta mode")
        #expect(bytes.count < 20_000 / 8 + 157 * 4 + 64, "about one bit per value plus a small header per block")
        try expectIntRoundTrip(values)
        // Every block boundary and a last partial block.
        for n in [129, 130, 256, 257, 1000] { try expectIntRoundTrip(Array(values.prefix(n)) + [values[9_001]] + Array(values.prefix(n))) }
    }

    @Test("IntCodec: random values of every width round-trip compactly", arguments: 1...64)
    func intRandomWidth(_ width: Int) throws {
        var rng = SplitMix64(seed: 0xC0DE_0000 + UInt64(width))
        let mask: UInt64 = width == 64 ? ~0 : (1 << UInt64(width)) - 1
        for count in [1, 2, 3, 7, 8, 9, 100, 1000] {
            // A base that leaves room for `mask` above it, so the values span exactly `width` bits.
            let base = width == 64 ? Int64.min : Int64.random(in: Int64.min...(Int64.max - Int64(bitPattern: mask)), using: &rng)
            var values = (0..<count).map { _ in base &+ Int64(bitPattern: rng.next() & mask) }
            if count >= 2 {
                values[0] = base
                values[1] = base &+ Int64(bitPattern: mask)
            }
            let bytes = encodeInts(values)
            // count varint (2) + mode + two zigzag varints (10 each) + width byte, then the bits.
            #expect(bytes.count <= 24 + (count * width + 7) / 8, "width \(width), \(count) values: \(bytes.count) bytes")
            try expectIntRoundTrip(values)
        }
    }

    // MARK: BitPacking

    @Test("BitPacking: width(of:)")
    func bitWidth() {
        #expect(BitPacking.width(of: 0) == 0)
        #expect(BitPacking.width(of: 1) == 1)
        #expect(BitPacking.width(of: 2) == 2)
        #expect(BitPacking.width(of: 255) == 8)
        #expect(BitPacking.width(of: 256) == 9)
        #expect(BitPacking.width(of: UInt64.max >> 1) == 63)
        #expect(BitPacking.width(of: UInt64.max) == 64)
    }

    @Test("BitPacking: pack and unpack at every width, between other bytes", arguments: 0...64)
    func bitPacking(_ width: Int) throws {
        var rng = SplitMix64(seed: 1000 + UInt64(width))
        let mask: UInt64 = width == 0 ? 0 : width == 64 ? ~0 : (1 << UInt64(width)) - 1
        for count in [0, 1, 2, 7, 8, 9, 63, 64, 65, 257] {
            var values = (0..<count).map { _ in rng.next() & mask }
            if count > 0 { values[0] = mask }
            if count > 2 { values[1] = 0; values[count - 1] = mask }
            var w = ByteWriter()
            w.raw([0xAA, 0x55] as [UInt8])
            values.withUnsafeBufferPointer { BitPacking.pack($0, width: width, into: &w) }
            w.raw([0xC3] as [UInt8])
            let packed = (count * width + 7) / 8
            #expect(w.bytes.count == 2 + packed + 1, "width \(width), \(count) values")
            #expect(Array(w.bytes.prefix(2)) == [0xAA, 0x55], "bytes before the packed bits are untouched")
            #expect(w.bytes.last == 0xC3, "bytes after the packed bits are untouched")

            let (decoded, end) = try w.bytes.withUnsafeBufferPointer { b in
                var r = ByteReader(b, position: 2)
                var out = [UInt64](repeating: 0xFFFF, count: count)
                try out.withUnsafeMutableBufferPointer { buf in
                    try BitPacking.unpack(&r, count: count, width: width, into: buf)
                }
                return (out, r.position)
            }
            #expect(decoded == values, "width \(width), \(count) values")
            #expect(end == 2 + packed, "unpack consumes exactly the packed bytes")
        }
    }

    // MARK: PresenceCodec

    @Test("PresenceCodec: all, none and mixed, for counts that are not multiples of 8")
    func presence() throws {
        for count in [0, 1, 2, 7, 8, 9, 15, 16, 17, 100] {
            try expectPresenceRoundTrip([Bool](repeating: true, count: count), size: 1)
            try expectPresenceRoundTrip([Bool](repeating: false, count: count), size: 1)
            guard count >= 2 else { continue }
            let bitmap = 1 + (count + 7) / 8
            try expectPresenceRoundTrip((0..<count).map { $0 % 3 == 0 }, size: bitmap)
            try expectPresenceRoundTrip((0..<count).map { $0 == count - 1 }, size: bitmap)
            try expectPresenceRoundTrip((0..<count).map { $0 != count - 1 }, size: bitmap)
            try expectPresenceRoundTrip((0..<count).map { $0 != 0 }, size: bitmap)
        }
    }

    // MARK: NullableIntCodec

    @Test("NullableIntCodec: nils at any position and extreme values")
    func nullableInts() throws {
        let cases: [[Int64?]] = [
            [],
            [nil],
            [0],
            [nil, nil, nil],
            [1, 2, 3],
            [nil, 1, nil, Int64.min, Int64.max, nil, 0, -1],
            (0..<100).map { $0 % 7 == 0 ? nil : Int64($0) * 1_000_003 },
            (0..<9).map { $0 == 8 ? 5 : nil },
        ]
        for values in cases {
            let bytes = encode { NullableIntCodec.encode(values, into: &$0) }
            let decoded = try decoding(bytes) { try NullableIntCodec.decode(&$0) }
            #expect(decoded.value == values)
            #expect(decoded.consumedAll)
        }
    }

    // MARK: NullableDoubleCodec

    @Test("NullableDoubleCodec: NaN payloads, -0.0 and infinities keep their bit patterns")
    func nullableDoubles() throws {
        let specials: [Double] = [
            Double(bitPattern: 0x7FF8_0000_0000_0000),  // quiet NaN
            Double(bitPattern: 0x7FF8_0000_DEAD_BEEF),  // quiet NaN with a payload
            Double(bitPattern: 0x7FF0_0000_0000_0001),  // signalling NaN
            Double(bitPattern: 0xFFF8_0000_0000_0001),  // negative NaN
            -0.0, 0.0, .infinity, -.infinity,
            .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
            0.1, 1e-300, 3.141592653589793,
        ]
        let cases: [[Double?]] = [
            [],
            [nil],
            specials,
            specials.enumerated().flatMap { (i, v) -> [Double?] in i % 2 == 0 ? [v, nil] : [nil, v] },
            (0..<17).map { $0 % 4 == 0 ? nil : Double($0) / 3 },
        ]
        for values in cases {
            let bytes = encode { NullableDoubleCodec.encode(values, into: &$0) }
            let decoded = try decoding(bytes) { try NullableDoubleCodec.decode(&$0) }
            #expect(decoded.value.map { $0?.bitPattern } == values.map { $0?.bitPattern })
            #expect(decoded.consumedAll)
        }
    }

    @Test("dense decoding of nullable columns: the value or 0, and the presence flags")
    func denseDecoding() throws {
        let intCases: [[Int64?]] = [[], [nil, nil], [1, 2, 3], [nil, 5, nil, -7, Int64.max, nil, Int64.min]]
        for values in intCases {
            let bytes = encode { NullableIntCodec.encode(values, into: &$0) }
            let dense = try decoding(bytes) { try NullableIntCodec.decodeDense(&$0) }
            #expect(dense.value.values == values.map { $0 ?? 0 }, "\(values)")
            #expect(dense.value.present == values.map { $0 != nil }, "\(values)")
            #expect(dense.consumedAll)
            if !values.isEmpty {
                expectEveryPrefixThrows(bytes, "NullableIntCodec.decodeDense \(values)") { _ = try NullableIntCodec.decodeDense(&$0) }
            }
        }
        let nan = Double(bitPattern: 0x7FF8_0000_0000_0ABC)
        let doubleCases: [[Double?]] = [[], [nil], [1.5, -0.0, nan], [nil, .infinity, nil, -.infinity, 0.25, nil]]
        for values in doubleCases {
            let bytes = encode { NullableDoubleCodec.encode(values, into: &$0) }
            let dense = try decoding(bytes) { try NullableDoubleCodec.decodeDense(&$0) }
            #expect(dense.value.values.map(\.bitPattern) == values.map { ($0 ?? 0).bitPattern }, "\(values)")
            #expect(dense.value.present == values.map { $0 != nil }, "\(values)")
            #expect(dense.consumedAll)
            if !values.isEmpty {
                expectEveryPrefixThrows(bytes, "NullableDoubleCodec.decodeDense \(values)") { _ = try NullableDoubleCodec.decodeDense(&$0) }
            }
        }
    }

    // MARK: StringDictionaryCodec

    @Test("StringDictionaryCodec: nils, empty strings, unicode; one dictionary entry per distinct string")
    func strings() throws {
        let values: [String?] = [
            nil, "chat", "", "chat", "日本語のモデル", nil, "emoji 👩‍👩‍👧 family", "", "a\u{0}b", "chat", "ü", nil,
        ]
        let bytes = encode { StringDictionaryCodec.encode(values, into: &$0) }
        let decoded = try decoding(bytes) { try StringDictionaryCodec.decode(&$0) }
        #expect(utf8(decoded.value) == utf8(values))
        #expect(decoded.consumedAll)

        let codes = try decoding(bytes) { try StringDictionaryCodec.decodeCodes(&$0) }.value
        #expect(codes.dictionary.count == 6, "chat, \"\", 日本語のモデル, emoji, a\\0b, ü")
        #expect(codes.codes.count == values.count)
        #expect(codes.codes.enumerated().allSatisfy { i, c in (c == 0) == (values[i] == nil) }, "code 0 is exactly the nils")

        for edge in [[String?](), [nil, nil], [""], [String(repeating: "x", count: 100_000)]] {
            let b = encode { StringDictionaryCodec.encode(edge, into: &$0) }
            #expect(utf8(try decoding(b) { try StringDictionaryCodec.decode(&$0) }.value) == utf8(edge))
        }
    }

    @Test("StringDictionaryCodec: canonically equivalent strings keep their own bytes")
    func stringsKeepNormalizationForm() throws {
        // Swift's == says these are equal; OTLP strings are bytes, and the store must not rewrite them.
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        #expect(nfc == nfd)
        #expect(Array(nfc.utf8) != Array(nfd.utf8))
        let values: [String?] = [nfc, nfd, nfc, "Å", "A\u{30A}", "\u{212B}"]
        let bytes = encode { StringDictionaryCodec.encode(values, into: &$0) }
        let decoded = try decoding(bytes) { try StringDictionaryCodec.decode(&$0) }.value
        #expect(utf8(decoded) == utf8(values))
    }

    // MARK: BytesCodec

    @Test("BytesCodec: empty rows, no rows, large rows")
    func bytesRows() throws {
        let cases: [[[UInt8]]] = [
            [],
            [[]],
            [[], [], []],
            [[0], [1, 2, 3], [], [UInt8](repeating: 0xFF, count: 300), [], [0, 0]],
            (0..<50).map { i in (0..<i).map { UInt8(truncatingIfNeeded: $0 * 31 + i) } },
        ]
        for rows in cases {
            var data: [UInt8] = []
            var offsets = [0]
            for r in rows { data += r; offsets.append(data.count) }
            let bytes = encode { BytesCodec.encode(data, offsets: offsets, into: &$0) }
            let decoded = try decoding(bytes) { try BytesCodec.decode(&$0) }
            #expect(decoded.value.data == data)
            #expect(decoded.value.offsets == offsets)
            #expect(decoded.consumedAll)
        }
    }

    // MARK: ChunkCompression

    @Test("ChunkCompression: compressible payloads are deflated, incompressible and small ones stay raw")
    func chunkCompression() throws {
        let compressible = [UInt8]((0..<20_000).map { UInt8(truncatingIfNeeded: ($0 % 40) / 4) })
        var rng = SplitMix64(seed: 99)
        let incompressible = (0..<20_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let small = [UInt8](repeating: 0, count: 63)

        let z = ChunkCompression.seal(compressible, allowCompression: true)
        #expect(z.first == 2)
        #expect(z.count < compressible.count / 10)
        #expect(try openChunk(z) == compressible)

        let raw = ChunkCompression.seal(incompressible, allowCompression: true)
        #expect(raw == [0] + incompressible)
        #expect(try openChunk(raw) == incompressible)

        #expect(ChunkCompression.seal(small, allowCompression: true) == [0] + small, "under 64 bytes is never compressed")
        #expect(ChunkCompression.seal(compressible, allowCompression: false) == [0] + compressible)
        #expect(ChunkCompression.seal([], allowCompression: true) == [0])
        #expect(try openChunk([0]) == [])
    }

    @Test("ChunkCompression.withPayload sees exactly what open returns, raw or deflated")
    func withPayload() throws {
        let compressible = [UInt8]((0..<5_000).map { UInt8(truncatingIfNeeded: $0 % 7) })
        for payload in [[], [1, 2, 3], compressible] as [[UInt8]] {
            for allow in [false, true] {
                let chunk = ChunkCompression.seal(payload, allowCompression: allow)
                let seen = try chunk.withUnsafeBufferPointer { c in try ChunkCompression.withPayload(c) { Array($0) } }
                #expect(seen == payload, "\(payload.count) bytes, compression allowed: \(allow)")
            }
        }
        expectCorrupt("an empty chunk") {
            _ = try [UInt8]().withUnsafeBufferPointer { c in try ChunkCompression.withPayload(c) { Array($0) } }
        }
        expectCorrupt("an unknown compression flag") {
            _ = try ([7, 1, 2] as [UInt8]).withUnsafeBufferPointer { c in try ChunkCompression.withPayload(c) { Array($0) } }
        }
    }

    // MARK: damaged input

    @Test("every strict prefix of a valid encoding throws corrupt")
    func truncatedEncodingsThrow() throws {
        let ints: [[Int64]] = [[1], [5, 5, 5], [Int64.min, Int64.max, 0], (0..<40).map { 1_000 * Int64($0) }, (0..<40).map { Int64($0 * $0) }]
        for v in ints {
            expectEveryPrefixThrows(encodeInts(v), "IntCodec \(v.prefix(4))") { _ = try IntCodec.decode(&$0) }
        }
        let nullable: [Int64?] = [nil, 3, nil, -9, 1 << 40]
        expectEveryPrefixThrows(encode { NullableIntCodec.encode(nullable, into: &$0) }, "NullableIntCodec") {
            _ = try NullableIntCodec.decode(&$0)
        }
        let doubles: [Double?] = [nil, 1.5, .nan, nil, -0.0]
        expectEveryPrefixThrows(encode { NullableDoubleCodec.encode(doubles, into: &$0) }, "NullableDoubleCodec") {
            _ = try NullableDoubleCodec.decode(&$0)
        }
        let mixed = (0..<19).map { $0 % 3 == 1 }
        expectEveryPrefixThrows(encode { PresenceCodec.encode(mixed, into: &$0) }, "PresenceCodec") {
            _ = try PresenceCodec.decode(&$0, count: 19)
        }
        let strings: [String?] = [nil, "alpha", "beta", "alpha", "ünï"]
        expectEveryPrefixThrows(encode { StringDictionaryCodec.encode(strings, into: &$0) }, "StringDictionaryCodec") {
            _ = try StringDictionaryCodec.decode(&$0)
        }
        expectEveryPrefixThrows(encode { BytesCodec.encode([1, 2, 3, 4, 5, 6], offsets: [0, 2, 2, 6], into: &$0) }, "BytesCodec") {
            _ = try BytesCodec.decode(&$0)
        }
        let compressed = ChunkCompression.seal([UInt8](repeating: 7, count: 4096) + [1, 2, 3], allowCompression: true)
        #expect(compressed.first == 2)
        expectEveryPrefixThrows(compressed, "a deflated chunk") { r in
            _ = try ChunkCompression.open(UnsafeBufferPointer(rebasing: r.bytes[r.position...]))
        }

        var origin = ByteWriter()
        ValueEncoding.writeOrigin(sampleOrigin(), &origin)
        expectEveryPrefixThrows(origin.bytes, "an encoded origin") { _ = try ValueEncoding.readOrigin(&$0) }
        var events = ByteWriter()
        ValueEncoding.writeEvents(sampleSpans()[0].span.events, spanStart: 1_000, spanEnd: 5_000, &events)
        expectEveryPrefixThrows(events.bytes, "encoded events") { _ = try ValueEncoding.readEvents(&$0, spanStart: 1_000, spanEnd: 5_000) }
        var links = ByteWriter()
        ValueEncoding.writeLinks(sampleSpans()[0].span.links, &links)
        expectEveryPrefixThrows(links.bytes, "encoded links") { _ = try ValueEncoding.readLinks(&$0) }

        let container = ChunkContainer.pack(SpanColumns(sampleSpans()).encodeChunks(compress: false))
        expectEveryPrefixThrows(container, "a journal container") { r in
            _ = try ChunkContainer.unpack(UnsafeBufferPointer(rebasing: r.bytes[r.position...]))
        }
        let zone = ZoneMap(SpanColumns(sampleSpans()))
        expectEveryPrefixThrows(zone.encoded(), "a zone map") { r in
            _ = try ZoneMap(minStart: 0, maxStart: 0, encoded: UnsafeBufferPointer(rebasing: r.bytes[r.position...]))
        }
    }

    @Test("every strict prefix of every segment column chunk makes the segment throw corrupt", arguments: [false, true])
    func truncatedSegmentColumnsThrow(compress: Bool) throws {
        let spans = sampleSpans()
        let chunks = SpanColumns(spans).encodeChunks(compress: compress)
        let all = Dictionary(uniqueKeysWithValues: chunks)
        #expect(try SpanColumns(chunks: all).canonicalSpans() == spans, "the undamaged chunks decode")
        if compress { #expect(chunks.contains { $0.1.first == 2 }, "some chunk is deflated, so that path is covered") }

        for (id, chunk) in chunks {
            for n in 0..<chunk.count {
                var damaged = all
                damaged[id] = Array(chunk.prefix(n))
                expectCorrupt("column \(id) cut to \(n) of \(chunk.count) bytes") {
                    _ = try SpanColumns(chunks: damaged).canonicalSpans()
                }
            }
        }
        var missing = all
        missing[.links] = nil
        expectCorrupt("a segment without its links column") { _ = try SpanColumns(chunks: missing) }
    }

    @Test("garbage bytes throw corrupt")
    func garbageThrows() {
        expectCorrupt("IntCodec: unknown mode") { _ = try decoding([3, 9, 0, 0]) { try IntCodec.decode(&$0) } }
        expectCorrupt("IntCodec: width 65") { _ = try decoding([3, 0, 0, 65] + [UInt8](repeating: 0, count: 40)) { try IntCodec.decode(&$0) } }
        expectCorrupt("IntCodec: delta width 200") { _ = try decoding([3, 1, 0, 0, 200] + [UInt8](repeating: 0, count: 80)) { try IntCodec.decode(&$0) } }
        expectCorrupt("an overlong varint") { _ = try decoding([UInt8](repeating: 0xFF, count: 11) + [1]) { try IntCodec.decode(&$0) } }
        expectCorrupt("a count past the limit") { _ = try decoding([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) { try IntCodec.decode(&$0) } }
        expectCorrupt("PresenceCodec: unknown flag") { _ = try decoding([3, 0xFF]) { try PresenceCodec.decode(&$0, count: 8) } }

        var fewer = ByteWriter()
        fewer.varint(3)
        PresenceCodec.encode([true, true, true], into: &fewer)
        IntCodec.encode([1, 2], into: &fewer)
        expectCorrupt("NullableIntCodec: fewer values than present flags") { _ = try decoding(fewer.bytes) { try NullableIntCodec.decode(&$0) } }

        var fewerDoubles = ByteWriter()
        fewerDoubles.varint(3)
        PresenceCodec.encode([true, true, true], into: &fewerDoubles)
        fewerDoubles.varint(2)
        fewerDoubles.raw([UInt8](repeating: 0, count: 16))
        expectCorrupt("NullableDoubleCodec: fewer values than present flags") {
            _ = try decoding(fewerDoubles.bytes) { try NullableDoubleCodec.decode(&$0) }
        }

        var badCode = ByteWriter()
        badCode.varint(1)
        badCode.string("only")
        IntCodec.encode([0, 1, 2], into: &badCode)
        expectCorrupt("StringDictionaryCodec: code past the dictionary") {
            _ = try decoding(badCode.bytes) { try StringDictionaryCodec.decode(&$0) }
        }
        var negativeCode = ByteWriter()
        negativeCode.varint(1)
        negativeCode.string("only")
        IntCodec.encode([-1], into: &negativeCode)
        expectCorrupt("StringDictionaryCodec: negative code") {
            _ = try decoding(negativeCode.bytes) { try StringDictionaryCodec.decode(&$0) }
        }

        var negativeLength = ByteWriter()
        IntCodec.encode([2, -1], into: &negativeLength)
        negativeLength.raw([1, 2, 3] as [UInt8])
        expectCorrupt("BytesCodec: negative length") { _ = try decoding(negativeLength.bytes) { try BytesCodec.decode(&$0) } }

        expectCorrupt("ChunkCompression: unknown flag") { _ = try openChunk([2, 1, 2, 3]) }
        expectCorrupt("ChunkCompression: not zlib") { _ = try openChunk([1, 100] + [UInt8](repeating: 0xAB, count: 30)) }
        let z = ChunkCompression.seal([UInt8](repeating: 1, count: 1000), allowCompression: true)
        var wrongSize = ByteWriter()
        wrongSize.byte(1)
        wrongSize.varint(2000)
        wrongSize.raw(z.dropFirst(3))  // flag + varint(1000) is 3 bytes
        expectCorrupt("ChunkCompression: inflated size differs from the header") { _ = try openChunk(wrongSize.bytes) }

        expectCorrupt("ChunkContainer: unknown magic") { _ = try ([0x4C, 0x4A, 0x02, 0] as [UInt8]).withUnsafeBufferPointer { try ChunkContainer.unpack($0) } }
        expectCorrupt("ValueEncoding: unknown value tag") { _ = try decoding([9]) { try ValueEncoding.readValue(tag: 9, &$0) } }
        var tooDeep = ByteWriter()
        for _ in 0..<100 { tooDeep.varint(1); tooDeep.byte(ValueTag.array) }
        tooDeep.varint(0)
        expectCorrupt("ValueEncoding: nesting past the limit") { _ = try decoding(tooDeep.bytes) { try ValueEncoding.readValue(tag: ValueTag.array, &$0) } }
    }

    @Test("a segment with any single bit flipped throws or decodes, never crashes")
    func bitFlipsNeverCrash() {
        let chunks = SpanColumns(sampleSpans()).encodeChunks(compress: true)
        let all = Dictionary(uniqueKeysWithValues: chunks)
        var outcomes = (threw: 0, decoded: 0)
        for (id, chunk) in chunks {
            for i in chunk.indices {
                for bit in 0..<8 {
                    var flipped = chunk
                    flipped[i] ^= 1 << UInt8(bit)
                    var damaged = all
                    damaged[id] = flipped
                    do {
                        _ = try SpanColumns(chunks: damaged).canonicalSpans()
                        outcomes.decoded += 1
                    } catch {
                        outcomes.threw += 1
                    }
                }
            }
        }
        #expect(outcomes.threw > 0)
    }
}

// MARK: - Helpers


private func encode(_ body: (inout ByteWriter) -> Void) -> [UInt8] {
    var w = ByteWriter()
    body(&w)
    return w.bytes
}

private func encodeInts(_ values: [Int64]) -> [UInt8] {
    encode { IntCodec.encode(values, into: &$0) }
}

/// Decodes from the start of `bytes`; also says whether the decoder read every byte.
private func decoding<T>(_ bytes: [UInt8], _ body: (inout ByteReader) throws -> T) throws -> (value: T, consumedAll: Bool) {
    try bytes.withUnsafeBufferPointer { b in
        var r = ByteReader(b)
        let value = try body(&r)
        return (value, r.isAtEnd)
    }
}

private func openChunk(_ chunk: [UInt8]) throws -> [UInt8] {
    try chunk.withUnsafeBufferPointer { try ChunkCompression.open($0) }
}

private func utf8(_ values: [String?]) -> [[UInt8]?] {
    values.map { $0.map { Array($0.utf8) } }
}

/// The header `IntCodec` wrote: mode (0 plain, 1 delta), bit width, and where the packed bits start.
private func intHeader(_ bytes: [UInt8]) throws -> (mode: UInt8, width: Int, end: Int) {
    try bytes.withUnsafeBufferPointer { b in
        var r = ByteReader(b)
        _ = try r.varint()
        let mode = try r.byte()
        _ = try r.signedVarint()
        if mode == 1 { _ = try r.signedVarint() }
        let width = Int(try r.byte())
        return (mode, width, r.position)
    }
}

private func expectIntRoundTrip(_ values: [Int64], sourceLocation: SourceLocation = #_sourceLocation) throws {
    let bytes = encodeInts(values)
    let decoded = try decoding(bytes) { try IntCodec.decode(&$0) }
    #expect(decoded.value == values, "\(values.count) values starting \(values.prefix(3))", sourceLocation: sourceLocation)
    #expect(decoded.consumedAll, "the decoder reads exactly what the encoder wrote", sourceLocation: sourceLocation)
}

private func expectPresenceRoundTrip(_ present: [Bool], size: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let bytes = encode { PresenceCodec.encode(present, into: &$0) }
    #expect(bytes.count == size, "\(present.count) flags", sourceLocation: sourceLocation)
    let decoded = try decoding(bytes) { try PresenceCodec.decode(&$0, count: present.count) }
    #expect(decoded.value == present, sourceLocation: sourceLocation)
    #expect(decoded.consumedAll, sourceLocation: sourceLocation)
}

private func expectCorrupt(_ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("\(what): decoded without an error", sourceLocation: sourceLocation)
    } catch let error as StoreError {
        guard case .corrupt = error else {
            Issue.record("\(what): \(error), expected StoreError.corrupt", sourceLocation: sourceLocation)
            return
        }
    } catch {
        Issue.record("\(what): \(error), expected StoreError.corrupt", sourceLocation: sourceLocation)
    }
}

/// Feeds the decoder every strict prefix of `bytes` (including the empty one); each must throw corrupt.
private func expectEveryPrefixThrows(_ bytes: [UInt8], _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                                     decode: (inout ByteReader) throws -> Void) {
    #expect(!bytes.isEmpty, sourceLocation: sourceLocation)
    for n in 0..<bytes.count {
        let prefix = Array(bytes.prefix(n))
        expectCorrupt("\(what): \(n) of \(bytes.count) bytes", sourceLocation: sourceLocation) {
            try prefix.withUnsafeBufferPointer { b in
                var r = ByteReader(b)
                try decode(&r)
            }
        }
    }
}

private func sampleOrigin() -> SpanOrigin {
    SpanOrigin(
        resource: Resource(attributes: [
            Attribute("service.name", .string("codec-tests")),
            Attribute("host.tags", .array([.string("a"), .int(2), .kvlist([Attribute("k", .bytes([1, 2]))])])),
        ], droppedAttributesCount: 2),
        resourceSchemaURL: "https://opentelemetry.io/schemas/1.37.0",
        scope: InstrumentationScope(name: "scope", version: "1.0", attributes: [Attribute("s", .bool(true))], droppedAttributesCount: 1),
        scopeSchemaURL: "https://example.com/scope")
}

/// Three spans that touch every column: owned and residual attributes, events, links, a parent in
/// the batch and one outside it, nils, and long repetitive values so some chunks deflate.
private func sampleSpans() -> [CanonicalSpan] {
    let trace = TraceID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
    let prompt = String(repeating: "You are a terse assistant. ", count: 12)
    var root = CanonicalSpan(
        span: Span(traceID: trace, spanID: SpanID(raw: 1), traceState: "k=v", flags: 0x301, name: "app.handle_request",
                   kind: .server, startTimeUnixNano: 1_000, endTimeUnixNano: 900_000,
                   attributes: [Attribute("gen_ai.request.model", .string("gpt-fake-1")), Attribute("prompt", .string(prompt)),
                                Attribute("n", .double(.nan)), Attribute("e", .empty)],
                   events: [SpanEvent(timeUnixNano: 2_000, name: "first", attributes: [Attribute("x", .int(-5))], droppedAttributesCount: 1),
                            SpanEvent(timeUnixNano: 500, name: "before start")],
                   links: [SpanLink(traceID: TraceID(high: 9, low: 9), spanID: SpanID(raw: 9), traceState: "a=b",
                                    attributes: [Attribute("l", .bytes([0xFF]))], droppedAttributesCount: 2, flags: 1)],
                   statusCode: .error, statusMessage: "boom"),
        origin: sampleOrigin(), serviceName: "codec-tests", serviceVersion: "v1", environment: "test")
    root.genAI.requestModel = "gpt-fake-1"
    root.genAI.inputTokens = 10
    root.genAI.timeToFirstToken = 0.25
    root.release = ReleaseFields(variant: "baseline", rollout: "r1")
    root.provenance[.requestModel] = .otelGenAI
    root.provenance.setAttributeIndex(0, for: .requestModel)

    var child = root
    child.span.spanID = SpanID(raw: 2)
    child.span.parentSpanID = SpanID(raw: 1)
    child.span.startTimeUnixNano = 3_000
    child.span.endTimeUnixNano = 2_000
    child.span.events = []
    child.span.links = []
    child.span.attributes.append(Attribute("prompt.copy", .string(prompt)))
    child.genAI.reportedCost = 0.5
    child.release = ReleaseFields()

    let orphan = CanonicalSpan(
        span: Span(traceID: TraceID(high: 1, low: 2), spanID: SpanID(raw: 3), parentSpanID: SpanID(raw: 77), name: "",
                   kind: SpanKind(rawValue: 42), startTimeUnixNano: 0, endTimeUnixNano: 0, statusCode: StatusCode(rawValue: 9)),
        origin: SpanOrigin(resource: Resource(), scope: InstrumentationScope()))
    return [root, child, orphan]
}
