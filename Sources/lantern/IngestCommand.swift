import ArgumentParser
import Foundation
import LanternCollector
import LanternModel
import LanternStore

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Load OTLP trace files (.pb, .json, gzipped or not) or folders of them into the store.",
        discussion: """
        Each file is one ExportTraceServiceRequest. Invalid spans are rejected one by one with a reason; \
        a file that does not decode is reported and skipped. Exit status 0 when every file decoded, \
        1 when some files failed.
        """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "Files or folders to ingest.") var paths: [String]
    @Flag(name: .long, help: "Print the summary as JSON.") var json = false
    @Option(name: .long, help: "Spans per group commit.") var commitSpans = 16_384

    struct Summary: Encodable {
        var files = 0
        var filesFailed = 0
        var spansAccepted = 0
        var spansRejected = 0
        var rejectionReasons: [String: Int] = [:]
        var fileErrors: [String: String] = [:]
        var skippedFiles: [String] = []
        var seconds = 0.0
        var spansPerSecond = 0.0
    }

    func run() throws {
        let (files, skipped) = try PayloadFiles.expand(paths)
        var config = SQLiteSpanStore.Configuration()
        config.autoSeal = false
        let store = try SQLiteSpanStore(path: database.path, configuration: config)
        let sealer = BackgroundSealer(store: store)
        let decoder = OTLPTraceBodyDecoder()
        let normalizer = Normalizer()
        var summary = Summary()
        summary.skippedFiles = skipped
        let started = Date()
        let progress = ProgressBar(total: files.count, label: "ingest")
        var pending: [[CanonicalSpan]] = []
        var pendingSpans = 0
        for (i, file) in files.enumerated() {
            summary.files += 1
            do {
                let decoded = try PayloadFiles.decode(path: file, decoder: decoder, normalizer: normalizer)
                let spans = decoded.spans
                summary.spansAccepted += spans.count
                summary.spansRejected += decoded.rejections.count
                for r in decoded.rejections {
                    let reason = r.reason.replacingOccurrences(of: #"\[\d+\]"#, with: "[n]", options: .regularExpression)
                    summary.rejectionReasons["\((file as NSString).lastPathComponent): \(reason)", default: 0] += 1
                }
                pending.append(spans)
                pendingSpans += spans.count
            } catch {
                summary.filesFailed += 1
                summary.fileErrors[file] = "\(error)"
            }
            if pendingSpans >= commitSpans {
                try store.appendNow(batches: pending)
                pending.removeAll()
                pendingSpans = 0
            }
            progress.update(done: i + 1, detail: "\(summary.spansAccepted) spans")
        }
        try store.appendNow(batches: pending)
        sealer.stop()
        if let e = sealer.lastError { throw e }
        progress.finish()
        summary.seconds = Date().timeIntervalSince(started)
        summary.spansPerSecond = summary.seconds > 0 ? Double(summary.spansAccepted) / summary.seconds : 0
        if json {
            print(try jsonString(summary))
        } else {
            print("ingested \(summary.files - summary.filesFailed) of \(summary.files) files into \(database.path): "
                  + "\(summary.spansAccepted) spans accepted, \(summary.spansRejected) rejected "
                  + String(format: "(%.2fs, %.0f spans/s)", summary.seconds, summary.spansPerSecond))
            for (reason, n) in summary.rejectionReasons.sorted(by: { $0.value > $1.value }).prefix(20) {
                print("  rejected \(n)x: \(reason)")
            }
            for (file, error) in summary.fileErrors.sorted(by: { $0.key < $1.key }) { print("  failed \(file): \(error)") }
            if !skipped.isEmpty { print("  skipped \(skipped.count) files that are not trace payloads (logs, metrics, headers)") }
        }
        if summary.filesFailed > 0 { throw ExitCode(1) }
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show what the store holds.")
    @OptionGroup var database: DatabaseOptions
    @Flag(name: .long, help: "Print as JSON.") var json = false

    func run() throws {
        let store = try SQLiteSpanStore(path: database.path)
        let s = try store.statsNow()
        if json { print(try jsonString(s)); return }
        print("\(database.path): \(s.totalSpans) spans (\(s.sealedSpans) sealed in \(s.segments) segments, \(s.journalSpans) in \(s.journalBatches) journal batches)")
        print(String(format: "  %.1f MB, %.1f bytes per span", Double(s.fileBytes) / 1e6, s.totalSpans > 0 ? Double(s.fileBytes) / Double(s.totalSpans) : 0))
        if let lo = s.minStartUnixNano, let hi = s.maxStartUnixNano { print("  spans from \(formatTime(lo)) to \(formatTime(hi))") }
    }
}
