import Foundation
public import SwitchboardWire

/// Who may connect to a pub/sub endpoint, and what each connection may do.
/// The hooks run on the connection's loop thread and must not block.
public struct PubSubAuthorizer<UserData: Sendable>: Sendable {
    /// Runs before the upgrade: throw `HTTPError` (401, 403) to refuse, or
    /// return the connection's user data.
    public var authenticate: @Sendable (Request) throws -> UserData
    /// May this connection subscribe to this topic? A refusal is answered
    /// with error `forbidden`; the connection stays open.
    public var canSubscribe: @Sendable (WebSocket<UserData>, String) -> Bool
    /// May this connection publish on this topic?
    public var canPublish: @Sendable (WebSocket<UserData>, String) -> Bool

    public init(
        authenticate: @escaping @Sendable (Request) throws -> UserData,
        canSubscribe: @escaping @Sendable (WebSocket<UserData>, String) -> Bool = { _, _ in true },
        canPublish: @escaping @Sendable (WebSocket<UserData>, String) -> Bool = { _, _ in true }
    ) {
        self.authenticate = authenticate
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
    /// `pubsub.publish(_:json:)`.
    public func pubsubEndpoint<UserData: Sendable>(
        _ path: String,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        authorizer: PubSubAuthorizer<UserData>,
        maxSubscriptionsPerConnection: Int = 100
    ) {
        webSocket(path, configuration: configuration, handler: PubSubProtocolHandler(
            pubsub: pubsub, authorizer: authorizer, maxSubscriptions: maxSubscriptionsPerConnection))
    }
}

extension PubSub {
    /// Publishes a JSON value (given as its JSON text, which must be valid
    /// JSON) to `topic`, wrapped as the client protocol's `message`. Safe
    /// from any thread; returns the number of subscribers reached.
    @discardableResult
    public func publish(_ topic: String, json: String) -> Int {
        publish(topic, text: #"{"type":"message","topic":"# + jsonString(topic) + #","data":"# + json + "}")
    }
}

/// Longest topic name the client protocol accepts, in UTF-8 bytes.
let maxTopicLength = 256

/// Speaks the client protocol on one route.
struct PubSubProtocolHandler<UserData: Sendable>: WebSocketHandler {
    let pubsub: PubSub
    let authorizer: PubSubAuthorizer<UserData>
    let maxSubscriptions: Int

    func authenticate(_ request: Request) throws -> UserData {
        try authorizer.authenticate(request)
    }

    func onBinary(_ socket: WebSocket<UserData>, _ data: [UInt8]) {
        socket.send(text: reply(error: "bad_request", "binary frames are not part of the protocol", id: nil))
    }

    func onText(_ socket: WebSocket<UserData>, _ text: String) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [])) as? [String: Any] else {
            socket.send(text: reply(error: "bad_request", "expected a JSON object", id: nil))
            return
        }
        let id = object["id"].flatMap(jsonText)
        guard let type = object["type"] as? String else {
            socket.send(text: reply(error: "bad_request", "missing type", id: id))
            return
        }
        guard let topic = object["topic"] as? String else {
            socket.send(text: reply(error: "bad_request", "missing topic", id: id))
            return
        }
        guard Self.isValidTopic(topic) else {
            socket.send(text: reply(error: "invalid_topic", "topics are 1 to \(maxTopicLength) bytes without control characters", id: id))
            return
        }
        switch type {
        case "subscribe":
            guard authorizer.canSubscribe(socket, topic) else {
                socket.send(text: reply(error: "forbidden", "not allowed to subscribe to \(topic)", id: id))
                return
            }
            guard socket.connection.subscriptionCount < maxSubscriptions else {
                socket.send(text: reply(error: "too_many_subscriptions", "at most \(maxSubscriptions) topics per connection", id: id))
                return
            }
            socket.subscribe(topic)
            if let id { socket.send(text: #"{"type":"ack","id":"# + id + "}") }
        case "unsubscribe":
            socket.unsubscribe(topic)
            if let id { socket.send(text: #"{"type":"ack","id":"# + id + "}") }
        case "publish":
            guard let data = object["data"], let json = jsonText(data) else {
                socket.send(text: reply(error: "bad_request", "publish needs data", id: id))
                return
            }
            guard authorizer.canPublish(socket, topic) else {
                socket.send(text: reply(error: "forbidden", "not allowed to publish on \(topic)", id: id))
                return
            }
            let reached = pubsub.publish(topic, json: json)
            if let id { socket.send(text: #"{"type":"ack","id":"# + id + #","subscribers":"# + String(reached) + "}") }
        default:
            socket.send(text: reply(error: "bad_request", "unknown type \(type)", id: id))
        }
    }

    private func reply(error code: String, _ reason: String, id: String?) -> String {
        #"{"type":"error","# + (id.map { #""id":"# + $0 + "," } ?? "") + #""code":"# + jsonString(code)
            + #","reason":"# + jsonString(reason) + "}"
    }

    static func isValidTopic(_ topic: String) -> Bool {
        !topic.isEmpty && topic.utf8.count <= maxTopicLength && !topic.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}

/// A JSON value's text (fragments allowed), or nil if it cannot be written.
private func jsonText(_ value: Any) -> String? {
    guard JSONSerialization.isValidJSONObject([value]),
          let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes]) else {
        return nil
    }
    return String(decoding: data, as: UTF8.self)
}

/// A Swift string as a JSON string literal (RFC 8259 §7).
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
