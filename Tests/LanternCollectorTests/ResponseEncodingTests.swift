@testable import LanternCollector
import Testing

@Suite("OTLP/HTTP response bodies")
struct ResponseEncodingTests {
    @Test("full success is an empty message; partial success carries the count and the message, by field number")
    func exportResponse() {
        #expect(OTLPResponseEncoder.export(rejected: 0, message: "", format: .protobuf).isEmpty)
        #expect(String(decoding: OTLPResponseEncoder.export(rejected: 0, message: "", format: .json), as: UTF8.self) == "{}")
        // field 1 (partial_success, length 7) { field 1 rejected_spans = 2, field 2 error_message = "bad" }
        #expect(OTLPResponseEncoder.export(rejected: 2, message: "bad", format: .protobuf) == [0x0A, 7, 0x08, 2, 0x12, 3, 0x62, 0x61, 0x64])
        #expect(String(decoding: OTLPResponseEncoder.export(rejected: 2, message: "say \"x\"\n", format: .json), as: UTF8.self)
                == #"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"say \"x\"\n"}}"#)
    }

    @Test("google.rpc.Status: code in field 1, message in field 2, or the same as JSON")
    func status() {
        #expect(OTLPResponseEncoder.status(code: 3, message: "no", format: .protobuf) == [0x08, 3, 0x12, 2, 0x6E, 0x6F])
        #expect(String(decoding: OTLPResponseEncoder.status(code: 8, message: "big\u{1}", format: .json), as: UTF8.self)
                == #"{"code":8,"message":"big\u0001"}"#)
    }

    @Test("google.rpc.Status with RetryInfo: details holds one Any packing retry_delay as a Duration")
    func statusWithRetryInfo() {
        let typeURL = Array("type.googleapis.com/google.rpc.RetryInfo".utf8)
        // RetryInfo { retry_delay (1) = Duration { seconds (1) = 2 } }
        let retryInfo: [UInt8] = [0x0A, 2, 0x08, 2]
        let any: [UInt8] = [0x0A, UInt8(typeURL.count)] + typeURL + [0x12, UInt8(retryInfo.count)] + retryInfo
        let expected: [UInt8] = [0x08, 14, 0x12, 4] + Array("busy".utf8) + [0x1A, UInt8(any.count)] + any
        #expect(OTLPResponseEncoder.status(code: 14, message: "busy", retryAfterSeconds: 2) == expected)
        #expect(OTLPResponseEncoder.retryInfo(seconds: 2) == retryInfo)
    }
}
