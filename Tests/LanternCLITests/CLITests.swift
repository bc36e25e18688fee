import Foundation
import Testing
import LanternTesting

// Runs the built `lantern` executable as a child process against temporary databases: ingest of
// the captured fixtures, queries and trace views over them, bad input, and a crash test that kills
// the process with SIGKILL in the middle of appends.
//
// The executable is `.build/debug/lantern` under the repository, or `$LANTERN_BIN`.

@Suite("lantern command line", .serialized)
struct CLITests {

    // MARK: - What the fixture listings say

    /// One trace request of the fixtures (`*-traces.req.*`): 10 spans, 5 of them LLM calls
    /// (chat, stream, stream_nousage, error500, error429).
    struct Request: Sendable {
        var path: String
        var serviceVersion: String
        /// OpenLLMetry and OpenInference report 4 cache-read tokens on the chat and stream spans.
        var reportsCachedTokens: Bool
        /// `event ... at +N ms` of the first streamed chunk of the two stream spans (the TTFT), as listed.
        var firstChunkMillis: [Double]
    }

    static let requests: [Request] = [
        Request(path: "otel-v2-grpc/0001-traces.req.pb", serviceVersion: "v2", reportsCachedTokens: false, firstChunkMillis: []),
        Request(path: "otel-v2-http-json/0001-traces.req.json", serviceVersion: "v2", reportsCachedTokens: false, firstChunkMillis: []),
        Request(path: "otel-v2-http-protobuf/0002-traces.req.pb", serviceVersion: "v1", reportsCachedTokens: false, firstChunkMillis: []),
        Request(path: "openllmetry-grpc/0001-traces.req.pb", serviceVersion: "v2", reportsCachedTokens: true, firstChunkMillis: [369.4, 361.6]),
        // The same request twice: gzipped as sent, and inflated.
        Request(path: "openllmetry-http-json-gzip/0001-traces.req.gz", serviceVersion: "v2", reportsCachedTokens: true,
                firstChunkMillis: [362.1, 357.9]),
        Request(path: "openllmetry-http-json-gzip/0001-traces.req.json", serviceVersion: "v2", reportsCachedTokens: true,
                firstChunkMillis: [362.1, 357.9]),
        Request(path: "openllmetry-http-protobuf/0001-traces.req.pb", serviceVersion: "v1", reportsCachedTokens: true,
                firstChunkMillis: [371.0, 362.2]),
        Request(path: "openinference-grpc-gzip/0001-traces.req.pb", serviceVersion: "v2", reportsCachedTokens: true,
                firstChunkMillis: [367.8, 461.0]),
        Request(path: "openinference-http-protobuf/0001-traces.req.pb", serviceVersion: "v1", reportsCachedTokens: true,
                firstChunkMillis: [369.3, 358.7]),
        Request(path: "openinference-genai-http-json/0001-traces.req.json", serviceVersion: "v2", reportsCachedTokens: true,
                firstChunkMillis: [360.1, 356.6]),
    ]

    static let answeredModel = "gpt-fake-1-2026-11-01"
    static let requestedModel = "gpt-fake-1"

    /// The OpenLLMetry http-protobuf `stream` request: app.handle_request -> openai.chat, first chunk at +371.0 ms.
    static let streamTrace = (trace: "2aef0f8b91b952d38dcc948f5dcdb9d8", root: "9d1dfe8543a92048", llm: "77e8e5abb4c9ec41", ttftMillis: 371.0)

    // MARK: - Ingest

