import Foundation
import Switchboard
import SwitchboardVapor
import Vapor

let clientsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Clients").path

/// Who the app's own authentication found, kept where Vapor apps keep it.
struct UserKey: StorageKey { typealias Value = String }

/// The app's auth middleware: `Authorization: Bearer good` is alice.
struct BearerMiddleware: AsyncMiddleware {
    func respond(to request: Vapor.Request, chainingTo next: any AsyncResponder) async throws -> Vapor.Response {
        guard request.headers.bearerAuthorization?.token == "good" else { throw Abort(.unauthorized) }
        request.storage[UserKey.self] = "alice"
        return try await next.respond(to: request)
    }
}

/// Sends every message back unchanged.
struct Echo: WebSocketHandler {
    func onText(_ socket: Switchboard.WebSocket<Void>, _ text: String) { socket.send(text: text) }
    func onBinary(_ socket: Switchboard.WebSocket<Void>, _ data: [UInt8]) { socket.send(binary: data) }
}

/// Subscribes to its topic; what it receives is published there.
struct TopicMember: WebSocketHandler {
    let pubsub: PubSub
    func authenticate(_ request: Switchboard.Request) throws -> String { request.parameters["name"] ?? "" }
    func onOpen(_ socket: Switchboard.WebSocket<String>) { socket.subscribe(socket.userData) }
    func onText(_ socket: Switchboard.WebSocket<String>, _ text: String) { pubsub.publish(socket.userData, text: text) }
}

/// Greets the user the app's middleware found (the Vapor request, in
/// `Request.hostContext`).
struct Greeter: WebSocketHandler {
    func authenticate(_ request: Switchboard.Request) throws -> String {
        guard let user = (request.hostContext as? Vapor.Request)?.storage[UserKey.self] else { throw Switchboard.HTTPError(.forbidden) }
        return user
    }
    func onOpen(_ socket: Switchboard.WebSocket<String>) { socket.send(text: "hello \(socket.userData)") }
}

/// A real Vapor app in this process, whose WebSocket routes are handed to
/// a Switchboard server on the app's port, which `SwitchboardLifecycle`
/// starts and stops with the app.
struct VaporHost: Sendable {
    let app: Application
    let port: Int
    let switchboard: Switchboard.Server

    static let origin = "http://app.example"

    static func start() async throws -> VaporHost {
        let switchboard = Switchboard.Server(configuration: ServerConfiguration(loopCount: 2, http: HTTPConfiguration(requestTimeout: .seconds(1)), shutdownGracePeriod: .seconds(5)))
        let open = WebSocketConfiguration(origins: .any, pingInterval: nil)
        switchboard.webSocket("/echo", configuration: open, handler: Echo())
        switchboard.webSocket("/topic/:name", configuration: open, handler: TopicMember(pubsub: switchboard.pubsub))
        switchboard.webSocket("/strict", configuration: WebSocketConfiguration(origins: .allowList([origin]), pingInterval: nil), handler: Echo())
        switchboard.webSocket("/private/greet", configuration: open, handler: Greeter())
        switchboard.webSocket("/slow", configuration: open, handler: Echo()) { _ in
            try await Task.sleep(for: .seconds(60))
        }
        switchboard.webSocket("/thoughtful", configuration: open, handler: Echo()) { _ in
            try await Task.sleep(for: .milliseconds(300))
        }

        let app = try await Application.make(.testing)
        app.logger.logLevel = .warning
        app.http.server.configuration.hostname = "127.0.0.1"
        app.http.server.configuration.port = 0
        app.lifecycle.use(SwitchboardLifecycle(switchboard))
        app.get("health") { _ in "ok" }
        app.post("publish", ":name") { request -> String in
            switchboard.pubsub.publish(request.parameters.get("name") ?? "", text: request.body.string ?? "")
            return "ok"
        }
        app.switchboard("echo", to: switchboard)
        app.switchboard("topic", ":name", to: switchboard)
        app.switchboard("strict", to: switchboard)
        app.switchboard("slow", to: switchboard)
        app.switchboard("thoughtful", to: switchboard)
        app.switchboard("nowhere", to: switchboard)
        app.grouped(BearerMiddleware()).switchboard("private", "greet", to: switchboard)
        try await app.asyncBoot()
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        guard let port = app.http.server.shared.localAddress?.port else { throw Abort(.internalServerError, reason: "no port") }
        return VaporHost(app: app, port: port, switchboard: switchboard)
    }

    /// Vapor's shutdown: its HTTP server, then the lifecycle handlers.
    func stop() async throws {
        await app.server.shutdown()
        try await app.asyncShutdown()
    }

    static func with(_ body: (VaporHost) async throws -> Void) async throws {
        let host = try await start()
        do {
            try await body(host)
        } catch {
            try? await host.stop()
            throw error
        }
        try await host.stop()
    }
}
