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

    init(_ spans: [CanonicalSpan]) {
        self.init()
        reserve(spans.count)
        var originIndex: [ByteKey: Int64] = [:]
        var lastOrigin: (SpanOrigin, Int64)? = nil
        var shapeIndex: [ByteKey: Int64] = [:]
        var stringValues = Self.stringColumns.map { _ in [String?]() }
        var intValues = Self.intColumns.map { _ in [Int64?]() }
        var ttft: [Double?] = [], cost: [Double?] = []
        for i in stringValues.indices { stringValues[i].reserveCapacity(spans.count) }
        for i in intValues.indices { intValues[i].reserveCapacity(spans.count) }
        var owner = [UInt8](repeating: 0, count: 64)
        var shape = ByteWriter(capacity: 256)
        for c in spans {
            let s = c.span
            traceHigh.append(s.traceID.high); traceLow.append(s.traceID.low)
            spanID.append(s.spanID.raw)
            parentSpanID.append(s.parentSpanID?.raw ?? 0)
            name.append(s.name)
            kind.append(Int64(s.kind.rawValue))
            startTime.append(Int64(bitPattern: s.startTimeUnixNano))
            duration.append(Int64(bitPattern: s.endTimeUnixNano &- s.startTimeUnixNano))
            statusCode.append(Int64(s.statusCode.rawValue))
            statusMessage.append(s.statusMessage.isEmpty ? nil : s.statusMessage)
            flags.append(Int64(s.flags))
            traceState.append(s.traceState.isEmpty ? nil : s.traceState)
            droppedAttributes.append(Int64(s.droppedAttributesCount))
            droppedEvents.append(Int64(s.droppedEventsCount))
            droppedLinks.append(Int64(s.droppedLinksCount))
            if let (o, code) = lastOrigin, Self.sameStorage(o, c.origin) {
                originCode.append(code)
            } else {
                var w = ByteWriter()
                ValueEncoding.writeOrigin(c.origin, &w)
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
                lastOrigin = (c.origin, code)
            }
            let g = c.genAI
            stringValues[0].append(c.serviceName); stringValues[1].append(c.serviceVersion); stringValues[2].append(c.environment)
            stringValues[3].append(g.operation); stringValues[4].append(g.provider); stringValues[5].append(g.requestModel)
            stringValues[6].append(g.responseModel); stringValues[7].append(g.finishReason); stringValues[8].append(g.errorType)
            stringValues[9].append(g.conversationID); stringValues[10].append(g.userID); stringValues[11].append(g.promptName)
            stringValues[12].append(g.promptVersion); stringValues[13].append(c.release.variant); stringValues[14].append(c.release.rollout)
            intValues[0].append(g.inputTokens); intValues[1].append(g.outputTokens); intValues[2].append(g.cacheReadTokens)
            intValues[3].append(g.cacheCreationTokens); intValues[4].append(g.reasoningTokens)
            ttft.append(g.timeToFirstToken); cost.append(g.reportedCost)
            provenance.append(c.provenance.packedConventions)

            // Attributes: shape + residual values, skipping those a column owns verbatim.
            if owner.count < s.attributes.count { owner = [UInt8](repeating: 0, count: s.attributes.count) }
            for i in 0..<s.attributes.count { owner[i] = 0 }
            for field in Self.ownableFields {
                if let i = c.provenance.attributeIndex(field), i < s.attributes.count, Self.canOwn(field, s.attributes[i].value, c) {
                    owner[i] = ValueTag.ownedBase + UInt8(field.rawValue)
                }
            }
            shape.bytes.removeAll(keepingCapacity: true)
            shape.varint(s.attributes.count)
            for (i, a) in s.attributes.enumerated() {
                shape.string(a.key)
                if owner[i] != 0 {
                    shape.byte(owner[i])
                } else {
                    shape.byte(ValueTag.of(a.value))
                    ValueEncoding.writeValue(a.value, &residual.writer)
                }
            }
            residual.endRow()
            if let code = shapeIndex[ByteKey(shape.bytes)] {
                shapeCode.append(code)
            } else {
                let code = Int64(shapes.count)
                shapes.append(shape.bytes)
                shapeIndex[ByteKey(shape.bytes)] = code
                shapeCode.append(code)
            }
            if !s.events.isEmpty { ValueEncoding.writeEvents(s.events, spanStart: s.startTimeUnixNano, spanEnd: s.endTimeUnixNano, &events.writer) }
            events.endRow()
            if !s.links.isEmpty { ValueEncoding.writeLinks(s.links, &links.writer) }
            links.endRow()
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
    static func canOwn(_ field: CanonicalField, _ value: AttributeValue, _ c: CanonicalSpan) -> Bool {
        let g = c.genAI
        switch field {
        case .operation: return g.operation.map { Self.sameText(value, $0) } ?? false
        case .provider: return g.provider.map { Self.sameText(value, $0) } ?? false
        case .requestModel: return g.requestModel.map { Self.sameText(value, $0) } ?? false
        case .responseModel: return g.responseModel.map { Self.sameText(value, $0) } ?? false
        case .finishReason: return g.finishReason.map { Self.sameText(value, $0) } ?? false
        case .errorType: return g.errorType.map { Self.sameText(value, $0) } ?? false
        case .conversationID: return g.conversationID.map { Self.sameText(value, $0) } ?? false
        case .userID: return g.userID.map { Self.sameText(value, $0) } ?? false
        case .promptName: return g.promptName.map { Self.sameText(value, $0) } ?? false
        case .promptVersion: return g.promptVersion.map { Self.sameText(value, $0) } ?? false
        case .variant: return c.release.variant.map { Self.sameText(value, $0) } ?? false
        case .rollout: return c.release.rollout.map { Self.sameText(value, $0) } ?? false
        case .inputTokens: return g.inputTokens.map { value == .int($0) } ?? false
        case .outputTokens: return g.outputTokens.map { value == .int($0) } ?? false
        case .cacheReadTokens: return g.cacheReadTokens.map { value == .int($0) } ?? false
        case .cacheCreationTokens: return g.cacheCreationTokens.map { value == .int($0) } ?? false
        case .reasoningTokens: return g.reasoningTokens.map { value == .int($0) } ?? false
        case .timeToFirstToken: return g.timeToFirstToken.map { value == .double($0) } ?? false
        default: return false
        }
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

/// Bytes as a dictionary key, hashed in one pass rather than element by element.
struct ByteKey: Hashable {
    var bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
}
