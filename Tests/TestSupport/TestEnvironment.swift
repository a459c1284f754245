import Glibc

/// What the test command told the tests about this run.
public enum TestEnvironment {
    /// Set by Scripts/test.sh for its AddressSanitizer and Thread Sanitizer
    /// runs (`SWITCHBOARD_SANITIZER=address|thread`): memory figures and
    /// timings mean little there, so tests that measure them check only
    /// what still holds.
    public static var isSanitized: Bool { getenv("SWITCHBOARD_SANITIZER") != nil }
}
