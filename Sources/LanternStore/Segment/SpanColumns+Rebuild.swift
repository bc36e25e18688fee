import LanternModel

extension SpanColumns {
    /// Rebuilds every span exactly as it was appended.
    func canonicalSpans() throws(StoreError) -> [CanonicalSpan] {
        var decodedOrigins: [SpanOrigin] = []
        for blob in origins {
            decodedOrigins.append(try blob.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) in
                var r = ByteReader(b)
                return try ValueEncoding.readOrigin(&r)
            })
        }
        let stringCols = Self.stringColumns.map { strings[$0.0] ?? [] }
        let intCols = Self.intColumns.map { ints[$0.0] ?? [] }
        let ttft = doubles[.timeToFirstToken] ?? [], cost = doubles[.reportedCost] ?? []
        var out: [CanonicalSpan] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let start = UInt64(bitPattern: startTime[i])
            var span = Span(
                traceID: TraceID(high: traceHigh[i], low: traceLow[i]), spanID: SpanID(raw: spanID[i]),
                traceState: traceState[i] ?? "", parentSpanID: parentSpanID[i] == 0 ? nil : SpanID(raw: parentSpanID[i]),
                flags: UInt32(truncatingIfNeeded: flags[i]), name: name[i] ?? "", kind: SpanKind(rawValue: Int32(truncatingIfNeeded: kind[i])),
                startTimeUnixNano: start, endTimeUnixNano: start &+ UInt64(bitPattern: duration[i]),
                droppedAttributesCount: UInt32(truncatingIfNeeded: droppedAttributes[i]),
                droppedEventsCount: UInt32(truncatingIfNeeded: droppedEvents[i]),
                droppedLinksCount: UInt32(truncatingIfNeeded: droppedLinks[i]),
                statusCode: StatusCode(rawValue: Int32(truncatingIfNeeded: statusCode[i])), statusMessage: statusMessage[i] ?? "")
            var c = CanonicalSpan(span: span, origin: decodedOrigins[Int(originCode[i])])
            c.serviceName = stringCols[0][i]; c.serviceVersion = stringCols[1][i]; c.environment = stringCols[2][i]
            var g = GenAIFields()
            g.operation = stringCols[3][i]; g.provider = stringCols[4][i]; g.requestModel = stringCols[5][i]
            g.responseModel = stringCols[6][i]; g.finishReason = stringCols[7][i]; g.errorType = stringCols[8][i]
            g.conversationID = stringCols[9][i]; g.userID = stringCols[10][i]; g.promptName = stringCols[11][i]
            g.promptVersion = stringCols[12][i]
            g.inputTokens = intCols[0][i]; g.outputTokens = intCols[1][i]; g.cacheReadTokens = intCols[2][i]
            g.cacheCreationTokens = intCols[3][i]; g.reasoningTokens = intCols[4][i]
            g.timeToFirstToken = ttft[i]; g.reportedCost = cost[i]
            c.genAI = g
            c.release = ReleaseFields(variant: stringCols[13][i], rollout: stringCols[14][i])
            c.provenance = FieldProvenance(packedConventions: provenance[i])

            // Attributes from the shape, the residual stream and the owning columns.
            var attributes: [Attribute] = []
            try shapes[Int(shapeCode[i])].withUnsafeBufferPointer { (sb: UnsafeBufferPointer<UInt8>) throws(StoreError) in
                var shape = ByteReader(sb)
                let n = try shape.count(limit: sb.count)
                attributes.reserveCapacity(n)
                let row = residual.row(i)
                try row.withUnsafeBufferPointer { (rb: UnsafeBufferPointer<UInt8>) throws(StoreError) in
                    var values = ByteReader(rb)
                    for index in 0..<n {
                        let key = try shape.string()
                        let tag = try shape.byte()
                        if tag >= ValueTag.ownedBase {
                            guard let field = CanonicalField(rawValue: Int(tag - ValueTag.ownedBase)),
                                  let value = Self.ownedValue(field, c) else { throw .corrupt("attribute '\(key)' owned by an empty column") }
                            attributes.append(Attribute(key, value))
                            c.provenance.setAttributeIndex(index, for: field)
                        } else {
                            attributes.append(Attribute(key, try ValueEncoding.readValue(tag: tag, &values)))
                        }
                    }
                }
            }
            span.attributes = attributes
            if events.offsets[i + 1] > events.offsets[i] {
                span.events = try events.row(i).withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) in
                    var r = ByteReader(b)
                    return try ValueEncoding.readEvents(&r, spanStart: start, spanEnd: span.endTimeUnixNano)
                }
            }
            if links.offsets[i + 1] > links.offsets[i] {
                span.links = try links.row(i).withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(StoreError) in
                    var r = ByteReader(b)
                    return try ValueEncoding.readLinks(&r)
                }
            }
            c.span = span
            out.append(c)
        }
        return out
    }

    static func ownedValue(_ field: CanonicalField, _ c: CanonicalSpan) -> AttributeValue? {
        let g = c.genAI
        switch field {
        case .operation: return g.operation.map { .string($0) }
        case .provider: return g.provider.map { .string($0) }
        case .requestModel: return g.requestModel.map { .string($0) }
        case .responseModel: return g.responseModel.map { .string($0) }
        case .finishReason: return g.finishReason.map { .string($0) }
        case .errorType: return g.errorType.map { .string($0) }
        case .conversationID: return g.conversationID.map { .string($0) }
        case .userID: return g.userID.map { .string($0) }
        case .promptName: return g.promptName.map { .string($0) }
        case .promptVersion: return g.promptVersion.map { .string($0) }
        case .variant: return c.release.variant.map { .string($0) }
        case .rollout: return c.release.rollout.map { .string($0) }
        case .inputTokens: return g.inputTokens.map { .int($0) }
        case .outputTokens: return g.outputTokens.map { .int($0) }
        case .cacheReadTokens: return g.cacheReadTokens.map { .int($0) }
        case .cacheCreationTokens: return g.cacheCreationTokens.map { .int($0) }
        case .reasoningTokens: return g.reasoningTokens.map { .int($0) }
        case .timeToFirstToken: return g.timeToFirstToken.map { .double($0) }
        default: return nil
        }
    }
}

/// A set of column chunks in one blob: how a journal entry stores its batch.
enum ChunkContainer {
    static func pack(_ chunks: [(ColumnID, [UInt8])]) -> [UInt8] {
        var w = ByteWriter()
        w.raw([0x4C, 0x4A, 0x01])  // "LJ" v1
        w.varint(chunks.count)
        for (id, data) in chunks { w.varint(id.rawValue); w.varint(data.count) }
        for (_, data) in chunks { w.raw(data) }
        return w.bytes
    }

    static func unpack(_ blob: UnsafeBufferPointer<UInt8>, only wanted: Set<ColumnID>? = nil) throws(StoreError) -> [ColumnID: [UInt8]] {
        var r = ByteReader(blob)
        guard blob.count >= 3, blob[0] == 0x4C, blob[1] == 0x4A, blob[2] == 0x01 else { throw .corrupt("journal entry has an unknown format") }
        r.position = 3
        let n = try r.count(limit: 256)
        var directory: [(Int, Int)] = []
        for _ in 0..<n { directory.append((try r.count(limit: 1 << 16), try r.count(limit: blob.count))) }
        var out: [ColumnID: [UInt8]] = [:]
        for (raw, length) in directory {
            let bytes = try r.slice(length)
            guard let id = ColumnID(rawValue: raw) else { continue }
            if wanted == nil || wanted!.contains(id) { out[id] = Array(bytes) }
        }
        return out
    }
}
