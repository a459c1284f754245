import Foundation
import Glibc
import Testing
import TestSupport
import Switchboard
import SwitchboardRedis

/// Whatever answers at the backplane's address may not be Redis. Replies
/// hiredis 0.14 would abort the process on, or allocate for without bound,
/// end the connection instead (`ReplyGuard`), the link tries again, and
/// the server goes on serving. Without the guard each case aborted the
/// test process, or (the huge array) left the link waiting, never retried.
@Suite("A peer that is not Redis")
struct NotRedisPeerTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        /// The answer to the first bytes a link sends.
        let answer: String
        var testDescription: String { name }
    }

    static let channel = "switchboard:t"

    static let cases = [
        // The publishing link sends two SCRIPT LOADs first: the rest are replies nobody asked for.
        Case(name: "more replies than commands", answer: String(repeating: "+OK\r\n", count: 8)),
        Case(name: "an array announcing 100 million elements", answer: "*100000000\r\n"),
        Case(name: "a pub/sub reply of one element", answer: "*1\r\n$7\r\nmessage\r\n"),
        // hiredis reads the count past the end of the array (Address Sanitizer: heap-buffer-overflow).
        Case(name: "an unsubscribe of two elements", answer: "*2\r\n$11\r\nunsubscribe\r\n$13\r\n\(channel)\r\n"),
        Case(name: "a pub/sub reply whose kind is an integer", answer: "*3\r\n:1\r\n$13\r\n\(channel)\r\n$1\r\nx\r\n"),
        Case(name: "a pub/sub reply whose channel is an array", answer: "*3\r\n$7\r\nmessage\r\n*0\r\n$1\r\nx\r\n"),
        Case(name: "an unsubscribe whose count is a string", answer: "*3\r\n$11\r\nUnsubscribe\r\n$13\r\n\(channel)\r\n$1\r\nx\r\n"),
    ]

    @Test(arguments: cases)
    func theConnectionEndsAndTheLinkRetries(_ hostile: Case) async throws {
        let log = CapturedLog()
        let peer = try AnsweringPeer(answer: Array(hostile.answer.utf8), connections: 8)
        let backplane = try RedisBackplane(
            url: "redis://127.0.0.1:\(peer.port)",
            configuration: RedisBackplaneConfiguration(reconnectDelay: .milliseconds(20)...(.milliseconds(50)), logger: log.logger))
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, backplane: backplane, logger: log.logger))
        // No pings: the client reads only at the end, and the suite's
        // synchronous tests can hold the pool this test waits on for over
        // a minute (Address Sanitizer phase), past a ping's pong timeout.
        server.webSocket("/topic", configuration: WebSocketConfiguration(origins: .any, pingInterval: nil), handler: TopicHandler(pubsub: server.pubsub))
        let port = try server.start().port
        // A subscriber: the subscriber link sends SUBSCRIBE, which the peer answers.
        let client = try await onOwnThread { try TestWebSocket(port: port, path: "/topic?topic=t") }
        // Either link, connected again after the answer ended it.
        let retried = await eventually(seconds: 20) { peer.accepted >= 3 }
        // The server still serves its own subscribers.
        server.pubsub.publish("t", text: "still here")
        let received = try await onOwnThread { try client.receiveNonPing().text }
        try await server.stop()
        #expect(retried, "\(peer.accepted) connections; \(log.lines)")
        #expect(received == "still here")
        #expect(log.lines.contains { $0.contains("Out of memory") }, "\(log.lines)")
    }
}

/// A TCP peer on loopback that answers the first bytes of each of its
/// first `connections` clients with `answer`, then reads until they leave.
private final class AnsweringPeer: Sendable {
    let port: Int
    private let listener: Int32
    private let count = Guarded(0)

    var accepted: Int { count.withLock { $0 } }

    init(answer: [UInt8], connections: Int) throws {
        let (listening, port) = try TestSocketPort.listening(backlog: 16)
        listener = listening
        self.port = port
        let count = count
        Thread.detachNewThread {
            for _ in 0..<connections {
                let client = accept(listening, nil, nil)
                guard client >= 0 else { return }
                count.withLock { $0 += 1 }
                Thread.detachNewThread {
                    var chunk = [UInt8](repeating: 0, count: 4096)
                    func read() -> Bool { chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) } > 0 }
                    if read() {
                        _ = answer.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        while read() {}
                    }
                    close(client)
                }
            }
        }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
