import Glibc
import Testing

@testable import SwitchboardIO

@Suite("SocketAddress")
struct SocketAddressTests {
    @Test("IPv4 hosts are written as inet_ntop writes them")
    func dottedQuadMatchesInetNtop() {
        var generator = SystemRandomNumberGenerator()
        let edges: [UInt32] = [0, 0x7F00_0001, 0xFFFF_FFFF, 0x0A00_000A, 0x6463_0900, 0x0909_6464, 0xC0A8_0101]
        for address in edges + (0..<2_000).map({ _ in generator.next() as UInt32 }) {
            var raw = in_addr(s_addr: address.bigEndian)
            var name = [CChar](repeating: 0, count: 16)
            inet_ntop(AF_INET, &raw, &name, 16)
            let expected = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(SocketAddress.dottedQuad(address) == expected)
        }
    }

    @Test("a sockaddr_in becomes host and port")
    func fromStorage() throws {
        var storage = sockaddr_storage()
        withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                $0.pointee.sin_family = sa_family_t(AF_INET)
                $0.pointee.sin_port = UInt16(54_321).bigEndian
                $0.pointee.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            }
        }
        let address = try #require(SocketAddress(storage))
        #expect(address == SocketAddress(host: "127.0.0.1", port: 54_321))
    }
}
