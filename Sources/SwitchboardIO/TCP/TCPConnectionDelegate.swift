/// Receives a connection's events, on the connection's loop thread.
///
/// A delegate is held strongly by its connection until the connection has
/// closed, and released right after ``connectionDidClose(_:error:)``.
package protocol TCPConnectionDelegate: AnyObject {
    /// Bytes arrived. They live in the loop's shared receive buffer and are
    /// only valid during this call: copy what must outlive it. The delegate
    /// may change them in place (a WebSocket unmasks its frames there).
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer)
    /// The peer closed its side. The default closes the connection.
    func connectionDidReachEndOfInput(_ connection: TCPConnection)
    /// The deadline set with ``TCPConnection/setDeadline(after:)`` has passed.
    func connectionDeadlinePassed(_ connection: TCPConnection)
    /// Every queued byte has been handed to the kernel.
    func connectionDidDrain(_ connection: TCPConnection)
    /// The kernel took less than was queued: the rest waits for the socket
    /// to become writable (a slow or stalled peer). Only while open.
    func connectionWriteDidBlock(_ connection: TCPConnection)
    /// The connection is closed and its handle released; `error` is `nil`
    /// for a close this side asked for or an orderly end of input.
    func connectionDidClose(_ connection: TCPConnection, error: IOError?)
}

extension TCPConnectionDelegate {
    package func connectionDidReachEndOfInput(_ connection: TCPConnection) { connection.close() }
    package func connectionDeadlinePassed(_ connection: TCPConnection) { connection.close() }
    package func connectionDidDrain(_ connection: TCPConnection) {}
    package func connectionWriteDidBlock(_ connection: TCPConnection) {}
    package func connectionDidClose(_ connection: TCPConnection, error: IOError?) {}
}
