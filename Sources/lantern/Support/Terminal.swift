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
    TimeExpression.parse(text, nowUnixNano: Int64((now.timeIntervalSince1970 * 1e9).rounded()))
}

func formatTime(_ unixNano: Int64) -> String { TimeExpression.format(unixNano) }

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
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    return String(decoding: try e.encode(value), as: UTF8.self)
}
