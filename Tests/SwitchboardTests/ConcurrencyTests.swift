import Testing
import TestSupport
@testable import Switchboard

@Suite("Many clients")
struct ConcurrencyTests {
    @Test func thousandConcurrentClientsAreServedAcrossAllLoops() throws {
        raiseFileLimit()
        try withServer(loops: 2) { server, port in
            let group = server.group!
            let before = group.loops.map(\.acceptedConnectionCount)
            // All 1,000 connected at once, each with a request in flight,
            // before any response is read.
            var clients: [TestSocket] = []
            for index in 0..<1_000 {
                let client = try TestSocket(port: port)
                try client.send("GET /hello/c\(index) HTTP/1.1\r\nHost: t\r\n\r\n")
                clients.append(client)
            }
            for (index, client) in clients.enumerated() {
                #expect(try client.receiveResponse().bodyText == "hello c\(index)")
            }
            let accepted = zip(group.loops.map(\.acceptedConnectionCount), before).map { $0 - $1 }
            #expect(accepted.reduce(0, +) == 1_000)
            #expect(accepted.allSatisfy { $0 >= 100 }, "uneven spread over loops: \(accepted)")
        }
    }
}
