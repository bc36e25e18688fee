import ArgumentParser
import Foundation
import LanternModel
import LanternStore

struct RetentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Delete old data: segments and unsealed batches older than --max-age, then the oldest segments until under --max-bytes.",
        discussion: """
        Retention works on whole sealed segments (tens of thousands of spans) and whole unsealed journal \
        batches: one goes when its newest span is older than the age bound; one that straddles the cutoff \
        stays until all of it is old. The size bound counts the sealed segments' column data. Each segment \
        is deleted in its own short transaction, and the freed pages are returned to the file system.
        """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Keep spans that started within this long before now, e.g. 30d, 12h.") var maxAge: String?
    @Option(help: "Keep the sealed segments' column data under this size, e.g. 500MB, 10GB.") var maxBytes: String?
    @Flag(name: .long, help: "Print the result as JSON.") var json = false

    func validate() throws {
        guard maxAge != nil || maxBytes != nil else { throw ValidationError("give --max-age, --max-bytes or both") }
        if let a = maxAge, Quantity.durationNanos(a) == nil { throw ValidationError("cannot read --max-age '\(a)': use e.g. 30d, 12h, 90m") }
        if let b = maxBytes, Quantity.bytes(b) == nil { throw ValidationError("cannot read --max-bytes '\(b)': use e.g. 500MB, 10GB, 123456") }
    }

    struct Output: Encodable {
        var segmentsDeleted: Int
        var spansDeleted: Int
        var bytesDeleted: Int64
        var spansLeft: Int
        var fileBytes: Int64
    }

    func run() throws {
        let store = try SQLiteSpanStore(path: database.path)
        let policy = RetentionPolicy(maxAgeNanos: maxAge.flatMap(Quantity.durationNanos), maxBytes: maxBytes.flatMap(Quantity.bytes))
        let r = try store.applyRetentionNow(policy, nowUnixNano: Int64(Date().timeIntervalSince1970 * 1e9))
        try store.compact()
        let s = try store.statsNow()
        let out = Output(segmentsDeleted: r.segmentsDeleted, spansDeleted: r.spansDeleted, bytesDeleted: r.bytesDeleted,
                         spansLeft: s.totalSpans, fileBytes: s.fileBytes)
        if json {
            print(try jsonString(out))
        } else {
            print("deleted \(r.segmentsDeleted) segments (\(r.spansDeleted) spans, \(r.bytesDeleted) bytes); \(s.totalSpans) spans left in \(s.fileBytes) bytes")
        }
    }
}
