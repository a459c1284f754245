import Foundation
import JWTKit
import JWTTestSupport
import Switchboard
import SwitchboardJWT
import Testing

/// A user's claims, as an app would define them.
struct UserClaims: JWTPayload {
    var sub: SubjectClaim
    var exp: ExpirationClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Greets the token's subject.
struct Greeter: WebSocketHandler {
    func authenticate(_ request: Request) throws -> UserClaims { throw HTTPError(.internalServerError) }  // replaced by the route's
    func onOpen(_ socket: WebSocket<UserClaims>) { socket.send(text: "hello \(socket.userData.sub.value)") }
}

/// Tokens checked at the handshake by a real server, with tokens signed by
/// jwt-kit: every way a token can be carried, and every way it can be bad.
@Suite("JWT at the handshake")
struct JWTAuthenticatorTests {
    static func withServer(_ body: @Sendable (Int, JWTKeyCollection) async throws -> Void) async throws {
        let keys = await JWTKeyCollection().add(hmac: "a secret of the app, 32 bytes or more", digestAlgorithm: .sha256)
        let jwt = JWTAuthenticator<UserClaims>(keys: keys)
        let cookieJWT = JWTAuthenticator<UserClaims>(keys: keys, source: .cookie("session"))
        let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, loopCount: 1))
        let open = WebSocketConfiguration(origins: .any, pingInterval: nil)
        server.webSocket("/ws", configuration: open, handler: Greeter(), authenticate: jwt.authenticate)
        server.webSocket("/cookie", configuration: open, handler: Greeter(), authenticate: cookieJWT.authenticate)
        server.pubsubEndpoint("/realtime", configuration: open, authorizer: PubSubAuthorizer(
            authenticate: jwt.authenticate,
            canSubscribe: { socket, topic in topic == "user.\(socket.userData.sub.value)" }
        ))
        let port = try server.start().port
        do {
            try await body(port, keys)
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    static func token(_ keys: JWTKeyCollection, subject: String = "ann", expiresIn: TimeInterval = 60) async throws -> String {
        try await keys.sign(UserClaims(sub: .init(value: subject), exp: .init(value: Date().addingTimeInterval(expiresIn))))
    }

    @Test func aValidTokenInTheHeaderTheQueryOrACookieOpensWithItsClaims() async throws {
        try await Self.withServer { port, keys in
            let token = try await Self.token(keys)
            let greetings = try await onOwnThread {
                try [
                    TestWebSocket(port: port, path: "/ws", headers: ["Authorization: Bearer \(token)"]),
                    TestWebSocket(port: port, path: "/ws?access_token=\(token)"),
                    TestWebSocket(port: port, path: "/cookie", headers: ["Cookie: theme=dark; session=\(token)"]),
                ].map { try $0.receiveNonPing().text }
            }
            #expect(greetings == ["hello ann", "hello ann", "hello ann"])
        }
    }

    @Test func missingExpiredForgedAndUnsignedTokensAre401() async throws {
        try await Self.withServer { port, keys in
            let expired = try await Self.token(keys, expiresIn: -60)
            let otherKeys = await JWTKeyCollection().add(hmac: "someone else's secret, also 32 bytes long", digestAlgorithm: .sha256)
            let forged = try await Self.token(otherKeys)
            let valid = try await Self.token(keys)
            // The same claims with "alg": "none" and no signature.
            let parts = valid.split(separator: ".")
            let none = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64EncodedString()
                .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            let unsigned = "\(none).\(parts[1])."
            // The payload changed after signing.
            let tampered = "\(parts[0]).\(parts[1].dropLast())A.\(parts[2])"
            let answers = try await onOwnThread {
                try [
                    ("missing", []), ("garbage", ["Authorization: Bearer not.a.token"]), ("expired", ["Authorization: Bearer \(expired)"]),
                    ("forged", ["Authorization: Bearer \(forged)"]), ("unsigned", ["Authorization: Bearer \(unsigned)"]),
                    ("tampered", ["Authorization: Bearer \(tampered)"]), ("basic", ["Authorization: Basic YTpi"]),
                ].map { (name: String, headers: [String]) in
                    let response = try TestWebSocket.handshake(TestSocket(port: port), path: "/ws", headers: headers)
                    return "\(name): \(response.status) \(response.header("www-authenticate") ?? "-")"
                }
            }
            #expect(answers == [
                "missing: 401 Bearer", #"garbage: 401 Bearer error="invalid_token""#, #"expired: 401 Bearer error="invalid_token""#,
                #"forged: 401 Bearer error="invalid_token""#, #"unsigned: 401 Bearer error="invalid_token""#,
                #"tampered: 401 Bearer error="invalid_token""#, "basic: 401 Bearer",
            ])
        }
    }

    @Test func thePubSubEndpointAuthorizesTopicsFromTheClaims() async throws {
        try await Self.withServer { port, keys in
            let token = try await Self.token(keys, subject: "bob")
            let replies = try await onOwnThread {
                let socket = try TestWebSocket(port: port, path: "/realtime?access_token=\(token)")
                try socket.send(text: #"{"type":"subscribe","topic":"user.bob","id":1}"#)
                let own = try socket.receiveNonPing().text
                try socket.send(text: #"{"type":"subscribe","topic":"user.ann","id":2}"#)
                return [own, try socket.receiveNonPing().text]
            }
            #expect(replies[0] == #"{"type":"ack","id":1}"#)
            #expect(replies[1].contains(#""code":"forbidden""#), "\(replies[1])")
        }
    }
}
