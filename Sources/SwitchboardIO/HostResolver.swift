internal import CLibUV
import Glibc

/// Host-name lookups that never block an event loop.
///
/// `getaddrinfo` may wait seconds on a slow or unreachable DNS server; on a
/// loop thread that would stall every connection of the loop. This runs it
/// on libuv's thread pool (`uv_getaddrinfo`) and calls back on the loop.
/// Numeric addresses skip the pool.
package enum HostResolver {
    /// Resolves `host` to the addresses a TCP connection to `port` can try,
    /// in the resolver's order (at least one on success). Call on `loop`'s
    /// thread; `completion` runs there too, later (never inside this call).
    package static func resolve(
        _ host: String, port: Int, on loop: EventLoop,
        _ completion: @escaping (Result<[SocketAddress], IOError>) -> Void
    ) {
        loop.assertInEventLoop()
        if isNumeric(host) {
            let lookup = Lookup(completion)
            loop.execute { lookup.completion(.success([SocketAddress(host: host, port: port)])) }
            return
        }
        let request = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passRetained(Lookup(completion)).toOpaque()
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        let started = uv_getaddrinfo(loop.uvLoop, request, { request, status, answers in
            let lookup = Unmanaged<Lookup>.fromOpaque(request!.pointee.data).takeRetainedValue()
            request!.deallocate()
            defer { uv_freeaddrinfo(answers) }
            lookup.finish(status: status, answers: answers)
        }, host, String(port), &hints)
        if started < 0 {
            let lookup = Unmanaged<Lookup>.fromOpaque(request.pointee.data).takeRetainedValue()
            request.deallocate()
            loop.execute { lookup.finish(status: started, answers: nil) }
        }
    }

    private static func isNumeric(_ host: String) -> Bool {
        var bytes = (UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &bytes) { buffer in
            uv_inet_pton(AF_INET, host, buffer.baseAddress) == 0 || uv_inet_pton(AF_INET6, host, buffer.baseAddress) == 0
        }
    }

    /// The completion, carried through libuv and task hops that require
    /// `Sendable`; it only ever runs on the loop that asked.
    private final class Lookup: @unchecked Sendable {
        let completion: (Result<[SocketAddress], IOError>) -> Void
        init(_ completion: @escaping (Result<[SocketAddress], IOError>) -> Void) {
            self.completion = completion
        }

        func finish(status: Int32, answers: UnsafeMutablePointer<addrinfo>?) {
            guard status == 0 else {
                return completion(.failure(IOError(code: status, operation: "getaddrinfo")))
            }
            var found: [SocketAddress] = []
            var answer = answers
            while let current = answer {
                if let address = current.pointee.ai_addr, current.pointee.ai_addrlen <= MemoryLayout<sockaddr_storage>.size {
                    var storage = sockaddr_storage()
                    withUnsafeMutableBytes(of: &storage) { target in
                        target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(current.pointee.ai_addrlen)))
                    }
                    if let resolved = SocketAddress(storage), !found.contains(resolved) { found.append(resolved) }
                }
                answer = current.pointee.ai_next
            }
            guard !found.isEmpty else {
                return completion(.failure(IOError(code: UV_EAI_NONAME.rawValue, operation: "getaddrinfo")))
            }
            completion(.success(found))
        }
    }
}
