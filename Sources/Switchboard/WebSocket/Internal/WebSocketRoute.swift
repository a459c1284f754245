import HTTPTypes
import SwitchboardIO
import SwitchboardWire

/// A WebSocket endpoint: decides upgrades and opens connections.
final class WebSocketRoute: Sendable {
    let settings: WebSocketSettings
    var configuration: WebSocketConfiguration { settings.configuration }
    /// The rest of an accepted upgrade, typed by the route's handler:
    /// authenticate (on the loop, or in a task), then open or refuse.
    let authenticateAndOpen: @Sendable (AcceptedUpgrade) -> UpgradeOutcome
    /// The same authentication for a host that writes the 101 itself
    /// (`Server.prepareUpgrade`): awaited by the caller, before there is a
    /// connection; what it returns opens the WebSocket on one later.
    let authenticateAhead: @Sendable (Request) async throws -> WebSocketOpener

    init(
        settings: WebSocketSettings, authenticateAndOpen: @escaping @Sendable (AcceptedUpgrade) -> UpgradeOutcome,
        authenticateAhead: @escaping @Sendable (Request) async throws -> WebSocketOpener
    ) {
        self.settings = settings
        self.authenticateAndOpen = authenticateAndOpen
        self.authenticateAhead = authenticateAhead
    }

    /// Answers an upgrade request on `connection`: the 101 and the
    /// connection handed to its WebSocket (fed `bufferedBytes()` first: what
    /// the client sent right behind its request), or the refusal and a
    /// close, or, while an asynchronous authentication runs, nothing yet
    /// (`.pending`: the connection is no longer the caller's). RFC 6455
    /// §4.2: the handshake is decided by `WebSocketHandshake.accept`, then
    /// the route's authentication. `settled` hears how it ended (a
    /// hand-off's outcome), now or after the authentication's task.
    @discardableResult
    func upgrade(
        _ request: Request, on connection: TCPConnection, context: LoopContext,
        settled: (@Sendable (HandOffOutcome) -> Void)? = nil, bufferedBytes: () -> [UInt8]
    ) -> UpgradeOutcome {
        let accepted: WebSocketAccept
        switch WebSocketHandshake.accept(request.parsedHead, policy: settings.acceptPolicy) {
        case .success(let value): accepted = value
        case .failure(let refusal):
            connection.refuse(with: refusal.response, context: context)
            context.metrics.refused(status: refusal.response.status.code)
            context.log(.debug, "upgrade refused", connection: connection, route: settings.pattern,
                        ["status": "\(refusal.status.code)", "reason": "\(refusal.reason)"])
            settled?(.refused(refusal.response.status))
            return .refused
        }
        guard context.hasRoomForAWebSocket else {
            let reason = context.draining.isSet ? "draining" : "too many connections"
            let full = HTTPError(.serviceUnavailable, reason, headerFields: [.retryAfter: "5"]).response
            connection.refuse(with: full, context: context)
            context.metrics.refused(status: full.status.code)
            settled?(.refused(.serviceUnavailable))
            return .refused
        }
        var deflate: ConnectionDeflate?
        if let agreement = accepted.deflate, let compression = configuration.compression {
            deflate = ConnectionDeflate(agreement: agreement, settings: compression)
        }
        return authenticateAndOpen(AcceptedUpgrade(
            request: request, connection: connection, accept: accepted, deflate: deflate, context: context,
            settings: settings, bufferedBytes: bufferedBytes(), settled: settled))
    }
}

enum UpgradeOutcome: Equatable {
    /// The 101 is written; the connection is a WebSocket's.
    case upgraded
    /// Refused (status written, closing).
    case refused
    /// An asynchronous authentication decides later (`PendingUpgrade`).
    case pending
}

/// How a route learns who connects and what to attach to the connection.
enum Authentication<UserData: Sendable>: Sendable {
    /// On the loop thread, before the 101: the fast path.
    case onLoop(@Sendable (Request) throws -> UserData)
    /// In a task, off the loop; the connection waits (`PendingUpgrade`).
    case inTask(@Sendable (Request) async throws -> UserData)
}

