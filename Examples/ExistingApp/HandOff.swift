import Switchboard

/// For a host with its own HTTP server instead of Switchboard's router:
/// when its parser has read the head of a request for `/realtime` with
/// `Upgrade: websocket`, it calls this instead of answering.
///
/// - `socket`: the accepted TCP socket. From this call on it belongs to
///   Switchboard, which closes it on every path; the host forgets it.
/// - `head`: the request as the host parsed it (method, path with query,
///   authority from `Host`, the other header fields).
/// - `leftover`: bytes the host read past the end of the head; they may be
///   the client's first WebSocket frames.
///
/// The request meets the same checks as one Switchboard received itself
/// (route, handshake, origin, the authorizer), and a refusal is answered on
/// the socket. `server` must be started (`start()`); this example's own
/// router never calls this, it is here to show the call.
func handOff(_ server: Server, socket: Int32, head: HTTPRequest, leftover: [UInt8]) {
    do {
        try server.handleUpgrade(socket: socket, request: head, bufferedBytes: leftover)
    } catch {
        // Only when the server is not running; the socket is closed already.
        print("hand-off refused: \(error)")
    }
}
