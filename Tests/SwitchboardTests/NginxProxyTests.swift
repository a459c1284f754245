import Foundation
import Glibc
import Testing
import TestSupport
import SwitchboardWire

/// The ChatRoom example behind nginx, configured by the shipped
/// Examples/nginx/switchboard.conf (only its two ports replaced): plain HTTP,
/// the WebSocket handshake, frames both ways, pings, close codes and an idle
/// pause all pass through the proxy.
@Suite("nginx reverse proxy", .enabled(if: FileManager.default.isExecutableFile(atPath: NginxProxy.binary)))
struct NginxProxyTests {
    @Test func chatThroughNginx() throws {
        let chat = try ExampleProcess("ChatRoom")
        defer { chat.stop() }
        let nginx = try NginxProxy(upstreamPort: chat.port)
        defer { nginx.stop() }

        // Plain HTTP, answered by Switchboard by way of nginx.
        let health = try TestSocket(port: nginx.port).exchange("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(health.status == 200)
        #expect(health.bodyText == "ok")
        #expect(health.header("server")?.hasPrefix("nginx") == true, "the answer came through nginx")

        // Two members of one room, both connected through nginx.
        let ann = try ProxiedChatMember(port: nginx.port, name: "ann", room: "lobby")
        #expect(ann.socket.response.header("server")?.hasPrefix("nginx") == true)
        #expect(try ann.next() == ["type": "join", "name": "ann"])
        let bob = try ProxiedChatMember(port: nginx.port, name: "bob", room: "lobby")
        #expect(try bob.next() == ["type": "join", "name": "bob"])
        #expect(try ann.next() == ["type": "join", "name": "bob"])

        try bob.socket.send(text: "hello through nginx")
        #expect(try ann.next() == ["type": "message", "name": "bob", "text": "hello through nginx"])
        #expect(try bob.next() == ["type": "message", "name": "bob", "text": "hello through nginx"])

        // A ping reaches Switchboard and its pong comes back with the payload.
        try ann.socket.send(opcode: .ping, Array("are you there".utf8))
        let pong = try ann.socket.receiveNonPing()
        #expect(pong.opcode == 0xA)
        #expect(pong.text == "are you there")

        // Idle for a few seconds (well inside the configured timeout, and
        // with no Switchboard ping due): both connections are still there.
        sleep(3)
        try ann.socket.send(text: "still here")
        #expect(try bob.next() == ["type": "message", "name": "ann", "text": "still here"])
        #expect(try ann.next() == ["type": "message", "name": "ann", "text": "still here"])

        // The client's close code reaches Switchboard, which echoes it back;
        // the room hears the leave, and nginx then closes the client's side.
        try bob.socket.send(opcode: .close, [0x0F, 0xA0] + Array("bye".utf8))  // 4000
        let echo = try bob.socket.receiveNonPing()
        #expect(echo.opcode == 0x8)
        #expect(echo.closeCode == 4000)
        bob.socket.socket.shutdownWrite()
        #expect(bob.socket.socket.isClosedByPeer())
        #expect(try ann.next() == ["type": "leave", "name": "bob"])

        // A close Switchboard starts arrives with its code: ChatRoom takes at
        // most 16 KiB per message and answers more with 1009.
        try ann.socket.send(text: String(repeating: "x", count: 17 << 10))
        let tooBig = try ann.socket.receiveNonPing()
        #expect(tooBig.opcode == 0x8)
        #expect(tooBig.closeCode == 1009)
    }

    /// nginx forwards the client's Host, port included, so a browser page
    /// served through nginx passes Switchboard's same-origin check, and a
    /// foreign page still does not.
    @Test func sameOriginThroughNginx() throws {
        let chat = try ExampleProcess("ChatRoom")
        defer { chat.stop() }
        let nginx = try NginxProxy(upstreamPort: chat.port)
        defer { nginx.stop() }

        func handshake(origin: String) throws -> Int {
            let socket = try TestSocket(port: nginx.port)
            try socket.send([
                "GET /ws?name=ann&room=lobby HTTP/1.1", "Host: 127.0.0.1:\(nginx.port)", "Origin: \(origin)",
                "Upgrade: websocket", "Connection: Upgrade",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
            ].joined(separator: "\r\n") + "\r\n\r\n")
            return try socket.receiveHead().status
        }
        #expect(try handshake(origin: "http://127.0.0.1:\(nginx.port)") == 101)
        #expect(try handshake(origin: "http://elsewhere.example") == 403)
    }

    /// The tests above really depend on the configuration: without the line
    /// that forwards `Upgrade`, no WebSocket gets through.
    @Test func handshakeFailsWithoutTheUpgradeHeader() throws {
        let chat = try ExampleProcess("ChatRoom")
        defer { chat.stop() }
        let broken = try NginxProxy.shippedConfiguration()
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("proxy_set_header Upgrade") }
            .joined(separator: "\n")
        let nginx = try NginxProxy(upstreamPort: chat.port, configuration: broken)
        defer { nginx.stop() }
        let response = try TestWebSocket.handshake(TestSocket(port: nginx.port), path: "/ws?name=ann&room=lobby")
        #expect(response.status != 101)
    }

