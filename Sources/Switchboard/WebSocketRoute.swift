import HTTPTypes
import SwitchboardIO
import SwitchboardWire

/// A WebSocket endpoint: decides upgrades and opens connections.
struct WebSocketRoute: Sendable {
    let settings: WebSocketSettings
    var configuration: WebSocketConfiguration { settings.configuration }
    /// Runs the handler's `authenticate` and builds the typed connection.
    let open: @Sendable (Request, TCPConnection, String?, ConnectionDeflate?, LoopContext) throws -> WebSocketConnection

    enum Outcome {
        case refused(Response)
        case accepted(WebSocketConnection, response: HTTPResponse)
    }

    /// RFC 6455 §4.2.1–4.2.2: validate, check the origin, pick the
    /// subprotocol, authenticate, and answer 101 or the refusal.
    func upgrade(_ request: Request, isHTTP11: Bool, connection: TCPConnection, context: LoopContext) -> Outcome {
        let handshake: WebSocketHandshakeRequest
        do {
            handshake = try WebSocketHandshake.validate(request.head, isHTTP11: isHTTP11)
        } catch {
            var response = HTTPError(error.status, error.reason).response
            response.headerFields.append(contentsOf: error.headerFields)
            return .refused(response)
        }
        guard configuration.origins.allows(handshake.origin, request.head) else {
            return .refused(HTTPError(.forbidden, "origin not allowed").response)
        }
        let subprotocol = configuration.subprotocols.first { handshake.subprotocols.contains($0) }
        // RFC 7692 §5: the first acceptable permessage-deflate offer, if compression is on.
        var agreement: PerMessageDeflateAgreement?
        var deflate: ConnectionDeflate?
        if let compression = configuration.compression {
            agreement = PerMessageDeflateNegotiation.negotiate(handshake.extensions, policy: compression.policy)
            deflate = agreement.map { ConnectionDeflate(agreement: $0, settings: compression) }
        }
        let socket: WebSocketConnection
        do {
            socket = try open(request, connection, subprotocol, deflate, context)
        } catch let error as HTTPError {
            return .refused(error.response)
        } catch {
            context.logger.error("WebSocket authentication failed", metadata: ["path": "\(request.path)", "error": "\(error)"])
            return .refused(HTTPError(.internalServerError).response)
        }
        if deflate != nil { context.pubsub.connectionCompresses() }
        let fields = WebSocketHandshake.responseFields(
            forKey: handshake.key, subprotocol: subprotocol, extensions: agreement?.responseValue
        )
        return .accepted(socket, response: HTTPResponse(status: .switchingProtocols, headerFields: fields))
    }
}

extension WebSocketRoute.Outcome {
    /// Writes the 101 and hands the connection to its WebSocket, or writes
    /// the refusal and closes. `bufferedBytes` are what the client sent
    /// after its upgrade request. Returns whether the upgrade happened.
    @discardableResult
    func complete(on connection: TCPConnection, context: LoopContext, bufferedBytes: () -> [UInt8]) -> Bool {
        switch self {
        case .refused(let response):
            connection.write(response.encoded(date: context.httpDate, connection: .close, omitBody: false))
            connection.closeAfterFlush()
            return false
        case .accepted(let socket, let response):
            var bytes: [UInt8] = []
            serializeResponseHead(response, into: &bytes)
            connection.write(SharedBytes(bytes))
            socket.start(initialBytes: bufferedBytes())
            return true
        }
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
    init(_ configuration: WebSocketConfiguration) {
        self.configuration = configuration
        timers = WebSocketTimers.Settings(
            pingInterval: configuration.pingInterval?.milliseconds, pongTimeout: configuration.pongTimeout.milliseconds,
            idleTimeout: configuration.idleTimeout?.milliseconds, writeTimeout: configuration.writeTimeout.milliseconds,
            closeTimeout: configuration.closeTimeout.milliseconds)
    }
}
