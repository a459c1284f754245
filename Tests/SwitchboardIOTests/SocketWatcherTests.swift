import Glibc
import Synchronization
import Testing
import TestSupport
import SwitchboardSync
@testable import SwitchboardIO

/// On its first input, closes every other connection of its loop: their
/// readiness may already sit in the same batch of epoll events.
final class CloseEveryoneElse: TCPConnectionDelegate {
    static let closedByOthers = Atomic<Int>(0)
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        connection.loop.forEachConnection { other in
            guard other !== connection else { return }
            other.close()
            Self.closedByOthers.add(1, ordering: .relaxed)
        }
        connection.write(SharedBytes(string: "survivor"))
        connection.closeAfterFlush()
    }
}

@Suite("Socket watcher (one epoll set per loop)", .serialized)
struct SocketWatcherTests {
    @Test func connectionsClosedEarlierInTheSameBatchIgnoreTheirEvents() throws {
        // The loop is held while every client writes, so the next turn
        // fetches all their events at once; the first one handled closes
        // the rest, whose events in that batch must find them still
        // allocated (ASan catches the use after free if they were not) and
        // be ignored.
        let clients = 64
        try withEchoServer(loops: 1, delegate: { CloseEveryoneElse() }) { group, port in
            let sockets = try (0..<clients).map { _ in try TestSocket(port: port) }
            let loop = group.loops[0]
            #expect(eventually(seconds: 5) { loop.acceptedConnectionCount == clients })
            let held = Atomic<Bool>(false)
            loop.execute {
                held.store(true, ordering: .releasing)
                usleep(300_000)
            }
            #expect(eventually(seconds: 5) { held.load(ordering: .acquiring) })
            for socket in sockets { try socket.send("x") }
            var survivors = 0
            for socket in sockets {
                let received = try socket.receiveUntilClosed()
                if received == Array("survivor".utf8) { survivors += 1 } else { #expect(received.isEmpty) }
            }
            // Exactly one handled its input; all the others were closed.
            #expect(survivors == 1)
            #expect(CloseEveryoneElse.closedByOthers.load(ordering: .relaxed) == clients - 1)
            #expect(eventually(seconds: 5) { loop.liveConnectionCount == 0 })
        }
    }

    @Test func forEachConnectionListsOpenConnectionsOnly() throws {
        try withEchoServer(loops: 1) { group, port in
            let loop = group.loops[0]
            let sockets = try (0..<3).map { _ in try TestSocket(port: port) }
            #expect(eventually(seconds: 5) { loop.acceptedConnectionCount == 3 })
            let counts = Locked<[Int]>([])
            #expect(loop.runAndWait(timeout: .seconds(5)) {
                var before = 0
                var first: TCPConnection?
                loop.forEachConnection { before += 1; if first == nil { first = $0 } }
                first?.close()
                // Gone from the list at once, though it hears of its end
                // only on the next turn.
                var after = 0
                loop.forEachConnection { _ in after += 1 }
                counts.withLock { $0 = [before, after] }
            })
            #expect(counts.withLock { $0 } == [3, 2])
            #expect(eventually(seconds: 5) { loop.liveConnectionCount == 2 })
            _ = sockets
        }
    }

    @Test func adoptingSomethingOtherThanASocketFailsAndClosesIt() throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { _ = group.shutdown() }
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[1]) }
        let readEnd = pipeEnds[0]
        let outcome = Locked<String>("")
        #expect(group.loops[0].runAndWait(timeout: .seconds(5)) {
            do {
                _ = try TCPConnection.adopt(socket: readEnd, on: group.loops[0])
                outcome.withLock { $0 = "adopted" }
            } catch let error as IOError {
                outcome.withLock { $0 = "\(error.code)" }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
        })
        #expect(outcome.withLock { $0 } == "\(-ENOTSOCK)")
        // The read end was closed: writing to the pipe now fails.
        var byte: UInt8 = 1
        signal(SIGPIPE, SIG_IGN)
        #expect(write(pipeEnds[1], &byte, 1) == -1 && errno == EPIPE)
    }

    @Test func aConnectionAdoptedByATaskQueuedBehindTheShutdownIsClosedByIt() throws {
        // Another loop hands an accepted socket over with `execute` while
        // this one is asked to stop: the adoption lands in the same batch
        // of tasks as the shutdown, behind it, and must not outlive it.
        let group = try EventLoopGroup(loopCount: 1)
        let loop = group.loops[0]
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { close(pair[1]) }
        let adopted = pair[0]
        // Holds the loop while both tasks are queued.
        let held = Atomic<Bool>(false)
        loop.execute {
            held.store(true, ordering: .releasing)
            usleep(300_000)
        }
        #expect(eventually(seconds: 5) { held.load(ordering: .acquiring) })
        let reports = Locked<[LoopCloseReport]>([])
        runOnDetachedThread { reports.withLock { $0 = group.shutdown() } }
        usleep(100_000)  // the shutdown task is queued by now
        #expect(loop.execute {
            guard let connection = try? TCPConnection.adopt(socket: adopted, on: loop) else { return }
            connection.start(delegate: EchoDelegate())
        })
        #expect(eventually(seconds: 10) { !reports.withLock { $0.isEmpty } })
        #expect(reports.withLock { $0 } == [LoopCloseReport(leakedHandles: 0, closeResult: 0)])
        #expect(loop.liveConnectionCount == 0)
        var byte: UInt8 = 0
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(pair[1], SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        #expect(recv(pair[1], &byte, 1, 0) == 0)  // closed, not left open
    }

    @Test func aDescriptorClosedBehindItsConnectionAndReusedStaysWithItsNewOwner() throws {
        // A host hands over a socket, then closes the number itself, and
        // the number is given to another socket, handed over too. Closing
        // the first connection must not close the second's socket nor
        // drop it from the loop's table.
        let group = try EventLoopGroup(loopCount: 1)
        defer { _ = group.shutdown() }
        let loop = group.loops[0]
        var first: [Int32] = [0, 0], second: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &first) == 0)
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &second) == 0)
        defer { close(first[1]); close(second[1]) }
        let number = first[0], replacement = second[0]
        let connections = Locked<[TCPConnection]>([])
        #expect(loop.runAndWait(timeout: .seconds(5)) {
            guard let connection = try? TCPConnection.adopt(socket: number, on: loop) else { return }
            connection.start(delegate: EchoDelegate())
            connections.withLock { $0.append(connection) }
        })
        // Behind the first connection's back: the number now names the
        // second pair's socket.
        #expect(dup2(replacement, number) == number)
        close(replacement)
        #expect(loop.runAndWait(timeout: .seconds(5)) {
            guard let connection = try? TCPConnection.adopt(socket: number, on: loop) else { return }
            connection.start(delegate: EchoDelegate())
            connections.withLock { $0.append(connection) }
            connections.withLock { $0[0] }.close()
        })
        #expect(connections.withLock { $0.count } == 2)
        let counted = Locked(0)
        #expect(loop.runAndWait(timeout: .seconds(5)) { loop.forEachConnection { _ in counted.withLock { $0 += 1 } } })
        #expect(counted.withLock { $0 } == 1)
        // The second connection still has its socket and is still watched.
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(second[1], SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        #expect(send(second[1], "hi", 2, 0) == 2)
        var echoed = [UInt8](repeating: 0, count: 2)
        #expect(recv(second[1], &echoed, 2, 0) == 2 && echoed == Array("hi".utf8))
    }
}
