import Foundation
import Testing
import SwitchboardSync
import TestSupport
@testable import Switchboard

/// The node-wide budget for queued bytes: past it the slowest consumers
/// (the longest queues) are dropped first, and readers are not.
@Suite("Queued-bytes budget")
struct QueueBudgetTests {
    @Test func overTheBudgetTheLongestQueuesAreDroppedAndTheReaderKeepsEverything() async throws {
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, maxQueuedBytesTotal: 2 << 20))
        // Each connection alone may queue 64 MiB: only the node's budget can stop them.
        // The write-stall timeout is out of the way: this is about the budget.
        let configuration = WebSocketConfiguration(origins: .any, pingInterval: nil, maxQueuedBytes: 64 << 20, writeTimeout: .seconds(300))
        server.webSocket("/topic/:name", configuration: configuration,
                         handler: PublishingMember(pubsub: server.pubsub))
        let port = try server.start().port
        defer { try? server.stop() }
        let messages = 40
        let stalled = try await onOwnThread { try (0..<4).map { _ in try TestWebSocket(port: port, path: "/topic/feed", receiveBufferSize: 4096) } }
        let reader = try await onOwnThread { try TestWebSocket(port: port, path: "/topic/feed") }
        // The reader waits for the publisher, a task on the concurrency pool
        // that other tests' blocking calls can starve for longer than the
        // socket's default 5 s read timeout: the reader would give up and,
        // no longer reading, be dropped by the budget in its turn.
        reader.socket.timeoutMilliseconds = 120_000
        #expect(await eventually(seconds: 5) { server.webSocketCount == 5 })
        // Read on a thread of its own: a blocking read on the concurrency
        // pool waits for a free pool thread while other tests block theirs.
        let receivedSoFar = Locked(0)
        let reading = Task {
            try await onOwnThread { () -> Int in
                var received = 0
                while received < messages, (try? reader.receiveNonPing())?.opcode == 0x2 {
                    received += 1
                    receivedSoFar.withLock { $0 = received }
                }
                return received
            }
        }
        // 10 MiB each: more than the kernel takes into a socket (4 MiB at most on loopback).
        let payload = [UInt8](repeating: 1, count: 256 << 10)
        for index in 0..<messages {
            server.pubsub.publish("feed", binary: payload)
            // In step with the reader: its queue stays one message deep
            // however slow the machine (under Thread Sanitizer beside the
            // whole suite a reader paced by the clock fell 2 MiB behind and
            // was dropped too), while the stalled ones' grow by every one.
            let received = await eventually(seconds: 30) { receivedSoFar.withLock { $0 } > index }
            #expect(received, "message \(index) not received")
            if !received { break }
        }
        #expect(try await reading.value == messages)
        // Some 6 MiB each would wait in user space: the stalled ones go, the reader stays.
        #expect(await eventually(seconds: 5) { server.webSocketCount == 1 }, "open: \(server.webSocketCount)")
        stalled.forEach { $0.socket.close() }
    }
}
