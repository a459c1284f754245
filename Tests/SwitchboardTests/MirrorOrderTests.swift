import Foundation
import Testing
import TestSupport
@testable import Switchboard
import SwitchboardSync

/// A history backplane whose events the test orders: it holds each read
/// until the test answers it, and hands kept messages over when told.
/// (Redis decides that order itself; these are the orders it can choose.)
private final class ScriptedBackplane: HistoryBackplane {
    private let inbox = Locked<BackplaneInbox?>(nil)
    let reads = Locked<[(topic: String, after: UInt64?, completion: @Sendable (KeptStream?) -> Void)]>([])

    func start(_ inbox: BackplaneInbox) throws { self.inbox.withLock { $0 = inbox } }
    func stop() { inbox.withLock { $0 = nil } }
    func publish(_ topic: String, payload: [UInt8], isText: Bool) {}
    func topicsChanged(_ topic: String) {}
    func publishKept(_ topic: String, json: String, limits: KeptLimits, completion: @escaping @Sendable (StreamPosition?) -> Void) {
        completion(nil)
    }
    func readKept(_ topic: String, after offset: UInt64?, limits: KeptLimits, completion: @escaping @Sendable (KeptStream?) -> Void) {
        reads.withLock { $0.append((topic, offset, completion)) }
    }

    /// Runs `body` with the inbox on the backplane's loop, and waits.
    private func onLoop(_ body: @escaping @Sendable (BackplaneInbox) -> Void) {
        let inbox = inbox.withLock { $0 }!
        let done = Latch(count: 1)
        _ = inbox.loop.execute {
            body(inbox)
            done.countDown()
        }
        done.wait()
    }

    func handOver(_ topic: String, epoch: String, _ offsets: ClosedRange<UInt64>) {
        onLoop { inbox in
            for offset in offsets { inbox.deliverKept(topic, position: StreamPosition(epoch: epoch, offset: offset), json: String(offset)) }
        }
    }

    func linkLost() { onLoop { $0.keptStreamsInterrupted() } }

    /// Answers the oldest read as Redis would when the stream's last
    /// offset is `top` and it keeps everything: the messages after the
    /// read's `after`. Returns that `after`.
    @discardableResult
    func answerRead(_ topic: String = "h.t", epoch: String, top: UInt64) throws -> UInt64? {
        let read = try #require(reads.withLock { reads in reads.firstIndex { $0.topic == topic }.map { reads.remove(at: $0) } })
        let first = (read.after ?? 0) + 1
        let stream = KeptStream(
            position: StreamPosition(epoch: epoch, offset: top),
            messages: first > top ? [] : (first...top).map { HistoryMessage(offset: $0, json: String($0)) })
        onLoop { _ in read.completion(stream) }
        return read.after
    }

    func readCount(_ topic: String = "h.t") -> Int { reads.withLock { $0.count { $0.topic == topic } } }

}

@Suite("A history mirror's order of events")
struct MirrorOrderTests {
    private let epoch = "00000000000000e1"

