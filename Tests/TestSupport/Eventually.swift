import Glibc

/// Waits until `condition` holds (a throw counts as not yet) or `seconds`
/// pass, checking every 2 ms on this thread. The one way tests wait for
/// something another thread or process does.
public func eventually(seconds: Double = 5, _ condition: () throws -> Bool) -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if (try? condition()) == true { return true }
        usleep(2_000)
    }
    return (try? condition()) == true
}

/// The same from async code, sleeping between checks instead of blocking
/// one of the cooperative pool's threads.
public func eventually(seconds: Double = 5, _ condition: () throws -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if (try? condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return (try? condition()) == true
}
