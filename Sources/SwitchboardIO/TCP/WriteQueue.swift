internal import CLibUV

/// The bytes a connection has queued but not yet handed to the kernel.
///
/// Buffers are shared, never copied: a queued `SharedBytes` may sit in many
/// connections' queues at once.
///
/// Storage is shaped for two cases. An idle connection holds no heap
/// storage, and the common "one message this loop turn" needs none either:
/// the first entry sits inline in `first`. Later entries go to `rest`, whose
/// array is kept (emptied) across drains while the connection keeps using
/// it, so a busy subscriber in a fan-out does not allocate a queue on every
/// loop turn; a drain that did not need `rest` gives the array back, as does
/// one that finds it grown beyond `retainedCapacity`.
///
/// Order: `first` (when set), then `rest[restHead...]`. `first` is only
/// filled while the whole queue is empty, so it is always the head.
struct WriteQueue {
    private var first: SharedBytes?
    private var rest: ContiguousArray<SharedBytes> = []
    /// Entries of `rest` already written (`rest[..<restHead]`).
    private var restHead: UInt32 = 0
    /// How much of the head entry a partial write already sent. These two
    /// are 32-bit so that the queue is four words: it sits in every
    /// connection, idle or not.
    private var headOffset: UInt32 = 0
    /// Bytes queued and not yet written.
    private(set) var byteCount = 0

    /// The largest `rest` capacity (entries) kept across a drain: enough
    /// for a fan-out subscriber that receives a burst per loop turn (a
    /// publisher 32 messages ahead puts up to 32 in one turn), small enough
    /// (at most about 550 bytes) to hold while the connection is busy. A
    /// connection that goes quiet gives it back at its next drain that does
    /// not need it, such as a lone ping's.
    private static var retainedCapacity: Int { 64 }

    var isEmpty: Bool { byteCount == 0 }

    mutating func append(_ bytes: SharedBytes) {
        let count = bytes.count
        guard count > 0 else { return }
        // One `uv_buf_t` per entry: libuv's length is 32-bit on some systems.
        precondition(count <= UInt32.max, "WriteQueue: buffer over 4 GiB")
        if byteCount == 0 {
            // Empty queue: the previous drain reset `rest` and `restHead`.
            first = bytes
        } else {
            rest.append(bytes)
        }
        byteCount += count
    }

    /// Fills `buffers` with up to `capacity` pointers to queued bytes, in
    /// order, covering at most `maxBytes` (the last one cut short to fit).
    /// Returns how many it filled and how many bytes they cover.
    ///
    /// No retain or release per entry: the loop makes no opaque call (the
    /// `uv_buf_t`s are built here rather than by `uv_buf_init`), so the
    /// entries can be read in place. `mutating` only so that the queue is
    /// used in place too: a non-mutating call on a class's stored property
    /// would first copy the queue out of it.
    mutating func gather(into buffers: UnsafeMutablePointer<uv_buf_t>, capacity: Int, maxBytes: Int = .max) -> (count: Int, bytes: Int) {
        guard capacity > 0, byteCount > 0, maxBytes > 0 else { return (0, 0) }
        var filled = 0
        var total = 0
        var skip = Int(headOffset)
        if let first {
            let length = min(first.count - skip, maxBytes)
            buffers[0] = Self.buffer(first.baseAddress + skip, length)
            total = length
            filled = 1
            skip = 0
        }
        var index = Int(restHead)
        let end = rest.count
        while index < end, filled < capacity, total < maxBytes {
            let length = min(rest[index].count - skip, maxBytes - total)
            buffers[filled] = Self.buffer(rest[index].baseAddress + skip, length)
            total += length
            skip = 0
            filled += 1
            index += 1
        }
        return (filled, total)
    }

    /// A `uv_buf_t` (Unix layout), without the call to `uv_buf_init`.
    @inline(__always)
    private static func buffer(_ base: UnsafeMutableRawPointer, _ length: Int) -> uv_buf_t {
        uv_buf_t(base: base.assumingMemoryBound(to: CChar.self), len: length)
    }

    /// Drops `written` bytes from the front, releasing finished buffers.
    mutating func consume(_ written: Int) {
        guard written > 0 else { return }
        precondition(written <= byteCount, "WriteQueue: consumed more than queued")
        byteCount -= written
        if byteCount == 0 {
            drain()
            return
        }
        var remaining = written
        if let head = first {
            let left = head.count - Int(headOffset)
            if remaining < left {
                headOffset += UInt32(truncatingIfNeeded: remaining)
                return
            }
            remaining -= left
            headOffset = 0
            first = nil
        }
        while remaining > 0 {
            let left = rest[Int(restHead)].count - Int(headOffset)
            if remaining < left {
                headOffset += UInt32(truncatingIfNeeded: remaining)
                break
            }
            remaining -= left
            headOffset = 0
            restHead += 1
        }
        if restHead >= 32, Int(restHead) * 2 >= rest.count {
            // A queue that never drains (a slow reader under load) must
            // still release what it already sent.
            rest.removeFirst(Int(restHead))
            restHead = 0
        }
    }

    /// Everything was written: releases the buffers, and keeps `rest`'s
    /// array only if this round used it and it is small.
    private mutating func drain() {
        first = nil
        headOffset = 0
        if rest.isEmpty || rest.capacity > Self.retainedCapacity {
            rest = []
        } else {
            rest.removeAll(keepingCapacity: true)
        }
        restHead = 0
    }

    mutating func removeAll() {
        first = nil
        rest = []
        restHead = 0
        headOffset = 0
        byteCount = 0
    }
}
