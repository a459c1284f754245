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
        switch Int32(storage.ss_family) {
        case AF_INET:
            let (address, port) = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    (UInt32(bigEndian: $0.pointee.sin_addr.s_addr), UInt16(bigEndian: $0.pointee.sin_port))
                }
            }
            self.init(host: Self.dottedQuad(address), port: Int(port))
        case AF_INET6:
            var name = [CChar](repeating: 0, count: 64)
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

    /// "a.b.c.d" for an IPv4 address: at most 15 bytes, so a small string
    /// (no heap), written without `inet_ntop`'s round trip through a buffer
    /// (every accepted connection pays this).
    static func dottedQuad(_ address: UInt32) -> String {
        String(unsafeUninitializedCapacity: 15) { output in
            var count = 0
            for shift in stride(from: 24, through: 0, by: -8) {
                let part = Int(address >> UInt32(shift) & 0xFF)
                if part >= 100 { output[count] = UInt8(0x30 + part / 100); count += 1 }
                if part >= 10 { output[count] = UInt8(0x30 + part / 10 % 10); count += 1 }
                output[count] = UInt8(0x30 + part % 10)
                count += 1
                if shift > 0 { output[count] = UInt8(ascii: "."); count += 1 }
            }
            return count
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
