import Foundation
import Hummingbird
import HummingbirdTestSupport
import Logging
import ServiceLifecycle
import Switchboard
import SwitchboardHummingbird

/// What the app's own authentication decided, as Hummingbird apps keep it:
/// in their request context.
struct AppContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var user: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// The app's auth middleware: `/private…` needs `Authorization: Bearer good`.
struct BearerMiddleware: RouterMiddleware {
    func handle(_ request: Hummingbird.Request, context: AppContext, next: (Hummingbird.Request, AppContext) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/private") else { return try await next(request, context) }
        guard request.headers[.authorization] == "Bearer good" else { throw Hummingbird.HTTPError(.unauthorized) }
        var context = context
        context.user = "alice"
        return try await next(request, context)
    }
}

/// Sends every message back unchanged.
struct Echo: WebSocketHandler {
    func onText(_ socket: WebSocket<Void>, _ text: String) { socket.send(text: text) }
    func onBinary(_ socket: WebSocket<Void>, _ data: [UInt8]) { socket.send(binary: data) }
}

/// Subscribes to its topic; what it receives is published there.
struct TopicMember: WebSocketHandler {
    let pubsub: PubSub
    func authenticate(_ request: Switchboard.Request) throws -> String { request.parameters["name"] ?? "" }
    func onOpen(_ socket: WebSocket<String>) { socket.subscribe(socket.userData) }
    func onText(_ socket: WebSocket<String>, _ text: String) { pubsub.publish(socket.userData, text: text) }
}

/// Greets the user the app's middleware found (Request.hostContext).
struct Greeter: WebSocketHandler {
    func authenticate(_ request: Switchboard.Request) throws -> String {
        guard let user = (request.hostContext as? AppContext)?.user else { throw Switchboard.HTTPError(.forbidden) }
        return user
    }
    func onOpen(_ socket: WebSocket<String>) { socket.send(text: "hello \(socket.userData)") }
}

/// A real Hummingbird app in this process, whose WebSocket routes are
/// handed off to a Switchboard server on the app's port, run in a
/// `ServiceGroup` as an app would.
struct HummingbirdHost: Sendable {
    let port: Int
    let switchboard: Switchboard.Server
    let group: ServiceGroup
    private let running: Task<Void, any Error>

    static let origin = "http://app.example"

    static func start(loopCount: Int = 2) async throws -> HummingbirdHost {
        let switchboard = Server(configuration: ServerConfiguration(loopCount: loopCount, shutdownGracePeriod: .seconds(5)))
        let open = WebSocketConfiguration(origins: .any, pingInterval: nil)
        switchboard.webSocket("/echo", configuration: open, handler: Echo())
        switchboard.webSocket("/topic/:name", configuration: open, handler: TopicMember(pubsub: switchboard.pubsub))
        switchboard.webSocket("/strict", configuration: WebSocketConfiguration(origins: .allowList([origin]), pingInterval: nil), handler: Echo())
        switchboard.webSocket("/private/greet", configuration: open, handler: Greeter())

        let router = Hummingbird.Router(context: AppContext.self)
        router.add(middleware: BearerMiddleware())
        router.get("/health") { _, _ in "ok" }
        router.post("/publish/:name") { request, context -> String in
            let body = try await request.body.collect(upTo: 1 << 20)
            switchboard.pubsub.publish(context.parameters.get("name") ?? "", text: String(buffer: body))
            return "ok"
        }
        for path in ["/echo", "/topic/:name", "/strict", "/private/greet", "/nowhere"] {
            router.switchboard(RouterPath(path), to: switchboard)
        }

        let (ports, portFound) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            server: .http1(handingOffTo: switchboard),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            services: [switchboard],
            onServerRunning: { channel in portFound.yield(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "app")
        )
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: Logger(label: "group")))
        let running = Task { try await group.run() }
        var port = 0
        for await found in ports {
            port = found
            break
        }
        return HummingbirdHost(port: port, switchboard: switchboard, group: group, running: running)
    }

    /// Graceful shutdown of the whole group; returns when it has stopped.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// Waits for the group to end by itself; rethrows why.
    func waitUntilStopped() async throws {
        try await running.value
    }

    static func with(_ body: (HummingbirdHost) async throws -> Void) async throws {
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
