import Glibc
public import HTTPTypes
import SwitchboardIO
import SwitchboardSync

/// How a hand-off ended (`Server.handleUpgrade`'s async form).
public enum HandOffOutcome: Sendable, Equatable {
    /// The 101 went out; the connection is a WebSocket's.
    case upgraded
    /// Refused with this status, answered on the socket, which is closed.
    case refused(HTTPResponse.Status)
    /// The client left while its `async` authentication ran.
    case clientLeft
    /// The server is not running (or stopped before the upgrade settled),
    /// or the socket could not be taken over; it was closed.
    case notTaken
}

extension Server {
    /// Takes over a connection that another HTTP stack accepted and parsed:
    /// for hosts with their own HTTP server that want Switchboard's
    /// WebSocket routes and topics.
    ///
    /// `socket` is the accepted TCP socket; from this call on it belongs to
    /// Switchboard (it is closed on every path, also when this throws).
    /// `request` is the parsed upgrade request (HTTP/1.1), and
    /// `bufferedBytes` whatever the host already read past the request's
    /// head (frames a fast client sent right behind it). `hostContext` is
    /// handed to `authenticate` as `Request.hostContext` (what the host's
    /// own authentication decided). The request goes through the same
    /// checks as one that arrived here (route, handshake, origin,
    /// `authenticate`); a refusal is answered on the socket with its status
    /// and the socket closed. Safe from any thread; the connection lands on
    /// one of the server's loops. Returns at once; the async form below
    /// tells how it ended.
    public func handleUpgrade(socket: Int32, request: HTTPRequest, bufferedBytes: [UInt8] = [], hostContext: (any Sendable)? = nil) throws {
        guard handOff(socket: socket, request: request, bufferedBytes: bufferedBytes, hostContext: hostContext, settled: nil) else {
            throw ServerError.notRunning
        }
    }

    /// `handleUpgrade`, waiting until the connection is upgraded or
    /// refused (after an `async` authentication too), for a host that logs
    /// or counts the outcome.
    public func handleUpgrade(
        socket: Int32, request: HTTPRequest, bufferedBytes: [UInt8] = [], hostContext: (any Sendable)? = nil
    ) async -> HandOffOutcome {
        await withCheckedContinuation { (continuation: CheckedContinuation<HandOffOutcome, Never>) in
            let once = Once(continuation)
            if !handOff(socket: socket, request: request, bufferedBytes: bufferedBytes, hostContext: hostContext, settled: once.resume) {
                once.resume(.notTaken)
            }
        }
    }

    /// Adopts `socket` on a loop and upgrades or refuses it there; false
    /// (the socket closed) when the server is not running.
    private func handOff(
        socket: Int32, request: HTTPRequest, bufferedBytes: [UInt8], hostContext: (any Sendable)?,
        settled: (@Sendable (HandOffOutcome) -> Void)?
    ) -> Bool {
        guard let group, let contexts = loopContexts else {
            close(socket)
            return false
        }
        let loop = group.next()
        let context = contexts[loop.index]
        let accepted = loop.execute {
            guard let connection = try? TCPConnection.adopt(socket: socket, on: loop) else {
                settled?(.notTaken)
                return
            }
            let match = context.routes.match(request.method, path: Request.path(of: request))
            guard case .found(.webSocket(let route), let parameters) = match else {
                connection.refuse(with: HTTPError(.notFound).response, context: context)
                context.metrics.refused(status: 404)
                settled?(.refused(.notFound))
                return
            }
            var incoming = Request(head: request, body: [], parameters: parameters, remoteAddress: connection.remoteAddress)
            incoming.hostContext = hostContext
            // Unlike a connection that came through our HTTP handler, an
            // adopted one is not reading yet. It starts before the upgrade
            // (nothing is read until this closure returns), so that the
            // WebSocket may pause it again while it handles the buffered
            // bytes; a refusal's close stops it.
            connection.resumeReading()
            route.upgrade(incoming, on: connection, context: context, settled: settled) { bufferedBytes }
        }
        if !accepted {
            close(socket)
            return false
        }
        return true
    }
}

/// Resumes a continuation once, whoever calls first.
private final class Once: Sendable {
    private let continuation: Locked<CheckedContinuation<HandOffOutcome, Never>?>
    init(_ continuation: CheckedContinuation<HandOffOutcome, Never>) { self.continuation = Locked(continuation) }
    @Sendable func resume(_ outcome: HandOffOutcome) {
        continuation.withLock { continuation in
            defer { continuation = nil }
            return continuation
        }?.resume(returning: outcome)
    }
}
