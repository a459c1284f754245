import Foundation
import Testing
import TestSupport
import Switchboard
import SwitchboardRedis

/// A Redis URL's password never reaches a log line, also when the
/// connection fails and is retried.
@Suite("Redis URL in the logs")
struct RedisURLLoggingTests {
    @Test func thePasswordIsMaskedInEveryLine() async throws {
        let log = CapturedLog()
        let password = "s3cr3t-Passw0rd"
        // Nothing listens there: the backplane logs its failures and retries.
        let port = try TestSocketPort.free()
        let backplane = try RedisBackplane(
            url: "redis://:\(password)@127.0.0.1:\(port)/0",
            configuration: RedisBackplaneConfiguration(reconnectDelay: .milliseconds(20)...(.milliseconds(50)), logger: log.logger))
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, backplane: backplane, logger: log.logger))
        try server.start()
        #expect(await eventually(seconds: 5) { log.lines.contains { $0.contains("127.0.0.1:\(port)") } }, "\(log.lines)")
        try await server.stop()
        #expect(!log.lines.contains { $0.contains(password) }, "\(log.lines.filter { $0.contains(password) })")
        #expect(log.lines.contains { $0.contains(":***@") }, "\(log.lines)")
    }
}
