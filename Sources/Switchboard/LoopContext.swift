import Glibc
import HTTPTypes
import Logging
import SwitchboardIO
import SwitchboardWire
import Synchronization

/// What every connection on one loop shares: the route table, the
/// configuration, and a `Date` value cached for the current second.
/// Loop-confined: only touched on its loop's thread.
final class LoopContext: @unchecked Sendable {
    let loop: EventLoop
    let routes: RouteTable
    let configuration: ServerConfiguration
    let pubsub: PubSub
    /// The HTTP timeouts in the loop clock's milliseconds.
    let httpTimers: HTTPConnectionTimers.Settings
    /// The open WebSocket connections of this loop, readable from the
    /// thread that stops the server (it waits for them to close).
    let webSocketCount = Atomic<Int>(0)
    /// zlib streams shared by this loop's compressing connections (each
    /// made when the first one needs it).
    let deflate = LoopDeflate()
    private var dateSecond = -1
    private var dateValue = ""

    init(loop: EventLoop, routes: RouteTable, configuration: ServerConfiguration, pubsub: PubSub) {
        self.loop = loop
        self.pubsub = pubsub
        self.routes = routes
        self.configuration = configuration
        httpTimers = HTTPConnectionTimers.Settings(
            requestTimeout: configuration.http.requestTimeout.milliseconds,
            keepAliveTimeout: configuration.http.keepAliveTimeout.milliseconds)
    }

    var logger: Logger { configuration.logger }

    func webSocketOpened(_ connection: WebSocketConnection) {
        webSocketCount.add(1, ordering: .relaxed)
    }

    func webSocketClosed(_ connection: WebSocketConnection) {
        webSocketCount.subtract(1, ordering: .relaxed)
    }

    /// Sends 1001 to every WebSocket of this loop and closes each once
    /// that is written.
    func closeWebSocketsForShutdown() {
        loop.forEachConnection { connection in
            (connection.currentDelegate as? WebSocketConnection)?.closeForServerShutdown()
        }
    }

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
