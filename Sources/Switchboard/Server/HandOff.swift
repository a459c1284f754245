import Glibc
public import HTTPTypes
import SwitchboardIO

extension Server {
    /// Takes over a connection that another HTTP stack accepted and parsed:
    /// for hosts with their own HTTP server that want Switchboard's
    /// WebSocket routes and topics.
    ///
    /// `socket` is the accepted TCP socket; from this call on it belongs to
    /// Switchboard (it is closed on every path, also when this throws).
    /// `request` is the parsed upgrade request (HTTP/1.1), and
    /// `bufferedBytes` whatever the host already read past the request's
    /// head (frames a fast client sent right behind it). The request goes
    /// through the same checks as one that arrived here (route, handshake,
    /// origin, `authenticate`); a refusal is answered on the socket with its
    /// status and the socket closed. Safe from any thread; the connection
    /// lands on one of the server's loops.
    public func handleUpgrade(socket: Int32, request: HTTPRequest, bufferedBytes: [UInt8] = []) throws {
        guard let group, let contexts = loopContexts else {
            close(socket)
            throw ServerError.notRunning
        }
        let loop = group.next()
        let context = contexts[loop.index]
        let accepted = loop.execute {
            guard let connection = try? TCPConnection.adopt(socket: socket, on: loop) else { return }
            let match = context.routes.match(request.method, path: Request.path(of: request))
            guard case .found(.webSocket(let route), let parameters) = match else {
                connection.refuse(with: HTTPError(.notFound).response, context: context)
                return
            }
            let incoming = Request(head: request, body: [], parameters: parameters, remoteAddress: connection.remoteAddress)
            let outcome = route.upgrade(incoming, isHTTP11: true, on: connection, context: context) { bufferedBytes }
            // Unlike a connection that came through our HTTP handler, an
            // adopted one has not been read from yet (a pending one reads
            // from the start of its wait).
            if outcome == .upgraded { connection.resumeReading() }
        }
        if !accepted {
            close(socket)
            throw ServerError.notRunning
        }
    }
}
