import Testing
import SwitchboardWire

/// The HTTP request and keep-alive timeouts with a manual clock.
@Suite("HTTP connection timers")
struct HTTPConnectionTimersTests {
    static let settings = HTTPConnectionTimers.Settings(requestTimeout: 10_000, keepAliveTimeout: 30_000)

    @Test func anIdleKeepAliveConnectionClosesSilently() {
        var timers = HTTPConnectionTimers(now: 1_000)
        #expect(timers.deadline(Self.settings) == 31_000)
        timers.parsed(now: 5_000, hasPartialRequest: false)  // a request was served
        #expect(timers.fire(now: 34_999, Self.settings) == .none)
        #expect(timers.fire(now: 35_000, Self.settings) == .closeIdle)
    }

    @Test func aTricklingRequestKeepsItsFirstBytesDeadline() {
        var timers = HTTPConnectionTimers(now: 0)
        timers.parsed(now: 2_000, hasPartialRequest: true)
        timers.parsed(now: 9_000, hasPartialRequest: true)  // more bytes: the clock does not restart
        #expect(timers.deadline(Self.settings) == 12_000)
        #expect(timers.fire(now: 12_000, Self.settings) == .refuseSlowRequest)
    }

    @Test func aPipelinedRequestAfterACompleteOneStartsItsOwnClock() {
        var timers = HTTPConnectionTimers(now: 0)
        timers.parsed(now: 1_000, hasPartialRequest: true)
        timers.requestReceived()
        timers.parsed(now: 8_000, hasPartialRequest: true)  // the next one, in part
        #expect(timers.deadline(Self.settings) == 18_000)
        timers.parsed(now: 9_000, hasPartialRequest: false)
        #expect(timers.fire(now: 20_000, Self.settings) == .none)
        #expect(timers.deadline(Self.settings) == 39_000)
    }

    @Test func hugeTimeoutsNeverWrap() {
        let never = HTTPConnectionTimers.Settings(requestTimeout: .max, keepAliveTimeout: .max)
        var timers = HTTPConnectionTimers(now: 7)
        timers.parsed(now: 9, hasPartialRequest: true)
        #expect(timers.deadline(never) == .max)
        #expect(timers.fire(now: .max - 1, never) == .none)
    }
}
