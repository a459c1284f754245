import SwitchboardIO

extension LoopContext {
    /// How often each loop compares what its connections have queued with
    /// its share of `ServerConfiguration.maxQueuedBytesTotal`.
    static let queueBudgetCheckMilliseconds: UInt64 = 100

    /// When this loop's connections hold more than `share` bytes waiting
    /// to be written, drops the WebSockets with the longest queues (the
    /// slowest consumers, whose queues free the most) until it holds no
    /// more than 90 % of it. Nothing is allocated while under the budget.
    func enforceQueueBudget(share: Int) {
        var total = 0
        loop.forEachConnection { total += $0.queuedByteCount }
        guard total > share else { return }
        var queues: [(bytes: Int, socket: WebSocketConnection)] = []
        loop.forEachConnection { connection in
            let bytes = connection.queuedByteCount
            if bytes > 0, let socket = connection.currentDelegate as? WebSocketConnection { queues.append((bytes, socket)) }
        }
        queues.sort { $0.bytes > $1.bytes }
        var excess = total - share / 10 * 9
        for (bytes, socket) in queues where excess > 0 {
            socket.dropForQueueBudget(queued: bytes)
            excess -= bytes
        }
    }

    func startQueueBudget(share: Int) {
        let every = Self.queueBudgetCheckMilliseconds
        queueBudgetTimer = LoopTimer(on: loop, after: every, repeating: every) { [unowned self] in enforceQueueBudget(share: share) }
    }

    func stopQueueBudget() {
        queueBudgetTimer?.cancel()
        queueBudgetTimer = nil
    }
}
