import SwitchboardIO

/// An accepted upgrade whose `async` authentication runs in a task. It
/// holds the connection meanwhile, as its delegate, and settles once, on
/// the loop: the task's answer opens the WebSocket (fed what the client
/// sent meanwhile) or refuses; the request timeout refuses with 503 and
/// cancels the task; the client leaving first (EOF, reset) cancels it and
/// the handler never hears of the connection.
///
/// It reads on while waiting, so that a client that leaves is noticed,
/// and keeps what arrives (frames a client sends before its 101) up to
/// `inputLimit`; past that it stops reading and TCP flow control holds
/// the rest.
///
/// Safe to share with the task: its state is touched on the connection's
/// loop only; the task only runs `authenticate` and hands the result to
/// the loop.
final class PendingUpgrade<Handler: WebSocketHandler>: TCPConnectionDelegate, @unchecked Sendable {
    private let upgrade: AcceptedUpgrade
    private let handler: Handler
    private let authenticate: @Sendable (Request) async throws -> Handler.UserData
    private var task: Task<Void, Never>?
    private var isSettled = false
    private var input: [UInt8]
    static var inputLimit: Int { 64 * 1024 }

    init(_ upgrade: AcceptedUpgrade, handler: Handler, authenticate: @escaping @Sendable (Request) async throws -> Handler.UserData) {
        self.upgrade = upgrade
        self.handler = handler
        self.authenticate = authenticate
        input = upgrade.bufferedBytes
    }

    private var connection: TCPConnection { upgrade.connection }

    func begin() {
        // An adopted connection (a hand-off) starts reading here; one from
        // the HTTP handler reads on.
        connection.start(delegate: self)
        if input.count >= Self.inputLimit { connection.pauseReading() }
        connection.setDeadline(after: upgrade.context.configuration.http.requestTimeout.milliseconds)
        let loop = connection.loop
        let request = upgrade.request
        task = Task { [authenticate] in
            let result: Result<Handler.UserData, any Error>
            do {
                result = .success(try await authenticate(request))
            } catch {
                result = .failure(error)
            }
            // A loop that has stopped closed the connection already.
            _ = loop.execute { self.settle(result) }
        }
    }

    private func settle(_ result: Result<Handler.UserData, any Error>) {
        guard !isSettled else { return }
        isSettled = true
        task = nil
        guard connection.isOpen else {
            upgrade.settled?(.clientLeft)
            return
        }
        connection.setDeadline(after: nil)
        switch result {
        case .success(let userData):
            // Reading resumes first: the WebSocket may pause it again at
            // once (the bytes kept meanwhile can fill its turn or queue).
            connection.resumeReading()
            upgrade.open(handler, userData: userData, bufferedBytes: input)
        case .failure(let error):
            upgrade.refuse(error)
        }
    }

    /// Settles without an answer: the task is told to stop.
    private func abandon() {
        guard !isSettled else { return }
        isSettled = true
        task?.cancel()
        task = nil
    }

    /// The client went away first.
    private func clientLeft() {
        guard !isSettled else { return }
        abandon()
        upgrade.settled?(.clientLeft)
    }

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        input.append(contentsOf: bytes)
        if input.count >= Self.inputLimit { connection.pauseReading() }
    }

    func connectionDeadlinePassed(_ connection: TCPConnection) {
        guard !isSettled else { return }
        abandon()
        upgrade.refuse(HTTPError(.serviceUnavailable, "authentication did not finish in time"))
    }

    func connectionDidReachEndOfInput(_ connection: TCPConnection) {
        clientLeft()
        connection.close()
    }

    func connectionDidClose(_ connection: TCPConnection, error: IOError?) {
        // A reset is the client leaving; a close without an error, with
        // nothing settled yet, comes from this side: the server stopping.
        guard error == nil else { return clientLeft() }
        guard !isSettled else { return }
        abandon()
        upgrade.settled?(.notTaken)
    }
}
