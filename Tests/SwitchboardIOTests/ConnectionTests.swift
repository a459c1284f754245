import Glibc
import Synchronization
import Testing
import TestSupport
@testable import SwitchboardIO

/// Writes `size` bytes in many small writes on connect.
final class BulkWriter: TCPConnectionDelegate {
    static let drained = Atomic<Int>(0)
    static let maxQueued = Atomic<Int>(0)
    let pieces: Int
    let pieceSize: Int
    init(pieces: Int, pieceSize: Int) {
        self.pieces = pieces
        self.pieceSize = pieceSize
    }
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        let piece = SharedBytes(count: pieceSize) { $0.initializeMemory(as: UInt8.self, repeating: 0x61) }
        for _ in 0..<pieces { connection.write(piece) }
        Self.maxQueued.store(connection.queuedByteCount, ordering: .relaxed)
        connection.closeAfterFlush()
    }
    func connectionDidDrain(_ connection: TCPConnection) {
        Self.drained.add(1, ordering: .relaxed)
    }
}

/// Closes itself when its deadline passes, and says so first.
final class DeadlineDelegate: TCPConnectionDelegate {
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        connection.setDeadline(after: 100)
    }
    func connectionDeadlinePassed(_ connection: TCPConnection) {
        connection.write(SharedBytes(string: "timeout"))
        connection.closeAfterFlush()
    }
}

/// Counts what it reads; at the end of input answers with the count.
final class InputCounter: TCPConnectionDelegate {
    var count = 0
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        count += bytes.count
    }
    func connectionDidReachEndOfInput(_ connection: TCPConnection) {
        connection.write(SharedBytes(string: "\(count)"))
        connection.closeAfterFlush()
    }
}

/// Answers whether its socket has Nagle's algorithm off (TCP_NODELAY).
final class NoDelayProbe: TCPConnectionDelegate {
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(connection.socket, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length)
        connection.write(SharedBytes(string: "\(value)"))
        connection.closeAfterFlush()
    }
}

/// Answers through the cork and closes, counting the segments the socket
/// sent meanwhile (Linux `tcp_info.tcpi_segs_out`).
final class LastWordsWriter: TCPConnectionDelegate {
    static let segmentsSent = Mutex<[Int]>([])

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        let before = Self.segmentsOut(connection.socket)
        connection.write(count: 4) { $0.copyBytes(from: Array("bye\n".utf8)) }
        connection.closeAfterFlush()
        let after = Self.segmentsOut(connection.socket)
        Self.segmentsSent.withLock { $0.append(after - before) }
    }

    /// `tcpi_segs_out` (offset 136 of `struct tcp_info` since Linux 4.2;
    /// Glibc's copy of the struct stops before it).
    static func segmentsOut(_ socket: Int32) -> Int {
        var info = [UInt8](repeating: 0, count: 256)
        var length = socklen_t(info.count)
        let status = info.withUnsafeMutableBytes { getsockopt(socket, Int32(IPPROTO_TCP), TCP_INFO, $0.baseAddress, &length) }
        guard status == 0, length >= 140 else { return -1 }
        return Int(info.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 136, as: UInt32.self) })
    }
}

@Suite("TCP connections", .serialized)
struct ConnectionTests {
    @Test func manySmallWritesToASlowReaderAllArriveInOrderThenClose() throws {
        // 16 MiB in 4 KiB pieces: more than the socket buffers hold, so the
        // queue backs up and drains through the asynchronous write path.
        let pieces = 4_096, pieceSize = 4_096
        try withEchoServer(delegate: { BulkWriter(pieces: pieces, pieceSize: pieceSize) }) { _, port in
            let client = try TestSocket(port: port)
            try client.send("go")
            let received = try client.receiveUntilClosed()
            #expect(received.count == pieces * pieceSize)
            #expect(received.allSatisfy { $0 == 0x61 })
        }
        #expect(BulkWriter.maxQueued.load(ordering: .relaxed) == pieces * pieceSize)
    }

    @Test func deadlineFiresAndGracefulCloseDeliversLastWrite() throws {
        try withEchoServer(delegate: { DeadlineDelegate() }) { _, port in
            let client = try TestSocket(port: port)
            try client.send("x")
            #expect(try client.receiveUntilClosed() == Array("timeout".utf8))
        }
    }

    @Test func gracefulCloseWithUnreadInputStillDeliversTheResponse() throws {
        try withEchoServer { _, port in
            let client = try TestSocket(port: port)
            // The server closes after "!" while more input is in flight.
            try client.send(Array("!".utf8) + [UInt8](repeating: 0x20, count: 100_000))
            let received = try client.receiveUntilClosed()
            #expect(received == Array("bye".utf8))
        }
    }

