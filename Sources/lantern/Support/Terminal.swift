import Foundation
import LanternModel

/// Writes to standard error (progress and diagnostics, so stdout stays clean for --json).
func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((text + terminator).utf8))
}

/// True when standard error is a terminal (progress bars redraw in place only then).
let stderrIsTerminal = isatty(2) != 0

/// A progress line on stderr, redrawn at most a few times a second.
final class ProgressBar {
    private let total: Int
    private let label: String
    private var lastDraw = Date.distantPast
    private let started = Date()

    init(total: Int, label: String) {
        self.total = total
        self.label = label
    }

    func update(done: Int, detail: String) {
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= (stderrIsTerminal ? 0.2 : 5) || done == total else { return }
        lastDraw = now
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = String(format: "%@ [%@] %3.0f%% %d/%d %@ (%.1fs)", label, bar, fraction * 100, done, total, detail, now.timeIntervalSince(started))
        if stderrIsTerminal { printError("\r" + line, terminator: "") } else { printError(line) }
    }

    func finish() {
        if stderrIsTerminal { printError("") }
    }
}

/// Renders rows as an aligned text table; numeric-looking cells are right-aligned.
func renderTable(header: [String], rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    func isNumeric(_ s: String) -> Bool { !s.isEmpty && s.allSatisfy { "0123456789.,-%$ms".contains($0) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in
            let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
            return isNumeric(c) ? pad + c : c + pad
        }.joined(separator: "  ")
    }
    var out = [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
    out += rows.map(line)
    return out.joined(separator: "\n")
}

/// Parses a time: `2025-06-01`, `2025-06-01T12:00:00Z`, a Unix time in seconds or nanoseconds,
/// or a duration before now (`90m`, `24h`, `7d`).
func parseTime(_ text: String, now: Date = Date()) -> Int64? {
    if let last = text.last, "smhd".contains(last), let ago = Quantity.durationNanos(text) {
        return Int64(exactly: (now.timeIntervalSince1970 * 1e9).rounded()).map { $0 - ago }
    }
    if let n = Int64(text) {
        // Nanoseconds, milliseconds or seconds, told apart by magnitude; nil when out of range.
        if n.magnitude >= 1_000_000_000_000_000 { return n }
        let (v, overflow) = n.multipliedReportingOverflow(by: n.magnitude >= 100_000_000_000 ? 1_000_000 : 1_000_000_000)
        return overflow ? nil : v
    }
    let f = ISO8601DateFormatter()
    for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime], [.withFullDate]] {
        f.formatOptions = options
        if let d = f.date(from: text) { return Int64(d.timeIntervalSince1970 * 1e9) }
    }
    return nil
}

func formatTime(_ unixNano: Int64) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: Date(timeIntervalSince1970: Double(unixNano) / 1e9))
}

func formatCount(_ n: Int64) -> String {
    n >= 10_000_000 ? String(format: "%.1fM", Double(n) / 1e6) : n >= 100_000 ? String(format: "%.0fk", Double(n) / 1e3) : String(n)
}

func formatMillis(_ seconds: Double?) -> String {
    guard let seconds else { return "-" }
    return seconds >= 10 ? String(format: "%.1fs", seconds) : String(format: "%.0fms", seconds * 1000)
}

/// Encodes a value as pretty, key-sorted JSON for --json output.
func jsonString<T: Encodable>(_ value: T) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: try e.encode(value), as: UTF8.self)
}
