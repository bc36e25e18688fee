import Foundation
import Testing
@testable import LanternCollector
import LanternModel
import LanternTesting

// Hostile and broken OTLP bodies: truncated and bit-flipped protobuf, invalid ids, values past the
// decoding limits, JSON of the wrong shape, compression bombs. The decoders must never crash; a
// structural fault fails the request with a location and a reason, and a fault confined to one span
// rejects that span alone while the rest of the request is kept.

@Suite("Bad input: OTLP decoding never crashes and says what was wrong")
struct BadInputTests {

    // MARK: - Protobuf: truncation

    @Test("every prefix of a protobuf body decodes or throws a truncation error")
    func everyPrefixOfAProtobufBody() throws {
        let body = try Fixtures.file("otel-v2-http-protobuf", "0002-traces.req.pb")
        let decoder = OTLPProtobufDecoder()
        #expect(try decoder.decodeTraces(body).export.spanCount == 10)
        var decoded = 0, failed = 0
        var wrong: [String] = []
        for n in 0..<body.count {
            do {
                let d = try decoder.decodeTraces(Array(body[0..<n]))
                decoded += 1
                if d.export.spanCount + d.rejections.count > 10 { wrong.append("prefix \(n): \(d.export.spanCount) spans") }
            } catch {
                failed += 1
                let text = error.description
                if !(text.contains("runs past the end") || text.contains("truncated")) || error.offset == nil || error.location.isEmpty {
                    wrong.append("prefix \(n): \(text)")
                } else if let offset = error.offset, offset > n {
                    wrong.append("prefix \(n): offset \(offset) is past the end: \(text)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) bad outcomes, e.g. \(wrong.prefix(5))")
        // The body is one resource_spans field: only the empty prefix is a (empty) request.
        #expect(decoded == 1)
        #expect(failed == body.count - 1)
    }

    @Test("a span cut short inside the request fails the request naming the span and the cut",
          arguments: [SpanPosition(scope: 0, span: 0), SpanPosition(scope: 0, span: 1), SpanPosition(scope: 1, span: 3)])
    func truncatedSpanInsideTheRequest(_ at: SpanPosition) throws {
        let original = try Self.fixtureExport()
        var one = ProtobufWriter()
        OTLPProtobufEncoder.span(original.resourceSpans[0].scopeSpans[at.scope].spans[at.span], &one)
        let full = one.bytes
        let decoder = OTLPProtobufDecoder()
        var structural = 0, betweenFields = 0
        var wrong: [String] = []
        for cut in 0..<full.count {
            let body = Self.protobuf(original, patching: at) { Array($0.prefix(cut)) }
            do {
                let d = try decoder.decodeTraces(body)
                // Cut between two fields: a shorter but well-formed span, kept or rejected on its own.
                betweenFields += 1
                if d.export.spanCount + d.rejections.count != 10 || d.rejections.contains(where: { $0.location != at.location }) {
                    wrong.append("cut \(cut): \(d.export.spanCount) spans, rejections \(d.rejections)")
                }
            } catch {
                structural += 1
                let text = error.description
                if !error.location.hasPrefix(at.location) || !(text.contains("runs past the end") || text.contains("truncated"))
                    || error.offset == nil {
                    wrong.append("cut \(cut): \(text)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) bad outcomes, e.g. \(wrong.prefix(5))")
        #expect(structural > 0)
        #expect(betweenFields > 0)
    }

    @Test("a span cut before its span_id is rejected alone")
    func spanWithoutSpanID() throws {
        let original = try Self.fixtureExport()
        let at = SpanPosition(scope: 0, span: 2)
        // The encoder writes trace_id (18 bytes with tag and length) first, then span_id.
        let d = try OTLPProtobufDecoder().decodeTraces(Self.protobuf(original, patching: at) { Array($0.prefix(18)) })
        try #require(d.rejections.count == 1, "\(d.rejections)")
        #expect(d.rejections[0].location == at.location)
        #expect(d.rejections[0].reason.contains("span_id"))
        #expect(d.export == Self.removing(at, from: original))
    }

    // MARK: - Protobuf: random damage

    @Test("random byte flips in a protobuf body never crash the decoder")
    func randomFlipsInProtobuf() throws {
        let body = try Fixtures.file("otel-v2-http-protobuf", "0002-traces.req.pb")
        var rng = SeededGenerator(seed: 0x5EED_0001)
        var outcomes = (decoded: 0, failed: 0)
        var wrong: [String] = []
        for round in 0..<1_500 {
            var damaged = body
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                damaged[Int.random(in: 0..<damaged.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
            if round % 5 == 0 { damaged.removeLast(Int.random(in: 0..<damaged.count, using: &rng)) }
            do {
                let d = try OTLPProtobufDecoder().decodeTraces(damaged)
                outcomes.decoded += 1
                if let problem = Self.invariantViolation(d) { wrong.append("round \(round): \(problem)") }
            } catch {
                outcomes.failed += 1
                if error.reason.isEmpty { wrong.append("round \(round): empty reason") }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(outcomes.decoded + outcomes.failed == 1_500)
    }

    @Test("random byte flips in JSON and gzip bodies never crash the decoder")
    func randomFlipsInJSONAndGzip() throws {
        let cases: [(bytes: [UInt8], format: OTLPFormat, encoding: ContentEncoding, rounds: Int)] = [
            (try Fixtures.file("otel-v2-http-json", "0001-traces.req.json"), .json, .identity, 400),
            (try Fixtures.file("openllmetry-http-json-gzip", "0001-traces.req.gz"), .json, .gzip, 300),
            (try Fixtures.file("openinference-grpc-gzip", "0001-traces.req.pb"), .protobuf, .identity, 300),
        ]
        var rng = SeededGenerator(seed: 0x5EED_0002)
        var wrong: [String] = []
        for c in cases {
            #expect(try OTLPTraceBodyDecoder().decode(c.bytes, format: c.format, encoding: c.encoding).export.spanCount == 10)
            for round in 0..<c.rounds {
                var damaged = c.bytes
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    damaged[Int.random(in: 0..<damaged.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
                do {
                    let d = try OTLPTraceBodyDecoder().decode(damaged, format: c.format, encoding: c.encoding)
                    if let problem = Self.invariantViolation(d) { wrong.append("\(c.format) round \(round): \(problem)") }
                } catch {
                    if error.description.isEmpty { wrong.append("\(c.format) round \(round): empty description") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    // MARK: - Protobuf: invalid ids

    @Test("a span with an invalid id is rejected alone, naming the id",
          arguments: IDCase.protobuf, [SpanPosition(scope: 0, span: 1), SpanPosition(scope: 1, span: 3)])
    func invalidIDRejectsOnlyItsSpan(_ c: IDCase, _ at: SpanPosition) throws {
        let original = try Self.fixtureExport()
        // A repeated singular field overrides the earlier one: append the bad id after the good one.
        let body = Self.protobuf(original, patching: at) { $0 + Self.field(c.field, c.bytes) }
        let d = try OTLPProtobufDecoder().decodeTraces(body)
        try #require(d.rejections.count == 1, "\(d.rejections)")
        #expect(d.rejections[0].location == at.location)
        #expect(d.rejections[0].reason.contains(c.mentions), "\(d.rejections[0].reason)")
        #expect(d.export == Self.removing(at, from: original))
    }

    @Test("an all-zero or empty parent_span_id makes a root span, not a rejection")
    func zeroParentIsRoot() throws {
        let original = try Self.fixtureExport()
        let at = SpanPosition(scope: 0, span: 1)
        for parent in [[UInt8](repeating: 0, count: 8), []] {
            let d = try OTLPProtobufDecoder().decodeTraces(Self.protobuf(original, patching: at) { $0 + Self.field(4, parent) })
            #expect(d.rejections.isEmpty)
            var expected = original
            expected.resourceSpans[0].scopeSpans[0].spans[1].parentSpanID = nil
            #expect(d.export == expected)
        }
    }

    @Test("the test's re-encoding of a fixture decodes to the fixture's spans")
    func reencodingIsFaithful() throws {
        let original = try Self.fixtureExport()
        #expect(try OTLPProtobufDecoder().decodeTraces(Self.protobuf(original)) == DecodedTraces(export: original))
        #expect(try OTLPJSONDecoder().decodeTraces(Array(JSONText.export(original).utf8)) == DecodedTraces(export: original))
    }

    // MARK: - Limits, in both encodings

    @Test("a span past a decoding limit is rejected alone, naming what was too big",
          arguments: LimitCase.all, Wire.allCases)
    func limitRejectsOnlyItsSpan(_ c: LimitCase, _ wire: Wire) throws {
        // Span 0 sits exactly at the limit and must be kept; span 1 is one past it.
        let spans = [c.atLimit, c.pastLimit, Self.span(2)]
        let d = try Self.decode(Self.encode(Self.export(spans), wire), wire, c.limits)
        try #require(d.rejections.count == 1, "\(d.rejections)")
        #expect(d.rejections[0].location == "resource_spans[0].scope_spans[0].spans[1]")
        for word in c.mentions {
            #expect(d.rejections[0].reason.contains(word), "'\(word)' in \(d.rejections[0].reason)")
        }
        #expect(d.export.resourceSpans.first?.scopeSpans.first?.spans == [spans[0], spans[2]])
    }

    @Test("a rejection's reason names what inside the span was wrong, never the whole request")
    func rejectionReasonIsRelativeToTheSpan() throws {
        var limits = DecodingLimits()
        limits.maxValueBytes = 1000
        let long = String(repeating: "n", count: 1001)
        var badStatus = Self.span(1)
        badStatus.statusCode = .error
        badStatus.statusMessage = long
        let cases: [(String, [UInt8], OTLPFormat, String)] = [
            ("protobuf span name too long", OTLPProtobufEncoder().encode(Self.export([Self.span(0), Self.span(1, name: long)])), .protobuf, "name"),
            ("protobuf status message too long", OTLPProtobufEncoder().encode(Self.export([Self.span(0), badStatus])), .protobuf, "status"),
            ("JSON span name too long", Array(JSONText.export(Self.export([Self.span(0), Self.span(1, name: long)])).utf8), .json, "name"),
            ("JSON span that is not an object", Array(JSONText.request(spans: [JSONText.span(name: "a"), "[]"]).utf8), .json, "spans[1]"),
        ]
        for (what, body, format, field) in cases {
            let d = try OTLPTraceBodyDecoder(limits: limits).decode(body, format: format, encoding: .identity)
            try #require(d.rejections.count == 1, "\(what): \(d.rejections)")
            let r = d.rejections[0]
            #expect(r.location == "resource_spans[0].scope_spans[0].spans[1]", "\(what)")
            #expect(!r.reason.hasPrefix("request"), "\(what): the reason blames the request: \(r.reason)")
            #expect(r.description.contains(field), "\(what): '\(field)' in \(r)")
        }
    }

    @Test("a resource past the attribute limit rejects each of its spans", arguments: Wire.allCases)
    func resourceOverLimit(_ wire: Wire) throws {
        var limits = DecodingLimits()
        limits.maxAttributes = 4
        let resource = (0..<5).map { Attribute("r\($0)", .int(Int64($0))) }
        let export = Self.export([Self.span(0), Self.span(1), Self.span(2)], resource: resource)
        let d = try Self.decode(Self.encode(export, wire), wire, limits)
        #expect(d.export.spanCount == 0)
        #expect(d.rejections.map(\.location) == (0..<3).map { "resource_spans[0].scope_spans[0].spans[\($0)]" })
        #expect(d.rejections.allSatisfy { $0.reason.contains("resource") && $0.reason.contains("attributes") }, "\(d.rejections)")
        // The same resource at the limit is fine.
        let fine = Self.export([Self.span(0)], resource: Array(resource.prefix(4)))
        #expect(try Self.decode(Self.encode(fine, wire), wire, limits) == DecodedTraces(export: fine))
    }

    @Test("protobuf values nested 2000 deep reject their span without deep recursion")
    func hostileProtobufNesting() throws {
        // AnyValue{array_value: ArrayValue{values: AnyValue{...{string_value: "x"}}}}, built inside out.
        var value = Self.field(1, Array("x".utf8))
        for _ in 0..<2_000 { value = Self.field(5, Self.field(1, value)) }
        let attribute = Self.field(1, Array("deep".utf8)) + Self.field(2, value)
        let spans = [Self.span(0), Self.span(1), Self.span(2)]
        let at = SpanPosition(scope: 0, span: 1)
        let body = Self.protobuf(Self.export(spans), patching: at) { $0 + Self.field(9, attribute) }
        let d = try OTLPProtobufDecoder().decodeTraces(body)
        try #require(d.rejections.count == 1, "\(d.rejections)")
        #expect(d.rejections[0].location == at.location)
        #expect(d.rejections[0].reason.contains("nested deeper than 16"), "\(d.rejections[0].reason)")
        #expect(d.rejections[0].reason.contains("deep"))
        #expect(d.export.resourceSpans.first?.scopeSpans.first?.spans == [spans[0], spans[2]])
    }

    @Test("JSON nested 100 000 deep fails the request without deep recursion")
    func hostileJSONNesting() {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = #expect(throws: OTLPDecodingError.self) { try OTLPJSONDecoder().decodeTraces(Array(text.utf8)) }
        #expect(error?.description.contains("nested deeper") == true, "\(String(describing: error))")
    }

    // MARK: - JSON: wrong types and shapes

    @Test("a JSON span field of the wrong type rejects that span, naming the field", arguments: JSONFieldCase.all)
    func jsonWrongTypeRejectsOnlyItsSpan(_ c: JSONFieldCase) throws {
        let body = JSONText.request(spans: [JSONText.span(name: "good"), JSONText.span(name: "bad", c.fields)])
        let d = try OTLPJSONDecoder().decodeTraces(Array(body.utf8))
        try #require(d.rejections.count == 1, "\(d.rejections)")
        #expect(d.rejections[0].location == "resource_spans[0].scope_spans[0].spans[1]")
        for word in c.mentions {
            #expect(d.rejections[0].reason.contains(word), "'\(word)' in \(d.rejections[0].reason)")
        }
        #expect(d.export.resourceSpans.first?.scopeSpans.first?.spans.map(\.name) == ["good"])
    }

    @Test("JSON of the wrong shape outside spans fails with a message naming the field", arguments: JSONShapeCase.all)
    func jsonWrongShape(_ c: JSONShapeCase) {
        let text: String
        do {
            let d = try OTLPJSONDecoder().decodeTraces(Array(c.body.utf8))
            guard !d.rejections.isEmpty else {
                Issue.record("accepted without complaint: \(d.export.spanCount) spans")
                return
            }
            text = d.rejections.map(\.description).joined(separator: "; ")
        } catch {
            text = error.description
        }
        #expect(text.contains(c.mentions), "'\(c.mentions)' in \(text)")
    }

    @Test("text that is not JSON fails with its line and column", arguments: [
        ("{", "line 1, column 2"),
        (#"{"resourceSpans":[]} x"#, "line 1, column 22"),
        ("{\n  \"a\": ,\n}", "line 2, column 8"),
        ("", "line 1, column 1"),
        (#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"\x"}]}]}]}"#, "line 1, column 55"),
        ("{\"a\":\n\n  tru}", "line 3, column 3"),
    ])
    func invalidJSON(_ text: String, _ position: String) {
        let error = #expect(throws: OTLPDecodingError.self) { try OTLPJSONDecoder().decodeTraces(Array(text.utf8)) }
        #expect(error?.description.contains("invalid JSON") == true, "\(String(describing: error))")
        #expect(error?.description.contains(position) == true, "'\(position)' in \(String(describing: error))")
    }

    // MARK: - JSON: what must be accepted

    @Test("hex ids in upper case decode like lower case")
    func upperCaseHex() throws {
        let ids: [(String, String)] = [("traceId", "\"5B8EFFF798038103D269B633813FC60C\""), ("spanId", "\"EEE19B7EC3C1B174\""),
                                       ("parentSpanId", "\"0A1B2C3D4E5F6A7B\"")]
        let upper = try OTLPJSONDecoder().decodeTraces(Array(JSONText.request(spans: [JSONText.span(name: "s", ids)]).utf8))
        let lower = try OTLPJSONDecoder().decodeTraces(Array(JSONText.request(spans: [
            JSONText.span(name: "s", ids.map { ($0.0, $0.1.lowercased()) }),
        ]).utf8))
        #expect(upper.rejections.isEmpty && lower.rejections.isEmpty)
        #expect(upper == lower)
        let span = try #require(upper.export.resourceSpans.first?.scopeSpans.first?.spans.first)
        #expect(span.traceID.hex == "5b8efff798038103d269b633813fc60c")
        #expect(span.spanID.hex == "eee19b7ec3c1b174")
        #expect(span.parentSpanID?.hex == "0a1b2c3d4e5f6a7b")
    }

    @Test("64-bit integers decode the same as JSON numbers and as strings", arguments: [
        "9007199254740993", "-42", "0", "9223372036854775807", "-9223372036854775808",
    ])
    func int64NumberOrString(_ n: String) throws {
        let asNumber = try Self.attributeValue(#"{"intValue":\#(n)}"#)
        let asString = try Self.attributeValue(#"{"intValue":"\#(n)"}"#)
        #expect(asNumber == .int(Int64(n)!))
        #expect(asString == .int(Int64(n)!))
    }

    @Test("timestamps decode the same as JSON numbers and as strings")
    func timestampNumberOrString() throws {
        func start(_ value: String) throws -> UInt64? {
            let d = try OTLPJSONDecoder().decodeTraces(Array(JSONText.request(spans: [
                JSONText.span(name: "t", [("startTimeUnixNano", value), ("endTimeUnixNano", value)]),
            ]).utf8))
            return d.export.resourceSpans.first?.scopeSpans.first?.spans.first?.startTimeUnixNano
        }
        #expect(try start("1700000000123456789") == 1_700_000_000_123_456_789)
        #expect(try start("\"1700000000123456789\"") == 1_700_000_000_123_456_789)
        #expect(try start("\"18446744073709551615\"") == UInt64.max)
    }

    @Test("doubleValue accepts numbers, numeric strings, NaN and the infinities")
    func doubles() throws {
        #expect(try Self.attributeValue(#"{"doubleValue":"NaN"}"#).doubleValue?.isNaN == true)
        #expect(try Self.attributeValue(#"{"doubleValue":"Infinity"}"#) == .double(.infinity))
        #expect(try Self.attributeValue(#"{"doubleValue":"-Infinity"}"#) == .double(-.infinity))
        #expect(try Self.attributeValue(#"{"doubleValue":0.2}"#) == .double(0.2))
        #expect(try Self.attributeValue(#"{"doubleValue":"0.2"}"#) == .double(0.2))
        #expect(try Self.attributeValue(#"{"doubleValue":-1.5e300}"#) == .double(-1.5e300))
        #expect(try Self.attributeValue(#"{"doubleValue":3}"#) == .double(3))
    }

    @Test("bytesValue is base64")
    func bytesValue() throws {
        #expect(try Self.attributeValue(#"{"bytesValue":"AAEC/w=="}"#) == .bytes([0, 1, 2, 255]))
        #expect(try Self.attributeValue(#"{"bytesValue":""}"#) == .bytes([]))
        #expect(try Self.attributeValue(#"{"bytesValue":"aGVsbG8="}"#) == .bytes(Array("hello".utf8)))
    }

    @Test("arrayValue and kvlistValue, nested and empty")
    func arraysAndKvlists() throws {
        let value = try Self.attributeValue(#"""
            {"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"1"},{"boolValue":false},{},
              {"kvlistValue":{"values":[{"key":"k","value":{"doubleValue":0.5}},{"key":"none"},
                {"key":"list","value":{"arrayValue":{"values":[{"stringValue":"deep"}]}}}]}}]}}
            """#)
        #expect(value == .array([
            .string("a"), .int(1), .bool(false), .empty,
            .kvlist([Attribute("k", .double(0.5)), Attribute("none", .empty), Attribute("list", .array([.string("deep")]))]),
        ]))
        #expect(try Self.attributeValue(#"{"arrayValue":{}}"#) == .array([]))
        #expect(try Self.attributeValue(#"{"kvlistValue":{"values":[]}}"#) == .kvlist([]))
    }

    @Test("unknown fields are ignored at every level of the request")
    func unknownFieldsIgnored() throws {
        let plain = JSONText.request(spans: [JSONText.span(name: "a", [("attributes", #"[{"key":"k","value":{"stringValue":"v"}}]"#)])])
        let noisy = #"""
            {"futureField":{"x":[1,2,{"y":null}]},"resourceSpans":[{"extra":1,
              "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}],"entityRefs":[{"type":"service"}]},
              "scopeSpans":[{"whatever":"x","scope":{"name":"t","unknown":true},
                "spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"a","kind":3,"newThing":{"a":[]},
                  "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000500000000",
                  "attributes":[{"key":"k","value":{"stringValue":"v"},"note":"ignored"}]}]}]}]}
            """#
        let a = try OTLPJSONDecoder().decodeTraces(Array(plain.utf8))
        let b = try OTLPJSONDecoder().decodeTraces(Array(noisy.utf8))
        #expect(a.rejections.isEmpty && b.rejections.isEmpty, "\(b.rejections)")
        #expect(a == b)
    }

    @Test("an unknown field beside the value of an AnyValue does not hide the value")
    func unknownFieldInsideAnyValue() throws {
        #expect(try Self.attributeValue(#"{"stringValue":"v","futureHint":1}"#) == .string("v"))
        #expect(try Self.attributeValue(#"{"futureHint":1,"stringValue":"v"}"#) == .string("v"))
        #expect(try Self.attributeValue(#"{"intValue":"7","comment":"x"}"#) == .int(7))
    }

    @Test("snake_case keys decode like lowerCamelCase ones")
    func snakeCaseKeys() throws {
        let camel = #"""
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}],"droppedAttributesCount":1},
              "schemaUrl":"https://r","scopeSpans":[{"scope":{"name":"t","version":"1","droppedAttributesCount":2},"schemaUrl":"https://s",
                "spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"0a1b2c3d4e5f6a7b",
                  "traceState":"k=v","name":"a","kind":3,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000500000000",
                  "attributes":[{"key":"s","value":{"stringValue":"x"}},{"key":"i","value":{"intValue":"5"}},{"key":"b","value":{"boolValue":true}},
                    {"key":"d","value":{"doubleValue":1.5}},{"key":"y","value":{"bytesValue":"AQI="}},
                    {"key":"a","value":{"arrayValue":{"values":[{"stringValue":"e"}]}}},
                    {"key":"m","value":{"kvlistValue":{"values":[{"key":"n","value":{"intValue":1}}]}}}],
                  "droppedAttributesCount":3,
                  "events":[{"timeUnixNano":"1700000000100000000","name":"ev","droppedAttributesCount":4}],"droppedEventsCount":5,
                  "links":[{"traceId":"00000000000000000000000000000001","spanId":"0000000000000002","traceState":"l=1"}],
                  "droppedLinksCount":6,"status":{"code":2,"message":"boom"},"flags":256}]}]}]}
            """#
        let renames = [
            ("resourceSpans", "resource_spans"), ("scopeSpans", "scope_spans"), ("droppedAttributesCount", "dropped_attributes_count"),
            ("schemaUrl", "schema_url"), ("traceId", "trace_id"), ("spanId", "span_id"), ("parentSpanId", "parent_span_id"),
            ("traceState", "trace_state"), ("startTimeUnixNano", "start_time_unix_nano"), ("endTimeUnixNano", "end_time_unix_nano"),
            ("stringValue", "string_value"), ("intValue", "int_value"), ("boolValue", "bool_value"), ("doubleValue", "double_value"),
            ("bytesValue", "bytes_value"), ("arrayValue", "array_value"), ("kvlistValue", "kvlist_value"),
            ("timeUnixNano", "time_unix_nano"), ("droppedEventsCount", "dropped_events_count"), ("droppedLinksCount", "dropped_links_count"),
        ]
        var snake = camel
        for (from, to) in renames { snake = snake.replacingOccurrences(of: "\"\(from)\"", with: "\"\(to)\"") }
        #expect(!snake.contains("Value\"") && snake.contains("\"kvlist_value\""))
        let a = try OTLPJSONDecoder().decodeTraces(Array(camel.utf8))
        let b = try OTLPJSONDecoder().decodeTraces(Array(snake.utf8))
        #expect(a.rejections.isEmpty, "\(a.rejections)")
        #expect(a == b)
        let span = try #require(a.export.resourceSpans.first?.scopeSpans.first?.spans.first)
        #expect(span.attributes.count == 7)
        #expect(span.droppedAttributesCount == 3 && span.droppedEventsCount == 5 && span.droppedLinksCount == 6)
        #expect(span.statusCode == .error && span.statusMessage == "boom" && span.flags == 256)
        #expect(span.links.first?.traceState == "l=1")
        #expect(a.export.resourceSpans[0].schemaURL == "https://r")
        #expect(a.export.resourceSpans[0].scopeSpans[0].scope.droppedAttributesCount == 2)
    }

    @Test("span kind and status code may be given by their enum names")
    func enumNames() throws {
        let d = try OTLPJSONDecoder().decodeTraces(Array(JSONText.request(spans: [
            JSONText.span(name: "n", [("kind", "\"SPAN_KIND_CLIENT\""), ("status", #"{"code":"STATUS_CODE_ERROR","message":"m"}"#)]),
        ]).utf8))
        let span = try #require(d.export.resourceSpans.first?.scopeSpans.first?.spans.first)
        #expect(span.kind == .client)
        #expect(span.statusCode == .error)
    }

    // MARK: - Decompression

    @Test("a gzip bomb is refused as soon as it passes the limit")
    func gzipBomb() throws {
        // 50 MB of zeros gzip to about 50 KB.
        let bomb = try Self.tool(Self.shell, ["-c", "head -c 52428800 /dev/zero | \(Self.gzip) -c"])
        try #require(Decompression.looksGzipped(bomb))
        #expect(bomb.count < 200_000)
        let clock = ContinuousClock()
        let started = clock.now
        let error = #expect(throws: DecompressionError.self) { try Decompression.inflate(bomb, encoding: .gzip, limit: 1 << 20) }
        #expect(error == .tooLarge(limit: 1 << 20))
        #expect(clock.now - started < .seconds(2), "inflating up to the limit took \(clock.now - started)")

        let failure = #expect(throws: OTLPTraceBodyDecoder.Failure.self) {
            try OTLPTraceBodyDecoder(maxBodyBytes: 1 << 20).decode(bomb, format: .protobuf, encoding: .gzip)
        }
        guard case .tooLarge(let text)? = failure else {
            Issue.record("expected tooLarge, got \(String(describing: failure))")
            return
        }
        #expect(text.contains("\(1 << 20)"))
    }

    @Test("the size limit is exact")
    func limitIsExact() throws {
        let gz = try Self.python("import gzip; out = gzip.compress(b'\\0' * 1000000)")
        #expect(try Decompression.inflate(gz, encoding: .gzip, limit: 1_000_000).count == 1_000_000)
        #expect(throws: DecompressionError.tooLarge(limit: 999_999)) { try Decompression.inflate(gz, encoding: .gzip, limit: 999_999) }
        let plain = [UInt8](repeating: 7, count: 100)
        #expect(try Decompression.inflate(plain, encoding: .identity, limit: 100) == plain)
        #expect(throws: DecompressionError.tooLarge(limit: 99)) { try Decompression.inflate(plain, encoding: .identity, limit: 99) }
    }

    @Test("corrupt gzip is refused as corrupt")
    func corruptGzip() throws {
        let json = try Fixtures.file("otel-v2-http-json", "0001-traces.req.json")
        let gz = try Self.python("import gzip; out = gzip.compress(data)", input: json)
        #expect(try Decompression.inflate(gz, encoding: .gzip, limit: 1 << 20) == json)

        var flipped = gz
        for i in stride(from: gz.count / 3, to: gz.count / 3 + 8, by: 1) { flipped[i] ^= 0x5A }
        var badCRC = gz
        badCRC[gz.count - 6] ^= 0x01
        let damaged: [(String, [UInt8])] = [
            ("flipped bytes", flipped), ("bad CRC", badCRC), ("truncated", Array(gz.prefix(gz.count / 2))),
            ("header only", Array(gz.prefix(10))), ("not gzip", json), ("empty", []),
        ]
        for (what, bytes) in damaged {
            let error = #expect(throws: DecompressionError.self, "\(what)") { try Decompression.inflate(bytes, encoding: .gzip, limit: 1 << 20) }
            guard case .corrupt(let why)? = error else {
                Issue.record("\(what): expected .corrupt, got \(String(describing: error))")
                continue
            }
            #expect(!why.isEmpty)
            // Through the body decoder it is a malformed request, not a crash.
            #expect(throws: OTLPTraceBodyDecoder.Failure.self, "\(what)") {
                try OTLPTraceBodyDecoder().decode(bytes, format: .json, encoding: .gzip)
            }
        }
    }

    @Test("deflate bodies inflate both zlib-wrapped and raw")
    func deflateVariants() throws {
        let json = try Fixtures.file("otel-v2-http-json", "0001-traces.req.json")
        let zlibbed = try Self.python("import zlib; out = zlib.compress(data, 9)", input: json)
        let raw = try Self.python("import zlib; c = zlib.compressobj(9, zlib.DEFLATED, -15); out = c.compress(data) + c.flush()", input: json)
        #expect(zlibbed != raw)
        for (what, body) in [("zlib", zlibbed), ("raw", raw)] {
            #expect(try Decompression.inflate(body, encoding: .deflate, limit: 1 << 20) == json, "\(what)")
            let d = try OTLPTraceBodyDecoder().decode(body, format: .json, encoding: .deflate)
            #expect(d.export.spanCount == 10, "\(what)")
            #expect(d.rejections.isEmpty, "\(what)")
        }
        var corrupt = zlibbed
        corrupt[corrupt.count / 2] ^= 0xFF
        corrupt[corrupt.count / 2 + 1] ^= 0xFF
        let error = #expect(throws: DecompressionError.self) { try Decompression.inflate(corrupt, encoding: .deflate, limit: 1 << 20) }
        if case .tooLarge? = error { Issue.record("corrupt deflate reported as too large") }
    }

    // MARK: - Content types

    @Test("content types map to OTLP encodings", arguments: [
        ("application/x-protobuf", OTLPFormat.protobuf), ("application/protobuf", .protobuf),
        ("application/json", .json), ("application/json; charset=utf-8", .json), ("Application/JSON ;charset=UTF-8", .json),
        ("application/x-protobuf; proto=opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest", .protobuf),
    ])
    func contentTypes(_ contentType: String, _ format: OTLPFormat) {
        #expect(OTLPFormat(contentType: contentType) == format)
    }

    @Test("other content types are refused", arguments: ["text/plain", "", "application/xml", "application/jsonl", "multipart/form-data; boundary=x"])
    func otherContentTypes(_ contentType: String) {
        #expect(OTLPFormat(contentType: contentType) == nil)
    }
}

// MARK: - Cases

extension BadInputTests {
    /// Where a span sits in a request with one resource.
    struct SpanPosition: Sendable, Equatable, CustomTestStringConvertible {
        var scope: Int
        var span: Int
        var location: String { "resource_spans[0].scope_spans[\(scope)].spans[\(span)]" }
        var testDescription: String { location }
    }

    /// An id field replaced by bad bytes, and the word its rejection must name.
    struct IDCase: Sendable, CustomTestStringConvertible {
        var name: String
        var field: Int
        var bytes: [UInt8]
        var mentions: String
        var testDescription: String { name }

        static let protobuf: [IDCase] = [
            IDCase(name: "5-byte trace_id", field: 1, bytes: [1, 2, 3, 4, 5], mentions: "trace_id"),
            IDCase(name: "empty trace_id", field: 1, bytes: [], mentions: "trace_id"),
            IDCase(name: "all-zero trace_id", field: 1, bytes: [UInt8](repeating: 0, count: 16), mentions: "trace_id"),
            IDCase(name: "17-byte trace_id", field: 1, bytes: [UInt8](repeating: 9, count: 17), mentions: "trace_id"),
            IDCase(name: "8-byte all-zero span_id", field: 2, bytes: [UInt8](repeating: 0, count: 8), mentions: "span_id"),
            IDCase(name: "9-byte span_id", field: 2, bytes: [UInt8](repeating: 1, count: 9), mentions: "span_id"),
            IDCase(name: "3-byte parent_span_id", field: 4, bytes: [1, 2, 3], mentions: "parent_span_id"),
        ]
    }

    /// A span at a limit, one past it, and what the rejection must name.
    struct LimitCase: Sendable, CustomTestStringConvertible {
        var name: String
        var limits: DecodingLimits
        var atLimit: Span
        var pastLimit: Span
        var mentions: [String]
        var testDescription: String { name }

        static var all: [LimitCase] {
            var small = DecodingLimits()
            small.maxValueBytes = 1000
            var few = DecodingLimits()
            few.maxAttributes = 4
            var shallow = DecodingLimits()
            shallow.maxDepth = 3
            var fewEvents = DecodingLimits()
            fewEvents.maxEventsPerSpan = 2
            var fewLinks = DecodingLimits()
            fewLinks.maxLinksPerSpan = 1
            func s(_ i: Int, _ a: [Attribute], name: String? = nil, events: [SpanEvent] = [], links: [SpanLink] = []) -> Span {
                BadInputTests.span(i, a, name: name, events: events, links: links)
            }
            func text(_ n: Int) -> AttributeValue { .string(String(repeating: "a", count: n)) }
            func attrs(_ n: Int) -> [Attribute] { (0..<n).map { Attribute("attr.\($0)", .int(Int64($0))) } }
            func arrays(_ n: Int) -> AttributeValue { n == 0 ? .string("x") : .array([arrays(n - 1)]) }
            func kvlists(_ n: Int) -> AttributeValue { n == 0 ? .string("x") : .kvlist([Attribute("k\(n)", kvlists(n - 1))]) }
            func events(_ n: Int, _ a: [Attribute] = []) -> [SpanEvent] {
                (0..<n).map { SpanEvent(timeUnixNano: 1_700_000_000_000_000_100 + UInt64($0), name: "ev\($0)", attributes: a) }
            }
            func links(_ n: Int) -> [SpanLink] { (0..<n).map { SpanLink(traceID: TraceID(high: 7, low: UInt64($0 + 1)), spanID: SpanID(raw: 9)) } }
            return [
                LimitCase(name: "string value over maxValueBytes", limits: small,
                          atLimit: s(0, [Attribute("ok.value", text(1000))]),
                          pastLimit: s(1, [Attribute("small", .int(1)), Attribute("big.value", text(1001))]),
                          mentions: ["big.value", "1000"]),
                LimitCase(name: "bytes value over maxValueBytes", limits: small,
                          atLimit: s(0, [Attribute("ok.bytes", .bytes([UInt8](repeating: 1, count: 1000)))]),
                          pastLimit: s(1, [Attribute("big.bytes", .bytes([UInt8](repeating: 1, count: 1001)))]),
                          mentions: ["big.bytes", "1000"]),
                LimitCase(name: "string inside an array over maxValueBytes", limits: small,
                          atLimit: s(0, [Attribute("ok.array", .array([text(1000)]))]),
                          pastLimit: s(1, [Attribute("big.array", .array([.int(1), text(1001)]))]),
                          mentions: ["big.array", "1000"]),
                LimitCase(name: "event attribute over maxValueBytes", limits: small,
                          atLimit: s(0, [], events: events(1, [Attribute("ev.ok", text(1000))])),
                          pastLimit: s(1, [], events: events(2, [Attribute("ev.big", text(1001))])),
                          mentions: ["events[0]", "ev.big"]),
                LimitCase(name: "span name over maxValueBytes", limits: small,
                          atLimit: s(0, [], name: String(repeating: "n", count: 1000)),
                          pastLimit: s(1, [], name: String(repeating: "n", count: 1001)),
                          mentions: ["1001", "1000"]),
                LimitCase(name: "more attributes than maxAttributes", limits: few,
                          atLimit: s(0, attrs(4)), pastLimit: s(1, attrs(5)), mentions: ["attributes", "4"]),
                LimitCase(name: "array longer than maxAttributes", limits: few,
                          atLimit: s(0, [Attribute("list", .array((0..<4).map { .int($0) }))]),
                          pastLimit: s(1, [Attribute("list", .array((0..<5).map { .int($0) }))]),
                          mentions: ["list", "array"]),
                LimitCase(name: "event with more attributes than maxAttributes", limits: few,
                          atLimit: s(0, [], events: events(1, attrs(4))), pastLimit: s(1, [], events: events(1, attrs(5))),
                          mentions: ["events[0]", "attributes"]),
                LimitCase(name: "arrays nested past maxDepth", limits: shallow,
                          atLimit: s(0, [Attribute("nest", arrays(2))]), pastLimit: s(1, [Attribute("nest", arrays(3))]),
                          mentions: ["nest", "nested deeper than 3"]),
                LimitCase(name: "kvlists nested past maxDepth", limits: shallow,
                          atLimit: s(0, [Attribute("kv", kvlists(2))]), pastLimit: s(1, [Attribute("kv", kvlists(3))]),
                          mentions: ["kv", "nested deeper than 3"]),
                LimitCase(name: "more events than maxEventsPerSpan", limits: fewEvents,
                          atLimit: s(0, [], events: events(2)), pastLimit: s(1, [], events: events(3)), mentions: ["events", "2"]),
                LimitCase(name: "more links than maxLinksPerSpan", limits: fewLinks,
                          atLimit: s(0, [], links: links(1)), pastLimit: s(1, [], links: links(2)), mentions: ["links", "1"]),
            ]
        }
    }

    /// A JSON span with some fields replaced, and the words its rejection must contain.
    struct JSONFieldCase: Sendable, CustomTestStringConvertible {
        var name: String
        var fields: [(String, String)]
        var mentions: [String]
        var testDescription: String { name }

        static let all: [JSONFieldCase] = [
            JSONFieldCase(name: "traceId as a number", fields: [("traceId", "123")], mentions: ["trace_id"]),
            JSONFieldCase(name: "traceId of 31 digits", fields: [("traceId", "\"5b8efff798038103d269b633813fc60\"")], mentions: ["trace_id"]),
            JSONFieldCase(name: "traceId not hex", fields: [("traceId", "\"5b8efff798038103d269b633813fc6zz\"")], mentions: ["trace_id"]),
            JSONFieldCase(name: "traceId all zeros", fields: [("traceId", "\"00000000000000000000000000000000\"")], mentions: ["trace_id"]),
            JSONFieldCase(name: "traceId missing", fields: [("traceId", "null")], mentions: ["trace_id"]),
            JSONFieldCase(name: "spanId as a boolean", fields: [("spanId", "true")], mentions: ["span_id"]),
            JSONFieldCase(name: "spanId all zeros", fields: [("spanId", "\"0000000000000000\"")], mentions: ["span_id"]),
            JSONFieldCase(name: "parentSpanId of 3 bytes", fields: [("parentSpanId", "\"0a0b0c\"")], mentions: ["parent_span_id"]),
            JSONFieldCase(name: "startTimeUnixNano as an object", fields: [("startTimeUnixNano", "{}")], mentions: ["start_time_unix_nano"]),
            JSONFieldCase(name: "endTimeUnixNano negative", fields: [("endTimeUnixNano", "\"-5\"")], mentions: ["end_time_unix_nano"]),
            JSONFieldCase(name: "name as a number", fields: [("name", "5")], mentions: ["name"]),
            JSONFieldCase(name: "kind unknown name", fields: [("kind", "\"SPAN_KIND_BOGUS\"")], mentions: ["kind"]),
            JSONFieldCase(name: "intValue \"abc\"", fields: [("attributes", #"[{"key":"n","value":{"intValue":"abc"}}]"#)],
                          mentions: ["intValue", "abc", "'n'"]),
            JSONFieldCase(name: "intValue 1.5", fields: [("attributes", #"[{"key":"n","value":{"intValue":1.5}}]"#)], mentions: ["intValue"]),
            JSONFieldCase(name: "doubleValue \"abc\"", fields: [("attributes", #"[{"key":"d","value":{"doubleValue":"abc"}}]"#)],
                          mentions: ["doubleValue"]),
            JSONFieldCase(name: "boolValue as a string", fields: [("attributes", #"[{"key":"b","value":{"boolValue":"true"}}]"#)],
                          mentions: ["boolValue"]),
            JSONFieldCase(name: "stringValue as a number", fields: [("attributes", #"[{"key":"s","value":{"stringValue":1}}]"#)],
                          mentions: ["stringValue"]),
            JSONFieldCase(name: "bytesValue not base64", fields: [("attributes", #"[{"key":"y","value":{"bytesValue":"!!"}}]"#)],
                          mentions: ["bytesValue"]),
            JSONFieldCase(name: "attributes as an object", fields: [("attributes", #"{"key":"n","value":{"intValue":"1"}}"#)],
                          mentions: ["attributes"]),
            JSONFieldCase(name: "an attribute as a string", fields: [("attributes", #"["n=1"]"#)], mentions: ["attributes[0]"]),
            JSONFieldCase(name: "a value as a string", fields: [("attributes", #"[{"key":"n","value":"1"}]"#)], mentions: ["'n'"]),
            JSONFieldCase(name: "events as a string", fields: [("events", "\"x\"")], mentions: ["events"]),
            JSONFieldCase(name: "an event timeUnixNano as a boolean", fields: [("events", #"[{"name":"e","timeUnixNano":false}]"#)],
                          mentions: ["events[0]", "time_unix_nano"]),
            JSONFieldCase(name: "a link without a spanId", fields: [("links", #"[{"traceId":"5b8efff798038103d269b633813fc60c"}]"#)],
                          mentions: ["links[0]"]),
            JSONFieldCase(name: "status code as an array", fields: [("status", #"{"code":[]}"#)], mentions: ["status", "code"]),
            JSONFieldCase(name: "the span as an array", fields: [("", "")], mentions: ["must be an object"]),
        ]
    }

    /// A JSON request broken outside its spans, and the word the failure must contain.
    struct JSONShapeCase: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var mentions: String
        var testDescription: String { name }

        static let all: [JSONShapeCase] = [
            JSONShapeCase(name: "spans as a string", body: #"{"resourceSpans":[{"scopeSpans":[{"scope":{"name":"t"},"spans":"nope"}]}]}"#,
                          mentions: "spans"),
            JSONShapeCase(name: "scopeSpans as a number", body: #"{"resourceSpans":[{"scopeSpans":7}]}"#, mentions: "scope_spans"),
            JSONShapeCase(name: "resourceSpans as an object", body: #"{"resourceSpans":{}}"#, mentions: "resource_spans"),
            JSONShapeCase(name: "a resourceSpans entry as a string", body: #"{"resourceSpans":["x"]}"#, mentions: "resource_spans[0]"),
            JSONShapeCase(name: "the request as an array", body: #"[]"#, mentions: "object"),
            JSONShapeCase(name: "resource attributes as a string",
                          body: JSONText.request(spans: [JSONText.span(name: "a")]).replacingOccurrences(
                              of: #""resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]}"#,
                              with: #""resource":{"attributes":"service.name=svc"}"#),
                          mentions: "attributes"),
            JSONShapeCase(name: "scope name as a number",
                          body: JSONText.request(spans: [JSONText.span(name: "a")]).replacingOccurrences(
                              of: #""scope":{"name":"t"}"#, with: #""scope":{"name":1}"#),
                          mentions: "name"),
        ]
    }

    enum Wire: String, Sendable, CaseIterable {
        case protobuf, json
    }
}

// MARK: - Helpers

extension BadInputTests {
    typealias SeededGenerator = SplitMix64

    static func fixtureExport() throws -> TraceExport {
        let d = try OTLPProtobufDecoder().decodeTraces(try Fixtures.file("otel-v2-http-protobuf", "0002-traces.req.pb"))
        try #require(d.rejections.isEmpty)
        try #require(d.export.resourceSpans.count == 1 && d.export.resourceSpans[0].scopeSpans.map(\.spans.count) == [5, 5])
        return d.export
    }

    static func removing(_ at: SpanPosition, from export: TraceExport) -> TraceExport {
        var e = export
        e.resourceSpans[0].scopeSpans[at.scope].spans.remove(at: at.span)
        return e
    }

    /// A plain span numbered `i`, with unique ids.
    static func span(_ i: Int, _ attributes: [Attribute] = [], name: String? = nil, events: [SpanEvent] = [],
                     links: [SpanLink] = []) -> Span {
        let start = 1_700_000_000_000_000_000 + UInt64(i) * 1_000_000
        return Span(traceID: TraceID(high: 0xABC, low: UInt64(i + 1)), spanID: SpanID(raw: UInt64(100 + i)), name: name ?? "span \(i)",
                    kind: .client, startTimeUnixNano: start, endTimeUnixNano: start + 500_000, attributes: attributes, events: events,
                    links: links)
    }

    static func export(_ spans: [Span], resource: [Attribute] = [Attribute("service.name", .string("svc"))]) -> TraceExport {
        TraceExport(resourceSpans: [ResourceSpans(resource: Resource(attributes: resource),
                                                  scopeSpans: [ScopeSpans(scope: InstrumentationScope(name: "t", version: "1"), spans: spans)])])
    }

    static func encode(_ export: TraceExport, _ wire: Wire) -> [UInt8] {
        switch wire {
        case .protobuf: return OTLPProtobufEncoder().encode(export)
        case .json: return Array(JSONText.export(export).utf8)
        }
    }

    static func decode(_ bytes: [UInt8], _ wire: Wire, _ limits: DecodingLimits) throws(OTLPDecodingError) -> DecodedTraces {
        switch wire {
        case .protobuf: return try OTLPProtobufDecoder(limits: limits).decodeTraces(bytes)
        case .json: return try OTLPJSONDecoder(limits: limits).decodeTraces(bytes)
        }
    }

    /// What the decoder promises of every span it returns, or nil when all holds.
    static func invariantViolation(_ d: DecodedTraces) -> String? {
        for rs in d.export.resourceSpans {
            for ss in rs.scopeSpans {
                for s in ss.spans {
                    if s.traceID.isZero { return "span \(s.spanID) with a zero trace id" }
                    if s.spanID.isZero { return "span with a zero span id in trace \(s.traceID)" }
                    if s.parentSpanID?.isZero == true { return "span \(s.spanID) with a zero parent id" }
                }
            }
        }
        if let r = d.rejections.first(where: { !$0.location.hasPrefix("resource_spans[") || $0.reason.isEmpty }) {
            return "rejection without a location or reason: \(r)"
        }
        return nil
    }

    /// The value of the one attribute of the one span of a JSON request whose AnyValue is `json`.
    static func attributeValue(_ json: String) throws -> AttributeValue {
        let body = JSONText.request(spans: [JSONText.span(name: "v", [("attributes", #"[{"key":"v","value":\#(json)}]"#)])])
        let d = try OTLPJSONDecoder().decodeTraces(Array(body.utf8))
        try #require(d.rejections.isEmpty, "\(d.rejections)")
        let span = try #require(d.export.resourceSpans.first?.scopeSpans.first?.spans.first)
        return try #require(span.attributes.first?.value)
    }

    // MARK: protobuf by hand

    /// One length-delimited field.
    static func field(_ number: Int, _ bytes: [UInt8]) -> [UInt8] {
        var w = ProtobufWriter()
        w.bytesField(number, bytes, always: true)
        return w.bytes
    }

    /// `export` as protobuf, with the encoding of the span at `target` (of the first resource)
    /// replaced by `patch` of it.
    static func protobuf(_ export: TraceExport, patching target: SpanPosition? = nil,
                         _ patch: ([UInt8]) -> [UInt8] = { $0 }) -> [UInt8] {
        var out = ProtobufWriter()
        for (r, rs) in export.resourceSpans.enumerated() {
            var rw = ProtobufWriter()
            rw.message(1) { w in
                for a in rs.resource.attributes { w.message(1) { w in OTLPProtobufEncoder.keyValue(a, &w) } }
                w.varint(2, UInt64(rs.resource.droppedAttributesCount))
            }
            for (s, ss) in rs.scopeSpans.enumerated() {
                var sw = ProtobufWriter()
                sw.message(1) { w in
                    w.string(1, ss.scope.name)
                    w.string(2, ss.scope.version)
                    for a in ss.scope.attributes { w.message(3) { w in OTLPProtobufEncoder.keyValue(a, &w) } }
                    w.varint(4, UInt64(ss.scope.droppedAttributesCount))
                }
                for (k, span) in ss.spans.enumerated() {
                    var one = ProtobufWriter()
                    OTLPProtobufEncoder.span(span, &one)
                    let isTarget = r == 0 && target == SpanPosition(scope: s, span: k)
                    sw.bytesField(2, isTarget ? patch(one.bytes) : one.bytes, always: true)
                }
                sw.string(3, ss.schemaURL)
                rw.bytesField(2, sw.bytes, always: true)
            }
            rw.string(3, rs.schemaURL)
            out.bytesField(1, rw.bytes, always: true)
        }
        return out.bytes
    }

    // MARK: external tools

    static let shell = "/bin/sh"
    static var gzip: String { ["/bin/gzip", "/usr/bin/gzip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "gzip" }

    struct ToolFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs a program and returns its standard output; its standard input is `input`, if any.
    static func tool(_ path: String, _ arguments: [String], input: [UInt8]? = nil) throws -> [UInt8] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        var inputFile: URL? = nil
        var inputHandle: FileHandle? = nil
        if let input {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-badinput-\(UUID().uuidString)")
            try Data(input).write(to: url)
            inputFile = url
            inputHandle = try FileHandle(forReadingFrom: url)
            p.standardInput = inputHandle
        } else {
            p.standardInput = FileHandle.nullDevice
        }
        defer {
            try? inputHandle?.close()
            if let inputFile { try? FileManager.default.removeItem(at: inputFile) }
        }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationReason == .exit, p.terminationStatus == 0 else {
            throw ToolFailure(description: "\(path) \(arguments) failed with status \(p.terminationStatus)")
        }
        return [UInt8](data)
    }

    /// Runs a Python snippet that reads `data` (standard input) and sets `out`, which is written out.
    static func python(_ snippet: String, input: [UInt8] = []) throws -> [UInt8] {
        let script = "import sys\ndata = sys.stdin.buffer.read()\n\(snippet)\nsys.stdout.buffer.write(out)\n"
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") {
            return try tool("/usr/bin/python3", ["-c", script], input: input)
        }
        return try tool("/usr/bin/env", ["python3", "-c", script], input: input)
    }
}

extension BadInputTests {
    /// OTLP/JSON text written by hand, for requests the product has no encoder for.
    enum JSONText {
        static func quote(_ s: String) -> String { OTLPResponseEncoder.jsonString(s) }

        static func value(_ v: AttributeValue) -> String {
            switch v {
            case .string(let s): return #"{"stringValue":\#(quote(s))}"#
            case .bool(let b): return #"{"boolValue":\#(b)}"#
            case .int(let i): return #"{"intValue":"\#(i)"}"#
            case .double(let d):
                if d.isNaN { return #"{"doubleValue":"NaN"}"# }
                if d.isInfinite { return d > 0 ? #"{"doubleValue":"Infinity"}"# : #"{"doubleValue":"-Infinity"}"# }
                return #"{"doubleValue":\#(d)}"#
            case .bytes(let b): return #"{"bytesValue":"\#(Data(b).base64EncodedString())"}"#
            case .array(let items): return #"{"arrayValue":{"values":[\#(items.map { value($0) }.joined(separator: ","))]}}"#
            case .kvlist(let items): return #"{"kvlistValue":{"values":[\#(items.map { keyValue($0) }.joined(separator: ","))]}}"#
            case .empty: return "{}"
            }
        }

        static func keyValue(_ a: Attribute) -> String { #"{"key":\#(quote(a.key)),"value":\#(value(a.value))}"# }

        static func attributes(_ list: [Attribute]) -> String { "[" + list.map { keyValue($0) }.joined(separator: ",") + "]" }

        static func span(_ s: Span) -> String {
            var f = [#""traceId":"\#(s.traceID.hex)""#, #""spanId":"\#(s.spanID.hex)""#]
            if let p = s.parentSpanID { f.append(#""parentSpanId":"\#(p.hex)""#) }
            if !s.traceState.isEmpty { f.append(#""traceState":\#(quote(s.traceState))"#) }
            f.append(#""name":\#(quote(s.name))"#)
            f.append(#""kind":\#(s.kind.rawValue)"#)
            f.append(#""startTimeUnixNano":"\#(s.startTimeUnixNano)""#)
            f.append(#""endTimeUnixNano":"\#(s.endTimeUnixNano)""#)
            f.append(#""attributes":\#(attributes(s.attributes))"#)
            if s.droppedAttributesCount != 0 { f.append(#""droppedAttributesCount":\#(s.droppedAttributesCount)"#) }
            let events = s.events.map { e in
                #"{"timeUnixNano":"\#(e.timeUnixNano)","name":\#(quote(e.name)),"attributes":\#(attributes(e.attributes)),"#
                    + #""droppedAttributesCount":\#(e.droppedAttributesCount)}"#
            }
            f.append(#""events":[\#(events.joined(separator: ","))]"#)
            if s.droppedEventsCount != 0 { f.append(#""droppedEventsCount":\#(s.droppedEventsCount)"#) }
            let links = s.links.map { l in
                #"{"traceId":"\#(l.traceID.hex)","spanId":"\#(l.spanID.hex)","traceState":\#(quote(l.traceState)),"#
                    + #""attributes":\#(attributes(l.attributes)),"droppedAttributesCount":\#(l.droppedAttributesCount),"flags":\#(l.flags)}"#
            }
            f.append(#""links":[\#(links.joined(separator: ","))]"#)
            if s.droppedLinksCount != 0 { f.append(#""droppedLinksCount":\#(s.droppedLinksCount)"#) }
            if s.statusCode != .unset || !s.statusMessage.isEmpty {
                f.append(#""status":{"code":\#(s.statusCode.rawValue),"message":\#(quote(s.statusMessage))}"#)
            }
            if s.flags != 0 { f.append(#""flags":\#(s.flags)"#) }
            return "{" + f.joined(separator: ",") + "}"
        }

        static func export(_ e: TraceExport) -> String {
            let resources = e.resourceSpans.map { rs in
                let scopes = rs.scopeSpans.map { ss in
                    #"{"scope":{"name":\#(quote(ss.scope.name)),"version":\#(quote(ss.scope.version)),"#
                        + #""attributes":\#(attributes(ss.scope.attributes)),"droppedAttributesCount":\#(ss.scope.droppedAttributesCount)},"#
                        + #""spans":[\#(ss.spans.map { span($0) }.joined(separator: ","))],"schemaUrl":\#(quote(ss.schemaURL))}"#
                }
                return #"{"resource":{"attributes":\#(attributes(rs.resource.attributes)),"#
                    + #""droppedAttributesCount":\#(rs.resource.droppedAttributesCount)},"#
                    + #""scopeSpans":[\#(scopes.joined(separator: ","))],"schemaUrl":\#(quote(rs.schemaURL))}"#
            }
            return #"{"resourceSpans":[\#(resources.joined(separator: ","))]}"#
        }

        /// A request with one resource (`service.name` = "svc") and one scope holding these span objects.
        static func request(spans: [String]) -> String {
            #"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"#
                + #""scopeSpans":[{"scope":{"name":"t"},"spans":[\#(spans.joined(separator: ","))]}]}]}"#
        }

        /// A valid span object with `name`, with some fields replaced or added (value `null` drops the
        /// field; the pair ("", "") makes the span an array instead of an object).
        static func span(name: String, _ replacing: [(String, String)] = []) -> String {
            if replacing.contains(where: { $0.0.isEmpty }) { return "[]" }
            var fields: [(String, String)] = [
                ("traceId", "\"5b8efff798038103d269b633813fc60c\""), ("spanId", "\"eee19b7ec3c1b174\""), ("name", quote(name)),
                ("kind", "3"), ("startTimeUnixNano", "\"1700000000000000000\""), ("endTimeUnixNano", "\"1700000000500000000\""),
            ]
            for (key, value) in replacing {
                if let i = fields.firstIndex(where: { $0.0 == key }) { fields[i].1 = value } else { fields.append((key, value)) }
            }
            return "{" + fields.filter { $0.1 != "null" }.map { "\(quote($0.0)):\($0.1)" }.joined(separator: ",") + "}"
        }
    }
}
