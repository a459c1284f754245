/// How the sans-I/O parsers keep their receive buffer small: the bytes not
/// yet consumed are `buffer[readIndex...]`.
///
/// Shared by the HTTP parser and the WebSocket session, so an idle
/// connection of either kind holds no heap and a busy one never grows its
/// buffer past what is still unparsed.
enum ReceiveBufferPolicy {
    /// Frees the storage once every byte is consumed.
    static func releaseIfConsumed(_ buffer: inout [UInt8], _ readIndex: inout Int) {
        if readIndex == buffer.count {
            // Storing the empty array over the empty array still releases
            // the old value: skipped on the commonest call, after each read.
            if buffer.capacity > 0 { buffer = [] }
            readIndex = 0
        }
    }

    /// Drops the consumed prefix before an append, so the buffer holds only
    /// live bytes. Moving at most as many bytes as were consumed keeps the
    /// cost amortised O(1) per byte.
    static func compactBeforeAppend(_ buffer: inout [UInt8], _ readIndex: inout Int) {
        guard readIndex > 0 else { return }
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex >= buffer.count - readIndex {
            buffer.removeSubrange(..<readIndex)
            readIndex = 0
        }
    }
}
