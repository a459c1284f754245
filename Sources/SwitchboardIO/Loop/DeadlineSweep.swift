internal import CLibUV

/// Coarse per-connection deadlines on one timer per loop.
///
/// Timeouts here (handshake, idle, request head, write stall, heartbeat) are
/// measured in seconds, so one repeating timer that checks every connection
/// with a deadline each `interval` costs far less than a `uv_timer_t` per
/// connection: no handle per socket, nothing to close, and memory for an
/// idle connection stays small. Expiry is late by at most `interval`.
final class DeadlineSweep {
    /// How often deadlines are checked, in milliseconds.
    static let interval: UInt64 = 50

    /// Lateness of a sweep beyond this is taken as the loop's own stall
    /// (see `EventLoop.stalledMilliseconds`); below it, it is ordinary
    /// jitter and peers are charged for it.
    static let toleratedLateness: UInt64 = 100

    private let timer: UnsafeMutablePointer<uv_timer_t> = .allocate(capacity: 1)
    private unowned(unsafe) var loop: EventLoop?
    /// When the last sweep ran (libuv's clock), to see how late the next is.
    // Loop-confined: no dynamic exclusivity checks.
    @exclusivity(unchecked) private var lastSweepAt: UInt64 = 0
    private let members = DeadlineSet<TCPConnection>()
    @exclusivity(unchecked) private var isRunning = false
    @exclusivity(unchecked) private var isClosed = false

    func attach(to loop: EventLoop) {
        self.loop = loop
        uv_timer_init(loop.uvLoop, timer)
        timer.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    /// Adds `connection` to the sweep, or keeps it there with its new deadline.
    func track(_ connection: TCPConnection) {
        guard !isClosed else { return }
        members.track(connection)
        if !isRunning {
            isRunning = true
            lastSweepAt = uv_now(timer.pointee.loop)
            uv_timer_start(timer, { timer in
                let sweep = Unmanaged<DeadlineSweep>.fromOpaque(timer!.pointee.data).takeUnretainedValue()
                sweep.noteLateness(uv_now(timer!.pointee.loop))
                sweep.sweep(now: sweep.loop!.now)
            }, Self.interval, Self.interval)
        }
    }

    /// Removes `connection` from the sweep.
    func untrack(_ connection: TCPConnection) {
        members.untrack(connection)
    }

    /// A sweep due `interval` after the last one that runs much later shows
    /// that the loop itself was busy or not scheduled meanwhile: that time is
    /// taken out of the connections' clock before any deadline is checked.
    private func noteLateness(_ time: UInt64) {
        let due = lastSweepAt + Self.interval
        lastSweepAt = time
        if time > due + Self.toleratedLateness {
            loop?.addStall(time - due - Self.toleratedLateness)
        }
    }

    private func sweep(now: UInt64) {
        members.expire(now: now)
        if members.isEmpty {
            isRunning = false
            uv_timer_stop(timer)
        }
    }

    func close() {
        isClosed = true
        members.removeAll()
        closeAndFree(timer)
    }
}
