internal import CLibUV

/// A libuv handle of any kind as the `uv_handle_t` every handle starts with.
@inline(__always)
func asHandle<Handle>(_ handle: UnsafeMutablePointer<Handle>) -> UnsafeMutablePointer<uv_handle_t> {
    UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)
}

/// Closes a handle that was allocated with `.allocate(capacity: 1)` and
/// frees its memory in libuv's close callback: libuv may touch a handle
/// until then, so freeing it any earlier is a use after free.
func closeAndFree<Handle>(_ handle: UnsafeMutablePointer<Handle>) {
    uv_close(asHandle(handle)) { UnsafeMutableRawPointer($0!).deallocate() }
}
