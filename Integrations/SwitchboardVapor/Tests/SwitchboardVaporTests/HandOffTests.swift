import Foundation
import Switchboard
import SwitchboardVapor
import Testing
import VaporTestSupport

/// A real Vapor app hands WebSocket upgrades to Switchboard on its own
/// port: plain routes beside them on the same connections, frames sent with
/// the request kept, refusals answered by whoever refused.
@Suite("Vapor hand-off")
struct HandOffTests {
    static let health = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n"

    @Test func pythonClientsSubscribeAndReceiveWhatAVaporRoutePublishes() async throws {
        try await VaporHost.with { host in
            let result = try await onOwnThread { try runClient(["python3", clientsFolder + "/host_client.py", "\(host.port)"]) }
            #expect(result.status == 0, "\(result.output)")
        }
    }

    @Test func anUpgradeAfterPlainRequestsOnAKeepAliveConnectionKeepsTheFramesSentWithIt() async throws {
        try await VaporHost.with { host in
            let frames = (1...20).map { "frame \($0)" }
            let echoes = try await onOwnThread {
                let socket = try TestSocket(port: host.port)
                for _ in 0..<2 {
                    let response = try socket.exchange(Self.health)
                    guard response.status == 200, response.bodyText == "ok" else { throw TestSocket.Failure(description: "health: \(response.status)") }
                }
                // The request and twenty frames in one write.
                try socket.send(Array(TestWebSocket.upgradeRequest(path: "/echo").utf8) + frames.flatMap(clientText))
                let upgraded = TestWebSocket(upgraded: socket, response: try socket.receiveHead())
                guard upgraded.response.status == 101 else { throw TestSocket.Failure(description: "upgrade: \(upgraded.response.status)") }
                return try frames.map { _ in try upgraded.receiveNonPing().text }
            }
            #expect(echoes == frames)
        }
    }

    @Test func framesSentWithTheFirstRequestOfAConnectionAreKept() async throws {
        try await VaporHost.with { host in
            // Many tries: the frames may arrive in the head's segment or after it.
            let mismatches = try await onOwnThread {
                var mismatches: [String] = []
                for attempt in 0..<50 {
                    let socket = try TestSocket(port: host.port)
                    try socket.send(Array(TestWebSocket.upgradeRequest(path: "/echo").utf8) + clientText("a\(attempt)") + clientText("b\(attempt)"))
                    let upgraded = TestWebSocket(upgraded: socket, response: try socket.receiveHead())
                    let got = [try upgraded.receiveNonPing().text, try upgraded.receiveNonPing().text]
                    if got != ["a\(attempt)", "b\(attempt)"] { mismatches.append("\(attempt): \(got)") }
                }
                return mismatches
            }
            #expect(mismatches.isEmpty)
        }
    }

    @Test func framesSentWhileAnAsyncAuthenticatorThinksAreKept() async throws {
        try await VaporHost.with { host in
            // They arrive after Vapor parsed the request and before its 101
            // (SwiftNIO's pipelining handler stops reading meanwhile, so the
            // kernel keeps them, or Vapor's upgrade buffer does).
            let echoes = try await onOwnThread {
                let socket = try TestSocket(port: host.port)
                try socket.send(TestWebSocket.upgradeRequest(path: "/thoughtful"))
                usleep(100_000)
                try socket.send(clientText("one") + clientText("two"))
                let upgraded = TestWebSocket(upgraded: socket, response: try socket.receiveHead())
                return [upgraded.response.status == 101 ? "101" : "\(upgraded.response.status)",
                        try upgraded.receiveNonPing().text, try upgraded.receiveNonPing().text]
            }
            #expect(echoes == ["101", "one", "two"])
        }
    }

    @Test func theHundredAndOneIsSwitchboardsHandshakeWithOneConnectionField() async throws {
        try await VaporHost.with { host in
            let response = try await onOwnThread {
                try TestWebSocket.handshake(try TestSocket(port: host.port), path: "/echo")
            }
            #expect(response.status == 101)
            #expect(response.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            #expect(response.header("upgrade")?.lowercased() == "websocket")
            #expect(response.header("connection")?.lowercased() == "upgrade")
            #expect(response.header("content-length") == nil && response.header("transfer-encoding") == nil)
        }
    }

