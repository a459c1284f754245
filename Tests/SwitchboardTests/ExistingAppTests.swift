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
        let api = TodoAPI(port: app.port)
        #expect(try api.send("GET", "/health").bodyText == "ok")
        let empty = try api.send("GET", "/todos")
        #expect(empty.bodyText == "[]" && empty.header("etag") == #""0""#)

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
        let list = try api.send("GET", "/todos")
        #expect(list.bodyText == #"[{"done":false,"id":2,"title":"Walk the cat"}]"#)
        // The list's version: five changes made it.
        #expect(list.header("etag") == #""5""#)

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
        let api = TodoAPI(port: app.port)
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

        // `version` counts the changes; refused requests make none.
        let expected: [NSDictionary] = [
            ["event": "created", "todo": ["id": 1, "title": "Buy milk", "done": false], "version": 1],
            ["event": "created", "todo": ["id": 2, "title": "Walk the dog", "done": false], "version": 2],
            ["event": "updated", "todo": ["id": 1, "title": "Buy milk", "done": true], "version": 3],
            ["event": "updated", "todo": ["id": 2, "title": "Walk the cat", "done": true], "version": 4],
            ["event": "deleted", "todo": ["id": 1, "title": "Buy milk", "done": true], "version": 5],
            ["event": "created", "todo": ["id": 3, "title": "Last", "done": false], "version": 6],
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
        #expect(try TodoAPI(port: app.port).send("POST", "/todos", #"{"title":"Real"}"#).status == 201)
        let message = try socket.nextJSON()
        #expect((message["data"] as? NSDictionary)?["event"] as? String == "created", "\(message)")
    }
}

extension ExistingAppTests {
    /// The page at / in headless Chromium, read through DevTools while it
    /// runs: it shows the list, follows changes made through the API, and
    /// its own form and checkboxes go through the API too.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "needs /usr/bin/chromium"),
          .timeLimit(.minutes(1)))
    func thePageFollowsTheList() throws {
        let app = try ExampleProcess("ExistingApp")
        defer { app.stop() }
        let api = TodoAPI(port: app.port)
        #expect(try api.send("POST", "/todos", #"{"title":"Buy milk"}"#).status == 201)
        let browser = try InspectedChromium(url: "http://127.0.0.1:\(app.port)/")
        defer { browser.kill() }
        func shows(_ expected: [String]) -> Bool {
            guard let seen = browser.waitForTodos(expected) else { return true }
            Issue.record("the page shows \(seen), not \(expected)")
            return false
        }
        #expect(shows(["Buy milk"]))
        #expect(try browser.evaluate(#"document.getElementById("state").textContent"#) == "open")

        #expect(try api.send("POST", "/todos", #"{"title":"Walk the dog"}"#).status == 201)
        #expect(try api.send("PATCH", "/todos/1", #"{"done":true}"#).status == 200)
        #expect(shows(["Buy milk (done)", "Walk the dog"]))
        #expect(try api.send("DELETE", "/todos/1").status == 204)
        #expect(shows(["Walk the dog"]))

        // The page's own form and checkbox: through the API, back as events.
        _ = try browser.evaluate(##"document.getElementById("title").value = "From the page"; document.querySelector("#add button").click()"##)
        #expect(shows(["Walk the dog", "From the page"]))
        _ = try browser.evaluate(##"document.querySelector("#list li input").click()"##)
        #expect(shows(["Walk the dog (done)", "From the page"]))
        #expect(try api.send("GET", "/todos").bodyText
            == #"[{"done":true,"id":2,"title":"Walk the dog"},{"done":false,"id":3,"title":"From the page"}]"#)
    }
}

private extension TestWebSocket {
    /// The next JSON object the server sends (bounded by the socket's 5 s read timeout).
    func nextJSON() throws -> NSDictionary {
        try #require(JSONSerialization.jsonObject(with: Data(receiveNonPing().payload)) as? NSDictionary)
    }
}
