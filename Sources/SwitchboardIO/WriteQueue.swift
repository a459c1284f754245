internal import CLibUV

/// The bytes a connection has queued but not yet handed to the kernel.
///
/// Buffers are shared, never copied: a queued `SharedBytes` may sit in many
/// connections' queues at once. `offset` is how much of the head buffer a
/// partial write already sent.
struct WriteQueue {
    private var entries: [SharedBytes] = []
    private var head = 0
    private var headOffset = 0
    /// Bytes queued and not yet written.
    private(set) var byteCount = 0

    var isEmpty: Bool { head == entries.count }

    mutating func append(_ bytes: SharedBytes) {
        guard bytes.count > 0 else { return }
        entries.append(bytes)
        byteCount += bytes.count
    }

    /// Fills `buffers` with up to `capacity` pointers to queued bytes, in
    /// order, and returns how many it filled.
    func gather(into buffers: UnsafeMutablePointer<uv_buf_t>, capacity: Int) -> Int {
        var filled = 0
        var index = head
        while index < entries.count, filled < capacity {
            let entry = entries[index]
            let skip = index == head ? headOffset : 0
            buffers[filled] = uv_buf_init(
                (entry.baseAddress + skip).assumingMemoryBound(to: CChar.self),
                UInt32(entry.count - skip)
            )
            filled += 1
            index += 1
        }
        return filled
    }

    /// Drops `written` bytes from the front, releasing finished buffers.
    mutating func consume(_ written: Int) {
        var remaining = written
        byteCount -= written
        while remaining > 0 {
            let left = entries[head].count - headOffset
            if remaining >= left {
                remaining -= left
                headOffset = 0
                head += 1
            } else {
                headOffset += remaining
                remaining = 0
            }
        }
        if head == entries.count {
            // Give the storage back: an idle connection keeps no queue.
            entries = []
            head = 0
        } else if head >= 32, head * 2 >= entries.count {
            // A queue that never drains (a slow reader under load) must
            // still release what it already sent.
            entries.removeFirst(head)
            head = 0
        }
    }

    mutating func removeAll() {
        entries = []
        head = 0
        headOffset = 0
        byteCount = 0
    }
}
