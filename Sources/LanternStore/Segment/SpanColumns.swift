import Foundation
import LanternModel

/// Spans shredded into one array per column: what the journal and segments encode, and what
/// sealing concatenates. Attributes a canonical column already holds verbatim are not kept twice:
/// each span's attribute *shape* (keys, types, which column owns a value) is dictionary-coded and
/// only the remaining values go to the residual stream.
struct SpanColumns {
    var count = 0
    var traceHigh: [UInt64] = [], traceLow: [UInt64] = []
    var spanID: [UInt64] = []
    /// 0 for a root span.
    var parentSpanID: [UInt64] = []
    var name: [String?] = []
    var kind: [Int64] = [], startTime: [Int64] = [], duration: [Int64] = []
    var statusCode: [Int64] = [], statusMessage: [String?] = [], flags: [Int64] = [], traceState: [String?] = []
    var droppedAttributes: [Int64] = [], droppedEvents: [Int64] = [], droppedLinks: [Int64] = []
    /// Encoded `SpanOrigin`s and each row's index into them.
    var origins: [[UInt8]] = [], originCode: [Int64] = []
    var strings: [ColumnID: [String?]] = [:]
    var ints: [ColumnID: [Int64?]] = [:]
    var doubles: [ColumnID: [Double?]] = [:]
    var provenance: [UInt128] = []
    /// Encoded attribute shapes and each row's index into them.
    var shapes: [[UInt8]] = [], shapeCode: [Int64] = []
    var residual = ByteStreamColumn(), events = ByteStreamColumn(), links = ByteStreamColumn()

    static let stringColumns: [(ColumnID, CanonicalField)] = [
        (.serviceName, .serviceName), (.serviceVersion, .serviceVersion), (.environment, .environment),
        (.operation, .operation), (.provider, .provider), (.requestModel, .requestModel), (.responseModel, .responseModel),
        (.finishReason, .finishReason), (.errorType, .errorType), (.conversationID, .conversationID), (.userID, .userID),
        (.promptName, .promptName), (.promptVersion, .promptVersion), (.variant, .variant), (.rollout, .rollout),
    ]
    static let intColumns: [(ColumnID, CanonicalField)] = [
        (.inputTokens, .inputTokens), (.outputTokens, .outputTokens), (.cacheReadTokens, .cacheReadTokens),
        (.cacheCreationTokens, .cacheCreationTokens), (.reasoningTokens, .reasoningTokens),
    ]
    static let doubleColumns: [(ColumnID, CanonicalField)] = [(.timeToFirstToken, .timeToFirstToken), (.reportedCost, .reportedCost)]

    init() {
        for (c, _) in Self.stringColumns { strings[c] = [] }
        for (c, _) in Self.intColumns { ints[c] = [] }
        for (c, _) in Self.doubleColumns { doubles[c] = [] }
    }

    /// The first row whose attribute values (or its origin's) nest `ValueEncoding.maxDepth`
    /// containers or more: such spans cannot be stored.
    var firstTooDeepRow: Int? = nil

