import Foundation
import Testing
import TestSupport
@testable import Switchboard

/// BenchHost against every row of the bench harness's PROTOCOL.md, as its own
/// process, the way the bench harness drives it.
@Suite("BenchHost speaks the bench protocol")
struct BenchHostProtocolTests {
    @Test func everyRowOfTheProtocol() throws {
        let host = try ExampleProcess("BenchHost")
        defer { host.stop() }
        let port = host.port

        // GET /health: plain 200, body ok.
        let health = try TestSocket(port: port).exchange("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(health.status == 200)
        #expect(health.bodyText == "ok")

        // /echo: every message back unchanged, opcode kept; 16 MiB accepted;
        // no Origin and no subprotocol needed.
        let echo = try TestWebSocket(port: port, path: "/echo")
        try echo.send(text: "text stays text")
        #expect(try echo.receiveNonPing() == .init(opcode: 1, fin: true, payload: Array("text stays text".utf8)))
        try echo.send(opcode: .binary, [0, 255, 7])
        #expect(try echo.receiveNonPing() == .init(opcode: 2, fin: true, payload: [0, 255, 7]))
        let large = [UInt8](repeating: 42, count: 16 << 20)
        try echo.send(opcode: .binary, large)
        let back = try echo.receiveNonPing()
        #expect(back.payload.count == large.count)
        #expect(back.payload == large)

        // /topic/NAME: subscribed to NAME; what it sends reaches every
        // subscriber of NAME, itself included, opcode kept; other topics
        // see nothing.
        let first = try TestWebSocket(port: port, path: "/topic/a")
        let second = try TestWebSocket(port: port, path: "/topic/a")
        let other = try TestWebSocket(port: port, path: "/topic/b")
        usleep(100_000)  // subscriptions land on their loops
        try first.send(opcode: .binary, [1, 2, 3])
        try second.send(text: "hello")
        for subscriber in [first, second] {
            let messages = try [subscriber.receiveNonPing(), subscriber.receiveNonPing()]
            #expect(messages.contains(.init(opcode: 2, fin: true, payload: [1, 2, 3])))
            #expect(messages.contains(.init(opcode: 1, fin: true, payload: Array("hello".utf8))))
        }

        // POST /publish/NAME: the body, as one binary message, to NAME; 200.
        let published = try TestSocket(port: port).exchange(
            "POST /publish/b HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nnews")
        #expect(published.status == 200)
        #expect(try other.receiveNonPing() == .init(opcode: 2, fin: true, payload: Array("news".utf8)))
        let publisher = try TestSocket(port: port)
        try publisher.send("POST /publish/b HTTP/1.1\r\nHost: t\r\nContent-Length: \(large.count)\r\n\r\n")
        try publisher.send(large)
        #expect(try publisher.receiveResponse().status == 200)
        #expect(try other.receiveNonPing().payload.count == large.count)

        // Same order for every subscriber of a topic.
        for index in 0..<200 { try first.send(text: "\(index)") }
        for subscriber in [first, second] {
            #expect(try (0..<200).map { _ in try subscriber.receiveNonPing().text } == (0..<200).map { "\($0)" })
        }
    }
}
