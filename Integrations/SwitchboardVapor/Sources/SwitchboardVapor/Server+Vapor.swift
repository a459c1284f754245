import HTTPTypes
public import Switchboard
public import Vapor

extension Switchboard.Server {
    /// Answers `request`, an upgrade request that reached a Vapor route, for
    /// one of this server's WebSocket routes (the request's path is matched
    /// against them as it arrived): the same checks as on Switchboard's own
    /// port (route, handshake, origin, `authenticate`, which finds the
    /// Vapor request in `Request.hostContext`), then the 101, written by
    /// Vapor, after which the connection is a Switchboard WebSocket.
    ///
    /// Return what this returns from the route (or use
    /// `routes.switchboard(_:to:)`). A refusal is an ordinary Vapor
    /// response with Switchboard's status; a request that is not an
    /// upgrade gets 426; one that cannot be handed over (HTTP/2, TLS
    /// terminated inside Vapor, an upgrade with a body) gets 501 or 400.
    public func upgrade(_ request: Vapor.Request) async -> Vapor.Response {
        guard Self.asksForUpgrade(request) else {
            return Vapor.Response(status: .upgradeRequired, headers: ["Upgrade": "websocket", "Connection": "Upgrade"])
        }
        guard request.version.major == 1, request.application.http.server.configuration.tlsConfiguration == nil else {
            request.logger.error("Switchboard hand-off needs plain HTTP/1.1 (this request: HTTP/\(request.version.major), TLS in Vapor: \(request.application.http.server.configuration.tlsConfiguration != nil))")
            return Vapor.Response(status: .notImplemented, body: "WebSocket hand-off needs plain HTTP/1.1")
        }
        // SwiftNIO would go on parsing a body behind the request, which the
        // hand-off must not lose or misread as frames.
        let contentLength = request.headers.first(name: .contentLength)
        guard request.headers[.transferEncoding].isEmpty, contentLength == nil || contentLength == "0" else {
            return Vapor.Response(status: .badRequest, body: "an upgrade request has no body")
        }
        let remoteAddress = request.remoteAddress.flatMap { address in
            address.ipAddress.flatMap { host in address.port.map { Switchboard.SocketAddress(host: host, port: $0) } }
        }
        let prepared = await prepareUpgrade(request: request.switchboardHead, remoteAddress: remoteAddress, hostContext: request)
        var headers = HTTPHeaders()
        for field in prepared.response.headerFields { headers.add(name: field.name.canonicalName, value: field.value) }
        guard prepared.isAccepted else {
            let status = prepared.response.status
            return Vapor.Response(
                status: HTTPResponseStatus(statusCode: status.code, reasonPhrase: status.reasonPhrase),
                headers: headers, body: .init(data: Data(prepared.response.body)))
        }
        let response = Vapor.Response(status: .switchingProtocols, headers: headers)
        response.upgrader = SwitchboardUpgrader(prepared: prepared)
        return response
    }

    /// `Connection: upgrade` and an `Upgrade` field, as SwiftNIO's parser
    /// (and Vapor's upgrade handler) judge an upgrade request.
    private static func asksForUpgrade(_ request: Vapor.Request) -> Bool {
        guard !request.headers[.upgrade].isEmpty else { return false }
        return request.headers[.connection].contains { value in
            value.split(separator: ",").contains { $0.lowercased().filter { !$0.isWhitespace } == "upgrade" }
        }
    }
}
