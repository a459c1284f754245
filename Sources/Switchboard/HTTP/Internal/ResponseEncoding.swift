import HTTPTypes
import SwitchboardIO
import SwitchboardWire

extension Response {
    /// Encodes head and body into one buffer for the write queue, adding
    /// `Content-Length`, `Date`, and `Connection` when the connection will
    /// close (or, for an HTTP/1.0 keep-alive, stay open).
    func encoded(date: String, connection: ConnectionHeader, omitBody: Bool) -> SharedBytes {
        var fields = headerFields
        // RFC 9110 §8.6: no Content-Length in 1xx and 204; 304 keeps the
        // headers of a GET without a body.
        let bodyAllowed = status.code >= 200 && status != .noContent && status != .notModified
        if bodyAllowed { fields[.contentLength] = String(body.count) }
        fields[.date] = date
        switch connection {
        case .close: fields[.connection] = "close"
        case .keepAlive: fields[.connection] = "keep-alive"
        case .none: break
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(160 + (omitBody ? 0 : body.count))
        serializeResponseHead(HTTPResponse(status: status, headerFields: fields), into: &buffer)
        if bodyAllowed && !omitBody { buffer.append(contentsOf: body) }
        return SharedBytes(buffer)
    }

    enum ConnectionHeader { case none, close, keepAlive }
}
