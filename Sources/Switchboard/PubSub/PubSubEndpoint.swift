import SwitchboardHub
import SwitchboardWire

/// Who may connect to a pub/sub endpoint, and what each connection may do.
/// The hooks run on the connection's loop thread and must not block, but
/// for an `async` `authenticate`, which runs in a task.
public struct PubSubAuthorizer<UserData: Sendable>: Sendable {
    /// Runs before the upgrade: throws `HTTPError` (401, 403) to refuse, or
    /// returns the connection's user data.
    let authentication: Authentication<UserData>
    /// May this connection subscribe to this topic? A refusal is answered
    /// with error `forbidden`; the connection stays open.
    public var canSubscribe: @Sendable (WebSocket<UserData>, String) -> Bool
    /// May this connection publish on this topic?
    public var canPublish: @Sendable (WebSocket<UserData>, String) -> Bool

    /// `authenticate` runs on the loop, before the upgrade: throw
    /// `HTTPError` (401, 403) to refuse, or return the connection's user data.
    public init(
        authenticate: @escaping @Sendable (Request) throws -> UserData,
        canSubscribe: @escaping @Sendable (WebSocket<UserData>, String) -> Bool = { _, _ in true },
        canPublish: @escaping @Sendable (WebSocket<UserData>, String) -> Bool = { _, _ in true }
    ) {
        authentication = .onLoop(authenticate)
        self.canSubscribe = canSubscribe
        self.canPublish = canPublish
    }

    /// `authenticate` may wait (a session store, another service): it runs
    /// in a task, off the loop, as for
    /// `Router.webSocket(_:configuration:handler:authenticate:)`, cut short
    /// with 503 past the request timeout.
    public init(
        authenticate: @escaping @Sendable (Request) async throws -> UserData,
        canSubscribe: @escaping @Sendable (WebSocket<UserData>, String) -> Bool = { _, _ in true },
        canPublish: @escaping @Sendable (WebSocket<UserData>, String) -> Bool = { _, _ in true }
    ) {
        authentication = .inTask(authenticate)
        self.canSubscribe = canSubscribe
        self.canPublish = canPublish
    }
}

extension PubSubAuthorizer where UserData == Void {
    /// Everyone may connect, subscribe and publish.
    public init() {
        self.init(authenticate: { _ in })
    }
}

extension Server {
    /// Mounts the ready-made JSON client protocol (Docs/client-protocol.md)
    /// at `path`: browsers subscribe, unsubscribe and publish with no
    /// handler code. Publish to its subscribers from application code with
    /// `pubsub.publish(_:json:)`. Each connection may publish at
    /// `publishRateLimit` (nil: no limit); past it a publish gets error
    /// `rate_limited` and the connection stays open.
    public func pubsubEndpoint<UserData: Sendable>(
        _ path: String,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        authorizer: PubSubAuthorizer<UserData>,
        maxSubscriptionsPerConnection: Int = 100,
        publishRateLimit: PublishRateLimit? = .default
    ) {
        let handler = PubSubProtocolHandler(
            pubsub: pubsub, authorizer: authorizer, maxSubscriptions: maxSubscriptionsPerConnection,
            publishRateLimit: publishRateLimit, buckets: PublishBuckets(loopCount: self.configuration.loopCount))
        router.webSocket(path, configuration: configuration, handler: handler, authentication: authorizer.authentication,
                         deliverMessage: Router.messageDelivery(to: handler))
    }
}

extension PubSub {
    /// Publishes a JSON value (given as its JSON text, which must be valid
    /// JSON) to `topic`, wrapped as the client protocol's `message`. Safe
    /// from any thread; returns the number of subscribers reached.
    @discardableResult
    public func publish(_ topic: String, json: String) -> Int {
        publishMessage(topic, json: json)
    }
}

/// Speaks the client protocol on one route: decodes each frame
/// (``ClientRequest``), authorises it and carries it out.
struct PubSubProtocolHandler<UserData: Sendable>: WebSocketHandler {
    let pubsub: PubSub
    let authorizer: PubSubAuthorizer<UserData>
    let maxSubscriptions: Int
    let publishRateLimit: PublishRateLimit?
    let buckets: PublishBuckets