    init(_ spans: [CanonicalSpan]) {
        self.init()
        reserve(spans.count)
        var originIndex: [ByteKey: Int64] = [:]
        var lastOrigin: (SpanOrigin, Int64)? = nil
        var shapeCodes = ShapeCodes()
        var stringValues = Self.stringColumns.map { _ in [String?]() }
        var intValues = Self.intColumns.map { _ in [Int64?]() }
        var ttft: [Double?] = [], cost: [Double?] = []
        for i in stringValues.indices { stringValues[i].reserveCapacity(spans.count) }
        for i in intValues.indices { intValues[i].reserveCapacity(spans.count) }
        ttft.reserveCapacity(spans.count)
        cost.reserveCapacity(spans.count)
        var owner = [UInt8](repeating: 0, count: 64)
        var shape = ByteWriter(capacity: 256)
        // Spans are read in place through a pointer: binding each one to a local would copy it
        // (a reference count on every string and array it holds).
        spans.withUnsafeBufferPointer { rows in
            for row in 0..<rows.count {
                let c = rows.baseAddress! + row
                let t = c.pointee.span.traceID
                traceHigh.append(t.high); traceLow.append(t.low)
                spanID.append(c.pointee.span.spanID.raw)
                parentSpanID.append(c.pointee.span.parentSpanID?.raw ?? 0)
                name.append(c.pointee.span.name)
                kind.append(Int64(c.pointee.span.kind.rawValue))
                let start = c.pointee.span.startTimeUnixNano, end = c.pointee.span.endTimeUnixNano
                startTime.append(Int64(bitPattern: start))
                duration.append(Int64(bitPattern: end &- start))
                statusCode.append(Int64(c.pointee.span.statusCode.rawValue))
                statusMessage.append(c.pointee.span.statusMessage.isEmpty ? nil : c.pointee.span.statusMessage)
                flags.append(Int64(c.pointee.span.flags))
                traceState.append(c.pointee.span.traceState.isEmpty ? nil : c.pointee.span.traceState)
                droppedAttributes.append(Int64(c.pointee.span.droppedAttributesCount))
                droppedEvents.append(Int64(c.pointee.span.droppedEventsCount))
                droppedLinks.append(Int64(c.pointee.span.droppedLinksCount))
                if let (o, code) = lastOrigin, Self.sameStorage(o, c.pointee.origin) {
                    originCode.append(code)
                } else {
                    var w = ByteWriter()
                    ValueEncoding.writeOrigin(c.pointee.origin, &w)
                    if w.tooDeep && firstTooDeepRow == nil { firstTooDeepRow = row }
                    let key = ByteKey(w.bytes)
                    let code: Int64
                    if let known = originIndex[key] {
                        code = known
                    } else {
                        code = Int64(origins.count)
                        origins.append(w.bytes)
                        originIndex[key] = code
                    }
                    originCode.append(code)
                    lastOrigin = (c.pointee.origin, code)
                }
                stringValues[0].append(c.pointee.serviceName); stringValues[1].append(c.pointee.serviceVersion)
                stringValues[2].append(c.pointee.environment)
                stringValues[3].append(c.pointee.genAI.operation); stringValues[4].append(c.pointee.genAI.provider)
                stringValues[5].append(c.pointee.genAI.requestModel); stringValues[6].append(c.pointee.genAI.responseModel)
                stringValues[7].append(c.pointee.genAI.finishReason); stringValues[8].append(c.pointee.genAI.errorType)
                stringValues[9].append(c.pointee.genAI.conversationID); stringValues[10].append(c.pointee.genAI.userID)
                stringValues[11].append(c.pointee.genAI.promptName); stringValues[12].append(c.pointee.genAI.promptVersion)
                stringValues[13].append(c.pointee.release.variant); stringValues[14].append(c.pointee.release.rollout)
                intValues[0].append(c.pointee.genAI.inputTokens); intValues[1].append(c.pointee.genAI.outputTokens)
                intValues[2].append(c.pointee.genAI.cacheReadTokens); intValues[3].append(c.pointee.genAI.cacheCreationTokens)
                intValues[4].append(c.pointee.genAI.reasoningTokens)
                ttft.append(c.pointee.genAI.timeToFirstToken); cost.append(c.pointee.genAI.reportedCost)
                provenance.append(c.pointee.provenance.packedConventions)

                // Attributes: shape + residual values, skipping those a column owns verbatim.
                let attributeCount = c.pointee.span.attributes.count
                if owner.count < attributeCount { owner = [UInt8](repeating: 0, count: attributeCount) }
                for i in 0..<attributeCount { owner[i] = 0 }
                for field in Self.ownableFields {
                    if let i = c.pointee.provenance.attributeIndex(field), i < attributeCount,
                       Self.canOwn(field, c.pointee.span.attributes[i].value, c) {
                        owner[i] = ValueTag.ownedBase + UInt8(field.rawValue)
                    }
                }
                shape.bytes.removeAll(keepingCapacity: true)
                shape.varint(attributeCount)
                c.pointee.span.attributes.withUnsafeBufferPointer { attributes in
                    for i in 0..<attributeCount {
                        shape.string(attributes[i].key)
                        if owner[i] != 0 {
                            shape.byte(owner[i])
                        } else {
                            shape.byte(ValueTag.of(attributes[i].value))
                            ValueEncoding.writeValue(attributes[i].value, &residual.writer)
                        }
                    }
                }
                residual.endRow()
                shapeCode.append(shapeCodes.code(for: shape.bytes, in: &shapes))
                if !c.pointee.span.events.isEmpty {
                    ValueEncoding.writeEvents(c.pointee.span.events, spanStart: start, spanEnd: end, &events.writer)
                }
                events.endRow()
                if !c.pointee.span.links.isEmpty { ValueEncoding.writeLinks(c.pointee.span.links, &links.writer) }
                links.endRow()
                if residual.writer.tooDeep || events.writer.tooDeep || links.writer.tooDeep {
                    if firstTooDeepRow == nil { firstTooDeepRow = row }
                    residual.writer.tooDeep = false
                    events.writer.tooDeep = false
                    links.writer.tooDeep = false
                }
            }
        }
        for (i, (col, _)) in Self.stringColumns.enumerated() { strings[col] = stringValues[i] }
        for (i, (col, _)) in Self.intColumns.enumerated() { ints[col] = intValues[i] }
        doubles[.timeToFirstToken] = ttft
        doubles[.reportedCost] = cost
        count = spans.count
    }

