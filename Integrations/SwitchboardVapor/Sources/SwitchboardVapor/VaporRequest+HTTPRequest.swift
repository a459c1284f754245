import HTTPTypes
import Vapor

extension Vapor.Request {
    /// The request's head as Switchboard reads it: Host becomes the
    /// authority (HTTPTypes carries it there only), every other field is
    /// kept in order; a field name HTTPTypes rejects is left out (SwiftNIO's
    /// parser lets none through).
    var switchboardHead: HTTPRequest {
        var fields = HTTPFields()
        var authority: String?
        for (name, value) in headers {
            if name.lowercased() == "host" {
                authority = authority ?? value
            } else if let name = HTTPField.Name(name) {
                fields.append(HTTPField(name: name, value: value))
            }
        }
        return HTTPRequest(method: HTTPRequest.Method(method.rawValue) ?? .get, scheme: nil, authority: authority, path: url.string, headerFields: fields)
    }
}
