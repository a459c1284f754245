extension EventLoop {
    /// The loop's `uv_loop_t`, untyped, for a library in this package that
    /// attaches its own libuv handles to it (the Redis backplane's hiredis
    /// adapter). Those handles follow the loop's rules: touched on its
    /// thread only, closed by their owner before the loop shuts down.
    package var uvLoopPointer: UnsafeMutableRawPointer { UnsafeMutableRawPointer(uvLoop) }
}
