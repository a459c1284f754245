internal import CLibUV

extension EventLoop {
    /// Starts a raw timer that nothing will close: lets a test prove that
    /// shutdown detects a leaked handle.
    package func leakTimerHandleForTesting() {
        execute { [self] in
            let handle = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
            uv_timer_init(uvLoop, handle)
            uv_timer_start(handle, { _ in }, 1_000_000, 0)
        }
    }
}
