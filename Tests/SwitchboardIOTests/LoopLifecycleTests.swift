import Glibc
import Synchronization
import Testing
import TestSupport
@testable import SwitchboardIO
import SwitchboardSync

/// Echoes every byte back; optionally closes gracefully after a marker.
final class EchoDelegate: TCPConnectionDelegate {
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        if bytes.first == UInt8(ascii: "!") {
            connection.write(SharedBytes(string: "bye"))
            connection.closeAfterFlush()
            return
        }
        connection.write(SharedBytes(bytes))
    }
}

/// Starts a group and an echo listener, runs `body`, then shuts down and
/// checks that nothing was left open.
func withEchoServer(
    loops: Int = 2,
    distribution: ConnectionDistribution = .reusePort,
    clientSpeaksFirst: Int32 = 0,
    delegate: @escaping @Sendable () -> any TCPConnectionDelegate = { EchoDelegate() },
    _ body: (EventLoopGroup, Int) throws -> Void
) throws {
    let group = try EventLoopGroup(loopCount: loops)
    let listener = try TCPListener(
        address: SocketAddress(host: "127.0.0.1", port: 0), group: group, distribution: distribution,
        clientSpeaksFirst: clientSpeaksFirst
    ) { connection in
        connection.start(delegate: delegate())
    }
    try body(group, listener.address.port)
    let reports = group.shutdown()
    #expect(group.loops.map(\.liveConnectionCount) == Array(repeating: 0, count: loops))
    #expect(reports.count == loops)
    #expect(reports.allSatisfy { $0 == LoopCloseReport(leakedHandles: 0, closeResult: 0) })
}

@Suite("Event loop lifecycle", .serialized)
struct LoopLifecycleTests {
    @Test func startServeStopLeavesNothingOpen() throws {
        try withEchoServer { _, port in
            let client = try TestSocket(port: port)
            try client.send("hello")
            #expect(try client.receive(count: 5) == Array("hello".utf8))
            // Left open on purpose: shutdown must close it.
        }
    }

    @Test func shutdownReportsALeakedHandle() throws {
        let group = try EventLoopGroup(loopCount: 1)
        group.loops[0].leakTimerHandleForTesting()
        let reports = group.shutdown()
        #expect(reports == [LoopCloseReport(leakedHandles: 1, closeResult: 0)])
        #expect(throws: ShutdownError.self) { try group.shutdownGracefully() }
    }

    @Test func tasksFromManyThreadsAllRunOnTheLoop() async throws {
        let group = try EventLoopGroup(loopCount: 1)
        let loop = group.loops[0]
        let ran = Counter()
        let offLoop = Counter()
        await withTaskGroup(of: Void.self) { tasks in
            for _ in 0..<8 {
                tasks.addTask {
                    for _ in 0..<1_000 {
                        loop.execute {
                            if !loop.inEventLoop { offLoop.increment() }
                            ran.increment()
                        }
                    }
                }
            }
        }
        // One more task, run after all of them: the loop has drained.
        #expect(loop.runAndWait(timeout: .seconds(10)) {})
        #expect(ran.value == 8_000)
        #expect(offLoop.value == 0)
        #expect(!loop.inEventLoop)
        try group.shutdownGracefully()
        #expect(loop.execute {} == false)
    }

    @Test func timerFiresOnceAndCancelledTimerNever() throws {
        let group = try EventLoopGroup(loopCount: 1)
        let loop = group.loops[0]
        let fired = Counter()
        let later = Latch(count: 1)
        loop.execute {
            _ = LoopTimer(on: loop, after: 10) { fired.increment() }
            let cancelled = LoopTimer(on: loop, after: 10) { fired.increment(by: 100) }
            cancelled.cancel()
            // libuv runs due timers in order: once this one has fired, the
            // cancelled one would have too.
            _ = LoopTimer(on: loop, after: 30) { later.countDown() }
        }
        #expect(later.wait(timeout: .seconds(10)))
        #expect(fired.value == 1)
        try group.shutdownGracefully()
    }

    @Test func aWriteToAClosedPeerOnALoopThreadFailsWithoutSIGPIPE() async throws {
        // libuv's asynchronous writes use write(2), which raises SIGPIPE on a
        // socket that can no longer send; the default action would end the
        // whole process (this test run included).
        let group = try EventLoopGroup(loopCount: 1)
        let outcome = Locked<(result: Int, error: Int32)?>(nil)
        group.loops[0].execute {
            var pair: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { return }
            shutdown(pair[0], Int32(SHUT_WR))
            let result = write(pair[0], "x", 1)
            let error = errno
            close(pair[0])
            close(pair[1])
            outcome.withLock { $0 = (result, error) }
        }
        try await Task.sleep(for: .milliseconds(100))
        let (result, error) = try #require(outcome.withLock { $0 })
        #expect(result == -1)
        #expect(error == EPIPE)
        try group.shutdownGracefully()
    }
}
