import Foundation
import Glibc
import SwitchboardWire

// Helpers for tests of hosts that hand connections over (the Hummingbird
// and Vapor integrations): raw frames, the process's sockets on a port.

/// A masked client text frame, as a client writes it.
public func clientText(_ text: String) -> [UInt8] {
    WebSocketFrame.encode(opcode: .text, payload: Array(text.utf8), fin: true, rsv1: false, maskingKey: (1, 2, 3, 4))
}

/// This process's sockets whose local port is `port` (the app's listener
/// and every connection it accepted, SwiftNIO's or Switchboard's), with
/// whether each is close-on-exec and its peer's port.
public func socketsOnPort(_ port: Int) -> [(fd: Int32, peerPort: Int?, closeOnExec: Bool)] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return entries.compactMap { entry in
        guard let fd = Int32(entry), localPort(fd) == port else { return nil }
        return (fd, peerPort(fd), fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
    }
}

private func localPort(_ fd: Int32) -> Int? { port(of: fd, getsockname) }
private func peerPort(_ fd: Int32) -> Int? { port(of: fd, getpeername) }

private func port(of fd: Int32, _ name: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> Int? {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { name(fd, $0, &length) } }
    guard named == 0, address.sin_family == sa_family_t(AF_INET) else { return nil }
    return Int(UInt16(bigEndian: address.sin_port))
}

extension TestSocket {
    /// The port this client connected from.
    public var localPort: Int? { port(of: fd, getsockname) }
}

/// A value behind a pthread mutex (NSLock), which Thread Sanitizer sees;
/// it does not see inside `Synchronization.Mutex`.
public final class Guarded<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
