import Glibc
public import HTTPTypes
import SwitchboardIO
import SwitchboardWire

/// An upgrade request decided before its connection is handed over: for a
/// host whose HTTP stack writes the 101 itself (Vapor's `Upgrader`), where
/// `Server.handleUpgrade`, which writes its own answer, cannot be used.
///
/// The host answers with `response`, then, when it was the 101 and is on
/// the wire, hands the socket over with `adopt`.
public struct PreparedUpgrade: Sendable {
    /// 101 Switching Protocols with Switchboard's handshake fields, or the
    /// refusal (its status, fields and body) to answer instead.
    public let response: Response
    private let accepted: Accepted?

    /// The route's handshake, what `authenticate` returned, and the server.
    private struct Accepted: Sendable {
        let server: Server
        let route: WebSocketRoute
        let request: Request
        let accept: WebSocketAccept
        let opener: WebSocketOpener
    }

    /// Whether the request was accepted (`response` is the 101).
    public var isAccepted: Bool { accepted != nil }

    fileprivate init(refusal: Response) {
        response = refusal
        accepted = nil
    }

    fileprivate init(server: Server, route: WebSocketRoute, request: Request, accept: WebSocketAccept, opener: WebSocketOpener) {
        response = Response(status: accept.response.status, headerFields: accept.response.headerFields)
        accepted = Accepted(server: server, route: route, request: request, accept: accept, opener: opener)
    }

    /// Hands over the socket on which the host wrote `response` (the 101):
    /// from this call on it belongs to Switchboard, which closes it on
    /// every path. `bufferedBytes` is what the host read past the request's
    /// head (frames the client sent right behind it). The WebSocket opens
    /// on one of the server's loops. False (the socket closed) when the
    /// upgrade was refused or the server is not running. Safe from any
    /// thread; returns at once.
    @discardableResult
    public func adopt(socket: Int32, bufferedBytes: [UInt8] = []) -> Bool {
        guard let accepted, let group = accepted.server.group, let contexts = accepted.server.loopContexts else {
            close(socket)
            return false
        }
        let loop = group.next()
        let context = contexts[loop.index]
        let queued = loop.execute {
            guard let connection = try? TCPConnection.adopt(socket: socket, on: loop) else { return }
            var deflate: ConnectionDeflate?
            if let agreement = accepted.accept.deflate, let compression = accepted.route.configuration.compression {
                deflate = ConnectionDeflate(agreement: agreement, settings: compression)
            }
            var request = accepted.request
            request.remoteAddress = connection.remoteAddress ?? request.remoteAddress
            // As in `handleUpgrade`: reading starts before the WebSocket,
            // which may pause it again for the buffered bytes.
            connection.resumeReading()
            accepted.opener.open(AcceptedUpgrade(
                request: request, connection: connection, accept: accepted.accept, deflate: deflate, context: context,
                settings: accepted.route.settings, bufferedBytes: bufferedBytes, settled: nil))
        }
        if !queued { close(socket) }
        return queued
    }
}

extension Server {
    /// Decides an upgrade request before the host hands its connection
    /// over: the same checks as one that arrives here (route, handshake,
    /// origin, room, `authenticate`, awaited here, also an `async` one, cut
    /// with 503 at `HTTPConfiguration.requestTimeout`). `hostContext` is
    /// handed to `authenticate` as `Request.hostContext`.
    ///
    /// For hosts that write the 101 themselves; others use
    /// `handleUpgrade(socket:request:bufferedBytes:hostContext:)`.
    public func prepareUpgrade(
        request head: HTTPRequest, remoteAddress: SocketAddress? = nil, hostContext: (any Sendable)? = nil
    ) async -> PreparedUpgrade {
        let prepared = await decideUpgrade(head, remoteAddress: remoteAddress, hostContext: hostContext)
        if !prepared.isAccepted { countRefusal(status: prepared.response.status.code) }
        return prepared
    }

    /// Counts a refusal decided off the loops in one loop's metrics, on
    /// that loop (the counts are its own; nothing when not running).
    private func countRefusal(status: Int) {
        guard let group, let contexts = loopContexts else { return }
        let loop = group.next()
        let context = contexts[loop.index]
        loop.execute { context.metrics.refused(status: status) }
    }

    private func decideUpgrade(
        _ head: HTTPRequest, remoteAddress: SocketAddress?, hostContext: (any Sendable)?
    ) async -> PreparedUpgrade {
        guard let contexts = loopContexts, let context = contexts.first, !isDraining else {
            return PreparedUpgrade(refusal: HTTPError(.serviceUnavailable, "not running").response)
        }
        let match = context.routes.match(head.method, path: Request.path(of: head))
        guard case .found(.webSocket(let route), let parameters) = match else {
            return PreparedUpgrade(refusal: HTTPError(.notFound).response)
        }
        let accept: WebSocketAccept
        switch WebSocketHandshake.accept(head, isHTTP11: true, policy: route.settings.acceptPolicy) {
        case .success(let value): accept = value
        case .failure(let refusal): return PreparedUpgrade(refusal: refusal.response)
        }
        guard context.hasRoomForAWebSocket else {
            return PreparedUpgrade(refusal: HTTPError(.serviceUnavailable, "too many connections", headerFields: [.retryAfter: "5"]).response)
        }
        var request = Request(head: head, body: [], parameters: parameters, remoteAddress: remoteAddress)
        request.hostContext = hostContext
        let timeout = context.configuration.http.requestTimeout
        do {
            let opener = try await withThrowingTaskGroup(of: WebSocketOpener?.self) { group in
                group.addTask { [request] in try await route.authenticateAhead(request) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let opener = first else {
                    throw HTTPError(.serviceUnavailable, "authentication did not finish in time")
                }
                return opener
            }
            return PreparedUpgrade(server: self, route: route, request: request, accept: accept, opener: opener)
        } catch {
            return PreparedUpgrade(refusal: HTTPError.response(for: error, context: context, path: request.path))
        }
    }
}
