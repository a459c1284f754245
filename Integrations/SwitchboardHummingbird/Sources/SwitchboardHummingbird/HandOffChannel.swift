import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1.1 channel with ``HandOffBytesHandler`` in front, so
/// that a route can hand its connection over to Switchboard.
struct HandOffHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(HandOffBytesHandler(), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return http1.setup(channel: channel, logger: logger)
    }

    /// Hummingbird answers a connection's requests in this task, so the
    /// route finds the channel here whatever its request context is.
    func handle(value: Value, logger: Logger) async {
        await HandOffChannel.$current.withValue(value.channel) {
            await http1.handle(value: value, logger: logger)
        }
    }
}

enum HandOffChannel {
    /// The connection whose requests the current task answers, when the
    /// app's server was built with `.http1(handingOffTo:)`.
    @TaskLocal static var current: (any Channel)?
}
