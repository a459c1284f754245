import Glibc

/// Runs `body` on a new thread of its own that nobody joins: how async code
/// waits for work that blocks (joining the loops' threads, a grace period)
/// without holding one of the few threads of Swift's cooperative pool,
/// which every other task of the process needs.
///
/// When no thread can be made (the process is at its limit), `body` runs on
/// the caller's thread instead: late, but not lost.
package func runOnDetachedThread(_ body: @escaping @Sendable () -> Void) {
    final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    var thread = pthread_t()
    let result = pthread_create(&thread, &attributes, { context in
        Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
        return nil
    }, context)
    if result != 0 {
        Unmanaged<Box>.fromOpaque(context).takeRetainedValue().body()
    }
}
