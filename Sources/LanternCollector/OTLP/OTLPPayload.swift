/// The encoding of an OTLP body.
public enum OTLPFormat: String, Sendable {
    case protobuf, json

    /// The format for an HTTP `Content-Type`, or nil when it is neither OTLP encoding.
    public init?(contentType: String) {
        let base = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: " \t").lowercased() } ?? ""
        switch base {
        case "application/x-protobuf", "application/protobuf": self = .protobuf
        case "application/json": self = .json
        default: return nil
        }
    }

    /// The `Content-Type` of responses in this format.
    public var mimeType: String { self == .protobuf ? "application/x-protobuf" : "application/json" }
}

/// Decodes a whole OTLP trace body: inflates it within a limit, then parses protobuf or JSON.
public struct OTLPTraceBodyDecoder: Sendable {
    public var limits: DecodingLimits
    /// Largest body accepted after decompression (the OTLP spec recommends 64 MiB).
    public var maxBodyBytes: Int

    public init(limits: DecodingLimits = .default, maxBodyBytes: Int = 64 << 20) {
        self.limits = limits
        self.maxBodyBytes = maxBodyBytes
    }

    /// Why a body could not be decoded.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case tooLarge(String)
        case malformed(OTLPDecodingError)

        public var description: String {
            switch self {
            case .tooLarge(let s): return s
            case .malformed(let e): return e.description
            }
        }
    }

    public func decode(_ body: [UInt8], format: OTLPFormat, encoding: ContentEncoding) throws(Failure) -> DecodedTraces {
        let raw = try inflated(body, encoding: encoding)
        do {
            switch format {
            case .protobuf: return try OTLPProtobufDecoder(limits: limits).decodeTraces(raw)
            case .json: return try OTLPJSONDecoder(limits: limits).decodeTraces(raw)
            }
        } catch {
            throw .malformed(error)
        }
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
