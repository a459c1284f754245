internal import CLibUV
import Glibc

/// An IPv4 or IPv6 address with a port.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init?(_ storage: sockaddr_storage) {
        var storage = storage
        var name = [CChar](repeating: 0, count: 64)
        switch Int32(storage.ss_family) {
        case AF_INET:
            let port = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    uv_ip4_name(address, &name, name.count)
                    return UInt16(bigEndian: address.pointee.sin_port)
                }
            }
            self.init(host: String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), port: Int(port))
        case AF_INET6:
            let port = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    uv_ip6_name(address, &name, name.count)
                    return UInt16(bigEndian: address.pointee.sin6_port)
                }
            }
            self.init(host: String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), port: Int(port))
        default:
            return nil
        }
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Parses a numeric host ("127.0.0.1", "::1"; "localhost" means
    /// 127.0.0.1) into a `sockaddr_storage` for `bind`.
    func storage() throws(IOError) -> (sockaddr_storage, socklen_t) {
        var storage = sockaddr_storage()
        let host = self.host == "localhost" ? "127.0.0.1" : self.host
        if host.contains(":") {
            _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(IOError) in
                try pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address throws(IOError) in
                    try check(uv_ip6_addr(host, Int32(port), address), "address \(self)")
                }
            }
            return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(IOError) in
            try pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address throws(IOError) in
                try check(uv_ip4_addr(host, Int32(port), address), "address \(self)")
            }
        }
        return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
    }
}
