internal import CLibUV

/// A timer on one event loop (a `uv_timer_t`).
///
/// Create, schedule and cancel it on the loop's thread; the callback runs
/// there too. Cancel it when done: a timer left running keeps its loop's
/// shutdown from reporting a clean close. Shutdown closes it regardless.
package final class LoopTimer: @unchecked Sendable, LoopResource {
    package let loop: EventLoop
    private var handle: UnsafeMutablePointer<uv_timer_t>?
    private var callback: (() -> Void)?

    /// Fires `callback` after `milliseconds`, then every `repeating`
    /// milliseconds if that is given.
    package init(on loop: EventLoop, after milliseconds: UInt64, repeating: UInt64? = nil, _ callback: @escaping () -> Void) {
        loop.assertInEventLoop()
        self.loop = loop
        self.callback = callback
        let handle = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
        uv_timer_init(loop.uvLoop, handle)
        handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        self.handle = handle
        loop.register(self)
        uv_timer_start(handle, { handle in
            let timer = Unmanaged<LoopTimer>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
            if uv_timer_get_repeat(handle) == 0 {
                let callback = timer.callback
                timer.cancel()
                callback?()
            } else {
                timer.callback?()
            }
        }, milliseconds, repeating ?? 0)
    }

    /// Stops the timer and releases its handle. Idempotent.
    package func cancel() {
        loop.assertInEventLoop()
        guard let handle else { return }
        self.handle = nil
        callback = nil
        loop.unregister(self)
        closeAndFree(handle)
    }

    func closeForShutdown() { cancel() }
}