/// An upgrade request whose handshake was accepted, waiting for its
/// authentication's answer. Used on the connection's loop only.
struct AcceptedUpgrade {
    let request: Request
    let connection: TCPConnection
    let accept: WebSocketAccept
    let deflate: ConnectionDeflate?
    let context: LoopContext
    let settings: WebSocketSettings
    /// What the client sent right behind its request.
    let bufferedBytes: [UInt8]
    /// Told how the upgrade ended.
    let settled: (@Sendable (HandOffOutcome) -> Void)?

    /// Writes the 101 (unless the host wrote it) and hands the connection
    /// to a new WebSocket, which reads `bufferedBytes` first (what the
    /// client sent after its request).
    func open<Handler: WebSocketHandler>(
        _ handler: Handler, userData: Handler.UserData, bufferedBytes: [UInt8]? = nil, hostWroteResponse: Bool = false
    ) {
        // The handler is the route's (`settings.sink`); the connection
        // keeps the user data and which subprotocol was agreed.
        let socket = WebSocketConnection(
            tcp: connection, settings: settings, context: context, deflate: deflate,
            userDataBox: WebSocketConnection.box(userData), subprotocol: accept.subprotocol)
        if !hostWroteResponse {
            // In the request's read callback (the usual case) the 101 is
            // written into the loop's cork buffer: no allocation.
            let accept = self.accept
            connection.write(count: accept.responseHeadByteCount) { accept.writeResponseHead(to: $0) }
        }
        socket.start(initialBytes: bufferedBytes ?? self.bufferedBytes)
        settled?(.upgraded)
    }

    /// Answers the authentication's error (an `HTTPError`'s status; 500,
    /// logged, for any other) and closes.
    func refuse(_ error: any Error) {
        let response = HTTPError.response(for: error, context: context, path: request.path, connection: connection)
        connection.refuse(with: response, context: context)
        context.metrics.refused(status: response.status.code)
        context.log(.debug, "upgrade refused by authenticate", connection: connection, route: settings.pattern, ["status": "\(response.status.code)"])
        settled?(.refused(response.status))
    }
}

extension Router {
    /// Adds a WebSocket endpoint at `pattern` (a `GET` route that upgrades).
    /// The handler's `authenticate` decides each upgrade, on the loop.
    ///
    /// ```swift
    /// server.router.webSocket("/echo", handler: Echo())
    /// ```
    @inlinable
    public func webSocket<Handler: WebSocketHandler>(
        _ pattern: String,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        handler: Handler
    ) {
        webSocket(pattern, configuration: configuration, handler: handler, authenticateInTask: nil,
                  deliverMessage: Self.messageDelivery(to: handler))
    }

    /// Adds a WebSocket endpoint whose upgrades are decided by an `async`
    /// `authenticate` instead of the handler's: for a check that waits
    /// (a session in a database, another service).
    ///
    /// It runs in a task, off the loop: the loop goes on serving every
    /// other connection, and the client's connection waits without being
    /// read. Throw `HTTPError` to refuse with its status. Past the
    /// `HTTPConfiguration.requestTimeout` (counted from the end of the
    /// request) the client gets 503 and the task is cancelled.
    ///
    /// ```swift
    /// router.webSocket("/chat", handler: Chat()) { request in
    ///     guard let user = try await sessions.user(token: request.queryValue("token")) else { throw HTTPError(.unauthorized) }
    ///     return user
    /// }
    /// ```
    @inlinable
    public func webSocket<Handler: WebSocketHandler>(
        _ pattern: String,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        handler: Handler,
        authenticate: @escaping @Sendable (Request) async throws -> Handler.UserData
    ) {
        webSocket(pattern, configuration: configuration, handler: handler, authenticateInTask: authenticate,
                  deliverMessage: Self.messageDelivery(to: handler))
    }

    /// The handler's `onMessage` as a closure made in the module that adds
    /// the route (the functions above are inlinable), where `Handler` is a
    /// concrete type: each message then reaches the handler in one call,
    /// not through the route's sink and the protocol's witness table.
    @inlinable
    static func messageDelivery<Handler: WebSocketHandler>(to handler: Handler) -> WebSocketMessageDelivery {
        { connection, bytes, isText in
            handler.onMessage(WebSocket(connection), unsafe RawSpan(_unsafeBytes: bytes), isText: isText)
        }
    }

