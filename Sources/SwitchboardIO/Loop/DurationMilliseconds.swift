extension Duration {
    /// Whole milliseconds, rounded up (so a timeout never fires early),
    /// 0 for a negative duration, and `UInt64.max` ("never") past it: the
    /// unit of libuv's clock and of the loop's deadlines.
    package var milliseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let wholeMilliseconds = attoseconds / 1_000_000_000_000_000
        let roundUp: Int64 = attoseconds % 1_000_000_000_000_000 > 0 ? 1 : 0
        let (scaled, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000)
        guard !overflow else { return .max }
        let (total, overflowAgain) = scaled.addingReportingOverflow(UInt64(wholeMilliseconds + roundUp))
        return overflowAgain ? .max : total
    }
}
