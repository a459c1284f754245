import SwitchboardDeflate
import SwitchboardIO
import SwitchboardWire

/// The connection's one deadline, from its `WebSocketTimers`.
extension WebSocketConnection {
    /// Sets the connection's one deadline to the earliest of its timers.
    func scheduleDeadline() {
        guard transportIsOpen else { return }
        tcp.setDeadline(at: timers.deadline(settings.timers, transportState))
    }

    var transportState: WebSocketTimers.Transport {
        let output = tcp.outputState
        return WebSocketTimers.Transport(
            hasQueuedBytes: output.hasQueuedBytes, lastWriteProgress: output.lastWriteProgress, isReadingPaused: output.isReadingPaused)
    }

    /// Bytes wait for a slow peer: the write-stall clock runs from the
    /// last progress (`TCPConnection.lastWriteProgress`).
    func connectionWriteDidBlock(_ connection: TCPConnection) {
        scheduleDeadline()
    }

    func connectionDeadlinePassed(_ connection: TCPConnection) {
        switch timers.fire(now: tcp.loop.now, settings.timers, transportState) {
        case .none: break
        case .sendPing: tcp.write(Self.ping)
        case .close(let code, let reason): close(code: code, reason: reason)
        case .dropConnection: apply(.peerUnresponsive)
        case .closeTimedOut: apply(.closeTimedOut)
        }
        scheduleDeadline()
    }

    static let ping = SharedBytes(WebSocketFrame.encode(opcode: .ping, payload: [UInt8]()))
}
