extension Int64 {
    /// `self + other`, held at `Int64.max` or `Int64.min` instead of overflowing: token sums over
    /// spans with absurd counts (a crafted request) must give a number, never trap.
    @inline(__always) func clampedAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
