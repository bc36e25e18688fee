/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days-from-civil).
public func daysSinceEpoch(year y: Int64, month m: Int64, day d: Int64) -> Int64 {
    let yy = m <= 2 ? y - 1 : y
    let era = (yy >= 0 ? yy : yy - 399) / 400
    let yoe = yy - era * 400
    let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468
}
