import SwitchboardIO
import SwitchboardWire

extension TCPConnection {
    /// Answers with a final response and closes once it is written: the one
    /// path of every refusal (a malformed request, a refused upgrade, a
    /// hand-off that matches no route).
    func refuse(with response: Response, context: LoopContext) {
        context.counts.responded(status: response.status.code)
        write(response.encoded(date: context.httpDate, connection: .close, omitBody: false))
        closeAfterFlush()
    }
}

extension HTTPRefusal {
    var response: Response {
        HTTPError(status, reason, headerFields: headerFields).response
    }
}

extension HTTPError {
    /// What a handler's error becomes: an `HTTPError` answers as itself,
    /// anything else is a 500 whose details are logged, never sent.
    /// `path` is without its query (where tokens travel).
    static func response(for error: any Error, context: LoopContext, path: Substring, connection: TCPConnection? = nil) -> Response {
        if let error = error as? HTTPError { return error.response }
        if let connection {
            context.log(.error, "handler failed", connection: connection, ["path": "\(path)", "error": "\(error)"])
        } else {
            context.logger.error("handler failed", metadata: ["path": "\(path)", "error": "\(error)"])
        }
        return HTTPError(.internalServerError).response
    }
}