    /// nginx's WebSocket timeouts exceed Switchboard's 30 s ping interval,
    /// so a quiet but live connection is never cut by the proxy.
    @Test func timeoutsExceedThePingInterval() throws {
        let configuration = try NginxProxy.shippedConfiguration()
        for directive in ["proxy_read_timeout", "proxy_send_timeout"] {
            let value = configuration.split(separator: "\n")
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix(directive + " ") }
                .map { $0.dropFirst(directive.count + 1).trimmingCharacters(in: CharacterSet(charactersIn: " ;")) }
            let seconds = try #require(value.flatMap(NginxProxy.seconds), "\(directive)")
            #expect(seconds > 30, "\(directive) \(value ?? "")")
        }
    }
}

/// One chat member connected through the proxy.
private final class ProxiedChatMember {
    let socket: TestWebSocket

    init(port: Int, name: String, room: String) throws {
        socket = try TestWebSocket(port: port, path: "/ws?name=\(name)&room=\(room)")
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

/// An nginx master in the foreground, on a free loopback port, with every
/// file it writes (pid, logs, temp files) in its own temporary directory.
final class NginxProxy {
    static let binary = "/usr/sbin/nginx"
    static let example = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples/nginx/switchboard.conf")

    private(set) var process = Process()
    private(set) var port = 0
    let directory: URL

    static func shippedConfiguration() throws -> String {
        try String(contentsOf: example, encoding: .utf8)
    }

    /// "1h", "90s", "5m", "60" (seconds), as nginx reads a time.
    static func seconds(_ value: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = value.last, let factor = units[unit] { return Int(value.dropLast()).map { $0 * factor } }
        return Int(value)
    }

    /// Starts nginx with `configuration` (the shipped file by default), its
    /// upstream pointed at `upstreamPort`, and waits until /health answers
    /// through it.
    init(upstreamPort: Int, configuration: String? = nil) throws {
        let site = try configuration ?? Self.shippedConfiguration()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-nginx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // nginx cannot bind port 0 and report it, so the test picks a free
        // port; another test's client socket may take it before nginx binds
        // it, so a start that fails on the address is retried on another.
        var log = ""
        for _ in 0..<5 {
            let started: Bool
            do {
                started = try start(site: site, upstreamPort: upstreamPort, listenPort: TestSocketPort.free())
            } catch {
                stop()
                throw error
            }
            if started { return }
            log = (try? String(contentsOf: directory.appendingPathComponent("error.log"), encoding: .utf8)) ?? ""
            stop(removingDirectory: false)
            guard log.contains("Address already in use") else { break }
        }
        try? FileManager.default.removeItem(at: directory)
        throw TestSocket.Failure(description: "nginx did not proxy /health on port \(port): \(log)")
    }

    /// One attempt on `listenPort`: whether /health answered through nginx.
    private func start(site: String, upstreamPort: Int, listenPort: Int) throws -> Bool {
        port = listenPort
        // The two lines a user edits, each required exactly once.
        var replaced = site
        for (line, replacement) in [("server 127.0.0.1:8080;", "server 127.0.0.1:\(upstreamPort);"),
                                    ("listen 80;", "listen 127.0.0.1:\(port);")] {
            guard replaced.components(separatedBy: line).count == 2 else {
                throw TestSocket.Failure(description: "\(Self.example.path) should contain `\(line)` once")
            }
            replaced = replaced.replacingOccurrences(of: line, with: replacement)
        }
        let path = directory.path
        try? FileManager.default.removeItem(at: directory.appendingPathComponent("error.log"))
        try replaced.write(to: directory.appendingPathComponent("switchboard.conf"), atomically: true, encoding: .utf8)
        // As root, workers would otherwise run as nobody, who cannot use
        // the temp directories; as anyone else, `user` is left out (it would only warn).
        let main = """
            \(getuid() == 0 ? "user root;" : "")
            worker_processes 1;
            pid \(path)/nginx.pid;
            error_log \(path)/error.log warn;
            events { worker_connections 128; }
            http {
                access_log \(path)/access.log;
                client_body_temp_path \(path)/client_body;
                proxy_temp_path \(path)/proxy;
                fastcgi_temp_path \(path)/fastcgi;
                uwsgi_temp_path \(path)/uwsgi;
                scgi_temp_path \(path)/scgi;
                include \(path)/switchboard.conf;
            }

            """
        let configurationFile = directory.appendingPathComponent("nginx.conf")
        try main.write(to: configurationFile, atomically: true, encoding: .utf8)

        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["-p", path + "/", "-c", configurationFile.path, "-e", "\(path)/error.log", "-g", "daemon off;"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 {
            guard process.isRunning else { return false }
            // From nginx, not from whatever else may hold the port.
            if let socket = try? TestSocket(port: port),
               let health = try? socket.exchange("GET /health HTTP/1.1\r\nHost: t\r\n\r\n"),
               health.status == 200, health.header("server")?.hasPrefix("nginx") == true {
                return true
            }
            usleep(50_000)
        }
        return false
    }

    /// SIGTERM (fast shutdown: the master stops its workers and exits); after
    /// 5 s, SIGKILL to the master and the workers it had.
    func stop(removingDirectory: Bool = true) {
        defer { if removingDirectory { try? FileManager.default.removeItem(at: directory) } }
        guard process.processIdentifier != 0 else { return }  // never started
        let pid = process.processIdentifier
        let workers = ((try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? "")
            .split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        if process.isRunning { process.terminate() }
        for _ in 0..<100 where process.isRunning { usleep(50_000) }
        if process.isRunning {
            for worker in workers { kill(worker, SIGKILL) }
            kill(pid, SIGKILL)
        }
        process.waitUntilExit()
    }
}
