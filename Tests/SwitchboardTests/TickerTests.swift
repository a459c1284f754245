import Foundation
import Glibc
import Testing
import TestSupport

/// The Ticker example as its own process: prices over the client protocol,
/// the authorization hooks, POST /publish, and the page in a real Chromium.
@Suite("Ticker example")
struct TickerTests {
    @Test(.timeLimit(.minutes(1)))
    func streamsTicksOfTheSubscribedSymbolOnly() throws {
        let ticker = try ExampleProcess("Ticker")
        defer { ticker.stop() }
        let socket = try TestWebSocket(port: ticker.port, path: "/prices")
        try socket.send(text: #"{"type":"subscribe","topic":"ticks.AAPL","id":1}"#)
        #expect(try socket.tickerAck() == 1)

        // Four ticks a second: six of them well within three seconds.
        let start = ContinuousClock.now
        var ticks: [[String: Any]] = []
        while ticks.count < 6 {
            let message = try socket.tickerMessage()
            #expect(message["topic"] as? String == "ticks.AAPL")
            ticks.append(try #require(message["data"] as? [String: Any]))
        }
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(ticks.allSatisfy { $0["symbol"] as? String == "AAPL" })
        let prices = ticks.compactMap { $0["price"] as? Double }
        let times = ticks.compactMap { $0["time"] as? Int }
        #expect(prices.count == 6 && prices.allSatisfy { $0 > 0 })
        #expect(Set(prices).count > 1, "a random walk moves: \(prices)")
        #expect(times.count == 6 && zip(times, times.dropFirst()).allSatisfy { $0 < $1 }, "\(times)")
    }

    @Test("A chart starts from the history route and goes on from where it ends", .timeLimit(.minutes(1)))
    func historyThenLive() throws {
        let ticker = try ExampleProcess("Ticker")
        defer { ticker.stop() }
        // A second or so of ticks kept first.
        Thread.sleep(forTimeInterval: 1)
        let history = try TestSocket(port: ticker.port).get("/history?topic=ticks.MSFT&limit=120")
        #expect(history.status == 200)
        let page = try #require(JSONSerialization.jsonObject(with: Data(history.body)) as? [String: Any])
        let epoch = try #require(page["epoch"] as? String)
        let offset = try #require(page["offset"] as? Int)
        let messages = try #require(page["messages"] as? [[String: Any]])
        #expect(messages.count >= 3 && messages.last?["offset"] as? Int == offset)
        #expect(messages.allSatisfy { ($0["data"] as? [String: Any])?["symbol"] as? String == "MSFT" })
        let socket = try TestWebSocket(port: ticker.port, path: "/prices")
        try socket.send(text: #"{"type":"subscribe","topic":"ticks.MSFT","id":1,"since":{"epoch":"\#(epoch)","offset":\#(offset)}}"#)
        let ack = try socket.tickerReply()
        #expect(ack["recovered"] as? Bool == true)
        let next = try socket.tickerMessage()
        #expect(next["offset"] as? Int == offset + 1)
        #expect(try TestSocket(port: ticker.port).get("/history?topic=secrets").status == 403)
        // The history's size is in the metrics: a stream per symbol (four) at least.
        func gauge(_ name: String) -> Double? {
            guard let text = try? TestSocket(port: ticker.port).get("/metrics").bodyText else { return nil }
            return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
        }
        #expect(eventually(seconds: 5) { (gauge("switchboard_history_topics") ?? 0) >= Double(4) && (gauge("switchboard_history_bytes") ?? 0) > 0 })
    }

    @Test(.timeLimit(.minutes(1)))
    func browsersMayOnlyReadTheFeeds() throws {
        let ticker = try ExampleProcess("Ticker")
        defer { ticker.stop() }
        let socket = try TestWebSocket(port: ticker.port, path: "/prices")
        try socket.send(text: #"{"type":"subscribe","topic":"admin.users","id":1}"#)
        let refused = try socket.tickerReply()
        #expect(refused["id"] as? Int == 1 && refused["code"] as? String == "forbidden", "\(refused)")
        try socket.send(text: #"{"type":"publish","topic":"ticks.AAPL","data":{"price":1},"id":2}"#)
        let notPublished = try socket.tickerReply()
        #expect(notPublished["id"] as? Int == 2 && notPublished["code"] as? String == "forbidden", "\(notPublished)")
        // Still open, and allowed to read.
        try socket.send(text: #"{"type":"subscribe","topic":"events.news","id":3}"#)
        #expect(try socket.tickerAck() == 3)
    }

    /// The example runs the server and its price feed in one
    /// `ServiceGroup`: SIGTERM shuts both down gracefully.
    @Test(.timeLimit(.minutes(1)))
    func sigtermStopsTheServiceGroupGracefully() throws {
        let ticker = try ExampleProcess("Ticker")
        defer { ticker.stop() }
        let clients = try (0..<3).map { _ in try TestWebSocket(port: ticker.port, path: "/prices") }
        for client in clients {
            try client.send(text: #"{"type":"subscribe","topic":"ticks.MSFT","id":1}"#)
            #expect(try client.tickerAck() == 1)
        }
        kill(ticker.process.processIdentifier, SIGTERM)
        for client in clients {
            // Ticks may still come first; then the server's 1001.
            var frame = try client.receiveNonPing()
            while frame.opcode == 0x1 { frame = try client.receiveNonPing() }
            #expect(frame.opcode == 0x8 && frame.closeCode == 1001)
            try? client.send(opcode: .close, Array(frame.payload.prefix(2)))
            client.socket.close()
        }
        ticker.process.waitUntilExit()
        #expect(ticker.process.terminationReason == .exit && ticker.process.terminationStatus == 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func anotherServicePublishesOverHTTP() throws {
        let ticker = try ExampleProcess("Ticker")
        defer { ticker.stop() }
        #expect(try post(#"{"headline":"nobody listens"}"#, to: "/publish/events.news", port: ticker.port).bodyText == #"{"subscribers":0}"#)

        let socket = try TestWebSocket(port: ticker.port, path: "/prices")
        try socket.send(text: #"{"type":"subscribe","topic":"events.news","id":1}"#)
        #expect(try socket.tickerAck() == 1)
        let accepted = try post(#"{"headline":"Markets open","id":7}"#, to: "/publish/events.news", port: ticker.port)
        #expect(accepted.status == 200)
        #expect(accepted.header("content-type") == "application/json")
        #expect(accepted.bodyText == #"{"subscribers":1}"#)
        let message = try socket.tickerMessage()
        #expect(message["topic"] as? String == "events.news")
        #expect(message["data"] as? NSDictionary == ["headline": "Markets open", "id": 7])

        #expect(try post("Markets open", to: "/publish/events.news", port: ticker.port).status == 400)
        #expect(try post(#"{"a":1"#, to: "/publish/events.news", port: ticker.port).status == 400)
        #expect(try post("", to: "/publish/events.news", port: ticker.port).status == 400)
        #expect(try post("{}", to: "/publish/chat.lobby", port: ticker.port).status == 403)
        // Nothing of that reached the subscriber: the next message is a later publish.
        _ = try post(#""second""#, to: "/publish/events.news", port: ticker.port)
        #expect(try socket.tickerMessage()["data"] as? String == "second")
    }

    /// The page in headless Chromium, read through the DevTools protocol
    /// while it runs: `--dump-dom` snapshots the page after virtual time,
    /// before the first real-time tick has arrived.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "needs /usr/bin/chromium"),
          .timeLimit(.minutes(1)))
    func pageChartsThePickedSymbols() throws {
        let ticker = try ExampleProcess("Ticker")
        defer { ticker.stop() }
        let browser = try InspectedChromium(url: "http://127.0.0.1:\(ticker.port)/")
        defer { browser.kill() }

        let page = """
            JSON.stringify({
              state: document.getElementById("state").textContent,
              picked: [...document.querySelectorAll("#picker input:checked")].map((box) => box.value),
              charts: document.querySelectorAll("#charts canvas").length,
              AAPL: document.getElementById("price-AAPL")?.textContent ?? null,
              MSFT: document.getElementById("price-MSFT")?.textContent ?? null,
              GOOG: document.getElementById("price-GOOG")?.textContent ?? null,
              news: document.getElementById("news").textContent,
            })
            """
        func read() throws -> [String: Any] {
            try #require(JSONSerialization.jsonObject(with: Data(browser.evaluate(page).utf8)) as? [String: Any])
        }

        // AAPL and MSFT are picked at first; their prices show within a second or two.
        var seen: [String: Any] = [:]
        let live = eventually(seconds: 10) {
            seen = (try? read()) ?? seen
            return Double(seen["AAPL"] as? String ?? "") != nil && Double(seen["MSFT"] as? String ?? "") != nil
        }
        #expect(live, "page: \(seen)\nchromium:\n\(browser.logTail)")
        #expect(seen["state"] as? String == "open")
        #expect(seen["picked"] as? [String] == ["AAPL", "MSFT"])
        #expect(seen["charts"] as? Int == 2)
        #expect(seen["GOOG"] is NSNull)

        // The latest price moves on as ticks arrive.
        let first = seen["AAPL"] as? String
        #expect(eventually(seconds: 5) { seen = (try? read()) ?? seen; return seen["AAPL"] as? String != first }, "\(seen)")

        // Picking GOOG subscribes it; unpicking AAPL unsubscribes (the page was its only subscriber).
        _ = try browser.evaluate(#"document.querySelector("input[value=GOOG]").click(); document.querySelector("input[value=AAPL]").click()"#)
        #expect(eventually(seconds: 5) { seen = (try? read()) ?? seen; return Double(seen["GOOG"] as? String ?? "") != nil }, "\(seen)")
        #expect(seen["AAPL"] is NSNull && seen["picked"] as? [String] == ["MSFT", "GOOG"], "\(seen)")
        #expect(try post(#"{"symbol":"AAPL","price":1,"time":0}"#, to: "/publish/ticks.AAPL", port: ticker.port).bodyText == #"{"subscribers":0}"#)

        // News pushed over HTTP reaches the page.
        #expect(try post(#"{"headline":"Markets open"}"#, to: "/publish/events.news", port: ticker.port).bodyText == #"{"subscribers":1}"#)
        #expect(eventually(seconds: 5) { seen = (try? read()) ?? seen; return (seen["news"] as? String)?.hasSuffix("Markets open") == true }, "\(seen)")
    }
}

private func post(_ body: String, to path: String, port: Int) throws -> TestResponse {
    try TestSocket(port: port).exchange(
        "POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
}

private extension TestWebSocket {
    /// The next JSON object the server sends.
    func tickerJSON() throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(receiveNonPing().payload)) as? [String: Any])
    }

    /// The next `ack` or `error`, skipping ticks that arrive meanwhile.
    func tickerReply() throws -> NSDictionary {
        while true {
            let object = try tickerJSON()
            if object["type"] as? String != "message" { return object as NSDictionary }
        }
    }

    /// The `id` of the next reply if it is an ack (a history topic's ack
    /// also has the stream's position).
    func tickerAck() throws -> Int? {
        let reply = try tickerReply()
        return reply["type"] as? String == "ack" ? reply["id"] as? Int : nil
    }

    /// The next `message`.
    func tickerMessage() throws -> [String: Any] {
        let object = try tickerJSON()
        #expect(object["type"] as? String == "message", "\(object)")
        return object
    }
}
