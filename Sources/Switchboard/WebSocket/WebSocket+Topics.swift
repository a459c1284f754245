extension WebSocket {
    /// Subscribes this connection to `topic`. Safe from any thread (off the
    /// connection's loop it takes effect on that loop, soon).
    public func subscribe(_ topic: String) {
        connection.onLoop { $0.subscribe(topic) }
    }

    /// Unsubscribes this connection from `topic`. Safe from any thread.
    public func unsubscribe(_ topic: String) {
        connection.onLoop { $0.unsubscribe(topic) }
    }
}
