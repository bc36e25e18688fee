import ArgumentParser
import Foundation
import CoreFoundation
import LanternAnalyzer
import LanternCollector
import LanternModel
import LanternStore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure decode, durable append, bytes per span and analytic query times on OTLP batch files.",
        discussion: """
        Uses the workload of ../shared/bench/gen_spans.py (bench/run.sh runs it together with the DuckDB \
        reference). Steps: decode+normalize throughput on one core over preloaded files; ingest of every file \
        (decode, normalize, durable group-committed append) into a fresh database; seal and size; then the \
        reference queries, each run --repeat times (median).
        """
    )

    @Option(help: "Folder of OTLP protobuf batch files (gen_spans.py's DIR/otlp).") var otlp: String = ""
    @Option(help: "Database to create (deleted first).") var db: String = "bench.db"
    @Option(help: "Price table directory or a flat prices.json.") var prices: String?
    @Option(help: "Files preloaded for the decode measurement.") var decodeFiles = 400
    @Option(name: .customLong("repeat"), help: "Runs per query.") var runs = 5
    @Option(help: "Spans per group commit during ingest.") var commitSpans = 16_384
    @Flag(help: "Print the results as JSON.") var json = false
    @Flag(help: "Skip decode and ingest; time the queries on an existing --db.") var queriesOnly = false
    @Flag(help: "Measure decode + normalize only (no database).") var decodeOnly = false
    @Option(help: "Run only the named query (ttft_pct_model_hour, latency_pct_model, tokens_cost_model_day, or tokens_cost_model_day_scan: the same without segment rollups).") var query: String?
    @Option(help: .hidden) var drift: Int?

    struct QueryTiming: Encodable {
        var median_ms: Double
        var min_ms: Double
        var first_ms: Double
        var rows: Int
        /// Sealed segments the query read through their rollups instead of their columns.
        var segments_from_rollups: Int
    }

    struct Check: Encodable {
        var input_tokens: Int64
        var output_tokens: Int64
        var chat_spans: Int
    }

    struct Result: Encodable {
        var spans = 0
        var files = 0
        var decode_spans_per_s = 0.0
        /// Spans per second of the decoding thread's CPU time (unaffected by time the machine gave to others).
        var decode_spans_per_cpu_s = 0.0
        var append_spans_per_s = 0.0
        /// Spans per second of the appending thread's CPU time (the rest of the wall time is waiting for the disk and the sealer).
        var append_spans_per_cpu_s = 0.0
        var ingest_spans_per_s = 0.0
        var seal_seconds = 0.0
        var db_bytes: Int64 = 0
        var bytes_per_span = 0.0
        var queries: [String: QueryTiming] = [:]
        var check = Check(input_tokens: 0, output_tokens: 0, chat_spans: 0)
        var loadavg = ""
    }

    /// Hidden `--drift N`: times KS and Mann–Whitney (with and without Hodges–Lehmann) on two random
    /// samples of N values each (lognormal, the second shifted by 2%).
    func runDrift(_ n: Int) {
        var rng = SystemRandomNumberGenerator()
        func lognormal() -> Double {
            let u1 = Double.random(in: Double.ulpOfOne..<1, using: &rng), u2 = Double.random(in: 0..<1, using: &rng)
            let radius: Double = (-2 * Foundation.log(u1)).squareRoot()
            let angle: Double = 2 * Double.pi * u2
            let z: Double = radius * cos(angle)
            return exp(5 + 0.5 * z)
        }
        let x = (0..<n).map { _ in lognormal() }
        let y = (0..<n).map { _ in lognormal() * 1.02 }
        func ms(_ body: () throws -> Void) rethrows -> Double {
            let t0 = Date()
            try body()
            return Date().timeIntervalSince(t0) * 1000
        }
        for round in 1...3 {
            var sx: SortedSample? = nil, sy: SortedSample? = nil
            let tSort = ms { if let p = try? SortedSample.pair(x, y) { (sx, sy) = (p.0, p.1) } }
            guard let sx, let sy else { return }
            var ks: KolmogorovSmirnovResult? = nil, mw: MannWhitneyResult? = nil
            let tKS = ms { ks = KolmogorovSmirnov.test(sx, sy) }
            let tMW = ms { mw = MannWhitney.test(sx, sy, hodgesLehmann: false) }
            let tHL = ms { _ = HodgesLehmann.estimate(sx, sy) }
            // As DriftAnalysis runs them: one validated sort of each sample shared by both tests.
            let tAll = ms {
                guard let (a, b) = try? SortedSample.pair(x, y) else { return }
                _ = KolmogorovSmirnov.test(a, b)
                _ = MannWhitney.test(a, b, hodgesLehmann: false)
            }
            print(String(format: "drift n=%d round %d: sort both %.1f ms, KS %.1f ms, MW %.1f ms, KS+MW from unsorted (one shared sort) %.1f ms, Hodges-Lehmann shift+CI %.1f ms", n, round, tSort, tKS, tMW, tAll, tHL))
            if round == 3, let ks, let mw {
                print("  KS D=\(ks.statistic) p=\(ks.pValue) (\(ks.method.rawValue)); MW U=\(mw.statistic) p=\(mw.pValue)")
            }
        }
    }

    static let queryNames = ["ttft_pct_model_hour", "latency_pct_model", "tokens_cost_model_day", "tokens_cost_model_day_scan"]

    func validate() throws {
        if let query, !Self.queryNames.contains(query) {
            throw ValidationError("unknown query '\(query)'; use one of \(Self.queryNames.joined(separator: ", "))")
        }
        if queriesOnly && !FileManager.default.fileExists(atPath: db) { throw ValidationError("--queries-only needs an existing --db; \(db) does not exist") }
        if let drift, drift < 1 { throw ValidationError("--drift needs a positive sample size") }
        if drift == nil && !queriesOnly && otlp.isEmpty { throw ValidationError("give --otlp DIR (gen_spans.py's DIR/otlp), or --queries-only") }
    }

    func run() throws {
        if let drift {
            runDrift(drift)
            return
        }
        var result = Result()
        let book = try loadPrices(prices)
        if queriesOnly {
            let store = try SQLiteSpanStore(path: db)
            result.spans = try store.statsNow().totalSpans
            try runQueries(store, book, &result)
            if json { print(try jsonString(result)) }
            return
        }
        var files = try FileManager.default.contentsOfDirectory(atPath: otlp).filter { $0.hasSuffix(".pb") }.sorted()
        files = files.map { (otlp as NSString).appendingPathComponent($0) }
        guard !files.isEmpty else { throw ValidationErrorMessage("no .pb files in \(otlp)") }
        result.files = files.count
        let decoder = OTLPProtobufDecoder()
        let normalizer = Normalizer()

        // 1. Decode + normalize, one core, files preloaded.
        let sample = try files.prefix(decodeFiles).map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: $0))) }
        var best = 0.0, bestCPU = 0.0
        for _ in 0..<3 {
            let t = Date(), cpu = threadCPUSeconds()
            var n = 0
            for body in sample {
                n += try decoder.decodeNormalizedTraces(body, normalizer: normalizer).spans.count
            }
            best = max(best, Double(n) / Date().timeIntervalSince(t))
            bestCPU = max(bestCPU, Double(n) / (threadCPUSeconds() - cpu))
        }
        result.decode_spans_per_s = best.rounded()
        result.decode_spans_per_cpu_s = bestCPU.rounded()
        log("decode+normalize: \(Int(best)) spans/s (best of 3 over \(sample.count) files; \(Int(bestCPU)) per second of this thread's CPU time)")
        if decodeOnly {
            if json { print(try jsonString(result)) }
            return
        }

        // 2. Ingest everything: decode, normalize, durable append (group commit).
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        var config = SQLiteSpanStore.Configuration()
        config.autoSeal = false
        let store = try SQLiteSpanStore(path: db, configuration: config)
        let sealer = BackgroundSealer(store: store)
        var appendSeconds = 0.0, appendCPUSeconds = 0.0
        let ingestStart = Date()
        var pending: [[CanonicalSpan]] = []
        var pendingSpans = 0
        let progress = ProgressBar(total: files.count, label: "ingest")
        for (i, f) in files.enumerated() {
            let body = [UInt8](try Data(contentsOf: URL(fileURLWithPath: f)))
            let spans = try decoder.decodeNormalizedTraces(body, normalizer: normalizer).spans
            result.spans += spans.count
            pending.append(spans)
            pendingSpans += spans.count
            if pendingSpans >= commitSpans || i == files.count - 1 {
                let t = Date(), cpu = threadCPUSeconds()
                try store.appendNow(batches: pending)
                appendSeconds += Date().timeIntervalSince(t)
                appendCPUSeconds += threadCPUSeconds() - cpu
                pending.removeAll(keepingCapacity: true)
                pendingSpans = 0
            }
            progress.update(done: i + 1, detail: "\(result.spans) spans")
        }
        progress.finish()
        let ingestSeconds = Date().timeIntervalSince(ingestStart)
        let sealStart = Date()
        sealer.stop()
        if let e = sealer.lastError { throw e }
        try store.seal(force: true)
        try store.compact()
        result.seal_seconds = Date().timeIntervalSince(sealStart)
        result.append_spans_per_s = (Double(result.spans) / appendSeconds).rounded()
        result.append_spans_per_cpu_s = (Double(result.spans) / appendCPUSeconds).rounded()
        result.ingest_spans_per_s = (Double(result.spans) / (ingestSeconds + result.seal_seconds)).rounded()
        let attrs = try FileManager.default.attributesOfItem(atPath: db)
        result.db_bytes = (attrs[.size] as? Int64) ?? Int64((attrs[.size] as? Int) ?? 0)
        result.bytes_per_span = (Double(result.db_bytes) / Double(result.spans) * 10).rounded() / 10
        log("ingest: \(result.spans) spans; durable append (journal, group commit; sealing on a second thread) \(Int(result.append_spans_per_s)) spans/s (\(Int(result.append_spans_per_cpu_s)) per CPU second); end to end \(Int(result.ingest_spans_per_s)) spans/s")
        log(String(format: "size: %d bytes, %.1f bytes/span", result.db_bytes, result.bytes_per_span))

        try runQueries(store, book, &result)
        if json { print(try jsonString(result)) }
    }

    func runQueries(_ store: SQLiteSpanStore, _ book: PriceBook, _ result: inout Result) throws {
        let chat = SpanFilter(operations: ["chat"])
        let queries: [(String, SpanQuery)] = [
            ("ttft_pct_model_hour", SpanQuery(filter: chat, groupBy: [.requestModel, .hour], metrics: [.ttft], quantiles: [0.5, 0.95, 0.99])),
            ("latency_pct_model", SpanQuery(filter: chat, groupBy: [.requestModel], metrics: [.latency], quantiles: [0.5, 0.95, 0.99])),
            ("tokens_cost_model_day", SpanQuery(filter: chat, groupBy: [.requestModel, .day], metrics: [.tokens, .cost])),
            ("tokens_cost_model_day_scan", SpanQuery(filter: chat, groupBy: [.requestModel, .day], metrics: [.tokens, .cost])),
        ]
        // The same store read without rollups: what the cost query takes scanning every segment's columns.
        var scanOnly = SQLiteSpanStore.Configuration()
        scanOnly.readsRollups = false
        scanOnly.autoSeal = false
        let scanner = try SQLiteSpanStore(path: store.path, configuration: scanOnly)
        for (name, q) in queries where query == nil || query == name {
            var times: [Double] = []
            var rows = 0
            var rolledUp = 0
            for _ in 0..<runs {
                let t = Date()
                let r = try (name.hasSuffix("_scan") ? scanner : store).queryNow(q, prices: book)
                times.append(Date().timeIntervalSince(t) * 1000)
                rows = q.metrics.contains(.ttft) ? r.groups.filter { $0.ttft != nil }.count : r.groups.count
                rolledUp = r.segmentsFromRollups
            }
            let sorted = times.sorted()
            result.queries[name] = QueryTiming(median_ms: round2(sorted[sorted.count / 2]), min_ms: round2(sorted[0]), first_ms: round2(times[0]), rows: rows,
                                               segments_from_rollups: rolledUp)
            log("\(name): median \(round2(sorted[sorted.count / 2])) ms over \(runs) runs, \(rows) rows, \(rolledUp) segments from rollups")
        }
        let totals = try store.queryNow(SpanQuery(filter: chat, groupBy: [], metrics: [.count, .tokens]), prices: book)
        if let g = totals.groups.first {
            result.check = Check(input_tokens: g.inputTokens, output_tokens: g.outputTokens, chat_spans: g.spans)
        }
        result.loadavg = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? ""
    }

    func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    func log(_ s: String) { if json { printError(s) } else { print(s) } }
    func round2(_ v: Double) -> Double { (v * 100).rounded() / 100 }
}

