import Foundation
import Glibc
import Testing
import TestSupport
import SwitchboardWire

/// The ChatRoom example as its own process: its protocol over raw sockets,
/// and its page in two real browser tabs.
@Suite("ChatRoom example")
struct ChatRoomTests {
    @Test func servesThePageAndHealth() throws {
        let chat = try ExampleProcess("ChatRoom")
        defer { chat.stop() }
        let health = try TestSocket(port: chat.port).exchange("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(health.status == 200)
        #expect(health.bodyText == "ok")
        let page = try TestSocket(port: chat.port).exchange("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(page.status == 200)
        #expect(page.header("content-type") == "text/html; charset=utf-8")
        #expect(page.bodyText.contains(#"<form id="join">"#))
        #expect(!page.bodyText.contains("http://") && !page.bodyText.contains("https://"), "no external assets")
    }

    @Test func roomsJoinsMessagesAndLeaves() throws {
        let chat = try ExampleProcess("ChatRoom")
        defer { chat.stop() }

        // Everyone sees their own join first: from then on they are subscribed.
        let ann = try ChatClient(port: chat.port, name: "ann", room: "lobby")
        #expect(try ann.next() == ["type": "join", "name": "ann"])
        let bob = try ChatClient(port: chat.port, name: "Bob Ó'Brien", room: "lobby")
        #expect(try bob.next() == ["type": "join", "name": "Bob Ó'Brien"])
        #expect(try ann.next() == ["type": "join", "name": "Bob Ó'Brien"])
        let cid = try ChatClient(port: chat.port, name: "cid", room: "other-room_2")
        #expect(try cid.next() == ["type": "join", "name": "cid"])

        // A message reaches everyone in the room, the sender included; text
        // that looks like JSON or HTML arrives exactly as written.
        let tricky = #"hi "all" \ </script><b>x</b> {"type":"join"} ✓"#
        try bob.socket.send(text: tricky)
        for member in [ann, bob] {
            #expect(try member.next() == ["type": "message", "name": "Bob Ó'Brien", "text": tricky])
        }

        // The other room got nothing: its next message is its own.
        try cid.socket.send(text: "anyone?")
        #expect(try cid.next() == ["type": "message", "name": "cid", "text": "anyone?"])

        // Leaving is announced to the room, and only to it.
        // bob closes like a browser: close frame, the server's reply, FIN.
        try bob.socket.send(opcode: .close, [0x03, 0xE8])
        #expect(try bob.socket.receiveNonPing().opcode == 0x8)
        bob.socket.socket.shutdownWrite()
        #expect(try ann.next() == ["type": "leave", "name": "Bob Ó'Brien"])
        try ann.socket.send(text: "bye")
        #expect(try ann.next() == ["type": "message", "name": "ann", "text": "bye"])
        try cid.socket.send(text: "still alone")
        #expect(try cid.next() == ["type": "message", "name": "cid", "text": "still alone"])

        // Prometheus's view of that chat, scraped over HTTP (reported once a second).
        let expected: [String: Double] = [
            #"switchboard_websocket_connections_closed_total{route="/ws",close="normal"}"#: 1,
            #"switchboard_websocket_connections_opened_total{route="/ws"}"#: 3,
            #"switchboard_websocket_connections{route="/ws"}"#: 2,
            #"switchboard_websocket_messages_received_total{route="/ws"}"#: 4,
            "switchboard_publishes_total": 8,  // 3 joins, 4 messages, a leave
            "switchboard_deliveries_total": 10,  // to the room's members at the time
            "switchboard_topics": 2,
        ]
        // Scraped until one whole report is in (a scrape can land mid-report).
        var figures: [String: Double] = [:]
        let scraped = eventually(seconds: 10) {
            guard let response = try? TestSocket(port: chat.port).get("/metrics"), response.status == 200 else { return false }
            figures = Self.prometheusSamples(response.bodyText)
            return expected.allSatisfy { figures[$0.key] == $0.value }
        }
        #expect(scraped, "expected \(expected), scraped \(figures.filter { expected[$0.key] != nil })")
    }

    /// `name{labels} value` lines of Prometheus's text format.
    static func prometheusSamples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    @Test func limits() throws {
        let chat = try ExampleProcess("ChatRoom")
        defer { chat.stop() }

        // Bad names and rooms are refused at the handshake.
        let refused = [
            "name=&room=lobby", "room=lobby", "name=%20%20&room=lobby", "name=\(String(repeating: "n", count: 33))&room=lobby",
            "name=a%0Ab&room=lobby", "name=ann&room=", "name=ann", "name=ann&room=a%20b", "name=ann&room=..%2Fx",
            "name=ann&room=%C3%A9t%C3%A9", "name=ann&room=\(String(repeating: "r", count: 33))",
        ]
        for query in refused {
            let response = try TestWebSocket.handshake(TestSocket(port: chat.port), path: "/ws?\(query)")
            #expect(response.status == 400, "\(query)")
        }
        // The longest valid ones are accepted.
        let longest = try ChatClient(port: chat.port, name: String(repeating: "é", count: 32), room: String(repeating: "r", count: 32))
        #expect(try longest.next()["type"] == "join")

        let ann = try ChatClient(port: chat.port, name: "ann", room: "lobby")
        #expect(try ann.next()["type"] == "join")
        let bob = try ChatClient(port: chat.port, name: "bob", room: "lobby")
        #expect(try bob.next()["type"] == "join")
        #expect(try ann.next()["type"] == "join")

        // 500 characters pass; 501 get an error, to the sender only, and the
        // connection stays open; an empty message is refused the same way.
        let longestText = String(repeating: "ü", count: 500)
        try ann.socket.send(text: longestText)
        #expect(try bob.next()["text"] == longestText)
        #expect(try ann.next()["text"] == longestText)
        for text in [String(repeating: "x", count: 501), ""] {
            try ann.socket.send(text: text)
            let error = try ann.next()
            #expect(error["type"] == "error")
            #expect(error["text"]?.contains("500") == true)
        }
        try ann.socket.send(text: "still here")
        #expect(try bob.next() == ["type": "message", "name": "ann", "text": "still here"])
        #expect(try ann.next() == ["type": "message", "name": "ann", "text": "still here"])
    }

    /// Two tabs of a real headless Chromium join the same room through the
    /// page's own forms; what one sends shows up in the other's DOM.
    @Test(.enabled(if: Chromium.isInstalled, "needs \(Chromium.path)"), .timeLimit(.minutes(1)))
    func twoBrowserTabs() throws {
        let chat = try ExampleProcess("ChatRoom")
        defer { chat.stop() }
        let devToolsPort = try TestSocketPort.free()
        // `Chromium` puts its URL last: a switch there opens about:blank with
        // the DevTools protocol on that port instead.
        let browser = try Chromium(url: "about:blank", arguments: ["--remote-debugging-port=\(devToolsPort)"])
        defer { browser.kill() }
        try #require(eventually(seconds: 15) { (try? DevToolsTab.version(port: devToolsPort)) != nil }, "DevTools never answered:\n\(browser.logTail)")

        let url = "http://127.0.0.1:\(chat.port)/"
        let bob = try DevToolsTab(port: devToolsPort, url: url)
        // Before joining only the join form is visible.
        #expect(try bob.evaluate(#"getComputedStyle(document.getElementById("send")).display"#) as? String == "none")
        try bob.join(name: "bob", room: "lobby")
        try #require(eventually(seconds: 10) { try bob.log() == ["bob joined"] }, "bob: \(bob.shown)")
        let ann = try DevToolsTab(port: devToolsPort, url: url)
        try ann.join(name: "ann", room: "lobby")
        try #require(eventually(seconds: 10) { try bob.log().last == "ann joined" && ann.log() == ["ann joined"] }, "bob: \(bob.shown)")

        // Typed and sent through ann's form; HTML in it stays text.
        let text = "hello <b>bob</b> & co"
        _ = try ann.evaluate("""
            document.getElementById("send").elements.text.value = \(DevToolsTab.quoted(text));
            document.getElementById("send").requestSubmit();
            """)
        let expected = ["bob joined", "ann joined", "ann: \(text)"]
        #expect(eventually(seconds: 10) { try bob.log() == expected }, "bob: \(bob.shown)")
        #expect(try bob.evaluate("document.querySelectorAll('#log b').length") as? Int == 1, "only the author is bold")
        #expect(try ann.log() == ["ann joined", "ann: \(text)"])
        #expect(try ann.evaluate(#"document.getElementById("send").elements.text.value"#) as? String == "", "the box is cleared")

        // ann leaves with the page's button; bob sees it.
        _ = try ann.evaluate(#"document.getElementById("leave").click()"#)
        #expect(eventually(seconds: 10) { try bob.log().last == "ann left" }, "bob: \(bob.shown)")
        #expect(eventually(seconds: 10) { try ann.evaluate(#"document.getElementById("join").hidden"#) as? Bool == false })
    }
}

/// A raw chat connection: `/ws?name=…&room=…`, events parsed from JSON.
private final class ChatClient {
    let socket: TestWebSocket

    init(port: Int, name: String, room: String) throws {
        let plain = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        let query = "name=\(name.addingPercentEncoding(withAllowedCharacters: plain)!)&room=\(room)"
        socket = try TestWebSocket(port: port, path: "/ws?\(query)")
    }

    /// The next event, as string fields.
    func next() throws -> [String: String] {
        let frame = try socket.receiveNonPing()
        guard frame.opcode == 1, let object = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: String] else {
            throw TestSocket.Failure(description: "not a chat event: opcode \(frame.opcode) \(frame.text)")
        }
        return object
    }
}

/// One browser tab, driven over the Chrome DevTools Protocol (a WebSocket).
private final class DevToolsTab {
    private let socket: TestWebSocket
    private var lastID = 0

    /// `GET /json/version`, to see whether the browser is up.
    static func version(port: Int) throws -> TestResponse {
        let response = try TestSocket(port: port).exchange("GET /json/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        guard response.status == 200 else { throw TestSocket.Failure(description: "status \(response.status)") }
        return response
    }

    /// Opens a tab on `url` and waits until its page has loaded.
    init(port: Int, url: String) throws {
        let opened = try TestSocket(port: port).exchange("PUT /json/new?\(url) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        guard let target = try JSONSerialization.jsonObject(with: Data(opened.body)) as? [String: Any],
              let debuggerURL = (target["webSocketDebuggerUrl"] as? String).flatMap(URL.init(string:)) else {
            throw TestSocket.Failure(description: "no tab: \(opened.status) \(opened.bodyText)")
        }
        socket = try TestWebSocket(port: port, path: debuggerURL.path)
        guard eventually(seconds: 10, {
            try self.evaluate(#"location.href === \#(Self.quoted(url)) && document.readyState === "complete""#) as? Bool == true
        }) else {
            throw TestSocket.Failure(description: "\(url) did not load")
        }
    }

    /// Runs `expression` in the page and returns its value.
    func evaluate(_ expression: String) throws -> Any? {
        lastID += 1
        let command: [String: Any] = ["id": lastID, "method": "Runtime.evaluate", "params": ["expression": expression, "returnByValue": true]]
        try socket.send(text: String(decoding: try JSONSerialization.data(withJSONObject: command), as: UTF8.self))
        while true {
            let frame = try socket.receiveNonPing()
            guard let reply = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any],
                  reply["id"] as? Int == lastID else { continue }
            let result = reply["result"] as? [String: Any]
            if let exception = result?["exceptionDetails"] {
                throw TestSocket.Failure(description: "\(expression): \(exception)")
            }
            return (result?["result"] as? [String: Any])?["value"]
        }
    }

    /// Fills in the join form and submits it, as a person would.
    func join(name: String, room: String) throws {
        _ = try evaluate("""
            {
              const form = document.getElementById("join");
              form.elements.name.value = \(Self.quoted(name));
              form.elements.room.value = \(Self.quoted(room));
              form.requestSubmit();
            }
            """)
    }

    /// The lines of the chat log, as the page shows them.
    func log() throws -> [String] {
        try evaluate(##"[...document.querySelectorAll("#log li")].map((line) => line.textContent)"##) as? [String] ?? []
    }

    /// The log for failure messages.
    var shown: String { (try? log()).map { "\($0)" } ?? "(unreadable)" }

    /// `text` as a JavaScript string literal.
    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: text, options: .fragmentsAllowed), as: UTF8.self)
    }
}

