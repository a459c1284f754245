/// What a send did.
public enum SendResult: Sendable, Hashable {
    /// Queued on an otherwise idle connection: it leaves in this loop turn.
    case sent
    /// Queued behind bytes the peer has not read yet, or handed to the
    /// connection's loop from another thread.
    case buffered
    /// Not sent: the connection is closing or closed, or the message did
    /// not fit under `maxQueuedBytes` (see `SlowConsumerPolicy`).
    case dropped
}
