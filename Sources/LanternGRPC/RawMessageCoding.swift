import GRPCCore

/// gRPC messages kept as their protobuf encoding: Lantern decodes OTLP requests with its own
/// protobuf decoder (through the ingest core) and encodes responses with `OTLPResponseEncoder`, so
/// neither swift-protobuf nor generated code is needed.
struct RawMessageCoding: MessageSerializer, MessageDeserializer {
    typealias Message = [UInt8]

    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }

    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