    @Test func refusalsAreAnsweredByWhoeverRefused() async throws {
        try await VaporHost.with { host in
            let port = host.port
            try await onOwnThread {
                func status(_ path: String, _ headers: [String] = []) throws -> (Int, String) {
                    let response = try TestWebSocket.handshake(try TestSocket(port: port), path: path, headers: headers)
                    return (response.status, response.bodyText)
                }
                // Switchboard's origin check (403), and its route table (404).
                #expect(try status("/strict", ["Origin: http://evil.example"]).0 == 403)
                #expect(try status("/strict", ["Origin: \(VaporHost.origin)"]).0 == 101)
                #expect(try status("/nowhere").0 == 404)
                // The app's auth middleware (Vapor's 401); then Switchboard's
                // authenticate, which reads what the middleware decided.
                #expect(try status("/private/greet").0 == 401)
                let greeted = try TestWebSocket(port: port, path: "/private/greet", headers: ["Authorization: Bearer good"])
                #expect(try greeted.receiveNonPing().text == "hello alice")
                // A bad handshake is refused by Switchboard with its own status.
                let badVersion = try TestSocket(port: port)
                try badVersion.send(TestWebSocket.upgradeRequest(path: "/echo").replacingOccurrences(of: "Version: 13", with: "Version: 8"))
                #expect(try badVersion.receiveHead().status == 426)
                // An authenticator that does not answer is cut at the request timeout (1 s here).
                #expect(try status("/slow").0 == 503)
                // An upgrade with a body cannot be handed over.
                let withBody = try TestSocket(port: port)
                try withBody.send(TestWebSocket.upgradeRequest(path: "/echo").replacingOccurrences(of: "\r\n\r\n", with: "\r\nContent-Length: 2\r\n\r\nhi"))
                #expect(try withBody.receiveHead().status == 400)
                // Not an upgrade at all: 426, and the connection keeps serving.
                let plain = try TestSocket(port: port)
                let refused = try plain.exchange("GET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(refused.status == 426 && refused.header("upgrade") == "websocket")
                #expect(try plain.exchange(Self.health).status == 200)
            }
        }
    }

    @Test func theHandedOffSocketIsCloseOnExecAndSwiftNIOsCopyIsClosed() async throws {
        try await VaporHost.with { host in
            let port = host.port
            let (clientPort, sockets) = try await onOwnThread {
                let socket = try TestWebSocket(port: port, path: "/echo")
                try socket.send(text: "x")
                _ = try socket.receiveNonPing()
                let clientPort = socket.socket.localPort
                return (clientPort, socketsOnPort(port).filter { $0.peerPort == clientPort })
            }
            #expect(clientPort != nil)
            #expect(sockets.count == 1, "descriptors for the connection: \(sockets.map(\.fd))")
            #expect(sockets.allSatisfy { $0.closeOnExec })
        }
    }

    @Test func aThousandConcurrentHandOffsAreServedAndEveryDescriptorIsGivenBack() async throws {
        raiseFileLimit()
        try await VaporHost.with { host in
            let port = host.port
            let listeners = socketsOnPort(port).count
            let threads = 8
            let perThread = 125
            let failures = try await onOwnThread { () -> [String] in
                let failures = Guarded<[String]>([])
                DispatchQueue.concurrentPerform(iterations: threads) { thread in
                    var open: [TestWebSocket] = []
                    do {
                        for index in 0..<perThread {
                            let socket = try TestWebSocket(port: port, path: "/echo")
                            socket.socket.timeoutMilliseconds = 30_000
                            try socket.send(text: "\(thread)-\(index)")
                            open.append(socket)
                        }
                        for (index, socket) in open.enumerated() where try socket.receiveNonPing().text != "\(thread)-\(index)" {
                            failures.withLock { $0.append("thread \(thread): echo \(index) wrong") }
                        }
                    } catch {
                        failures.withLock { $0.append("thread \(thread) after \(open.count): \(error)") }
                    }
                    for socket in open { socket.socket.close() }
                }
                return failures.withLock { $0 }
            }
            #expect(failures.isEmpty, "\(failures.prefix(5))")
            let drained = await eventually(seconds: 20) { socketsOnPort(port).count == listeners }
            #expect(drained, "sockets on the app's port: \(socketsOnPort(port).count), listeners \(listeners)")
        }
    }

    @Test func shuttingTheAppDownSendsEveryWebSocket1001AndStopsSwitchboard() async throws {
        let host = try await VaporHost.start()
        let port = host.port
        let clients = try await onOwnThread { try (0..<20).map { _ in try TestWebSocket(port: port, path: "/topic/news") } }
        let started = ContinuousClock.now
        try await host.stop()
        let took = ContinuousClock.now - started
        let codes = try await onOwnThread { try clients.map { try $0.receiveNonPing().closeCode } }
        #expect(codes.allSatisfy { $0 == 1001 }, "\(codes)")
        // Switchboard's grace period is 5 s; nothing waited for it.
        #expect(took < .seconds(5), "shutdown took \(took)")
        #expect(host.switchboard.isDraining && host.switchboard.webSocketCount == 0)
        #expect(socketsOnPort(port).isEmpty, "sockets left on the app's port: \(socketsOnPort(port).count)")
    }
}
