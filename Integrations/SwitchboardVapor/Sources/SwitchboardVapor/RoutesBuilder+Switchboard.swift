public import Switchboard
public import Vapor

extension RoutesBuilder {
    /// Hands upgrade requests at `path` to `server`'s WebSocket route of
    /// the same path: `app.switchboard("topic", ":name", to: server)`.
    /// Vapor's middleware on this builder runs first.
    @discardableResult
    public func switchboard(_ path: PathComponent..., to server: Switchboard.Server) -> Route {
        on(.GET, path) { request async -> Vapor.Response in await server.upgrade(request) }
    }

    /// Serves Switchboard's JavaScript client at `path`
    /// (`ClientScript.source`), for pages the app serves.
    @discardableResult
    public func switchboardClientScript(_ path: PathComponent...) -> Route {
        on(.GET, path) { _ -> Vapor.Response in
            Vapor.Response(status: .ok, headers: ["Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache"], body: .init(string: ClientScript.source))
        }
    }
}
