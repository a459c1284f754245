import Foundation
import Glibc
import HummingbirdTestSupport
import Testing

/// The HummingbirdTodos example, run as a user runs it: the todo API, the
/// client protocol and the page on one port, in one Hummingbird app.
@Suite("HummingbirdTodos example", .serialized)
struct HummingbirdTodosTests {
    @Test(.timeLimit(.minutes(1)))
    func followersGetEveryChangeAndSIGTERMClosesThemWith1001() async throws {
        let app = try ExampleProcess("HummingbirdTodos")
        defer { app.stop() }
        let (port, pid) = (app.port, app.process.processIdentifier)
        try await onOwnThread {
            let followers = try (1...3).map { id in
                let socket = try TestWebSocket(port: port, path: "/realtime")
                try socket.send(text: #"{"type":"subscribe","topic":"todos","id":\#(id)}"#)
                #expect(try socket.nextJSON() == ["type": "ack", "id": id])
                return socket
            }
            // Same port, plain HTTP: the API the app always had.
            #expect(try TodoAPI(port: port).send("POST", "/todos", #"{"title":"Buy milk"}"#).status == 201)
            for follower in followers {
                let message = try follower.nextJSON()
                let data = message["data"] as? NSDictionary
                #expect(data?["event"] as? String == "created" && data?["version"] as? Int == 1, "\(message)")
            }
            // Read-only: a follower's publish is refused, and it stays open.
            try followers[0].send(text: #"{"type":"publish","topic":"todos","data":1,"id":9}"#)
            #expect(try followers[0].nextJSON()["code"] as? String == "forbidden")

            kill(pid, SIGTERM)
            for follower in followers {
                let frame = try follower.receiveNonPing()
                #expect(frame.opcode == 0x8 && frame.closeCode == 1001)
                try? follower.send(opcode: .close, Array(frame.payload.prefix(2)))
                follower.socket.close()
            }
        }
        app.process.waitUntilExit()
        #expect(app.process.terminationReason == .exit && app.process.terminationStatus == 0)
    }

    /// The page at / in headless Chromium: it loads the list, then follows
    /// what the API changes, through the JS client on the app's own port.
    @Test(.enabled(if: Chromium.isInstalled, "needs /usr/bin/chromium"), .timeLimit(.minutes(1)))
    func thePageFollowsTheList() async throws {
        let app = try ExampleProcess("HummingbirdTodos")
        defer { app.stop() }
        let port = app.port
        try await onOwnThread {
            let api = TodoAPI(port: port)
            #expect(try api.send("POST", "/todos", #"{"title":"Buy milk"}"#).status == 201)
            let browser = try InspectedChromium(url: "http://127.0.0.1:\(port)/")
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
        }
    }
}

private extension TestWebSocket {
    func nextJSON() throws -> NSDictionary {
        guard let object = try JSONSerialization.jsonObject(with: Data(receiveNonPing().payload)) as? NSDictionary else {
            throw TestSocket.Failure(description: "not a JSON object")
        }
        return object
    }
}