    @Test("ingest of every trace request accepts 100 spans and rejects none")
    func ingestFixtures() throws {
        try withTemporaryDirectory { dir in
            let db = dir.appendingPathComponent("t.db").path
            let files = try Self.requestFiles()
            let r = try run(["ingest"] + files + ["--db", db, "--json"], timeout: 120)
            try #require(r.status == 0, "exit \(r.status): \(r.stdout) \(r.stderr)")
            let summary = try decode(IngestSummary.self, r.stdout)
            #expect(summary.files == 10)
            #expect(summary.filesFailed == 0)
            #expect(summary.fileErrors.isEmpty, "\(summary.fileErrors)")
            #expect(summary.spansAccepted == 100)
            #expect(summary.spansRejected == 0)

            let stats = try decode(Stats.self, try runOK(["stats", "--db", db, "--json"]))
            #expect(stats.sealedSpans + stats.journalSpans == 100)
        }
    }

    @Test("ingest of the whole fixtures folder takes the 19 trace payloads and skips the rest")
    func ingestFolder() throws {
        try withTemporaryDirectory { dir in
            let db = dir.appendingPathComponent("t.db").path
            let r = try run(["ingest", Fixtures.otlp.path, "--db", db, "--json"], timeout: 120)
            try #require(r.status == 0, "exit \(r.status): \(r.stdout) \(r.stderr)")
            let summary = try decode(IngestSummary.self, r.stdout)
            #expect(summary.files == 19)
            #expect(summary.spansAccepted == 190)
            #expect(summary.spansRejected == 0)
            #expect(!summary.skippedFiles.isEmpty)
            let skippedTraces = summary.skippedFiles.filter {
                let name = ($0 as NSString).lastPathComponent
                return name.contains("-traces.") && !name.contains("headers")
            }
            #expect(skippedTraces.isEmpty, "\(skippedTraces)")
            #expect(summary.skippedFiles.allSatisfy { $0.contains("-metrics.") || $0.contains("-logs.") || $0.contains("headers") },
                    "\(summary.skippedFiles)")
        }
    }

    // MARK: - Query

    @Test("query by service version and model: span, error and token counts and TTFT match the listings")
    func queryByVersionAndModel() throws {
        try withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let output = try decode(QueryOutput.self, try runOK(["query", "--db", db, "--by", "service_version,model", "--json"]))
            #expect(output.groupBy == ["service_version", "model"])
            let groups = Dictionary(output.groups.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
            #expect(groups.count == output.groups.count, "duplicate group keys: \(output.groups.map(\.key))")
            // The failed calls name only the requested model; the answered calls show it is served as the
            // answered model, so they count there: one group per version.
            #expect(Set(output.groups.map(\.key)) == [["v1", Self.answeredModel], ["v2", Self.answeredModel]])

            for version in ["v1", "v2"] {
                let requests = Self.requests.filter { $0.serviceVersion == version }
                let n = requests.count
                // Answered calls (chat, stream, stream_nousage) report the response model; chat and
                // stream carry usage: 16 input tokens (4 of them cached where reported), 8 output.
                // The two failed calls carry neither tokens nor a TTFT.
                let model = try #require(groups[[version, Self.answeredModel]], "\(version)")
                #expect(model.spans == 5 * n, "\(version)")
                #expect(model.errors == 2 * n, "\(version)")
                #expect(model.spansWithTokens == 2 * n, "\(version)")
                #expect(model.inputTokens == Int64(32 * n), "\(version)")
                #expect(model.outputTokens == Int64(16 * n), "\(version)")
                #expect(model.cacheReadTokens == Int64(8 * requests.filter(\.reportsCachedTokens).count), "\(version)")
                #expect(model.latency?.count == 5 * n, "\(version)")
                // TTFT: the stream spans of the instrumentations that record chunk events.
                let listed = requests.flatMap(\.firstChunkMillis)
                let ttft = try #require(model.ttft, "\(version): no TTFT")
                #expect(ttft.count == listed.count, "\(version)")
                let listedMean = listed.reduce(0, +) / Double(listed.count) / 1000
                #expect(abs(ttft.mean - listedMean) < 0.0001, "\(version): TTFT mean \(ttft.mean) vs listed \(listedMean)")
                #expect(ttft.values.allSatisfy { $0 >= (listed.min()! - 0.1) / 1000 && $0 <= (listed.max()! + 0.1) / 1000 }, "\(version)")
            }
            // By request model the failed calls stay where they were sent.
            let byRequest = try decode(QueryOutput.self, try runOK(["query", "--db", db, "--by", "request_model", "--json"]))
            #expect(byRequest.groups.map(\.key) == [[Self.requestedModel]])
            #expect(output.groups.reduce(0) { $0 + $1.spans } == 50)
        }
    }

    @Test("query with --all-spans counts the harness spans too; the table form prints the models")
    func queryAllSpansAndTable() throws {
        try withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let all = try decode(QueryOutput.self, try runOK(["query", "--db", db, "--all-spans", "--by", "service", "--json"]))
            #expect(all.groups.map(\.key) == [["acceptance-llm-app"]])
            #expect(all.groups.first?.spans == 100)
            #expect(all.groups.first?.errors == 20)

            let table = try runOK(["query", "--db", db, "--by", "model"])
            #expect(table.contains(Self.answeredModel))
            #expect(table.contains("ttft"))
        }
    }

    // MARK: - Traces

    @Test("traces show prints the span tree of a stream request with its TTFT")
    func tracesShow() throws {
        try withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let t = Self.streamTrace
            let text = try runOK(["traces", "show", t.trace, "--db", db])
            #expect(text.contains(t.trace))
            #expect(text.contains("app.handle_request"))
            #expect(text.contains("openai.chat"))
            #expect(text.contains("2 spans"))
            let range = try #require(text.range(of: "ttft "), "no ttft in:\n\(text)")
            let number = text[range.upperBound...].prefix { $0.isNumber || $0 == "." }
            let millis = try #require(Double(number), "ttft \(number)")
            #expect(abs(millis - t.ttftMillis) <= 0.11, "ttft \(millis) ms, listed +\(t.ttftMillis) ms")
            // The child is indented under its parent.
            let lines = text.split(separator: "\n")
            let root = try #require(lines.firstIndex { $0.contains("app.handle_request") })
            let child = try #require(lines.firstIndex { $0.contains("openai.chat") })
            #expect(root < child)

            let spans = try decode([ShownSpan].self, try runOK(["traces", "show", t.trace.uppercased(), "--db", db, "--json"]))
            #expect(spans.map(\.name).sorted() == ["app.handle_request", "openai.chat"])
            let llm = try #require(spans.first { $0.spanID == t.llm })
            #expect(llm.parentSpanID == t.root)
            #expect(llm.responseModel == Self.answeredModel)
            #expect(llm.inputTokens == 16 && llm.outputTokens == 8)
            #expect(abs((llm.ttftMs ?? 0) - t.ttftMillis) <= 0.051, "ttft \(String(describing: llm.ttftMs))")
            #expect(spans.first { $0.spanID == t.root }?.parentSpanID == nil)
        }
    }

    // MARK: - Bad input

    @Test("ingest of a file of garbage exits 1 naming the file and the reason, and keeps the good files")
    func ingestGarbage() throws {
        try withTemporaryDirectory { dir in
            let db = dir.appendingPathComponent("t.db").path
            let garbage = dir.appendingPathComponent("x.pb")
            // Field 1, length-delimited, claiming 4 GB that are not there.
            try Data([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01, 0x02, 0x03]).write(to: garbage)

            let r = try run(["ingest", garbage.path, "--db", db], timeout: 60)
            #expect(r.status == 1, "exit \(r.status)")
            let said = r.stdout + r.stderr
            #expect(said.contains("x.pb"), "\(said)")
            #expect(said.contains("runs past the end"), "\(said)")

            let good = Fixtures.otlp.appendingPathComponent("openllmetry-http-protobuf/0001-traces.req.pb").path
            let both = try run(["ingest", good, garbage.path, "--db", db, "--json"], timeout: 60)
            #expect(both.status == 1, "exit \(both.status)")
            let summary = try decode(IngestSummary.self, both.stdout)
            #expect(summary.files == 2 && summary.filesFailed == 1)
            #expect(summary.spansAccepted == 10)
            #expect(summary.fileErrors.keys.contains { $0.hasSuffix("x.pb") }, "\(summary.fileErrors)")
            let stats = try decode(Stats.self, try runOK(["stats", "--db", db, "--json"]))
            #expect(stats.sealedSpans + stats.journalSpans == 10)
        }
    }

    @Test("ingest of a path that does not exist fails naming it")
    func ingestMissingPath() throws {
        try withTemporaryDirectory { dir in
            let missing = dir.appendingPathComponent("no-such-file.pb").path
            let r = try run(["ingest", missing, "--db", dir.appendingPathComponent("t.db").path], timeout: 60)
            #expect(r.status != 0)
            #expect((r.stdout + r.stderr).contains("no-such-file.pb"), "\(r.stdout) \(r.stderr)")
        }
    }

    @Test("query --from with a bad time fails naming it")
    func queryBadTime() throws {
        try withTemporaryDirectory { dir in
            let db = dir.appendingPathComponent("t.db").path
            for args in [["--from", "nonsense"], ["--until", "2025-13-45"]] {
                let r = try run(["query", "--db", db] + args, timeout: 60)
                #expect(r.status != 0, "\(args)")
                #expect((r.stdout + r.stderr).contains(args[1]), "\(args): \(r.stdout) \(r.stderr)")
            }
            let r = try run(["query", "--db", db, "--by", "colour"], timeout: 60)
            #expect(r.status != 0)
            #expect((r.stdout + r.stderr).contains("colour"), "\(r.stdout) \(r.stderr)")
        }
    }

    @Test("traces show with a malformed or unknown id fails naming it")
    func tracesShowBadID() throws {
        try withTemporaryDirectory { dir in
            let db = try ingestedDatabase(in: dir)
            let r = try run(["traces", "show", "xyz", "--db", db], timeout: 60)
            #expect(r.status != 0)
            #expect((r.stdout + r.stderr).contains("xyz"), "\(r.stdout) \(r.stderr)")

            let unknown = "0123456789abcdef0123456789abcdef"
            let u = try run(["traces", "show", unknown, "--db", db], timeout: 60)
            #expect(u.status != 0)
            #expect((u.stdout + u.stderr).contains(unknown), "\(u.stdout) \(u.stderr)")
        }
    }

    // MARK: - Crash test

    @Test("SIGKILL in the middle of appends loses no acknowledged batch and never keeps half a batch")
    func crashTest() throws {
        var rng = SplitMix64(seed: 0xC0FF_EE00_2025)
        var longestRun = -1
        try withTemporaryDirectory { dir in
            for round in 0..<5 {
                let db = dir.appendingPathComponent("crash-\(round).db").path
                let delay = Double.random(in: 0.05...1.5, using: &rng)
                let killed = try runAndKill(["crash-test-append", "--db", db, "--batches", "100000", "--batch-size", "50",
                                             "--segment-rows", "500"], after: delay)
                let at = "round \(round) (killed after \(String(format: "%.2f", delay)) s)"
                #expect(killed.wasKilled, "\(at): the child ended on its own: \(killed.stderr)")

                // Only whole lines count: the kill may cut the last one.
                var lines = killed.stdout.split(separator: "\n", omittingEmptySubsequences: false)
                lines.removeLast()  // after the last newline: empty, or a cut line
                let acks = lines.compactMap { $0.hasPrefix("acked ") ? Int($0.dropFirst(6)) : nil }
                #expect(acks.count == lines.count, "\(at): unexpected output \(lines.filter { !$0.hasPrefix("acked ") }.prefix(3))")
                #expect(acks == Array(0..<acks.count), "\(at): acks out of order")
                let last = acks.last ?? -1
                longestRun = max(longestRun, last)

                let q = try run(["query", "--db", db, "--all-spans", "--by", "service", "--json"], timeout: 120)
                try #require(q.status == 0, "\(at): query after the crash failed: \(q.stderr)")
                let output = try decode(QueryOutput.self, q.stdout)
                let spans = output.groups.reduce(0) { $0 + $1.spans }
                #expect(spans >= (last + 1) * 50, "\(at): acked batch \(last) but only \(spans) spans survived")
                #expect(spans % 50 == 0, "\(at): \(spans) spans is not a whole number of 50-span batches")
                #expect(spans <= (last + 2) * 50, "\(at): \(spans) spans but only \(last + 1) batches acked (at most one in flight)")
                if spans > 0 {
                    #expect(output.groups.map(\.key) == [["crash-test"]], "\(at)")
                    // Batch b holds spans with input tokens 0...49: 1225 per batch, whatever b is.
                    #expect(output.groups.reduce(Int64(0)) { $0 + $1.inputTokens } == Int64(spans / 50 * 1225), "\(at)")
                }

                let s = try run(["stats", "--db", db, "--json"], timeout: 60)
                try #require(s.status == 0, "\(at): stats after the crash failed: \(s.stderr)")
                let stats = try decode(Stats.self, s.stdout)
                #expect(stats.sealedSpans + stats.journalSpans == spans, "\(at)")

                if last >= 0 {
                    // The last acknowledged batch is whole: trace 0xC0FFEE:(last+1) has its 50 spans.
                    let trace = String(format: "%016llx%016llx", UInt64(0xC0FFEE), UInt64(last + 1))
                    let shown = try decode([ShownSpan].self, try runOK(["traces", "show", trace, "--db", db, "--json"]))
                    #expect(shown.count == 50, "\(at): trace of batch \(last)")
                }
            }
        }
        #expect(longestRun >= 0, "no round acknowledged a single batch")
    }
}