    @Test func acceptedAndAdoptedSocketsHaveNagleOff() throws {
        // Accepted ones inherit it from the listening socket; adopted ones
        // (a host's hand-off) get it set.
        try withEchoServer(loops: 1, delegate: { NoDelayProbe() }) { group, port in
            let accepted = try TestSocket(port: port)
            try accepted.send("?")
            #expect(try accepted.receiveUntilClosed() == Array("1".utf8))

            let listening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { Glibc.close(listening) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(listening, $0, length) }
            }
            listen(listening, 1)
            withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listening, $0, &length) }
            }
            let client = try TestSocket(port: Int(UInt16(bigEndian: address.sin_port)))
            let handed = accept(listening, nil, nil)
            #expect(group.loops[0].execute {
                guard let connection = try? TCPConnection.adopt(socket: handed, on: group.loops[0]) else { return }
                connection.start(delegate: NoDelayProbe())
            })
            try client.send("?")
            #expect(try client.receiveUntilClosed() == Array("1".utf8))
        }
    }

    @Test func theLastBytesAndTheFINLeaveInOneSegment() throws {
        // The cork's bytes go with MSG_MORE when FIN follows them, so the
        // shutdown sets FIN on their segment: one packet fewer per close.
        try withEchoServer(loops: 1, delegate: { LastWordsWriter() }) { _, port in
            for index in 1...3 {
                let client = try TestSocket(port: port)
                try client.send("?")
                #expect(try client.receiveUntilClosed() == Array("bye\n".utf8))
                // The client's socket stays open until the count is taken:
                // its FIN would be acknowledged, one more segment.
                #expect(eventually(seconds: 60) { LastWordsWriter.segmentsSent.withLock { $0.count } == index })
            }
        }
        #expect(LastWordsWriter.segmentsSent.withLock { $0 } == [1, 1, 1])
    }

    @Test func inputThatCameWithThePeersFINIsAllReadBeforeItsEnd() throws {
        // The loop is stalled while the client sends and half-closes, so the
        // server finds the FIN already queued behind the input (RDHUP): a
        // read that fills the buffer must not be taken for the last one.
        try withEchoServer(loops: 1, delegate: { InputCounter() }) { group, port in
            for size in [1, 1_000, 65_535, 65_536, 65_537, 100_000, 150_000] {
                let client = try TestSocket(port: port)
                try client.send("x")  // accepted and reading before the stall
                usleep(20_000)
                let stalled = group.loops[0].execute { usleep(200_000) }
                #expect(stalled)
                try client.send([UInt8](repeating: 0x62, count: size - 1))
                client.shutdownWrite()
                #expect(try client.receiveUntilClosed() == Array("\(size)".utf8), "size \(size)")
            }
        }
    }

    @Test func aLoopThatStallsDoesNotCutOffAPeerFinishingAGracefulClose() throws {
        // 8 MiB queued then a graceful close; the loop is then blocked for 3 s
        // (longer than the 2 s a flush may go without progress) before the
        // client starts reading. The stall is the server's, not the peer's:
        // everything must arrive.
        let pieces = 2_048, pieceSize = 4_096
        try withEchoServer(loops: 1, delegate: { BulkWriter(pieces: pieces, pieceSize: pieceSize) }) { group, port in
            let client = try TestSocket(port: port, receiveBufferSize: 64 * 1024)
            try client.send("go")
            usleep(200_000)  // the writes are queued and the close requested
            let stalled = group.loops[0].execute { usleep(3_000_000) }
            #expect(stalled)
            client.timeoutMilliseconds = 10_000
            let received = try client.receiveUntilClosed()
            #expect(received.count == pieces * pieceSize)
        }
    }

    @Test(arguments: [ConnectionDistribution.reusePort, .singleAcceptor])
    func connectionsSpreadOverEveryLoop(distribution: ConnectionDistribution) throws {
        try withEchoServer(loops: 2, distribution: distribution) { group, port in
            let before = group.loops.map(\.acceptedConnectionCount)
            var clients: [TestSocket] = []
            for index in 0..<200 {
                let client = try TestSocket(port: port)
                try client.send("\(index)")
                clients.append(client)
            }
            for (index, client) in clients.enumerated() {
                #expect(try client.receive(count: "\(index)".utf8.count) == Array("\(index)".utf8))
            }
            let accepted = zip(group.loops.map(\.acceptedConnectionCount), before).map { $0 - $1 }
            #expect(accepted.reduce(0, +) == 200)
            #expect(accepted.allSatisfy { $0 > 0 }, "every loop served some: \(accepted)")
        }
    }
}

