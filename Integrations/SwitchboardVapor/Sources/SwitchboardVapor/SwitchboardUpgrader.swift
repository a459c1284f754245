import Glibc
import NIOCore
import NIOHTTP1
import Switchboard
import Vapor

/// Vapor's side of a hand-off: Vapor writes the 101 that `prepared` holds,
/// then this takes the connection away from SwiftNIO, with every byte it
/// read past the request, and gives it to Switchboard.
struct SwitchboardUpgrader: Upgrader {
    let prepared: PreparedUpgrade

    func applyUpgrade(req: Vapor.Request, res: Vapor.Response) -> any HTTPServerProtocolUpgrader {
        ProtocolUpgrader(prepared: prepared, logger: req.logger)
    }
}

/// SwiftNIO's upgrader protocol, as Vapor's upgrade handler drives it: the
/// response's fields first (on the channel's loop, before the 101 is
/// written), then `upgrade` once Vapor has removed its HTTP handlers.
private struct ProtocolUpgrader: HTTPServerProtocolUpgrader, Sendable {
    let prepared: PreparedUpgrade
    let logger: Logger
    var supportedProtocol: String { "websocket" }
    var requiredUpgradeHeaders: [String] { [] }

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        channel.eventLoop.makeCompletedFuture {
            // Right behind the decoder, before it goes: its leftovers come here.
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(HandOffCapture(), position: .after(decoder))
            var headers = initialResponseHeaders
            for field in prepared.response.headerFields { headers.add(name: field.name.canonicalName, value: field.value) }
            return headers
        }
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        let channel = context.channel
        let (prepared, logger) = (prepared, logger)
        // Vapor removes its upgrade buffer (forwarding what it held) right
        // after this returns, in the same turn of the loop: the hand-off
        // waits for the next turn, and for the 101 to have left.
        channel.eventLoop.execute {
            channel.writeAndFlush(ByteBuffer()).whenComplete { written in
                guard case .success = written, let (socket, bytes) = Self.take(channel, logger: logger) else {
                    channel.close(promise: nil)
                    return
                }
                prepared.adopt(socket: socket, bufferedBytes: bytes)
            }
        }
        return channel.eventLoop.makeSucceededVoidFuture()
    }

    /// On the channel's loop: what the capture kept, and a close-on-exec
    /// copy of the socket; the channel is closed at once, so that SwiftNIO
    /// neither polls nor answers it again (the copy keeps the connection).
    private static func take(_ channel: any Channel, logger: Logger) -> (Int32, [UInt8])? {
        do {
            let capture = try channel.pipeline.syncOperations.handler(type: HandOffCapture.self)
            guard channel.isActive else { return nil }
            let copy = try channel.pipeline.syncOperations.withUnsafeTransportIfAvailable(of: NIOBSDSocket.Handle.self) { socket in
                fcntl(socket, F_DUPFD_CLOEXEC, 0)
            }
            guard let copy, copy >= 0 else {
                logger.error("Switchboard hand-off: no socket to take over (errno \(errno))")
                return nil
            }
            let bytes = capture.take()
            channel.close(promise: nil)
            return (copy, bytes)
        } catch {
            logger.error("Switchboard hand-off failed: \(error)")
            return nil
        }
    }
}
