import LanternModel

/// A small RFC 3339 timestamp parser (Langfuse's `completion_start_time`), to nanoseconds.
enum ISO8601 {
    /// Parses `2025-06-01T12:00:00.123456Z` or with an offset (`+02:00`); surrounding JSON
    /// quotes are tolerated. nil for anything else.
    static func unixNanos(_ text: String) -> Int64? {
        var s = Array(text.utf8)
        if s.count >= 2, s.first == 0x22, s.last == 0x22 { s = Array(s.dropFirst().dropLast()) }
        guard s.count >= 19 else { return nil }
        func num(_ from: Int, _ len: Int) -> Int64? {
            var v: Int64 = 0
            for i in from..<from + len {
                guard s[i] >= 0x30, s[i] <= 0x39 else { return nil }
                v = v * 10 + Int64(s[i] - 0x30)
            }
            return v
        }
        guard let y = num(0, 4), s[4] == 0x2D, let mo = num(5, 2), s[7] == 0x2D, let d = num(8, 2),
              s[10] == 0x54 || s[10] == 0x74 || s[10] == 0x20,
              let h = num(11, 2), s[13] == 0x3A, let mi = num(14, 2), s[16] == 0x3A, let sec = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, sec < 61 else { return nil }
        var i = 19
        var frac: Int64 = 0
        if i < s.count, s[i] == 0x2E {
            i += 1
            var digits = 0
            while i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
                if digits < 9 { frac = frac * 10 + Int64(s[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 9)..<9 { frac *= 10 }
        }
        var offset: Int64 = 0
        if i < s.count {
            if s[i] == 0x5A || s[i] == 0x7A {
                i += 1
            } else if s[i] == 0x2B || s[i] == 0x2D, s.count - i == 6, let oh = num(i + 1, 2), s[i + 3] == 0x3A, let om = num(i + 4, 2) {
                offset = (oh * 60 + om) * 60 * (s[i] == 0x2B ? 1 : -1)
                i += 6
            } else {
                return nil
            }
        }
        guard i == s.count else { return nil }
        let days = daysSinceEpoch(year: y, month: mo, day: d)
        let seconds = days * 86400 + h * 3600 + mi * 60 + sec - offset
        return seconds * 1_000_000_000 + frac
    }
}
