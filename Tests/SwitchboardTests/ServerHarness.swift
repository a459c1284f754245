import Glibc
import Testing
import TestSupport
@testable import Switchboard

/// Starts a server on a free loopback port with the routes the tests use,
/// runs `body`, then stops it and checks that no handle or connection
/// object was left behind.
func withServer(
    loops: Int = 2,
    http: HTTPConfiguration = HTTPConfiguration(),
    routes: (Router) -> Void = { _ in },
    _ body: (Server, Int) throws -> Void
) throws {
    let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, loopCount: loops, http: http))
    server.router.get("/health") { _ in .text("ok") }
    server.router.post("/echo") { request in
        Response(status: .ok, headerFields: [.contentType: "application/octet-stream"], body: request.body)
    }
    server.router.get("/hello/:name") { request in .text("hello \(request.parameters["name"]!)") }
    server.router.get("/query") { request in .text(request.queryValue("q") ?? "-") }
    server.router.get("/teapot") { _ in throw HTTPError(.init(code: 418, reasonPhrase: "I'm a teapot"), "short and stout") }
    server.router.get("/crash") { _ in throw SecretError() }
    routes(server.router)
    let address = try server.start()
    let group = server.group!
    defer {
        #expect(throws: Never.self) { try server.stop() }
        #expect(group.loops.map(\.liveConnectionCount).allSatisfy { $0 == 0 }, "connection objects leaked")
    }
    try body(server, address.port)
}

/// `withServer` for async tests: the same server, stopped without holding
/// a thread of the cooperative pool.
func withServer(
    loops: Int = 2,
    http: HTTPConfiguration = HTTPConfiguration(),
    routes: (Router) -> Void = { _ in },
    _ body: (Server, Int) async throws -> Void
) async throws {
    let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, loopCount: loops, http: http))
    routes(server.router)
    let address = try server.start()
    let group = server.group!
    do {
        try await body(server, address.port)
    } catch {
        try? await server.stop()
        throw error
    }
    await #expect(throws: Never.self) { try await server.stop() }
    #expect(group.loops.map(\.liveConnectionCount).allSatisfy { $0 == 0 }, "connection objects leaked")
}

struct SecretError: Error, CustomStringConvertible {
    var description: String { "database password is hunter2" }
}
