import Foundation
import Testing
import TestSupport

/// The ExistingApp example as its own process: its todo API, and the same
/// changes arriving as events over the client protocol at /realtime.
@Suite("ExistingApp example")
struct ExistingAppTests {
    @Test(.timeLimit(.minutes(1)))
    func theJSONAPIWorks() throws {
        let app = try ExampleProcess("ExistingApp")
        defer { app.stop() }
        let api = TodoClient(port: app.port)
        #expect(try api.send("GET", "/health").bodyText == "ok")
        #expect(try api.send("GET", "/todos").bodyText == "[]")

        let created = try api.send("POST", "/todos", #"{"title":"Buy milk"}"#)
        #expect(created.status == 201)
        #expect(created.header("content-type") == "application/json")
        #expect(created.bodyText == #"{"done":false,"id":1,"title":"Buy milk"}"#)
        #expect(try api.send("POST", "/todos", #"{"title":"Walk the dog"}"#).bodyText == #"{"done":false,"id":2,"title":"Walk the dog"}"#)
        #expect(try api.send("GET", "/todos").bodyText
            == #"[{"done":false,"id":1,"title":"Buy milk"},{"done":false,"id":2,"title":"Walk the dog"}]"#)

        let done = try api.send("PATCH", "/todos/1", #"{"done":true}"#)
        #expect(done.status == 200)
        #expect(done.bodyText == #"{"done":true,"id":1,"title":"Buy milk"}"#)
        #expect(try api.send("PATCH", "/todos/2", #"{"title":"Walk the cat"}"#).bodyText == #"{"done":false,"id":2,"title":"Walk the cat"}"#)

        let deleted = try api.send("DELETE", "/todos/1")
        #expect(deleted.status == 204)
        #expect(try api.send("GET", "/todos").bodyText == #"[{"done":false,"id":2,"title":"Walk the cat"}]"#)

        // Bad input: 400; unknown ids: 404. None of it changes the list.
        for body in ["", "Buy milk", #"{"title":"#, "{}", #"{"title":""}"#, #"{"title":"  "}"#, #"{"title":42}"#, "[]"] {
            #expect(try api.send("POST", "/todos", body).status == 400, "\(body)")
        }
        #expect(try api.send("PATCH", "/todos/2", "{}").status == 400)
        #expect(try api.send("PATCH", "/todos/2", #"{"done":"yes"}"#).status == 400)
        #expect(try api.send("PATCH", "/todos/1", #"{"done":true}"#).status == 404)
        #expect(try api.send("PATCH", "/todos/abc", #"{"done":true}"#).status == 404)
        #expect(try api.send("DELETE", "/todos/1").status == 404)
        #expect(try api.send("DELETE", "/todos/99").status == 404)
        #expect(try api.send("GET", "/todos").bodyText == #"[{"done":false,"id":2,"title":"Walk the cat"}]"#)

        // The browser client is served beside the API.
        let script = try api.send("GET", "/switchboard.js")
        #expect(script.status == 200 && script.bodyText.contains("Switchboard"))
    }

    @Test(.timeLimit(.minutes(1)))
    func aSubscriberSeesEveryChangeInOrder() throws {
        let app = try ExampleProcess("ExistingApp")
        defer { app.stop() }
        let api = TodoClient(port: app.port)
        let socket = try TestWebSocket(port: app.port, path: "/realtime")
        try socket.send(text: #"{"type":"subscribe","topic":"todos","id":1}"#)
        #expect(try socket.nextJSON() == ["type": "ack", "id": 1])

        #expect(try api.send("POST", "/todos", #"{"title":"Buy milk"}"#).status == 201)
        #expect(try api.send("POST", "/todos", #"{"title":"Walk the dog"}"#).status == 201)
        #expect(try api.send("PATCH", "/todos/1", #"{"done":true}"#).status == 200)
        #expect(try api.send("PATCH", "/todos/2", #"{"title":"Walk the cat","done":true}"#).status == 200)
        #expect(try api.send("DELETE", "/todos/1").status == 204)
        // Refused requests publish nothing.
        #expect(try api.send("POST", "/todos", "{}").status == 400)
        #expect(try api.send("DELETE", "/todos/1").status == 404)
        #expect(try api.send("POST", "/todos", #"{"title":"Last"}"#).status == 201)

        let expected: [NSDictionary] = [
            ["event": "created", "todo": ["id": 1, "title": "Buy milk", "done": false]],
            ["event": "created", "todo": ["id": 2, "title": "Walk the dog", "done": false]],
            ["event": "updated", "todo": ["id": 1, "title": "Buy milk", "done": true]],
            ["event": "updated", "todo": ["id": 2, "title": "Walk the cat", "done": true]],
            ["event": "deleted", "todo": ["id": 1, "title": "Buy milk", "done": true]],
            ["event": "created", "todo": ["id": 3, "title": "Last", "done": false]],
        ]
        for event in expected {
            let message = try socket.nextJSON()
            #expect(message["type"] as? String == "message", "\(message)")
            #expect(message["topic"] as? String == "todos")
            #expect(message["data"] as? NSDictionary == event)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func clientsMayOnlyReadTheTodosTopic() throws {
        let app = try ExampleProcess("ExistingApp")
        defer { app.stop() }
        let socket = try TestWebSocket(port: app.port, path: "/realtime")
        try socket.send(text: #"{"type":"subscribe","topic":"admin","id":1}"#)
        let refused = try socket.nextJSON()
        #expect(refused["type"] as? String == "error" && refused["id"] as? Int == 1 && refused["code"] as? String == "forbidden", "\(refused)")
        try socket.send(text: #"{"type":"publish","topic":"todos","data":{"event":"created"},"id":2}"#)
        let notPublished = try socket.nextJSON()
        #expect(notPublished["type"] as? String == "error" && notPublished["id"] as? Int == 2 && notPublished["code"] as? String == "forbidden",
                "\(notPublished)")
        // Still open, and allowed to read.
        try socket.send(text: #"{"type":"subscribe","topic":"todos","id":3}"#)
        #expect(try socket.nextJSON() == ["type": "ack", "id": 3])
        // Refused publishes reached nobody: the next message is the API's.
        #expect(try TodoClient(port: app.port).send("POST", "/todos", #"{"title":"Real"}"#).status == 201)
        let message = try socket.nextJSON()
        #expect((message["data"] as? NSDictionary)?["event"] as? String == "created", "\(message)")
    }
}

/// Requests to the app's API, one connection each.
private struct TodoClient {
    var port: Int

    func send(_ method: String, _ path: String, _ body: String? = nil) throws -> TestResponse {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        return try TestSocket(port: port).exchange(request + "\r\n" + (body ?? ""))
    }
}

private extension TestWebSocket {
    /// The next JSON object the server sends (bounded by the socket's 5 s read timeout).
    func nextJSON() throws -> NSDictionary {
        try #require(JSONSerialization.jsonObject(with: Data(receiveNonPing().payload)) as? NSDictionary)
    }
}
