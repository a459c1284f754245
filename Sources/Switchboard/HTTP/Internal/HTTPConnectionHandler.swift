import HTTPTypes
import Logging
import SwitchboardIO
import SwitchboardWire

/// Serves HTTP/1.1 on one connection: parses requests (pipelined ones in
/// order), routes them, writes responses, and enforces the timeouts.
/// Runs on the connection's loop.
final class HTTPConnectionHandler: TCPConnectionDelegate {
    private let context: LoopContext
    // Loop-confined, never accessed reentrantly: no dynamic exclusivity
    // checks (each cost a thread-local lookup).
    @exclusivity(unchecked) private var parser: HTTPRequestParser
    /// The request and keep-alive timeouts.
    @exclusivity(unchecked) private var timers: HTTPConnectionTimers
    private var isReadingPaused = false
    private var isDone = false

    init(context: LoopContext) {
        self.context = context
        parser = HTTPRequestParser(limits: context.configuration.http.limits)
        timers = HTTPConnectionTimers(now: context.loop.now)
    }

    private var configuration: HTTPConfiguration { context.configuration.http }

    func start(_ connection: TCPConnection) {
        connection.start(delegate: self)
        updateDeadline(connection)
    }

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        parser.receive(UnsafeRawBufferPointer(bytes))
        serveBufferedRequests(connection)
    }

    private static let continueResponse = SharedBytes(string: "HTTP/1.1 100 Continue\r\n\r\n")
    private var sentContinue = false

    private func serveBufferedRequests(_ connection: TCPConnection) {
        // A response's write can find the peer gone and close the connection.
        while !isDone, connection.isOpen {
            if connection.queuedByteCount > configuration.maxQueuedResponseBytes {
                // The peer is not reading its responses: stop reading its
                // requests until the queue drains.
                isReadingPaused = true
                connection.pauseReading()
                break
            }
            do {
                guard let event = try parser.nextEvent() else { break }
                switch event {
                case .request(let head, let body):
                    serve(head, body: body, on: connection)
                }
            } catch {
                refuse(error, on: connection)
                return
            }
        }
        if !isDone, parser.isAwaitingContinue, !sentContinue {
            sentContinue = true
            connection.write(Self.continueResponse)
        }
        updateDeadline(connection)
    }

    private func serve(_ head: HTTPRequestHead, body: [UInt8], on connection: TCPConnection) {
        timers.requestReceived()
        sentContinue = false
        if head.isUpgradeRequest {
            // No protocol to switch to on this route: answer as plain HTTP
            // (RFC 9110 §7.8 lets a server ignore Upgrade).
            parser.resume()
        }
        let match = context.routes.match(head.method, path: Request.path(ofTarget: head.path))
        if case .found(.webSocket(let route), let parameters) = match {
            upgrade(head, body: body, route: route, parameters: parameters, on: connection)
            return
        }
        let response = respond(to: head, body: body, match: match, on: connection)
        // A draining server tells keep-alive clients to go elsewhere.
        let keepAlive = head.keepAlive && !context.draining.isSet
        let connectionHeader: Response.ConnectionHeader =
            !keepAlive ? .close : (head.version == .http1_0 ? .keepAlive : .none)
        if case .found(.http(_, let route), _) = match {
            context.counts.responded(status: response.status.code, httpRoute: route)
        } else {
            context.counts.responded(status: response.status.code)
        }
        connection.write(response.encoded(
            date: context.httpDate,
            connection: connectionHeader,
            omitBody: head.method == .head
        ))
        if !keepAlive { finish(connection) }
    }

    /// Answers 101 and hands the connection to a `WebSocketConnection`, or
    /// refuses with the route's status and closes.
    private func upgrade(_ head: HTTPRequestHead, body: [UInt8], route: WebSocketRoute, parameters: Parameters, on connection: TCPConnection) {
        let request = Request(head: head, body: body, parameters: parameters, peer: connection.peer)
        isDone = true
        route.upgrade(request, on: connection, context: context) { parser.takeBufferedBytes() }
    }

    /// The response of an HTTP route, 405 (or the `OPTIONS` answer) or 404.
    /// WebSocket routes never get here: `serve` upgrades them.
    private func respond(to head: HTTPRequestHead, body: [UInt8], match: RouteTable.Match, on connection: TCPConnection) -> Response {
        switch match {
        case .found(let target, let parameters):
            guard case .http(let handler, _) = target else { preconditionFailure("WebSocket routes are served by upgrade()") }
            let request = Request(head: head, body: body, parameters: parameters, peer: connection.peer)
            do {
                return try handler(request)
            } catch {
                return HTTPError.response(for: error, context: context, path: request.path, connection: connection)
            }
        case .methodNotAllowed(let allowed):
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            if head.method == .options {
                return Response(status: .noContent, headerFields: [.allow: allow])
            }
            return HTTPError(.methodNotAllowed, headerFields: [.allow: allow]).response
        case .notFound:
            return HTTPError(.notFound).response
        }
    }

    /// Answers a malformed or oversized request and closes: after a framing
    /// error nothing later on the connection can be trusted.
    private func refuse(_ refusal: HTTPRefusal, on connection: TCPConnection) {
        isDone = true
        connection.refuse(with: refusal.response, context: context)
        context.log(.debug, "request refused", connection: connection, ["status": "\(refusal.status.code)", "reason": "\(refusal.reason)"])
    }

    private func finish(_ connection: TCPConnection) {
        isDone = true
        connection.closeAfterFlush()
    }

    private func updateDeadline(_ connection: TCPConnection) {
        guard !isDone else { return }
        let now = connection.loop.now
        timers.parsed(now: now, hasPartialRequest: parser.hasPartialRequest)
        connection.setDeadline(at: timers.deadline(context.httpTimers))
    }

    func connectionDeadlinePassed(_ connection: TCPConnection) {
        switch timers.fire(now: connection.loop.now, context.httpTimers) {
        case .refuseSlowRequest:
            refuse(HTTPRefusal(status: .requestTimeout, reason: "request not received in time"), on: connection)
        case .closeIdle:
            connection.close()  // idle keep-alive: nothing to say
        case .none:
            updateDeadline(connection)
        }
    }

    func connectionDidDrain(_ connection: TCPConnection) {
        guard isReadingPaused else { return }
        isReadingPaused = false
        connection.resumeReading()
        serveBufferedRequests(connection)
    }

    func connectionDidReachEndOfInput(_ connection: TCPConnection) {
        // The peer sent all it will; it may still read what is queued.
        finish(connection)
    }
}
