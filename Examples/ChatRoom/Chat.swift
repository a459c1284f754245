import Foundation
import Switchboard

/// Who a connection is, checked once at the handshake and kept on the socket.
struct Member: Sendable {
    let name: String
    let room: String
    /// The room's topic: everyone in the room is subscribed to it.
    var topic: String { "room.\(room)" }
}

/// The chat: every text a member sends goes to everyone in the room, the
/// sender included; joins and leaves are announced to the room.
///
/// The client is never trusted: the name and the room are checked before the
/// upgrade (400 when they are wrong), each message's length on arrival, and
/// everything a client wrote is sent on only inside JSON built by
/// `JSONEncoder`, so no text can break out of its string.
struct Chat: WebSocketHandler {
    let pubsub: PubSub

    static let names = 1...32
    static let rooms = 1...32
    static let texts = 1...500

    func authenticate(_ request: Request) throws -> Member {
        let name = (request.queryValue("name") ?? "").trimmingCharacters(in: .whitespaces)
        guard Self.names.contains(name.count), !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw HTTPError(.badRequest, "name: 1 to 32 characters")
        }
        let room = request.queryValue("room") ?? ""
        guard Self.rooms.contains(room.count), room.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw HTTPError(.badRequest, "room: 1 to 32 of A-Z a-z 0-9 _ -")
        }
        return Member(name: name, room: room)
    }

    func onOpen(_ socket: WebSocket<Member>) {
        socket.subscribe(socket.userData.topic)
        pubsub.publish(socket.userData.topic, text: Event.join(socket.userData.name).json)
    }

    func onText(_ socket: WebSocket<Member>, _ text: String) {
        guard Self.texts.contains(text.count) else {
            // Only to the sender; the connection stays open.
            socket.send(text: Event.error("a message has 1 to 500 characters").json)
            return
        }
        pubsub.publish(socket.userData.topic, text: Event.message(from: socket.userData.name, text).json)
    }

    func onClose(_ socket: WebSocket<Member>, code: WebSocketCloseCode, reason: String) {
        // Closing has already removed this socket's subscription.
        pubsub.publish(socket.userData.topic, text: Event.leave(socket.userData.name).json)
    }
}

/// What the server sends: one JSON object per WebSocket text message,
/// `{"type":"join"|"leave","name"}`, `{"type":"message","name","text"}` or
/// `{"type":"error","text"}`.
struct Event: Encodable {
    var type: String
    var name: String?
    var text: String?

    static func join(_ name: String) -> Event { Event(type: "join", name: name) }
    static func leave(_ name: String) -> Event { Event(type: "leave", name: name) }
    static func message(from name: String, _ text: String) -> Event { Event(type: "message", name: name, text: text) }
    static func error(_ text: String) -> Event { Event(type: "error", text: text) }

    var json: String {
        // Encoding three strings cannot fail.
        String(decoding: try! JSONEncoder().encode(self), as: UTF8.self)
    }
}
