/// Human-written durations and sizes, as used on the command line and in configuration files.
public enum Quantity {
    /// `250ms`, `45s`, `90m`, `12h`, `30d` as nanoseconds; nil when the text is not one of those.
    public static func durationNanos(_ text: String) -> Int64? {
        if text.hasSuffix("ms") {
            guard let n = Double(text.dropLast(2)), n >= 0, n.isFinite else { return nil }
            return Int64(exactly: (n * 1e6).rounded())
        }
        guard let unit = text.last, let n = Double(text.dropLast()), n >= 0, n.isFinite else { return nil }
        let seconds: Double
        switch unit {
        case "s": seconds = n
        case "m": seconds = n * 60
        case "h": seconds = n * 3600
        case "d": seconds = n * 86400
        default: return nil
        }
        return Int64(exactly: (seconds * 1e9).rounded())
    }

    /// `123456`, `500KB`, `500MB`, `10GB`, `1TB` (powers of 1000) and `64KiB`, `64MiB`, `1GiB`
    /// (powers of 1024) as bytes; nil when the text is not one of those.
    public static func bytes(_ text: String) -> Int64? {
        let upper = text.uppercased().replacingSpaces()
        let suffixes: [(String, Double)] = [
            ("KIB", 1024), ("MIB", 1_048_576), ("GIB", 1_073_741_824), ("TIB", 1_099_511_627_776),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1.0),
        ]
        for (suffix, factor) in suffixes where upper.hasSuffix(suffix) {
            guard let n = Double(upper.dropLast(suffix.count)), n >= 0, n.isFinite else { return nil }
            return Int64(exactly: (n * factor).rounded())
        }
        return Int64(upper).flatMap { $0 >= 0 ? $0 : nil }
    }
}

private extension String {
    func replacingSpaces() -> String { String(filter { $0 != " " }) }
}
