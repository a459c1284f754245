import Foundation
import Glibc
import Testing
import TestSupport

/// Two ChatRoom processes sharing one Redis (REDIS_URL), behind nginx with
/// the shipped Examples/nginx/switchboard.conf, its two-node lines
/// uncommented: members on different nodes are one chat.
@Suite("ChatRoom on two nodes", .enabled(if: FileManager.default.isExecutableFile(atPath: NginxProxy.binary)
    && FileManager.default.isExecutableFile(atPath: RedisServerProcess.binary)))
struct RedisChatRoomTests {
    @Test func membersOnTwoNodesTalkThroughNginx() throws {
        let redis = try RedisServerProcess()
        let nodes = try (0..<2).map { _ in try ExampleProcess("ChatRoom", environment: ["REDIS_URL": redis.url]) }
        defer { for node in nodes { node.stop() } }
        let nginx = try NginxProxy(upstreamPort: nodes[0].port, configuration: Self.twoNodeConfiguration(secondPort: nodes[1].port))
        defer { nginx.stop() }

        // The balancer is sticky per client address: clients from other
        // loopback addresses stand for other machines.
        let ann = try ChatMember(port: nginx.port, name: "ann", from: "127.0.0.2")
        #expect(try ann.next() == ["type": "join", "name": "ann"])
        #expect(eventually { (try? redis.lobbyNodes()) == 1 })
        // Find an address the hash sends to the other node: Redis then has
        // both nodes subscribed to the room.
        var bob: ChatMember?
        for host in 3...40 where bob == nil {
            let candidate = try ChatMember(port: nginx.port, name: "bob", from: "127.0.0.\(host)")
            #expect(try candidate.next() == ["type": "join", "name": "bob"])
            #expect(try ann.next() == ["type": "join", "name": "bob"])
            if eventually(seconds: 1, { (try? redis.lobbyNodes()) == 2 }) {
                bob = candidate
            } else {
                try candidate.socket.send(opcode: .close, [0x03, 0xE8])
                #expect(try ann.next() == ["type": "leave", "name": "bob"])
            }
        }
        let other = try #require(bob, "no client address reached the second node")

        try other.socket.send(text: "hello from the other node")
        #expect(try ann.next() == ["type": "message", "name": "bob", "text": "hello from the other node"])
        #expect(try other.nextMessage() == ["type": "message", "name": "bob", "text": "hello from the other node"])
        try ann.socket.send(text: "hi bob")
        #expect(try other.nextMessage() == ["type": "message", "name": "ann", "text": "hi bob"])
        #expect(try ann.next() == ["type": "message", "name": "ann", "text": "hi bob"])

        // Exactly once: nothing else is on its way to either member.
        for member in [ann, other] {
            member.socket.socket.timeoutMilliseconds = 300
            #expect(throws: TestSocket.Failure.self) { try member.socket.receiveNonPing() }
            member.socket.socket.timeoutMilliseconds = 5_000
        }
        try other.socket.send(opcode: .close, [0x03, 0xE8])
        #expect(try ann.next() == ["type": "leave", "name": "bob"])
        #expect(eventually { (try? redis.lobbyNodes()) == 1 })
    }

    /// The shipped file with its commented two-node lines turned on; the
    /// first node's line stays for NginxProxy to fill in.
    static func twoNodeConfiguration(secondPort: Int) throws -> String {
        var configuration = try NginxProxy.shippedConfiguration()
        for (line, replacement) in [("# hash $remote_addr consistent;", "hash $remote_addr consistent;"),
                                    ("# server 127.0.0.1:8081;", "server 127.0.0.1:\(secondPort);")] {
            #expect(configuration.components(separatedBy: line).count == 2, "switchboard.conf should contain `\(line)` once")
            configuration = configuration.replacingOccurrences(of: line, with: replacement)
        }
        return configuration
    }
}

extension RedisServerProcess {
    /// Nodes subscribed to the chat's lobby.
    func lobbyNodes() throws -> Int {
        guard case .array(let reply) = try call("PUBSUB", "NUMSUB", "switchboard:room.lobby"), reply.count == 2,
              case .integer(let count) = reply[1] else { return -1 }
        return count
    }
}

/// A chat member in the lobby, connected through the proxy from `host`.
private final class ChatMember {
    let socket: TestWebSocket

    init(port: Int, name: String, from host: String) throws {
        socket = try TestWebSocket(port: port, path: "/ws?name=\(name)&room=lobby", sourceHost: host)
    }

    /// The next event, as string fields.
    func next() throws -> [String: String] {
        let frame = try socket.receiveNonPing()
        guard frame.opcode == 1, let object = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: String] else {
            throw TestSocket.Failure(description: "not a chat event: opcode \(frame.opcode) \(frame.text)")
        }
        return object
    }
}

extension ChatMember {
    /// The next chat message, past join and leave notices: the second node
    /// subscribes to the room in Redis when its first member joins, and a
    /// rejected candidate's "leave", published on the first node just
    /// before, may reach Redis after that subscription and so arrive here.
    func nextMessage() throws -> [String: String] {
        while true {
            let event = try next()
            if event["type"] == "message" { return event }
        }
    }
}
