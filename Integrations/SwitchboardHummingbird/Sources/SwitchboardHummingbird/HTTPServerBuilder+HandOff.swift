public import HummingbirdCore
public import Switchboard

extension HTTPServerBuilder {
    /// Hummingbird's HTTP/1.1 server, able to hand WebSocket upgrades over
    /// to `switchboard` on the same port (``Switchboard/Server/handOff(_:context:)``,
    /// `router.switchboard(_:to:)`).
    ///
    /// If `switchboard` is not running when the app starts, it is started
    /// without a listener of its own; pass it in the application's
    /// `services` too, so that it drains and stops with the app.
    ///
    /// The hand-off needs plain HTTP/1.1 on the socket: terminate TLS in a
    /// proxy in front of the app (a request that arrives through TLS
    /// inside the app is refused with 501).
    public static func http1(
        handingOffTo switchboard: Switchboard.Server, configuration: HTTP1Channel.Configuration = .init()
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            do {
                try switchboard.startWithoutListening()
            } catch ServerError.alreadyStarted {
                // Started by the app (with or without a listener of its own).
            }
            return HandOffHTTP1Channel(http1: HTTP1Channel(responder: responder, configuration: configuration))
        }
    }
}
