import Foundation
import Testing
import TestSupport
@testable import Switchboard

@Suite("Drain schedule")
struct DrainScheduleTests {
    func shares(_ count: Int, _ window: UInt64) -> [Int] {
        var schedule = DrainSchedule(count: count, windowMilliseconds: window)
        var shares: [Int] = []
        while let share = schedule.next() { shares.append(share) }
        return shares
    }

    @Test func evenSharesOneTickApartCoverEveryConnection() {
        // 2,000 over 2 s: 200 ticks of 10 ms, 10 each.
        #expect(shares(2_000, 2_000) == Array(repeating: 10, count: 200))
        // Fewer connections than ticks: one at a time, none left out.
        let few = shares(5, 1_000)
        #expect(few.reduce(0, +) == 5 && few.allSatisfy { $0 <= 1 } && few.count <= 100)
        // Uneven: shares differ by one at most, the total is exact.
        let uneven = shares(1_001, 100)
        #expect(uneven.count == 10 && uneven.reduce(0, +) == 1_001 && Set(uneven).isSubset(of: [100, 101]))
    }

    @Test func noWindowClosesAllAtOnceAndNothingIsNothing() {
        #expect(shares(30, 0) == [30])
        #expect(shares(30, 5) == [30])
        #expect(shares(0, 1_000) == [])
    }

    @Test func theWindowFollowsTheRateUpToItsLongest() {
        #expect(DrainSchedule.window(count: 20, rate: 2_000, longest: .seconds(10)) == .milliseconds(10))
        #expect(DrainSchedule.window(count: 10_000, rate: 2_000, longest: .seconds(10)) == .seconds(5))
        #expect(DrainSchedule.window(count: 100_000, rate: 2_000, longest: .seconds(10)) == .seconds(10))
        #expect(DrainSchedule.window(count: 10_000, rate: 0, longest: .seconds(3)) == .seconds(3))
    }
}

/// A stopping server spreads its 1001s over the drain window, loses nothing
/// published before the stop, and tells HTTP clients and load balancers it
/// is going.
@Suite("Graceful drain", .serialized)
struct DrainTests {
    struct Followed: Decodable {
        var errors: [String]
        var codes: [Int?]
        var message_counts: [Int]
        var close_times: [Double]
        /// The client's worst event-loop lateness while it waited (s).
        var max_lag: Double
    }

    @Test func twoThousandClientsGet1001SpreadOverTheWindowAfterEverythingPublishedBeforeTheStop() async throws {
        raiseFileLimit()
        let clients = 2_000
        let server = Server(configuration: ServerConfiguration(
            port: 0, loopCount: 2, shutdownGracePeriod: .seconds(10), drainCloseRate: 500, drainWindow: .seconds(2)))
        server.webSocket("/ws", configuration: WebSocketConfiguration(origins: .any, pingInterval: nil), handler: TopicHandler(pubsub: server.pubsub))
        let port = try server.start().port
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", clientsFolder + "/drain_client.py", "\(port)", "\(clients)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let allOpen = await eventually(seconds: 60) { server.webSocketCount == clients }
        #expect(allOpen, "open: \(server.webSocketCount)")
        // Published right before the stop: each must reach every client
        // ahead of its 1001.
        for index in 0..<10 { server.pubsub.publish("drain", text: "before the stop \(index)") }
        let started = ContinuousClock.now
        try await server.stop()
        let took = ContinuousClock.now - started
        let output = try await onOwnThread { pipe.fileHandleForReading.readDataToEndOfFile() }
        process.waitUntilExit()
        let followed = try JSONDecoder().decode(Followed.self, from: output)
        #expect(followed.errors.isEmpty, "\(followed.errors)")
        #expect(followed.codes.count == clients && followed.codes.allSatisfy { $0 == 1001 }, "\(Set(followed.codes.map { $0 ?? -1 }))")
        #expect(followed.message_counts.allSatisfy { $0 == 10 }, "\(Dictionary(grouping: followed.message_counts) { $0 }.mapValues(\.count))")
        // Spread: 2,000 at 500 a second would take 4 s; the window caps it at 2 s.
        let buckets = Dictionary(grouping: followed.close_times) { Int($0 / 0.25) }.mapValues(\.count)
        print("drain: stop took \(took); closes per 250 ms: \(buckets.sorted { $0.key < $1.key }.map { "\(Double($0.key) * 0.25)s: \($0.value)" })")
        // Seen by the client, whose own reading lags on a loaded machine
        // (beside the whole suite it saw 946 of 2,000 in the first 250 ms
        // once): so the bounds are loose, and the stop's own duration is
        // the server's side of it. Sent all at once, every close lands in
        // the first bucket and the stop takes a few milliseconds.
        #expect(took >= .milliseconds(1_900), "the stop took \(took) for a 2 s window")
        // A client that could not read for a quarter of the window saw the
        // closes when it woke, not when they came: then the stop's duration
        // above is all that can be judged (a fresh-clone run under ASan
        // beside the whole suite saw 1,490 in its first 250 ms once).
        guard followed.max_lag < 0.25 else {
            print("drain: the client's loop ran up to \(followed.max_lag) s late: spread judged by the stop's duration only")
            return
        }
        // Likewise a server starved beside the whole suite under a
        // sanitizer (its stop once took 9.9 s for the 2 s window under
        // Thread Sanitizer): its closes came late, not early.
        guard took < .seconds(4) else {
            print("drain: the stop took \(took): spread judged by the stop's duration only")
            return
        }
        let spread = (followed.close_times.max() ?? 0) - (followed.close_times.min() ?? 0)
        #expect(spread >= 1 && spread <= 4, "closes spread over \(spread) s")
        #expect(buckets.values.allSatisfy { $0 <= clients * 6 / 10 }, "\(buckets)")
        let sorted = followed.close_times.sorted()
        let median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        #expect(median >= 0.25, "median close at \(median) s")
    }

    @Test func whileDrainingUpgradesAre503AndKeepAliveResponsesSayClose() async throws {
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, drainDelay: .seconds(30)))
        server.webSocket("/ws", configuration: WebSocketConfiguration(origins: .any), handler: TopicHandler(pubsub: server.pubsub))
        server.readinessRoute(at: "/ready")
        let port = try server.start().port
        let (readyBefore, open) = try await onOwnThread {
            (try TestSocket(port: port).get("/ready").status, try TestWebSocket(port: port, path: "/ws?topic=t"))
        }
        #expect(readyBefore == 200)
        // What a ServiceGroup's graceful shutdown does: drain first.
        let draining = Task { try await server.drainAndStop() }
        #expect(await eventually(seconds: 5) { server.isDraining })
        try await onOwnThread {
            let http = try TestSocket(port: port)
            let ready = try http.exchange("GET /ready HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(ready.status == 503 && ready.header("connection") == "close")
            #expect(try TestWebSocket.handshake(try TestSocket(port: port), path: "/ws?topic=t").status == 503)
            // The WebSocket already open is still served until the stop.
            try open.send(text: "still here")
            #expect(try open.receiveNonPing().text == "still here")
        }
        draining.cancel()
        // Read while the server stops (a client that reads only after the
        // grace period may find its connection reset). The stop runs when
        // the drain's task resumes on the cooperative pool, which the
        // suite's synchronous tests may hold for a while: a patient read.
        open.socket.timeoutMilliseconds = 180_000
        let code = try await onOwnThread { try open.receiveNonPing().closeCode }
        try await draining.value
        #expect(code == 1001)
    }
}
