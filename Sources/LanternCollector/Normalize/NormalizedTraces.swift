import LanternModel

/// A decoded and normalized trace request: the canonical spans of the valid spans, in request
/// order, and the reasons for those that were not valid.
public struct NormalizedTraces: Sendable, Equatable {
    public var spans: [CanonicalSpan]
    public var rejections: [SpanRejection]

    public init(spans: [CanonicalSpan] = [], rejections: [SpanRejection] = []) {
        self.spans = spans
        self.rejections = rejections
    }
}

extension OTLPProtobufDecoder {
    /// Decodes an `ExportTraceServiceRequest` and normalizes each span as soon as it is read: the
    /// same spans, rejections and errors as `decodeTraces` followed by `Normalizer.normalize`, with
    /// no intermediate `TraceExport` and no second lookup of attribute keys (the interner
    /// remembers which rule reads each key).
    public func decodeNormalizedTraces(_ bytes: [UInt8], normalizer: Normalizer = Normalizer()) throws(OTLPDecodingError) -> NormalizedTraces {
        try bytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) throws(OTLPDecodingError) -> NormalizedTraces in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return NormalizedTraces() }
            return try InternerPool.with { (interner: StringInterner) throws(OTLPDecodingError) -> NormalizedTraces in
                var run = ProtobufTraceDecoding(limits: limits, interner: interner)
                let reader = ProtobufReader(base: base, range: 0..<buffer.count)
                let batches = try run.scopeBatches(reader, .traces)
                var out = NormalizedTraces()
                out.spans.reserveCapacity(batches.reduce(0) { $0 + $1.items.count })
                var facts = ResourceFacts(resource: Resource())
                var factsOf = ""  // the resource `facts` were read from: "resource_spans[i]"
                for batch in batches {
                    let origin = batch.origin
                    if batch.path.first != factsOf {
                        facts = ResourceFacts(resource: origin.resource)
                        factsOf = batch.path.first ?? ""
                    }
                    try run.spans(of: batch, reader) { span, rules in
                        normalizer.normalize(span, origin: origin, facts: facts, attributeRules: rules, appendingTo: &out.spans)
                    }
                }
                out.rejections = run.rejections
                return out
            }
        }
    }
}

extension OTLPTraceBodyDecoder {
    /// Inflates and decodes a trace body and normalizes its spans (protobuf in one pass).
    public func decodeNormalized(_ body: [UInt8], format: OTLPFormat, encoding: ContentEncoding,
                                 normalizer: Normalizer = Normalizer()) throws(Failure) -> NormalizedTraces {
        let raw = try inflated(body, encoding: encoding)
        do {
            switch format {
            case .protobuf:
                return try OTLPProtobufDecoder(limits: limits).decodeNormalizedTraces(raw, normalizer: normalizer)
            case .json:
                let decoded = try OTLPJSONDecoder(limits: limits).decodeTraces(raw)
                return NormalizedTraces(spans: normalizer.normalize(decoded.export), rejections: decoded.rejections)
            }
        } catch {
            throw .malformed(error)
        }
    }
}