    private func start(maxMessages: Int = 100, maxBytes: Int = 256 << 10) throws -> (Server, ScriptedBackplane, TestWebSocket, Int) {
        let backplane = ScriptedBackplane()
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, history: TopicHistory(rules: [
            .prefix("h.", HistoryPolicy(maxMessages: maxMessages, maxBytes: maxBytes)),
        ]), backplane: backplane))
        server.webSocket("/topic", configuration: WebSocketConfiguration(origins: .any), handler: TopicHandler(pubsub: server.pubsub))
        server.pubsubEndpoint("/pubsub", configuration: WebSocketConfiguration(origins: .any), authorizer: PubSubAuthorizer(), publishRateLimit: nil)
        let port = try server.start().port
        return (server, backplane, try subscriber(server, port, backplane), port)
    }

    /// A handler's own subscription to `topic` on `server`, once the node
    /// following the topic has asked for its stream.
    private func subscriber(_ server: Server, _ port: Int, _ backplane: ScriptedBackplane, topic: String = "h.t") throws -> TestWebSocket {
        let socket = try TestWebSocket(port: port, path: "/topic?topic=\(topic)")
        #expect(eventually { server.pubsub.subscriberCount(of: topic) == 1 && backplane.readCount(topic) == 1 })
        return socket
    }

    private func offsets(_ socket: TestWebSocket, _ count: Int) throws -> [Int] {
        try (0..<count).map { _ in
            let frame = try #require(JSONSerialization.jsonObject(with: Data(socket.receiveNonPing().payload)) as? [String: Any])
            return try #require(frame["offset"] as? Int)
        }
    }

    @Test("The first read brings messages not handed over yet: a handler's subscription gets each once, in order, as it arrives")
    func firstReadAheadOfTheLiveMessages() throws {
        let (server, backplane, handler, _) = try start()
        defer {
            handler.socket.close()
            try? server.stop()
        }
        backplane.handOver("h.t", epoch: epoch, 1...1)  // while the read the subscription set off is under way
        #expect(try backplane.answerRead(epoch: epoch, top: 3) == nil)
        backplane.handOver("h.t", epoch: epoch, 2...4)
        #expect(try offsets(handler, 4) == [1, 2, 3, 4])
        backplane.handOver("h.t", epoch: epoch, 5...5)  // nothing before it twice
        #expect(try offsets(handler, 1) == [5])
    }

    @Test("Messages a read brought that the backplane never hands over (its link dropped) go out with the catch-up read")
    func readAheadThenTheLinkDrops() throws {
        let (server, backplane, handler, _) = try start()
        defer {
            handler.socket.close()
            try? server.stop()
        }
        backplane.handOver("h.t", epoch: epoch, 1...1)
        _ = try backplane.answerRead(epoch: epoch, top: 3)
        backplane.linkLost()  // 2 and 3 were on their way
        #expect(try backplane.answerRead(epoch: epoch, top: 5) == 3)
        backplane.handOver("h.t", epoch: epoch, 6...6)
        #expect(try offsets(handler, 6) == [1, 2, 3, 4, 5, 6])
        backplane.handOver("h.t", epoch: epoch, 7...7)
        #expect(try offsets(handler, 1) == [7])
    }

    @Test("Messages the mirror's bytes limit pushed out before they arrived still reach a handler's subscription when they arrive")
    func readAheadBeyondTheMirrorsBytes() throws {
        // A message's frame and bookkeeping are some 120 bytes: the mirror keeps the last two.
        let (server, backplane, handler, _) = try start(maxBytes: 300)
        defer {
            handler.socket.close()
            try? server.stop()
        }
        backplane.handOver("h.t", epoch: epoch, 1...1)
        #expect(try backplane.answerRead(epoch: epoch, top: 6) == nil)  // keeps 5 and 6
        backplane.handOver("h.t", epoch: epoch, 2...7)
        #expect(try offsets(handler, 7) == [1, 2, 3, 4, 5, 6, 7])
    }

    @Test("A topic followed again: a new subscription gets what is published after it, not what the node missed while it followed none")
    func followedAgain() throws {
        let (server, backplane, first, port) = try start()
        defer {
            first.socket.close()
            try? server.stop()
        }
        backplane.handOver("h.t", epoch: epoch, 1...1)
        _ = try backplane.answerRead(epoch: epoch, top: 1)
        backplane.handOver("h.t", epoch: epoch, 2...3)
        #expect(try offsets(first, 3) == [1, 2, 3])
        try first.send(text: "unsub h.t")
        #expect(try first.receiveNonPing().text == "unsubscribed")
        let second = try subscriber(server, port, backplane)
        defer { second.socket.close() }
        // 4 and 5 were published while the node followed no one.
        backplane.handOver("h.t", epoch: epoch, 6...6)
        #expect(try backplane.answerRead(epoch: epoch, top: 6) == nil)
        backplane.handOver("h.t", epoch: epoch, 7...7)
        #expect(try offsets(second, 2) == [6, 7])
    }

    @Test("A read answered after the node stopped following the topic does not count: the mirror stays unread, and following again reads afresh")
    func readAnsweredAfterUnfollowing() throws {
        let (server, backplane, first, port) = try start()
        defer {
            first.socket.close()
            try? server.stop()
        }
        try first.send(text: "unsub h.t")
        #expect(try first.receiveNonPing().text == "unsubscribed")
        #expect(try backplane.answerRead(epoch: epoch, top: 5) == nil)  // the read its subscribing set off
        #expect(server.pubsub.position(of: "h.t") == nil)
        let second = try subscriber(server, port, backplane)
        defer { second.socket.close() }
        backplane.handOver("h.t", epoch: epoch, 8...8)
        #expect(try backplane.answerRead(epoch: epoch, top: 8) == nil)
        backplane.handOver("h.t", epoch: epoch, 9...9)
        #expect(try offsets(second, 2) == [8, 9])
    }

    @Test("Random orders of publishes, live messages, reads, lost links and a client subscribing: each subscriber gets every message once, in order, from where it began")
    func randomOrders() throws {
        let (server, backplane, first, port) = try start()
        defer {
            first.socket.close()
            try? server.stop()
        }
        // MIRROR_SCHEDULES=N for a longer run.
        let schedules = ProcessInfo.processInfo.environment["MIRROR_SCHEDULES"].flatMap { UInt64($0) } ?? 150
        for seed in UInt64(1)...schedules {
            var random = SeededGenerator(seed: seed)
            let topic = "h.r\(seed)"
            let socket = try subscriber(server, port, backplane, topic: topic)
            /// A client of the protocol that subscribed meanwhile, and whether it asked `since` offset 0.
            var client: (socket: TestWebSocket, fromStart: Bool)?
            defer {
                socket.socket.close()
                client?.socket.socket.close()
                #expect(eventually { server.pubsub.subscriberCount(of: topic) == 0 })
            }
            var published: UInt64 = 0
            var inFlight: [UInt64] = []
            // Where the subscription begins: at the first message handed
            // over (Redis sends only what was published after the node's
            // SUBSCRIBE), unless the link was lost before one arrived after
            // the first read; then after that read's top.
            var firstArrival: UInt64?
            var arrivedBeforeFirstRead = false
            var lostBeforeFirstArrival = false
            var firstTop: UInt64?
            var log: [String] = []
            func handOver(_ count: Int) {
                guard count > 0 else { return }
                if firstArrival == nil {
                    firstArrival = inFlight[0]
                    arrivedBeforeFirstRead = firstTop == nil
                }
                backplane.handOver(topic, epoch: epoch, inFlight[0]...inFlight[count - 1])
                log.append("hand over \(inFlight[0])...\(inFlight[count - 1])")
                inFlight.removeFirst(count)
            }
            func answerRead() throws {
                if firstTop == nil { firstTop = published }
                let after = try backplane.answerRead(topic, epoch: epoch, top: published)
                log.append("read after \(after.map(String.init) ?? "nil") -> top \(published)")
            }
            for _ in 0..<40 {
                switch random.below(10) {
                case 0...3:
                    published += 1
                    inFlight.append(published)
                case 4...5: handOver(Int(random.below(UInt64(inFlight.count) + 1)))
                case 6...7: if backplane.readCount(topic) > 0 { try answerRead() }
                case 8:
                    if firstArrival == nil { lostBeforeFirstArrival = true }
                    log.append("link lost with \(inFlight.count) in flight")
                    inFlight = []
                    backplane.linkLost()
                default:
                    guard client == nil else { break }
                    let fromStart = random.chance(2)
                    let joining = try TestWebSocket(port: port, path: "/pubsub")
                    let since = fromStart ? #","since":{"epoch":"\#(epoch)","offset":0}"# : ""
                    try joining.send(text: #"{"type":"subscribe","topic":"\#(topic)","id":1\#(since)}"#)
                    #expect(eventually { server.pubsub.subscriberCount(of: topic) == 2 })
                    client = (joining, fromStart)
                    log.append("client subscribes\(fromStart ? " since 0" : "")")
                }
            }
            // Settle: a last message, everything handed over, every read answered.
            published += 1
            inFlight.append(published)
            handOver(inFlight.count)
            while backplane.readCount(topic) > 0 { try answerRead() }
            let afterFirstRead = try #require(firstTop) + 1
            let begin = firstArrival.map { arrivedBeforeFirstRead || !lostBeforeFirstArrival ? min($0, afterFirstRead) : afterFirstRead } ?? afterFirstRead
            var got: [Int] = []
            while got.last.map({ $0 < Int(published) }) ?? true {
                let frame = try #require(JSONSerialization.jsonObject(with: Data(socket.receiveNonPing().payload)) as? [String: Any])
                got.append(frame["offset"] as? Int ?? -1)
                if got.count > Int(published) { break }
            }
            #expect(got == Array(Int(begin)...Int(published)), "seed \(seed): \(log)")
            if let client {
                // Its ack's position, then each message after it (or, since 0, every one) once, in order.
                let ack = try #require(JSONSerialization.jsonObject(with: Data(client.socket.receiveNonPing().payload)) as? [String: Any])
                let position = try #require(ack["offset"] as? Int, "seed \(seed): \(ack)")
                let first = client.fromStart ? 1 : position + 1
                var messages: [Int] = []
                while messages.count <= Int(published), (messages.last ?? first - 1) < Int(published) {
                    let frame = try #require(JSONSerialization.jsonObject(with: Data(client.socket.receiveNonPing().payload)) as? [String: Any])
                    messages.append(frame["type"] as? String == "message" ? frame["offset"] as? Int ?? -1 : -1)
                }
                #expect(messages == Array(first..<Int(published) + 1), "seed \(seed), client at \(position): \(log)")
            }
        }
    }
}
