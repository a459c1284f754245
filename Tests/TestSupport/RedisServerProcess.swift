public import Foundation
import Glibc

/// A redis-server of the test's own, on a free loopback port, with nothing
/// saved to disk. `kill()` and `restart()` play an outage; the process is
/// killed when the object goes away, so a failing test leaves none behind.
public final class RedisServerProcess {
    public static let binary = "/usr/bin/redis-server"
    public private(set) var port = 0
    private var process: Process?
    public let directory: URL

    private let extraArguments: [String]

    /// On `port`, or on a free one.
    public init(port: Int? = nil, extraArguments: [String] = []) throws {
        self.extraArguments = extraArguments
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let port {
            self.port = port
            if try launch() { return }
            throw TestSocket.Failure(description: "redis-server did not start on port \(port)")
        }
        // The port is picked here and bound by redis a moment later, so
        // another test's socket may take it first: retry on another.
        for _ in 0..<5 {
            self.port = try TestSocketPort.free()
            if try launch() { return }
        }
        throw TestSocket.Failure(description: "redis-server did not answer PING on port \(self.port)")
    }

    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts redis-server on `port` and waits for PONG; false when it died.
    private func launch() throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", directory.path, "--daemonize", "no", "--loglevel", "warning"] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        watch(process.processIdentifier)
        for _ in 0..<200 {
            guard process.isRunning else { return false }
            switch try? RESPClient(port: port).call("PING") {
            case .simple("PONG"), .error("NOAUTH Authentication required."): return true
            default: break
            }
            usleep(25_000)
        }
        kill()
        return false
    }

    /// A shell that kills redis-server if this test process dies first
    /// (a crash skips deinit; redis would live on as an orphan).
    private func watch(_ redis: pid_t) {
        watchdog?.terminate()
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
        watchdog.arguments = ["-c", "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; kill -9 \(redis)"]
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try? watchdog.run()
        self.watchdog = watchdog
    }
    private var watchdog: Process?

    /// SIGKILL: Redis vanishes without closing anything politely.
    public func kill() {
        watchdog?.terminate()
        watchdog = nil
        guard let process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        Glibc.kill(process.processIdentifier, SIGCONT)  // a paused process dies only once it runs
        process.waitUntilExit()
    }

    /// SIGSTOP: Redis keeps its connections but answers nothing.
    public func pause() {
        if let process, process.isRunning { Glibc.kill(process.processIdentifier, SIGSTOP) }
    }

    /// SIGCONT after `pause()`.
    public func resume() {
        if let process, process.isRunning { Glibc.kill(process.processIdentifier, SIGCONT) }
    }

    /// Starts a new redis-server on the same port (empty: no subscriptions).
    public func restart() throws {
        kill()
        for _ in 0..<20 {
            if try launch() { return }
            usleep(100_000)
        }
        throw TestSocket.Failure(description: "redis-server did not restart on port \(port)")
    }

    /// One command on a connection kept between calls: tests poll Redis
    /// in tight loops, and a connection per poll would fill loopback with
    /// TIME_WAIT ports that the suite's many-connection tests need.
    public func call(_ arguments: String...) throws -> RESPValue {
        do {
            let client = try connection ?? RESPClient(port: port)
            connection = client
            return try client.call(arguments)
        } catch {
            connection = nil  // Redis was killed or restarted: next call reconnects
            throw error
        }
    }
    private var connection: RESPClient?

    /// Two commands on one connection (AUTH, then what needs it).
    public func call(_ first: [String], then second: [String]) throws -> RESPValue {
        let client = try RESPClient(port: port)
        _ = try client.call(first)
        return try client.call(second)
    }

    /// Channels with at least one subscriber, matching `pattern`.
    public func channels(_ pattern: String = "*") throws -> Set<String> {
        guard case .array(let items) = try call("PUBSUB", "CHANNELS", pattern) else { return [] }
        return Set(items.compactMap { if case .bulk(let name) = $0 { return name } else { return nil } })
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A reply in RESP2.
public enum RESPValue: Equatable {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk(String?)
    case array([RESPValue])
}

/// A blocking RESP2 client: one command, one reply.
public final class RESPClient {
    public let socket: TestSocket

    public init(port: Int) throws {
        socket = try TestSocket(port: port)
        socket.timeoutMilliseconds = 2_000
    }

    public func call(_ arguments: String...) throws -> RESPValue { try call(arguments) }

    public func call(_ arguments: [String]) throws -> RESPValue {
        var command = "*\(arguments.count)\r\n"
        for argument in arguments { command += "$\(argument.utf8.count)\r\n\(argument)\r\n" }
        try socket.send(command)
        return try readValue()
    }

    private func readLine() throws -> String {
        var line: [UInt8] = []
        while line.suffix(2) != [13, 10] { line += try socket.receive(count: 1) }
        return String(decoding: line.dropLast(2), as: UTF8.self)
    }

    private func readValue() throws -> RESPValue {
        let line = try readLine()
        let body = String(line.dropFirst())
        switch line.first {
        case "+": return .simple(body)
        case "-": return .error(body)
        case ":": return .integer(Int(body) ?? 0)
        case "$":
            let length = Int(body) ?? -1
            guard length >= 0 else { return .bulk(nil) }
            let bytes = try socket.receive(count: length + 2)
            return .bulk(String(decoding: bytes.dropLast(2), as: UTF8.self))
        case "*":
            return .array(try (0..<max(Int(body) ?? 0, 0)).map { _ in try readValue() })
        default:
            throw TestSocket.Failure(description: "not RESP: \(line)")
        }
    }
}
