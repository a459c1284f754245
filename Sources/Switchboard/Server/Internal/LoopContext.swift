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

    func webSocketOpened() {
        webSocketCount.add(1, ordering: .relaxed)
    }

    func webSocketClosed() {
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
        let now = time(nil)
        if now != dateSecond {
            dateSecond = now
            dateValue = HTTPDate.format(now)
        }
        return dateValue
    }
}
