import Foundation

/// A point in time as people and scripts write it: `2025-06-01`, `2025-06-01T12:00:00Z`, Unix
/// seconds, milliseconds or nanoseconds (told apart by magnitude), or a span before now (`90m`, `24h`, `7d`).
public enum TimeExpression {
    /// What the parser accepts, for error messages.
    public static let accepted = "2025-06-01, 2025-06-01T12:00:00Z, Unix seconds, milliseconds or nanoseconds, or a span before now such as 90m, 24h or 7d (between 1970 and 2200)"

    /// The times accepted: 1970-01-01 up to (not including) 2200-01-01, in Unix nanoseconds. Keeping
    /// times far from Int64's ends leaves room for windows and offsets to be added without overflow.
    public static let supported: Range<Int64> = 0..<7_258_118_400_000_000_000

    /// Unix nanoseconds, or nil when the text is none of the accepted forms or lies outside `supported`.
    public static func parse(_ text: String, nowUnixNano: Int64) -> Int64? {
        guard let t = unbounded(text, nowUnixNano: nowUnixNano), supported.contains(t) else { return nil }
        return t
    }

    private static func unbounded(_ text: String, nowUnixNano: Int64) -> Int64? {
        if let last = text.last, "smhd".contains(last), let ago = Quantity.durationNanos(text) {
            let (v, overflow) = nowUnixNano.subtractingReportingOverflow(ago)
            return overflow ? nil : v
        }
        if let n = Int64(text) {
            if n.magnitude >= 1_000_000_000_000_000 { return n }
            let (v, overflow) = n.multipliedReportingOverflow(by: n.magnitude >= 100_000_000_000 ? 1_000_000 : 1_000_000_000)
            return overflow ? nil : v
        }
        let f = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime], [.withFullDate]] {
            f.formatOptions = options
            if let d = f.date(from: text) {
                let nanos = (d.timeIntervalSince1970 * 1e9).rounded()
                return nanos.magnitude < 9.2e18 ? Int64(nanos) : nil
            }
        }
        return nil
    }

    /// The current time in Unix nanoseconds.
    public static func nowUnixNano() -> Int64 { Int64((Date().timeIntervalSince1970 * 1e9).rounded()) }

    /// UTC ISO-8601 with seconds, e.g. `2025-06-01T12:00:00Z`.
    public static func format(_ unixNano: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSince1970: Double(unixNano) / 1e9))
    }
}
