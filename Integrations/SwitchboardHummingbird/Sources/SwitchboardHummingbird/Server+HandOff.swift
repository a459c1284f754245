import Glibc
public import Hummingbird
import Logging
import NIOCore
public import Switchboard

extension Switchboard.Server {
    /// Hands the connection that carried `request` over to this server, for
    /// one of its WebSocket routes (the request's path is matched against
    /// them as it arrived): the 101, or the refusal, is Switchboard's, and
    /// from then on the connection is a Switchboard WebSocket.
    ///
    /// Call it from a Hummingbird route (or use `router.switchboard(_:to:)`)
    /// of an app built with `.http1(handingOffTo:)`; the app's middleware has
    /// run by then, and `context` reaches `authenticate` as
    /// `Request.hostContext` (what the app's authentication decided).
    ///
    /// The response returned is never written, since the connection is no
    /// longer Hummingbird's: it tells the app's middleware (logging,
    /// metrics) how the hand-off ended: 101, the refusal's status, 499 when
    /// the client left during an `async` authentication, 503 when this
    /// server is not running. A request that is not an upgrade is answered
    /// by Hummingbird with 426.
    public func handOff(_ request: Hummingbird.Request, context: some RequestContext) async throws -> Hummingbird.Response {
        guard let channel = HandOffChannel.current else {
            context.logger.error("Switchboard hand-off on a server not built with .http1(handingOffTo:)")
            throw HTTPError(.internalServerError, message: "WebSocket hand-off is not set up on this server")
        }
        // Checked here too: with pipelining, the upgrade head the byte
        // handler saw may belong to a later request than this one.
        guard Self.asksForUpgrade(request) else { return Self.upgradeRequired }
        let taken = try await channel.eventLoop.submit { try Self.takeConnection(of: channel) }.get()
        switch taken {
        case .notAnUpgrade:
            return Self.upgradeRequired
        case .cannotFollow(let reason):
            context.logger.error("Switchboard hand-off refused: the connection's bytes are not plain HTTP/1.1 (\(reason))")
            throw HTTPError(.notImplemented, message: "WebSocket hand-off needs plain HTTP/1.1")
        case .clientLeft:
            return Response(status: .init(code: 499, reasonPhrase: "Client Closed Request"))
        case .socket(let socket, let heldBytes):
            let outcome = await handleUpgrade(socket: socket, request: request.head, bufferedBytes: heldBytes, hostContext: context)
            switch outcome {
            case .upgraded: return Response(status: .switchingProtocols)
            case .refused(let status): return Response(status: status)
            case .clientLeft: return Response(status: .init(code: 499, reasonPhrase: "Client Closed Request"))
            case .notTaken: return Response(status: .serviceUnavailable)
            }
        }
    }

    private static let upgradeRequired = Response(status: .upgradeRequired, headers: [.upgrade: "websocket", .connection: "Upgrade"])

    /// `Connection: upgrade` and an `Upgrade` field, as SwiftNIO's parser
    /// (and `HTTPUpgradeBoundary`) judge an upgrade request.
    private static func asksForUpgrade(_ request: Hummingbird.Request) -> Bool {
        guard request.headers[.upgrade] != nil else { return false }
        return request.headers[values: .connection].contains { value in
            value.split(separator: ",").contains { $0.lowercased().filter { !$0.isWhitespace } == "upgrade" }
        }
    }

    private enum Taken: Sendable {
        case socket(Int32, heldBytes: [UInt8])
        case notAnUpgrade
        case cannotFollow(String)
        case clientLeft
    }

    /// On the channel's loop: a close-on-exec copy of its socket, then the
    /// channel closed at once, so that SwiftNIO neither polls nor answers
    /// it again (the copy keeps the connection open).
    private static func takeConnection(of channel: any Channel) throws -> Taken {
        let handler = try channel.pipeline.syncOperations.handler(type: HandOffBytesHandler.self)
        let heldBytes: [UInt8]
        switch handler.take() {
        case .notAnUpgrade: return .notAnUpgrade
        case .lostTrack(let reason): return .cannotFollow(reason)
        case .upgrade(let bytes): heldBytes = bytes
        }
        guard channel.isActive else { return .clientLeft }
        let copy = try channel.pipeline.syncOperations.withUnsafeTransportIfAvailable(of: NIOBSDSocket.Handle.self) { socket in
            fcntl(socket, F_DUPFD_CLOEXEC, 0)
        }
        guard let copy, copy >= 0 else { return .cannotFollow("no socket to take over (errno \(errno))") }
        channel.close(promise: nil)
        return .socket(copy, heldBytes: heldBytes)
    }
}
