import Glibc

/// HTTP-date values (RFC 9110 §5.6.7) for validators such as
/// `Last-Modified` and `If-Modified-Since`.
enum HTTPDate {
    /// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func format(_ seconds: time_t) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Parses the three forms a recipient must accept: IMF-fixdate
    /// (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete RFC 850 form
    /// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime's
    /// (`Sun Nov  6 08:49:37 1994`). `nil` for anything else, which callers
    /// ignore as RFC 9110 asks. The weekday is not checked.
    static func parse(_ text: some StringProtocol, now: time_t = time(nil)) -> time_t? {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "-" || $0 == ":" })
        var day = 0, month = 0, year = 0, hour = 0, minute = 0, second = 0
        switch tokens.count {
        case 8 where tokens[7] == "GMT":  // IMF-fixdate or RFC 850
            guard let d = Int(tokens[1]), let m = months.firstIndex(of: String(tokens[2])), let y = Int(tokens[3]) else { return nil }
            (day, month, year) = (d, m, y)
            guard let h = Int(tokens[4]), let mi = Int(tokens[5]), let s = Int(tokens[6]) else { return nil }
            (hour, minute, second) = (h, mi, s)
            if tokens[3].count == 2 { year = centuryFor(twoDigitYear: year, now: now) } else if tokens[3].count != 4 { return nil }
        case 7:  // asctime
            guard let m = months.firstIndex(of: String(tokens[1])), let d = Int(tokens[2]), let y = Int(tokens[6]), tokens[6].count == 4 else { return nil }
            (day, month, year) = (d, m, y)
            guard let h = Int(tokens[3]), let mi = Int(tokens[4]), let s = Int(tokens[5]) else { return nil }
            (hour, minute, second) = (h, mi, s)
        default:
            return nil
        }
        guard (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return timegm(&parts)
    }

    /// RFC 9110: a two-digit year more than 50 years in the future is the
    /// most recent past year with those digits.
    private static func centuryFor(twoDigitYear: Int, now: time_t) -> Int {
        var now = now
        var parts = tm()
        gmtime_r(&now, &parts)
        let thisYear = Int(parts.tm_year) + 1900
        var year = thisYear - thisYear % 100 + twoDigitYear
        if year > thisYear + 50 { year -= 100 }
        return year
    }
}
