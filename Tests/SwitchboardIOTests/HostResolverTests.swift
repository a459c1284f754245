import Synchronization
import Testing
import TestSupport
@testable import SwitchboardIO
import SwitchboardSync

@Suite("Host resolver")
struct HostResolverTests {
    /// Resolves on a one-loop group and returns the answer, whether the
    /// completion ran inside `resolve` (it must not) and on the loop thread.
    private func resolve(_ host: String, port: Int) async throws -> (result: Result<[SocketAddress], IOError>, ranInside: Bool, onLoop: Bool) {
        let group = try EventLoopGroup(loopCount: 1)
        let loop = group.loops[0]
        let outcome = Locked<(Result<[SocketAddress], IOError>, Bool, Bool)?>(nil)
        loop.execute {
            var returned = false
            HostResolver.resolve(host, port: port, on: loop) { result in
                outcome.withLock { $0 = (result, !returned, loop.inEventLoop) }
            }
            returned = true
        }
        _ = await eventually { outcome.withLock { $0 != nil } }
        try group.shutdownGracefully()
        let (result, ranInside, onLoop) = try #require(outcome.withLock { $0 })
        return (result, ranInside, onLoop)
    }

    @Test func aHostNameResolvesOffTheLoopAndAnswersOnIt() async throws {
        let (result, ranInside, onLoop) = try await resolve("localhost", port: 6379)
        let addresses = try result.get()
        #expect(!addresses.isEmpty)
        #expect(addresses.allSatisfy { ($0.host == "127.0.0.1" || $0.host == "::1") && $0.port == 6379 })
        #expect(!ranInside)
        #expect(onLoop)
    }

    @Test(arguments: ["127.0.0.1", "::1", "10.1.2.3"])
    func aNumericAddressIsItsOwnAnswer(host: String) async throws {
        let (result, ranInside, onLoop) = try await resolve(host, port: 80)
        #expect(try result.get() == [SocketAddress(host: host, port: 80)])
        #expect(!ranInside)
        #expect(onLoop)
    }
}
