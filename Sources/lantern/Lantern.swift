import ArgumentParser
import Foundation

#if os(Linux)
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

@main
struct Lantern: AsyncParsableCommand {
    static func main() async {
        #if os(Linux)
        // Column buffers are a few hundred KB each. glibc serves such blocks with a fresh mmap
        // (and page faults on first touch) unless the threshold is raised: M_MMAP_THRESHOLD (-3)
        // and M_TRIM_THRESHOLD (-1) from malloc.h.
        _ = mallopt(-3, 256 << 20)
        _ = mallopt(-1, 512 << 20)
        #endif
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "lantern",
        abstract: "Observability and release control for applications that call LLMs.",
        discussion: "Spans are kept in one SQLite file: --db PATH, else $LANTERN_DB, else ./lantern.db.",
        subcommands: [ServeCommand.self, DemoCommand.self, KeysCommand.self, IngestCommand.self, QueryCommand.self, ReportCommand.self, DriftCommand.self, MonitorsCommand.self, TracesCommand.self, MetricsCommand.self, StatsCommand.self, RetentionCommand.self, BenchCommand.self, CrashTestAppendCommand.self]
    )
}

/// `--db`, shared by every command that opens the store.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "The database file (default: $LANTERN_DB or ./lantern.db).")
    var db: String?

    var path: String { db ?? ProcessInfo.processInfo.environment["LANTERN_DB"] ?? "lantern.db" }
}

/// `--prices`, for commands that compute cost.
struct PriceOptions: ParsableArguments {
    @Option(name: .long, help: "A directory of price tables (*.yaml), or a flat prices.json (default: ./collectors/prices).")
    var prices: String?
}
