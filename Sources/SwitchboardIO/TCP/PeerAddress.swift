import Glibc

/// A connection's peer as the kernel reported it at accept, kept small: an
/// IPv4 address and port in one word (every connection holds one), any other
/// address as a `SocketAddress` behind a reference.
package enum PeerAddress: Sendable {
    case unknown
    case ipv4(address: UInt32, port: UInt16)
    case other(Box)

    package final class Box: Sendable {
        let address: SocketAddress
        init(_ address: SocketAddress) { self.address = address }
    }

    /// From what `accept4` or `getpeername` filled in.
    init(_ storage: sockaddr_storage) {
        var storage = storage
        if Int32(storage.ss_family) == AF_INET {
            self = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    .ipv4(address: UInt32(bigEndian: $0.pointee.sin_addr.s_addr), port: UInt16(bigEndian: $0.pointee.sin_port))
                }
            }
        } else if let address = SocketAddress(storage) {
            self = .other(Box(address))
        } else {
            self = .unknown
        }
    }

    /// The peer of a connected socket (`getpeername`), for one accepted elsewhere.
    init(ofSocket socket: Int32) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(socket, $0, &length) }
        }
        self = result == 0 ? PeerAddress(storage) : .unknown
    }

    package var socketAddress: SocketAddress? {
        switch self {
        case .unknown: nil
        case .ipv4(let address, let port): SocketAddress(host: SocketAddress.dottedQuad(address), port: Int(port))
        case .other(let box): box.address
        }
    }
}
