import HTTPTypes
import SwitchboardIO
import SwitchboardWire

/// A WebSocket endpoint: decides upgrades and opens connections.
struct WebSocketRoute: Sendable {
    let settings: WebSocketSettings
    var configuration: WebSocketConfiguration { settings.configuration }
    /// Runs the handler's `authenticate` and builds the typed connection.
    let open: @Sendable (Request, TCPConnection, String?, ConnectionDeflate?, LoopContext) throws -> WebSocketConnection

    /// Answers an upgrade request on `connection`: the 101 and the
    /// connection handed to its WebSocket (fed `bufferedBytes()` first: what
    /// the client sent right behind its request), or the refusal and a
    /// close. RFC 6455 §4.2: the handshake is decided by
    /// `WebSocketHandshake.accept`, then the handler's `authenticate`.
    /// Returns whether the upgrade happened.
    @discardableResult
    func upgrade(_ request: Request, isHTTP11: Bool, on connection: TCPConnection, context: LoopContext, bufferedBytes: () -> [UInt8]) -> Bool {
        let accepted: WebSocketAccept
        switch WebSocketHandshake.accept(request.head, isHTTP11: isHTTP11, policy: settings.acceptPolicy) {
        case .success(let value): accepted = value
        case .failure(let refusal):
            connection.refuse(with: refusal.response, context: context)
            return false
        }
        var deflate: ConnectionDeflate?
        if let agreement = accepted.deflate, let compression = configuration.compression {
            deflate = ConnectionDeflate(agreement: agreement, settings: compression)
        }
        let socket: WebSocketConnection
        do {
            socket = try open(request, connection, accepted.subprotocol, deflate, context)
        } catch {
            connection.refuse(with: HTTPError.response(for: error, context: context, path: request.path), context: context)
            return false
        }
        var head: [UInt8] = []
        serializeResponseHead(accepted.response, into: &head)
        connection.write(SharedBytes(head))
        socket.start(initialBytes: bufferedBytes())
        return true
    }
}

extension Router {
    /// Adds a WebSocket endpoint at `pattern` (a `GET` route that upgrades).
    ///
    /// ```swift
    /// server.router.webSocket("/echo", handler: Echo())
    /// ```
    public func webSocket<Handler: WebSocketHandler>(
        _ pattern: String,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        handler: Handler
    ) {
        let settings = WebSocketSettings(configuration)
        let route = WebSocketRoute(settings: settings) { request, tcp, subprotocol, deflate, context in
            let userData = try handler.authenticate(request)
            let connection = WebSocketConnection(tcp: tcp, settings: settings, context: context, deflate: deflate)
            connection.sink = WebSocket(
                userData: userData,
                subprotocol: subprotocol,
                remoteAddress: request.remoteAddress,
                connection: connection,
                handler: handler
            )
            return connection
        }
        add(.get, pattern, .webSocket(route))
    }
}

/// A route's configuration, shared by reference by all its connections
/// (a copy in each would cost an idle connection ~100 bytes).
final class WebSocketSettings: Sendable {
    let configuration: WebSocketConfiguration
    let timers: WebSocketTimers.Settings
    let acceptPolicy: WebSocketAcceptPolicy
    init(_ configuration: WebSocketConfiguration) {
        self.configuration = configuration
        acceptPolicy = WebSocketAcceptPolicy(
            subprotocols: configuration.subprotocols, deflate: configuration.compression?.policy,
            allowsOrigin: configuration.origins.allows)
        timers = WebSocketTimers.Settings(
            pingInterval: configuration.pingInterval?.milliseconds, pongTimeout: configuration.pongTimeout.milliseconds,
            idleTimeout: configuration.idleTimeout?.milliseconds, writeTimeout: configuration.writeTimeout.milliseconds,
            closeTimeout: configuration.closeTimeout.milliseconds)
    }
}
