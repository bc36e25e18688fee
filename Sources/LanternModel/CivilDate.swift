/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days-from-civil).
public func daysSinceEpoch(year y: Int64, month m: Int64, day d: Int64) -> Int64 {
    let yy = m <= 2 ? y - 1 : y
    let era = (yy >= 0 ? yy : yy - 399) / 400
    let yoe = yy - era * 400
    let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468
}

/// The UTC calendar fields of a Unix time in nanoseconds (proleptic Gregorian; Howard Hinnant's
/// civil-from-days), for formatting without Foundation's formatters.
public struct UTCDateTime: Sendable, Equatable {
    public var year: Int64, month: Int64, day: Int64
    public var hour: Int64, minute: Int64, second: Int64
    /// Nanoseconds within the second, 0 to 999,999,999.
    public var nanosecond: Int64

    public init(unixNanos: Int64) {
        let (seconds, nanos) = Self.floorDivMod(unixNanos, 1_000_000_000)
        let (days, secondOfDay) = Self.floorDivMod(seconds, 86_400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        hour = secondOfDay / 3600
        minute = secondOfDay % 3600 / 60
        second = secondOfDay % 60
        nanosecond = nanos
    }

    /// `2025-01-31T12:00:00Z`, or with `milliseconds` `2025-01-31T12:00:00.123Z` (truncated).
    public func iso8601(milliseconds: Bool = false) -> String {
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let base = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
        return base + (milliseconds ? ".\(pad(nanosecond / 1_000_000, 3))Z" : "Z")
    }

    /// Quotient rounded down and the non-negative remainder.
    static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }
}