    /// The protocol's requirement; the endpoint's route authenticates
    /// with `authorizer.authentication` itself (on the loop or in a task).
    func authenticate(_ request: Request) throws -> UserData {
        guard case .onLoop(let authenticate) = authorizer.authentication else { throw HTTPError(.internalServerError) }
        return try authenticate(request)
    }

    func onBinary(_ socket: WebSocket<UserData>, _ data: [UInt8]) {
        refuse(socket, .badRequest, "binary frames are not part of the protocol", id: nil)
    }

    func onText(_ socket: WebSocket<UserData>, _ text: String) {
        let request: ClientRequest
        switch ClientRequest.decode(text) {
        case .success(let decoded): request = decoded
        case .failure(let error):
            socket.send(text: error.replyText)
            return
        }
        let (topic, id) = (request.topic, request.id)
        switch request.action {
        case .subscribe:
            guard authorizer.canSubscribe(socket, topic) else {
                refuse(socket, .forbidden, "not allowed to subscribe to \(topic)", id: id)
                return
            }
            let connection = socket.connection
            guard connection.isSubscribed(to: topic) || connection.subscriptionCount < maxSubscriptions else {
                refuse(socket, .tooManySubscriptions, "at most \(maxSubscriptions) topics per connection", id: id)
                return
            }
            subscribe(socket, to: topic, since: request.since, id: id)
        case .unsubscribe:
            socket.unsubscribe(topic)
            if let id { socket.send(text: ClientFrame.ack(id: id)) }
        case .publish(let json):
            guard authorizer.canPublish(socket, topic) else {
                refuse(socket, .forbidden, "not allowed to publish on \(topic)", id: id)
                return
            }
            if let limit = publishRateLimit,
               !buckets.take(limit, connection: ObjectIdentifier(socket.connection), loop: socket.loop.index, now: socket.loop.now) {
                refuse(socket, .rateLimited, "at most \(limit.perSecond) publishes a second (\(limit.burst) at once)", id: id)
                return
            }
            pubsub.publishMessage(topic, json: json) { reached, point, failed in
                if failed {
                    socket.send(text: ClientProtocolError(.unavailable, "the history backplane could not take the publish", id: id).replyText)
                } else if let id {
                    socket.send(text: point.map { ClientFrame.ack(id: id, subscribers: reached, position: $0) } ?? ClientFrame.ack(id: id, subscribers: reached))
                }
            }
        }
    }

    func onClose(_ socket: WebSocket<UserData>, code: WebSocketCloseCode, reason: String) {
        if publishRateLimit != nil { buckets.remove(connection: ObjectIdentifier(socket.connection), loop: socket.loop.index) }
    }

    /// Subscribes, and on a history topic answers with the position and,
    /// when `since` asked for it, the missed messages right after the ack
    /// (the subscription's live messages follow them, none twice). A
    /// subscribe with `since` is always answered, with or without `id`.
    private func subscribe(_ socket: WebSocket<UserData>, to topic: String, since: StreamPosition?, id: String?) {
        let connection = socket.connection
        let maxReplayBytes = connection.configuration.maxQueuedBytes / 2
        let answered = pubsub.subscribeKept(connection, to: topic, since: since.map(StreamPoint.init), maxReplayBytes: maxReplayBytes) { outcome in
            switch outcome {
            case .ahead:
                refuse(socket, .badRequest, "since is past the stream's last offset", id: id)
            case .unavailable:
                refuse(socket, .unavailable, "the topic's history cannot be read now", id: id)
            case .subscribed(let position, let replay, let gap):
                guard id != nil || since != nil else { return }
                socket.send(text: ClientFrame.subscribeAck(
                    id: id, position: position, recovered: since == nil ? nil : replay != nil, reason: gap?.rawValue))
                for frame in replay ?? [] { _ = connection.send(published: frame) }
            }
        }
        guard !answered else { return }
        connection.subscribe(topic)
        if since != nil {
            socket.send(text: ClientFrame.subscribeAck(id: id, position: nil, recovered: false, reason: "no_history"))
        } else if let id {
            socket.send(text: ClientFrame.ack(id: id))
        }
    }

    private func refuse(_ socket: WebSocket<UserData>, _ code: ClientErrorCode, _ reason: String, id: String?) {
        socket.send(text: ClientProtocolError(code, reason, id: id).replyText)
    }
}