/// Inside its read callback writes corked pieces, shared buffers and
/// pieces larger than the cork, interleaved, numbered in order.
final class MixedWriter: TCPConnectionDelegate {
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        for index in 0..<3_000 {
            let line = Array("\(index)\n".utf8)
            switch index % 3 {
            case 0:
                connection.write(count: line.count) { target in line.withUnsafeBytes { target.copyMemory(from: $0) } }
            case 1:
                connection.write(SharedBytes(line))
            default:
                // Padded past the cork's capacity every so often.
                let padded = index % 300 == 2 ? line + [UInt8](repeating: UInt8(ascii: "\n"), count: 20_000) : line
                connection.write(count: padded.count) { target in padded.withUnsafeBytes { target.copyMemory(from: $0) } }
            }
        }
        connection.closeAfterFlush()
    }
}

/// Inside one read callback writes far more than the socket takes, in
/// pieces the cork holds (so the cork fills, flushes, and the kernel stops
/// taking them part way): each piece is its number, repeated.
final class CorkOverflowWriter: TCPConnectionDelegate {
    static let pieces = 6_000
    static let pieceSize = 4_000

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        for index in 0..<Self.pieces {
            connection.write(count: Self.pieceSize) { target in
                for offset in stride(from: 0, to: Self.pieceSize, by: 4) {
                    target.storeBytes(of: UInt32(index).bigEndian, toByteOffset: offset, as: UInt32.self)
                }
            }
        }
        connection.closeAfterFlush()
    }
}

/// Writes through `reserveCork` while it may, and notes each time it
/// refuses: input "queue" queues a write between two reservations, "close"
/// starts closing between them.
final class CorkReserver: TCPConnectionDelegate {
    static let refusals = Mutex<[String]>([])

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        func reserve(_ byte: UInt8, _ moment: String) {
            if let target = connection.reserveCork(1) {
                target.storeBytes(of: byte, as: UInt8.self)
            } else {
                Self.refusals.withLock { $0.append(moment) }
            }
        }
        reserve(UInt8(ascii: "A"), "first")
        if String(decoding: bytes, as: UTF8.self) == "queue" {
            connection.write(SharedBytes(string: "B"))
            reserve(UInt8(ascii: "X"), "after a queued write")
            connection.write(count: 1) { $0[0] = UInt8(ascii: "C") }
            connection.closeAfterFlush()
        } else {
            connection.write(count: 1) { $0[0] = UInt8(ascii: "B") }
            connection.closeAfterFlush()
            reserve(UInt8(ascii: "X"), "closing")
        }
    }
}

@Suite("Corked writes")
struct CorkTests {
    @Test func theCorkIsOnlyReservedWhileNothingIsQueuedAndWritesAreAccepted() throws {
        try withEchoServer(delegate: { CorkReserver() }) { _, port in
            let queueing = try TestSocket(port: port)
            try queueing.send("queue")
            #expect(String(decoding: try queueing.receiveUntilClosed(), as: UTF8.self) == "ABC")
            let closing = try TestSocket(port: port)
            try closing.send("close")
            #expect(String(decoding: try closing.receiveUntilClosed(), as: UTF8.self) == "AB")
            // The callback notes its last refusal after the close went out.
            for _ in 0..<1_000 where CorkReserver.refusals.withLock({ $0.count }) < 2 { usleep(10_000) }
            #expect(CorkReserver.refusals.withLock { $0 } == ["after a queued write", "closing"])
        }
    }

    /// Once the kernel refuses part of the cork, the rest is queued and
    /// every later write of the same callback must queue behind it: one
    /// written into the cork again would be lost (or overtake).
    @Test func writesPastAFullSocketInOneReadCallbackAllArriveInOrder() throws {
        try withEchoServer(delegate: { CorkOverflowWriter() }) { _, port in
            let client = try TestSocket(port: port)
            try client.send("go")
            // Not read yet: 24 MB fill the socket buffers long before the
            // callback has written them all.
            usleep(300_000)
            let received = try client.receiveUntilClosed()
            #expect(received.count == CorkOverflowWriter.pieces * CorkOverflowWriter.pieceSize)
            let pieceNumbers = stride(from: 0, to: received.count, by: CorkOverflowWriter.pieceSize).map { start in
                received[start..<(start + 4)].reduce(0) { $0 << 8 | Int($1) }
            }
            // The first piece out of place (nil: none), not 6,000 numbers.
            let misplaced = pieceNumbers.enumerated().first { $0.offset != $0.element }
            #expect(misplaced == nil)
        }
    }

    @Test func corkedQueuedAndOversizedWritesKeepTheirOrder() throws {
        try withEchoServer(delegate: { MixedWriter() }) { _, port in
            let client = try TestSocket(port: port)
            try client.send("go")
            let lines = String(decoding: try client.receiveUntilClosed(), as: UTF8.self)
                .split(separator: "\n").map { Int($0)! }
            #expect(lines == Array(0..<3_000))
        }
    }
}
