public import HTTPTypes

/// What a route handler answers. `Content-Length` and `Date` are added when
/// the response is written; set any other field here.
public struct Response: Sendable {
    public var status: HTTPResponse.Status
    public var headerFields: HTTPFields
    public var body: [UInt8]

    public init(status: HTTPResponse.Status = .ok, headerFields: HTTPFields = [:], body: [UInt8] = []) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headerFields: [.contentType: "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    /// An `application/json` response from already-encoded JSON text.
    public static func json(_ json: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headerFields: [.contentType: "application/json"], body: Array(json.utf8))
    }

    /// A `text/html; charset=utf-8` response.
    public static func html(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headerFields: [.contentType: "text/html; charset=utf-8"], body: Array(html.utf8))
    }

    /// The body as UTF-8 text (invalid bytes replaced).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// A response with a status and no body.
    public static func status(_ status: HTTPResponse.Status) -> Response {
        Response(status: status)
    }
}

/// An error a handler can throw to answer with a status and a short text.
/// Any other error thrown by a handler becomes a 500 with no details; the
/// error itself is logged.
public struct HTTPError: Error, Sendable, Hashable {
    public var status: HTTPResponse.Status
    /// Sent to the peer as the body: keep internal details out of it.
    public var message: String
    /// Extra fields for the response (e.g. `Allow` on a 405).
    public var headerFields: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String? = nil, headerFields: HTTPFields = [:]) {
        self.status = status
        self.message = message ?? status.reasonPhrase
        self.headerFields = headerFields
    }

    var response: Response {
        var response = Response.text(message + "\n", status: status)
        response.headerFields.append(contentsOf: headerFields)
        return response
    }
}