    @usableFromInline
    func webSocket<Handler: WebSocketHandler>(
        _ pattern: String,
        configuration: WebSocketConfiguration,
        handler: Handler,
        authenticateInTask: (@Sendable (Request) async throws -> Handler.UserData)?,
        deliverMessage: @escaping WebSocketMessageDelivery
    ) {
        let authentication: Authentication<Handler.UserData> =
            if let authenticateInTask { .inTask(authenticateInTask) } else { .onLoop(handler.authenticate) }
        webSocket(pattern, configuration: configuration, handler: handler, authentication: authentication, deliverMessage: deliverMessage)
    }

    func webSocket<Handler: WebSocketHandler>(
        _ pattern: String,
        configuration: WebSocketConfiguration,
        handler: Handler,
        authentication: Authentication<Handler.UserData>,
        deliverMessage: @escaping WebSocketMessageDelivery
    ) {
        let ahead: @Sendable (Request) async throws -> WebSocketOpener = { request in
            let userData = switch authentication {
            case .onLoop(let authenticate): try authenticate(request)
            case .inTask(let authenticate): try await authenticate(request)
            }
            return WebSocketOpener { upgrade in upgrade.open(handler, userData: userData, hostWroteResponse: true) }
        }
        let settings = WebSocketSettings(
            configuration, pattern: pattern, metricsIndex: registerWebSocketRoute(pattern), sink: HandlerSink(handler),
            deliverMessage: deliverMessage)
        let route = WebSocketRoute(settings: settings, authenticateAndOpen: { upgrade in
            switch authentication {
            case .onLoop(let authenticate):
                do {
                    upgrade.open(handler, userData: try authenticate(upgrade.request))
                    return .upgraded
                } catch {
                    upgrade.refuse(error)
                    return .refused
                }
            case .inTask(let authenticate):
                PendingUpgrade(upgrade, handler: handler, authenticate: authenticate).begin()
                return .pending
            }
        }, authenticateAhead: ahead)
        add(.get, pattern, .webSocket(route))
    }
}

/// Opens an authenticated WebSocket on a connection whose 101 the host
/// wrote (`PreparedUpgrade.adopt`).
struct WebSocketOpener: Sendable {
    let open: @Sendable (AcceptedUpgrade) -> Void
}

/// Hands a text or binary message, whose bytes are valid during the call
/// only, to a route's handler.
@usableFromInline
typealias WebSocketMessageDelivery = @Sendable (WebSocketConnection, UnsafeRawBufferPointer, Bool) -> Void

/// A route's configuration, shared by reference by all its connections
/// (a copy in each would cost an idle connection ~100 bytes).
final class WebSocketSettings: Sendable {
    let configuration: WebSocketConfiguration
    let timers: WebSocketTimers.Settings
    let acceptPolicy: WebSocketAcceptPolicy
    /// The route's place in `LoopMetrics.routes` and the instruments.
    let metricsIndex: Int
    /// The route's pattern, for metrics labels and log lines.
    let pattern: String
    /// The route's handler, for every connection of the route.
    let sink: WebSocketEventSink
    /// The handler's `onMessage`, specialised for its type (`Router.messageDelivery`).
    let deliverMessage: WebSocketMessageDelivery
    init(
        _ configuration: WebSocketConfiguration, pattern: String, metricsIndex: Int, sink: WebSocketEventSink,
        deliverMessage: @escaping WebSocketMessageDelivery
    ) {
        self.configuration = configuration
        self.sink = sink
        self.deliverMessage = deliverMessage
        self.pattern = pattern
        self.metricsIndex = metricsIndex
        acceptPolicy = configuration.origins.acceptPolicy(
            subprotocols: configuration.subprotocols, deflate: configuration.compression?.policy)
        timers = WebSocketTimers.Settings(
            pingInterval: configuration.pingInterval?.milliseconds, pongTimeout: configuration.pongTimeout.milliseconds,
            idleTimeout: configuration.idleTimeout?.milliseconds, writeTimeout: configuration.writeTimeout.milliseconds,
            closeTimeout: configuration.closeTimeout.milliseconds)
    }
}
