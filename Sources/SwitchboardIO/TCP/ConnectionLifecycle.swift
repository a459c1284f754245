/// The life of one TCP connection as a value: every event that can end a
/// connection, from either side, goes through `handle(_:)`, which moves
/// the phase first and then answers the one thing the connection must do.
///
/// The peer decides the order of events (a reset can arrive while a
/// graceful close is flushing, a write can fail inside a read callback),
/// and callbacks nest: a flush inside a read callback can fail and close
/// the connection before the caller goes on. Because the phase moves
/// before any side effect runs, a nested event sees the phase its caller
/// left, and `closeSocket` is answered at most once per connection: a
/// second `close` of the socket could close a descriptor the process has
/// since given to another connection. No sockets or clocks here,
/// so every order of events is tested directly (ConnectionLifecycleTests)
/// and fuzzed.
struct ConnectionLifecycle: Equatable {
    enum Phase: Equatable {
        /// Reading and writing.
        case open
        /// A graceful close was asked for: the queued bytes are being sent;
        /// reading stops, so a peer cannot keep the server busy meanwhile.
        case flushing
        /// Everything was sent and FIN with it: input is read and discarded
        /// until the peer's FIN, so that closing does not reset (RST) a
        /// connection whose last bytes the peer has not read yet.
        case lingering
        /// The socket is closed; the connection finishes at the end of the turn
        /// (`SocketWatcher`).
        case closing
        /// Finished: the delegate was told and let go.
        case closed
    }

    enum Event: Equatable {
        /// Send what is queued, then close. `queueIsEmpty`: nothing is queued
        /// nor being written.
        case closeAfterFlush(queueIsEmpty: Bool)
        /// Every queued byte reached the kernel.
        case drained
        /// `shutdown(2)` failed (the socket is already gone).
        case shutdownFailed
        /// The peer sent FIN.
        case endOfInput
        /// Input that arrived while lingering, and was thrown away.
        case discarded(byteCount: Int)
        /// A read or write failed with this error code (a negative errno, as libuv's).
        case failed(code: Int32)
        /// The connection's deadline passed.
        case deadlinePassed
        /// Close at once; whatever is queued is dropped.
        case close
        /// The turn in which the socket was closed ended (`SocketWatcher`).
        case socketClosed
    }

    enum Action: Equatable {
        case none
        /// Open connection: the delegate decides what end of input means.
        case deliverEndOfInput
        /// Open connection: the delegate's deadline.
        case deliverDeadline
        /// Open connection: the delegate hears that the queue drained.
        case deliverDrained
        /// Stop reading and arm the linger deadline while the queue drains.
        case startFlushing
        /// `shutdown(2)` (FIN after the queued bytes), then read to discard.
        case startLingering
        /// Close the socket: answered once in a connection's life.
        case closeSocket
        /// The socket is gone: release the connection and tell the delegate.
        case finish
    }

    /// Input a lingering connection throws away before it stops waiting for
    /// the peer's FIN: a peer that keeps sending after the close gets a
    /// reset sooner, instead of keeping the loop busy until the deadline.
    static let lingerDiscardLimit = 64 * 1024

    private(set) var phase = Phase.open
    /// The peer sent FIN: nothing more will arrive.
    private(set) var peerFinished = false
    /// The libuv error that ended the connection (0: none).
    private(set) var errorCode: Int32 = 0
    private var discardedByteCount: UInt32 = 0

    /// Whether writes are still accepted.
    var acceptsWrites: Bool { phase == .open }
    /// Whether queued bytes may still be handed to the kernel.
    var sendsQueuedBytes: Bool { phase == .open || phase == .flushing }
    /// Whether input reaches the delegate (otherwise it is discarded).
    var deliversInput: Bool { phase == .open }
    /// Whether the socket should be read at all in this phase.
    var readsInput: Bool { phase == .open || phase == .lingering }
    /// Whether the socket was closed (and maybe finished already).
    var isClosingOrClosed: Bool { phase == .closing || phase == .closed }

    mutating func handle(_ event: Event) -> Action {
        switch (phase, event) {
        case (.closed, _):
            return .none
        case (.closing, .socketClosed):
            phase = .closed
            return .finish
        case (.closing, _):
            return .none
        case (_, .socketClosed):
            // Only `closeSocket` leads here; reaching it otherwise would mean
            // the watcher finished a connection nobody closed.
            assertionFailure("socket closed in phase \(phase)")
            phase = .closed
            return .finish

        case (_, .close):
            return closeSocket()
        case (_, .failed(let code)):
            errorCode = code
            return closeSocket()

        case (.open, .closeAfterFlush(let queueIsEmpty)):
            if !queueIsEmpty {
                phase = .flushing
                return .startFlushing
            }
            return queueDrainedWhileClosing()
        case (.flushing, .drained):
            return queueDrainedWhileClosing()
        case (.open, .drained):
            return .deliverDrained
        case (.flushing, .closeAfterFlush), (.lingering, .closeAfterFlush), (.lingering, .drained):
            return .none

        case (.open, .endOfInput):
            peerFinished = true
            return .deliverEndOfInput
        case (.flushing, .endOfInput):
            peerFinished = true
            return .none
        case (.lingering, .endOfInput):
            peerFinished = true
            return closeSocket()

        case (.lingering, .discarded(let count)):
            // 32 bits keep the value small; the sum is capped just past the limit.
            let total = min(Int(discardedByteCount) + count, Self.lingerDiscardLimit + 1)
            discardedByteCount = UInt32(total)
            return total > Self.lingerDiscardLimit ? closeSocket() : .none
        case (_, .discarded):
            return .none

        case (.open, .deadlinePassed):
            return .deliverDeadline
        case (.flushing, .deadlinePassed), (.lingering, .deadlinePassed):
            return closeSocket()

        case (.lingering, .shutdownFailed):
            return closeSocket()
        case (_, .shutdownFailed):
            return .none
        }
    }

    /// Everything is sent on a connection that is to close: FIN and linger,
    /// or close at once when the peer already finished (no input can be
    /// left unread, so closing cannot reset).
    private mutating func queueDrainedWhileClosing() -> Action {
        if peerFinished { return closeSocket() }
        phase = .lingering
        return .startLingering
    }

    private mutating func closeSocket() -> Action {
        phase = .closing
        return .closeSocket
    }
}