// MARK: - Output formats

extension CLITests {
    struct IngestSummary: Decodable {
        var files: Int
        var filesFailed: Int
        var spansAccepted: Int
        var spansRejected: Int
        var fileErrors: [String: String]
        var skippedFiles: [String]
    }

    struct Stats: Decodable {
        var sealedSpans: Int
        var journalSpans: Int
        var segments: Int
        var journalBatches: Int
    }

    struct Distribution: Decodable, Equatable {
        var count: Int
        var quantiles: [Double]
        var values: [Double]
        var mean: Double
    }

    struct Group: Decodable {
        var key: [String]
        var spans: Int
        var errors: Int
        var spansWithTokens: Int
        var inputTokens: Int64
        var outputTokens: Int64
        var cacheReadTokens: Int64
        var ttft: Distribution?
        var latency: Distribution?
    }

    struct QueryOutput: Decodable {
        var groupBy: [String]
        var groups: [Group]
    }

    /// A span as `traces show --json` prints it.
    struct ShownSpan: Decodable {
        var spanID: String
        var parentSpanID: String?
        var name: String
        var responseModel: String?
        var inputTokens: Int64?
        var outputTokens: Int64?
        var ttftMs: Double?
    }
}

// MARK: - Running lantern

extension CLITests {
    struct CLIFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// The `lantern` executable: `$LANTERN_BIN`, else `.build/debug/lantern` under the repository.
    static func executable() throws -> URL {
        let path = ProcessInfo.processInfo.environment["LANTERN_BIN"]
            ?? Fixtures.repositoryRoot.appendingPathComponent(".build/debug/lantern").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw CLIFailure(description: "the lantern executable is missing at \(path): run `swift build` first, or set LANTERN_BIN")
        }
        return URL(fileURLWithPath: path)
    }

    /// Every trace request of the fixtures (`*-traces.req.*`), checked against `requests`.
    static func requestFiles() throws -> [String] {
        let fm = FileManager.default
        var found: [String] = []
        for c in try fm.contentsOfDirectory(atPath: Fixtures.otlp.path).sorted() {
            let dir = Fixtures.otlp.appendingPathComponent(c)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else { continue }
            for f in try fm.contentsOfDirectory(atPath: dir.path).sorted() where f.contains("-traces.req.") {
                found.append("\(c)/\(f)")
            }
        }
        try #require(Set(found) == Set(requests.map(\.path)), "fixture requests on disk: \(found)")
        return found.map { Fixtures.otlp.appendingPathComponent($0).path }
    }

    /// A database in `dir` holding every fixture trace request.
    func ingestedDatabase(in dir: URL) throws -> String {
        let db = dir.appendingPathComponent("fixtures.db").path
        let r = try run(["ingest"] + Self.requestFiles() + ["--db", db], timeout: 120)
        try #require(r.status == 0, "ingest failed: \(r.stdout) \(r.stderr)")
        return db
    }

    func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        return try body(dir)
    }

    func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw CLIFailure(description: "cannot read \(type) from the output (\(error)):\n\(text.prefix(2000))")
        }
    }

    /// Runs lantern and returns its standard output, failing unless it exits 0.
    func runOK(_ args: [String], timeout: TimeInterval = 120) throws -> String {
        let r = try run(args, timeout: timeout)
        guard r.status == 0 else {
            throw CLIFailure(description: "lantern \(args.joined(separator: " ")) exited \(r.status):\n\(r.stdout)\n\(r.stderr)")
        }
        return r.stdout
    }

    /// Runs lantern with these arguments in a scratch directory; kills it and throws after `timeout`.
    func run(_ args: [String], timeout: TimeInterval) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = try Self.executable()
        p.arguments = args
        p.currentDirectoryURL = FileManager.default.temporaryDirectory
        p.standardInput = FileHandle.nullDevice
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = PipeDrain(out.fileHandleForReading), stderr = PipeDrain(err.fileHandleForReading)
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            throw CLIFailure(description: "lantern \(args.joined(separator: " ")) did not finish in \(timeout) s:\n"
                             + "\(stdout.text(waiting: 5))\n\(stderr.text(waiting: 5))")
        }
        p.waitUntilExit()
        let o = stdout.text(waiting: 30), e = stderr.text(waiting: 30)
        let status = p.terminationReason == .exit ? p.terminationStatus : 128 + p.terminationStatus
        return (status, o, e)
    }

    /// Starts lantern, kills it with SIGKILL after `delay` seconds, and returns everything it wrote.
    func runAndKill(_ args: [String], after delay: TimeInterval) throws -> (wasKilled: Bool, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = try Self.executable()
        p.arguments = args
        p.currentDirectoryURL = FileManager.default.temporaryDirectory
        p.standardInput = FileHandle.nullDevice
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Drain both pipes from the start so the child never blocks on a full pipe.
        let stdout = PipeDrain(out.fileHandleForReading), stderr = PipeDrain(err.fileHandleForReading)
        Thread.sleep(forTimeInterval: delay)
        let wasRunning = p.isRunning
        if wasRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        // The pipe reaches its end once the killed child's descriptors are closed.
        let o = stdout.text(waiting: 30), e = stderr.text(waiting: 30)
        return (wasRunning && p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL, o, e)
    }
}

/// Reads a pipe to its end on a thread of its own.
final class PipeDrain: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var ended = false
    private let finished = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock()
                data.append(chunk)
                lock.unlock()
            }
            lock.lock()
            ended = true
            lock.unlock()
            finished.signal()
        }
        thread.start()
    }

    /// What was read, after waiting up to `seconds` for the end of the pipe.
    func text(waiting seconds: TimeInterval) -> String {
        lock.lock()
        let done = ended
        lock.unlock()
        if !done { _ = finished.wait(timeout: .now() + seconds) }
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self) + (ended ? "" : "\n[output did not end within \(seconds) s]")
    }
}