    /// Fields whose column can stand in for the attribute they were read from.
    static let ownableFields: [CanonicalField] = [
        .operation, .provider, .requestModel, .responseModel, .inputTokens, .outputTokens, .cacheReadTokens,
        .cacheCreationTokens, .reasoningTokens, .timeToFirstToken, .finishReason, .errorType, .conversationID, .userID,
        .promptName, .promptVersion, .variant, .rollout,
    ]

    /// True when the column value rebuilds this attribute value exactly.
    /// (The span is passed by pointer: passing it by value would copy it.)
    static func canOwn(_ field: CanonicalField, _ value: AttributeValue, _ c: UnsafePointer<CanonicalSpan>) -> Bool {
        switch field {
        case .operation: return sameText(value, c.pointee.genAI.operation)
        case .provider: return sameText(value, c.pointee.genAI.provider)
        case .requestModel: return sameText(value, c.pointee.genAI.requestModel)
        case .responseModel: return sameText(value, c.pointee.genAI.responseModel)
        case .finishReason: return sameText(value, c.pointee.genAI.finishReason)
        case .errorType: return sameText(value, c.pointee.genAI.errorType)
        case .conversationID: return sameText(value, c.pointee.genAI.conversationID)
        case .userID: return sameText(value, c.pointee.genAI.userID)
        case .promptName: return sameText(value, c.pointee.genAI.promptName)
        case .promptVersion: return sameText(value, c.pointee.genAI.promptVersion)
        case .variant: return sameText(value, c.pointee.release.variant)
        case .rollout: return sameText(value, c.pointee.release.rollout)
        case .inputTokens: return sameInt(value, c.pointee.genAI.inputTokens)
        case .outputTokens: return sameInt(value, c.pointee.genAI.outputTokens)
        case .cacheReadTokens: return sameInt(value, c.pointee.genAI.cacheReadTokens)
        case .cacheCreationTokens: return sameInt(value, c.pointee.genAI.cacheCreationTokens)
        case .reasoningTokens: return sameInt(value, c.pointee.genAI.reasoningTokens)
        case .timeToFirstToken:
            guard case .double(let d) = value, let t = c.pointee.genAI.timeToFirstToken else { return false }
            return d.bitPattern == t.bitPattern
        default: return false
        }
    }

    static func sameInt(_ value: AttributeValue, _ n: Int64?) -> Bool {
        guard case .int(let v) = value, let n else { return false }
        return v == n
    }

    static func sameText(_ value: AttributeValue, _ s: String?) -> Bool {
        guard let s else { return false }
        return sameText(value, s)
    }

    /// Byte-for-byte string equality (Swift's `==` treats canonically equivalent text as equal,
    /// which would let a column rebuild an attribute in another Unicode normalization form).
    static func sameText(_ value: AttributeValue, _ s: String) -> Bool {
        guard case .string(let v) = value else { return false }
        return utf8Identical(v, s)
    }

    mutating func reserve(_ n: Int) {
        traceHigh.reserveCapacity(n); traceLow.reserveCapacity(n); spanID.reserveCapacity(n); parentSpanID.reserveCapacity(n)
        name.reserveCapacity(n); kind.reserveCapacity(n); startTime.reserveCapacity(n); duration.reserveCapacity(n)
        statusCode.reserveCapacity(n); statusMessage.reserveCapacity(n); flags.reserveCapacity(n); traceState.reserveCapacity(n)
        droppedAttributes.reserveCapacity(n); droppedEvents.reserveCapacity(n); droppedLinks.reserveCapacity(n)
        originCode.reserveCapacity(n); provenance.reserveCapacity(n); shapeCode.reserveCapacity(n)
    }

    /// Appends another batch, re-coding its origins and shapes into this batch's dictionaries.
    mutating func append(_ other: SpanColumns) {
        traceHigh += other.traceHigh; traceLow += other.traceLow; spanID += other.spanID; parentSpanID += other.parentSpanID
        name += other.name; kind += other.kind; startTime += other.startTime; duration += other.duration
        statusCode += other.statusCode; statusMessage += other.statusMessage; flags += other.flags; traceState += other.traceState
        droppedAttributes += other.droppedAttributes; droppedEvents += other.droppedEvents; droppedLinks += other.droppedLinks
        for (c, v) in other.strings { strings[c, default: []] += v }
        for (c, v) in other.ints { ints[c, default: []] += v }
        for (c, v) in other.doubles { doubles[c, default: []] += v }
        provenance += other.provenance
        originCode += Self.recode(other.originCode, from: other.origins, into: &origins)
        shapeCode += Self.recode(other.shapeCode, from: other.shapes, into: &shapes)
        residual.append(other.residual)
        events.append(other.events)
        links.append(other.links)
        count += other.count
    }

