import ArgumentParser
import Foundation

@main
struct Lantern: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lantern",
        abstract: "Observability and release control for applications that call LLMs.",
        discussion: "Spans are kept in one SQLite file: --db PATH, else $LANTERN_DB, else ./lantern.db.",
        subcommands: [IngestCommand.self, QueryCommand.self, TracesCommand.self, StatsCommand.self, BenchCommand.self, CrashTestAppendCommand.self]
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
