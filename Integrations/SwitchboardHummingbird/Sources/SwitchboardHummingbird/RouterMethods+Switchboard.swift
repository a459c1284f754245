public import Hummingbird
public import Switchboard

extension RouterMethods {
    /// A GET route that hands its WebSocket upgrades over to `server`
    /// (``Switchboard/Server/handOff(_:context:)``), which must have a
    /// WebSocket route for the same path. The app's middleware runs first.
    @discardableResult
    public func switchboard(_ path: RouterPath, to server: Switchboard.Server) -> Self {
        get(path) { request, context in try await server.handOff(request, context: context) }
    }

    /// Serves Switchboard's JavaScript client (`ClientScript`) at `path`,
    /// e.g. `"/switchboard.js"`, with `Cache-Control: no-cache` so that
    /// pages never keep an old client after a server upgrade.
    @discardableResult
    public func switchboardClientScript(at path: RouterPath) -> Self {
        let script = ByteBuffer(string: ClientScript.source)
        return get(path) { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"],
                body: .init(byteBuffer: script)
            )
        }
    }
}
