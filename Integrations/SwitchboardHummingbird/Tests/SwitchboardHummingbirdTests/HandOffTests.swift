import Foundation
import Glibc
import HummingbirdTestSupport
import Switchboard
import SwitchboardHummingbird
import Testing

/// A real Hummingbird app hands WebSocket upgrades to Switchboard on its
/// own port: plain routes beside them on the same connections, frames sent
/// with the request kept, refusals answered by whoever refused.
@Suite("Hummingbird hand-off")
struct HandOffTests {
    static let health = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n"

    @Test func pythonClientsSubscribeAndReceiveWhatAHummingbirdRoutePublishes() async throws {
        try await HummingbirdHost.with { host in
            let result = try await onOwnThread { try runClient(["python3", clientsFolder + "/hummingbird_client.py", "\(host.port)"]) }
            #expect(result.status == 0, "\(result.output)")
        }
    }

    @Test func anUpgradeAfterPlainRequestsOnAKeepAliveConnectionKeepsTheFramesSentWithIt() async throws {
        try await HummingbirdHost.with { host in
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
        try await HummingbirdHost.with { host in
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

    @Test func refusalsAreAnsweredByWhoeverRefused() async throws {
        try await HummingbirdHost.with { host in
            let port = host.port
            try await onOwnThread {
                func status(_ path: String, _ headers: [String] = []) throws -> (Int, String) {
                    let response = try TestWebSocket.handshake(try TestSocket(port: port), path: path, headers: headers)
                    return (response.status, response.bodyText)
                }
                // Switchboard's origin check (403), and its route table (404).
                #expect(try status("/strict", ["Origin: http://evil.example"]).0 == 403)
                #expect(try status("/strict", ["Origin: \(HummingbirdHost.origin)"]).0 == 101)
                #expect(try status("/nowhere").0 == 404)
                // The app's auth middleware (Hummingbird's 401); then Switchboard's
                // authenticate, which reads what the middleware decided.
                #expect(try status("/private/greet").0 == 401)
                let greeted = try TestWebSocket(port: port, path: "/private/greet", headers: ["Authorization: Bearer good"])
                #expect(try greeted.receiveNonPing().text == "hello alice")
                // A bad handshake is refused by Switchboard with its own status.
                let badVersion = try TestSocket(port: port)
                try badVersion.send(TestWebSocket.upgradeRequest(path: "/echo").replacingOccurrences(of: "Version: 13", with: "Version: 8"))
                #expect(try badVersion.receiveHead().status == 426)
                // Not an upgrade at all: Hummingbird answers 426 and keeps serving the connection.
                let plain = try TestSocket(port: port)
                let refused = try plain.exchange("GET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(refused.status == 426 && refused.header("upgrade") == "websocket")
                #expect(try plain.exchange(Self.health).status == 200)
            }
        }
    }

    @Test func aPlainRequestPipelinedBeforeAnUpgradeIsAnsweredAndTheUpgradeStillHappens() async throws {
        try await HummingbirdHost.with { host in
            let port = host.port
            let (plain, upgrade, echo) = try await onOwnThread {
                let socket = try TestSocket(port: port)
                // The byte handler has seen the upgrade's head before the
                // route answers the plain request for the same path.
                try socket.send(Array(("GET /echo HTTP/1.1\r\nHost: t\r\n\r\n" + TestWebSocket.upgradeRequest(path: "/echo")).utf8) + clientText("after"))
                let plain = try socket.receiveResponse()
                let upgraded = TestWebSocket(upgraded: socket, response: try socket.receiveHead())
                return (plain.status, upgraded.response.status, try upgraded.receiveNonPing().text)
            }
            #expect(plain == 426 && upgrade == 101 && echo == "after")
        }
    }

    @Test func theHandedOffSocketIsCloseOnExecAndSwiftNIOsCopyIsClosed() async throws {
        try await HummingbirdHost.with { host in
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
        try await HummingbirdHost.with { host in
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
}
