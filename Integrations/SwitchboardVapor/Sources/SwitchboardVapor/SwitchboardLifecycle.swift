public import Switchboard
public import Vapor

/// Starts a Switchboard server with a Vapor app and stops it with the app:
/// `app.lifecycle.use(SwitchboardLifecycle(server))`.
///
/// Started after the app has booted, without a listener of its own when
/// the app has not started it (connections then arrive through
/// `Server.upgrade(_:)` on Vapor's port); stopped when the app shuts down,
/// after Vapor's HTTP server, so every WebSocket client gets its 1001.
public struct SwitchboardLifecycle: LifecycleHandler {
    public let server: Switchboard.Server

    public init(_ server: Switchboard.Server) {
        self.server = server
    }

    public func didBootAsync(_ application: Application) async throws {
        do {
            try server.startWithoutListening()
        } catch ServerError.alreadyStarted {
            // Started by the app (with or without a listener of its own).
        }
    }

    public func shutdownAsync(_ application: Application) async {
        do {
            try await server.stop()
        } catch {
            application.logger.error("Switchboard did not stop cleanly: \(error)")
        }
    }
}
