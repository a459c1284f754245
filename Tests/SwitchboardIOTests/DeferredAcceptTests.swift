import Glibc
import Synchronization
import Testing
import TestSupport
@testable import SwitchboardIO

/// A listener for protocols where the client speaks first
/// (`clientSpeaksFirst`, TCP_DEFER_ACCEPT): connections come with their
/// first bytes and are read in the turn that accepts them.
@Suite("Deferred accept", .serialized)
struct DeferredAcceptTests {
    @Test func aClientThatSaysNothingIsNotAcceptedOneThatSpeaksIsServed() throws {
        try withEchoServer(loops: 1, clientSpeaksFirst: 5) { group, port in
            let silent = try TestSocket(port: port)
            let speaker = try TestSocket(port: port)
            try speaker.send("hello")
            #expect(try speaker.receive(count: 5) == Array("hello".utf8))
            usleep(200_000)
            // Only the one that spoke holds a descriptor in the server.
            #expect(group.loops[0].acceptedConnectionCount == 1)
            try speaker.send("again")
            #expect(try speaker.receive(count: 5) == Array("again".utf8))
            silent.close()
        }
    }

    @Test func inputTheEndAndResetsThatCameBeforeTheAcceptAreHandled() throws {
        // The loop is held while every client connects, writes and then
        // half-closes or resets, so the accept and the first read find
        // all of it there. Echoes arrive whole; nothing is left open
        // (`withEchoServer` checks every connection closed and nothing leaked).
        try withEchoServer(loops: 1, clientSpeaksFirst: 5) { group, port in
            let loop = group.loops[0]
            let held = Atomic<Bool>(false)
            loop.execute {
                held.store(true, ordering: .releasing)
                usleep(300_000)
            }
            #expect(eventually(seconds: 5) { held.load(ordering: .acquiring) })
            var finishers: [TestSocket] = []
            for index in 0..<60 {
                let client = try TestSocket(port: port)
                try client.send("client \(index)")
                switch index % 3 {
                case 0: client.shutdownWrite(); finishers.append(client)
                case 1: client.resetClose()
                default: finishers.append(client)
                }
            }
            for (index, client) in finishers.enumerated() {
                let number = index / 2 * 3 + (index % 2 == 0 ? 0 : 2)
                #expect(try client.receive(count: "client \(number)".utf8.count) == Array("client \(number)".utf8))
                client.close()
            }
            #expect(eventually(seconds: 5) { loop.liveConnectionCount == 0 }, "live: \(loop.liveConnectionCount)")
        }
    }
}