/// A child process for the crash test: appends deterministic batches and prints `acked N` after
/// each append returns, so a parent that kills it at any moment knows what must have survived.
struct CrashTestAppendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crash-test-append", abstract: "Crash-test helper (internal).",
                                                    shouldDisplay: false)
    @OptionGroup var database: DatabaseOptions
    @Option var batches = 1_000
    @Option var batchSize = 50
    @Option var segmentRows = 500

    func run() throws {
        var config = SQLiteSpanStore.Configuration()
        config.segmentRows = segmentRows
        let store = try SQLiteSpanStore(path: database.path, configuration: config)
        for b in 0..<batches {
            try store.appendNow(CrashTestBatch.spans(batch: b, size: batchSize))
            FileHandle.standardOutput.write(Data("acked \(b)\n".utf8))
        }
    }
}

/// The deterministic spans of crash-test batch `b`: trace id `b+1`, span ids `b*size + j + 1`.
enum CrashTestBatch {
    static func spans(batch b: Int, size: Int) -> [CanonicalSpan] {
        let origin = SpanOrigin(resource: Resource(attributes: [Attribute("service.name", .string("crash-test"))]), scope: InstrumentationScope(name: "t"))
        return (0..<size).map { j in
            let span = Span(traceID: TraceID(high: 0xC0FFEE, low: UInt64(b + 1)), spanID: SpanID(raw: UInt64(b * size + j + 1)),
                            name: "chat crash", kind: .client, startTimeUnixNano: 1_750_000_000_000_000_000 + UInt64(b * size + j) * 1_000_000,
                            endTimeUnixNano: 1_750_000_000_000_000_000 + UInt64(b * size + j) * 1_000_000 + 500_000,
                            attributes: [Attribute("gen_ai.operation.name", .string("chat")), Attribute("gen_ai.usage.input_tokens", .int(Int64(j)))])
            return Normalizer().normalize(span, origin: origin, facts: ResourceFacts(resource: origin.resource))
        }
    }
}
