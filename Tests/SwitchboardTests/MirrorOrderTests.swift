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
    let reads = Locked<[(after: UInt64?, completion: @Sendable (KeptStream?) -> Void)]>([])

    func start(_ inbox: BackplaneInbox) throws { self.inbox.withLock { $0 = inbox } }
    func stop() { inbox.withLock { $0 = nil } }
    func publish(_ topic: String, payload: [UInt8], isText: Bool) {}
    func topicsChanged(_ topic: String) {}
    func publishKept(_ topic: String, json: String, limits: KeptLimits, completion: @escaping @Sendable (StreamPosition?) -> Void) {
        completion(nil)
    }
    func readKept(_ topic: String, after offset: UInt64?, limits: KeptLimits, completion: @escaping @Sendable (KeptStream?) -> Void) {
        reads.withLock { $0.append((offset, completion)) }
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

    /// Answers the oldest read with `offsets` of the stream (its top the last).
    func answerRead(epoch: String, _ offsets: ClosedRange<UInt64>) throws -> UInt64? {
        let read = try #require(reads.withLock { $0.isEmpty ? nil : $0.removeFirst() })
        let stream = KeptStream(
            position: StreamPosition(epoch: epoch, offset: offsets.upperBound),
            messages: offsets.map { HistoryMessage(offset: $0, json: String($0)) })
        onLoop { _ in read.completion(stream) }
        return read.after
    }
}

@Suite("A history mirror's order of events")
struct MirrorOrderTests {
    private let epoch = "00000000000000e1"

    private func start() throws -> (Server, ScriptedBackplane, TestWebSocket, Int) {
        let backplane = ScriptedBackplane()
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, history: TopicHistory(rules: [
            .prefix("h.", HistoryPolicy(maxMessages: 100)),
        ]), backplane: backplane))
        server.webSocket("/topic", configuration: WebSocketConfiguration(origins: .any), handler: TopicHandler(pubsub: server.pubsub))
        let port = try server.start().port
        return (server, backplane, try subscriber(server, port), port)
    }

    /// A handler's own subscription to `h.t` on `server`.
    private func subscriber(_ server: Server, _ port: Int) throws -> TestWebSocket {
        let socket = try TestWebSocket(port: port, path: "/topic?topic=h.t")
        #expect(eventually { server.pubsub.subscriberCount(of: "h.t") == 1 })
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
        backplane.handOver("h.t", epoch: epoch, 1...1)  // the node's first message: it reads the stream
        #expect(try backplane.answerRead(epoch: epoch, 1...3) == nil)
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
        _ = try backplane.answerRead(epoch: epoch, 1...3)
        backplane.linkLost()  // 2 and 3 were on their way
        #expect(try backplane.answerRead(epoch: epoch, 4...5) == 3)
        backplane.handOver("h.t", epoch: epoch, 6...6)
        #expect(try offsets(handler, 6) == [1, 2, 3, 4, 5, 6])
        backplane.handOver("h.t", epoch: epoch, 7...7)
        #expect(try offsets(handler, 1) == [7])
    }

    @Test("A topic followed again: a new subscription gets what is published after it, not what the node missed while it followed none")
    func followedAgain() throws {
        let (server, backplane, first, port) = try start()
        defer {
            first.socket.close()
            try? server.stop()
        }
        backplane.handOver("h.t", epoch: epoch, 1...1)
        _ = try backplane.answerRead(epoch: epoch, 1...1)
        backplane.handOver("h.t", epoch: epoch, 2...3)
        #expect(try offsets(first, 3) == [1, 2, 3])
        try first.send(text: "unsub h.t")
        #expect(try first.receiveNonPing().text == "unsubscribed")
        let second = try subscriber(server, port)
        defer { second.socket.close() }
        // 4 and 5 were published while the node followed no one.
        backplane.handOver("h.t", epoch: epoch, 6...6)
        #expect(try backplane.answerRead(epoch: epoch, 1...6) == nil)
        backplane.handOver("h.t", epoch: epoch, 7...7)
        #expect(try offsets(second, 2) == [6, 7])
    }
}
