import Foundation
import Testing
import TestSupport
@testable import Switchboard

/// A JSON object from a server frame.
func json(_ frame: TestWebSocket.Frame) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any])
}

@Suite("Client protocol endpoint")
struct PubSubEndpointTests {
    static func withEndpoint(_ body: (Server, Int) throws -> Void) throws {
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2))
        server.pubsubEndpoint("/pubsub", configuration: WebSocketConfiguration(origins: .any), authorizer: PubSubAuthorizer<String>(
            authenticate: { request in
                guard let user = request.queryValue("user") else { throw HTTPError(.unauthorized, "who are you?") }
                return user
            },
            canSubscribe: { socket, topic in topic != "admin" || socket.userData == "root" },
            canPublish: { socket, topic in socket.userData != "reader" }
        ), maxSubscriptionsPerConnection: 3)
        let port = try server.start().port
        defer { try? server.stop() }
        try body(server, port)
    }

    @Test func subscribeAckMessageAndPublishFromBothSides() throws {
        try Self.withEndpoint { server, port in
            let alice = try TestWebSocket(port: port, path: "/pubsub?user=alice")
            let bob = try TestWebSocket(port: port, path: "/pubsub?user=bob")
            try alice.send(text: #"{"type":"subscribe","topic":"prices","id":1}"#)
            let ack = try json(alice.receiveNonPing())
            #expect(ack["type"] as? String == "ack")
            #expect(ack["id"] as? Int == 1)

            #expect(server.pubsub.publish("prices", json: #"{"AAPL":231.4}"#) == 1)
            let fromApp = try json(alice.receiveNonPing())
            #expect(fromApp["type"] as? String == "message")
            #expect(fromApp["topic"] as? String == "prices")
            #expect((fromApp["data"] as? [String: Any])?["AAPL"] as? Double == 231.4)

            try bob.send(text: #"{"type":"publish","topic":"prices","data":[1,"two",null],"id":"b1"}"#)
            let bobAck = try json(bob.receiveNonPing())
            #expect(bobAck["id"] as? String == "b1")
            #expect(bobAck["subscribers"] as? Int == 1)
            let fromBob = try json(alice.receiveNonPing())
            #expect(fromBob["data"] as? [Any] != nil)
            #expect(String(decoding: try JSONSerialization.data(withJSONObject: fromBob["data"]!), as: UTF8.self) == #"[1,"two",null]"#)

            try alice.send(text: #"{"type":"unsubscribe","topic":"prices","id":2}"#)
            #expect(try json(alice.receiveNonPing())["id"] as? Int == 2)
            #expect(server.pubsub.publish("prices", json: "0") == 0)
        }
    }

    @Test(arguments: [
        ("not json", "bad_request", nil as Int?),
        (#"[1,2]"#, "bad_request", nil),
        (#"{"topic":"a","id":7}"#, "bad_request", 7),
        (#"{"type":"subscribe","id":7}"#, "bad_request", 7),
        (#"{"type":"shout","topic":"a","id":7}"#, "bad_request", 7),
        (#"{"type":"publish","topic":"a","id":7}"#, "bad_request", 7),
        (#"{"type":"subscribe","topic":"","id":7}"#, "invalid_topic", 7),
        (#"{"type":"subscribe","topic":"a\u0001b","id":7}"#, "invalid_topic", 7),
        (#"{"type":"subscribe","topic":"admin","id":7}"#, "forbidden", 7),
    ])
    func refusesWithAnErrorAndKeepsTheConnection(request: String, code: String, id: Int?) throws {
        try Self.withEndpoint { _, port in
            let client = try TestWebSocket(port: port, path: "/pubsub?user=alice")
            try client.send(text: request)
            let error = try json(client.receiveNonPing())
            #expect(error["type"] as? String == "error")
            #expect(error["code"] as? String == code)
            #expect(error["id"] as? Int == id)
            #expect(!(error["reason"] as? String ?? "").isEmpty)
            try client.send(text: #"{"type":"subscribe","topic":"ok","id":99}"#)
            #expect(try json(client.receiveNonPing())["type"] as? String == "ack")
        }
    }

    @Test func longTopicBinaryFramesLimitsAndRoles() throws {
        try Self.withEndpoint { _, port in
            let reader = try TestWebSocket(port: port, path: "/pubsub?user=reader")
            let long = String(repeating: "x", count: 257)
            try reader.send(text: #"{"type":"subscribe","topic":"\#(long)","id":1}"#)
            #expect(try json(reader.receiveNonPing())["code"] as? String == "invalid_topic")
            try reader.send(opcode: .binary, [1, 2, 3])
            #expect(try json(reader.receiveNonPing())["code"] as? String == "bad_request")
            try reader.send(text: #"{"type":"publish","topic":"t","data":1,"id":2}"#)
            #expect(try json(reader.receiveNonPing())["code"] as? String == "forbidden")
            for index in 0..<3 {
                try reader.send(text: #"{"type":"subscribe","topic":"t\#(index)","id":\#(index)}"#)
                #expect(try json(reader.receiveNonPing())["type"] as? String == "ack")
            }
            try reader.send(text: #"{"type":"subscribe","topic":"t3","id":3}"#)
            #expect(try json(reader.receiveNonPing())["code"] as? String == "too_many_subscriptions")

            let root = try TestWebSocket(port: port, path: "/pubsub?user=root")
            try root.send(text: #"{"type":"subscribe","topic":"admin","id":1}"#)
            #expect(try json(root.receiveNonPing())["type"] as? String == "ack")

            let anonymous = try TestSocket(port: port)
            #expect(try TestWebSocket.handshake(anonymous, path: "/pubsub").status == 401)
        }
    }
}
