public import JWTKit
public import Switchboard

/// Checks a signed token (JWT, RFC 7519) at the WebSocket handshake and
/// returns its verified payload as the connection's user data:
///
/// ```swift
/// let keys = await JWTKeyCollection().add(hmac: secret, digestAlgorithm: .sha256)
/// let jwt = JWTAuthenticator<UserClaims>(keys: keys)
/// server.webSocket("/ws", handler: Chat(), authenticate: jwt.authenticate)
/// server.pubsubEndpoint("/realtime", authorizer: PubSubAuthorizer(
///     authenticate: jwt.authenticate, canSubscribe: { socket, topic in … }, canPublish: { _, _ in false }))
/// ```
///
/// The signature is checked with `keys` (the token's `kid` picks the key;
/// `alg: none` is refused), then `Payload.verify(using:)` checks the
/// claims (expiry, audience: whatever the payload type asks). A missing
/// token answers 401 with `WWW-Authenticate: Bearer`, a bad one 401 with
/// `error="invalid_token"` (RFC 6750 §3); the reason is not sent.
public struct JWTAuthenticator<Payload: JWTPayload>: Sendable {
    public let keys: JWTKeyCollection
    public let source: TokenSource

    public init(keys: JWTKeyCollection, source: TokenSource = .standard) {
        self.keys = keys
        self.source = source
    }

    /// The verified payload of the request's token, or a 401.
    @Sendable public func authenticate(_ request: Request) async throws -> Payload {
        guard let token = source.token(in: request), !token.isEmpty else {
            throw HTTPError(.unauthorized, "missing token", headerFields: [.wwwAuthenticate: "Bearer"])
        }
        do {
            return try await keys.verify(token, as: Payload.self)
        } catch {
            throw HTTPError(.unauthorized, "invalid token", headerFields: [.wwwAuthenticate: #"Bearer error="invalid_token""#])
        }
    }
}

/// Where a request carries its token.
public struct TokenSource: Sendable {
    let read: @Sendable (Request) -> String?

    public init(_ read: @escaping @Sendable (Request) -> String?) {
        self.read = read
    }

    func token(in request: Request) -> String? { read(request) }

    /// `Authorization: Bearer TOKEN` (RFC 6750 §2.1): clients that set
    /// headers (servers, native apps, Node).
    public static let authorizationHeader = TokenSource { request in
        guard let value = request.headerFields[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: " ")
    }

    /// A query parameter, `access_token` by default (RFC 6750 §2.3):
    /// browsers cannot set headers on a WebSocket. The URL may be logged
    /// along the way, so give such tokens a short life.
    public static func query(_ name: String = "access_token") -> TokenSource {
        TokenSource { $0.queryValue(name) }
    }

    /// A cookie set by the app's login (sent by the browser with the
    /// upgrade request; pair it with the same-origin check).
    public static func cookie(_ name: String) -> TokenSource {
        TokenSource { request in
            for field in request.headerFields[values: .cookie] {
                for pair in field.split(separator: ";") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    if parts.count == 2, parts[0].trimmingCharacters(in: " ") == name {
                        return String(parts[1])
                    }
                }
            }
            return nil
        }
    }

    /// The first of these sources that finds a token.
    public static func firstOf(_ sources: [TokenSource]) -> TokenSource {
        TokenSource { request in sources.lazy.compactMap { $0.token(in: request) }.first }
    }

    /// The header, then `?access_token=`.
    public static let standard = firstOf([authorizationHeader, query()])
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