    private static func recode(_ codes: [Int64], from source: [[UInt8]], into target: inout [[UInt8]]) -> [Int64] {
        var map = [Int64](repeating: 0, count: source.count)
        var existing: [ByteKey: Int64] = [:]
        for (i, t) in target.enumerated() { existing[ByteKey(t)] = Int64(i) }
        for (i, s) in source.enumerated() {
            if let e = existing[ByteKey(s)] {
                map[i] = e
            } else {
                map[i] = Int64(target.count)
                existing[ByteKey(s)] = Int64(target.count)
                target.append(s)
            }
        }
        return codes.map { map[Int($0)] }
    }
}

/// Variable-length bytes per row, kept back to back with row offsets.
struct ByteStreamColumn {
    var writer = ByteWriter()
    var offsets: [Int] = [0]

    mutating func endRow() { offsets.append(writer.bytes.count) }

    var rows: Int { offsets.count - 1 }

    func row(_ i: Int) -> ArraySlice<UInt8> { writer.bytes[offsets[i]..<offsets[i + 1]] }

    mutating func append(_ other: ByteStreamColumn) {
        let base = writer.bytes.count
        writer.bytes += other.writer.bytes
        offsets += other.offsets.dropFirst().map { $0 + base }
    }
}

extension SpanColumns {
    /// True when two origins share their attribute storage and equal their strings byte for byte
    /// (spans of one ScopeSpans do): then they encode identically.
    static func sameStorage(_ a: SpanOrigin, _ b: SpanOrigin) -> Bool {
        if a.isSameInstance(as: b) { return true }
        func same(_ x: [Attribute], _ y: [Attribute]) -> Bool {
            x.count == y.count && x.withUnsafeBufferPointer { p in y.withUnsafeBufferPointer { q in p.baseAddress == q.baseAddress } }
        }
        return same(a.resource.attributes, b.resource.attributes) && same(a.scope.attributes, b.scope.attributes)
            && a.resource.droppedAttributesCount == b.resource.droppedAttributesCount
            && a.scope.droppedAttributesCount == b.scope.droppedAttributesCount
            && utf8Identical(a.resourceSchemaURL, b.resourceSchemaURL) && utf8Identical(a.scopeSchemaURL, b.scopeSchemaURL)
            && utf8Identical(a.scope.name, b.scope.name) && utf8Identical(a.scope.version, b.scope.version)
    }
}

/// Byte-for-byte equality of two strings' UTF-8.
func utf8Identical(_ a: String, _ b: String) -> Bool {
    var a = a, b = b
    return a.withUTF8 { x in b.withUTF8 { y in x.count == y.count && (x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0) } }
}

/// Dictionary codes of attribute shapes: a direct-mapped cache on a cheap hash of the shape's
/// bytes in front of the dictionary (consecutive spans mostly repeat a few shapes), so most spans
/// cost one hash and one comparison instead of a SipHash lookup.
struct ShapeCodes {
    private static let slots = 64
    private var cache = [(hash: UInt64, code: Int64)](repeating: (0, -1), count: slots)
    private var index: [ByteKey: Int64] = [:]

    /// The code of `bytes` in `shapes`, appending them when new.
    mutating func code(for bytes: [UInt8], in shapes: inout [[UInt8]]) -> Int64 {
        let h = bytes.withUnsafeBytes { UTF8CodeTable.hash($0) }
        let slot = Int(truncatingIfNeeded: h >> 48) & (Self.slots - 1)
        let cached = cache[slot]
        if cached.hash == h, cached.code >= 0, Self.equal(shapes[Int(cached.code)], bytes) { return cached.code }
        let code: Int64
        if let known = index[ByteKey(bytes)] {
            code = known
        } else {
            code = Int64(shapes.count)
            shapes.append(bytes)
            index[ByteKey(bytes)] = code
        }
        cache[slot] = (h, code)
        return code
    }

    private static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && (a.isEmpty || a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } })
    }
}

/// Bytes as a dictionary key, hashed in one pass rather than element by element.
struct ByteKey: Hashable {
    var bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
}
