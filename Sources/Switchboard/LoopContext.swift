import Glibc
import HTTPTypes
import Logging
import SwitchboardIO

/// What every connection on one loop shares: the route table, the
/// configuration, and a `Date` value cached for the current second.
/// Loop-confined: only touched on its loop's thread.
final class LoopContext: @unchecked Sendable {
    let loop: EventLoop
    let routes: RouteTable
    let configuration: ServerConfiguration
    private var dateSecond = -1
    private var dateValue = ""

    init(loop: EventLoop, routes: RouteTable, configuration: ServerConfiguration) {
        self.loop = loop
        self.routes = routes
        self.configuration = configuration
    }

    var logger: Logger { configuration.logger }

    /// The `Date` field value (RFC 9110 §5.6.7 IMF-fixdate), formatted at
    /// most once a second per loop.
    var httpDate: String {
        var now = time(nil)
        if now != dateSecond {
            dateSecond = now
            var parts = tm()
            gmtime_r(&now, &parts)
            dateValue = Self.imfFixdate(parts)
        }
        return dateValue
    }

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func imfFixdate(_ t: tm) -> String {
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(t.tm_wday)]), \(two(t.tm_mday)) \(months[Int(t.tm_mon)]) \(t.tm_year + 1900) "
            + "\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec)) GMT"
    }
}
