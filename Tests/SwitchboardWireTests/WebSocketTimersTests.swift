import Testing
import SwitchboardWire
import TestSupport

/// The WebSocket timers with a manual clock: each timeout on its own, then
/// a randomised check that `deadline` names exactly the first instant at
/// which `fire` acts.
@Suite("WebSocket timers")
struct WebSocketTimersTests {
    typealias Timers = WebSocketTimers
    static let settings = Timers.Settings(pingInterval: 30_000, pongTimeout: 20_000, idleTimeout: nil, writeTimeout: 10_000, closeTimeout: 5_000)
    static let idle = Timers.Transport(hasQueuedBytes: false, lastWriteProgress: 0, isReadingPaused: false)

    @Test func pingsEveryIntervalAndDropsAPeerThatStaysSilent() {
        var timers = Timers(settings: Self.settings, now: 1_000)
        #expect(timers.deadline(Self.settings, Self.idle) == 31_000)
        #expect(timers.fire(now: 30_999, Self.settings, Self.idle) == .none)
        #expect(timers.fire(now: 31_000, Self.settings, Self.idle) == .sendPing)
        // Waiting for life: the pong timeout comes before the next ping.
        #expect(timers.deadline(Self.settings, Self.idle) == 51_000)
        #expect(timers.fire(now: 51_000, Self.settings, Self.idle) == .dropConnection)
    }

    @Test func anyInputIsASignOfLife() {
        var timers = Timers(settings: Self.settings, now: 0)
        #expect(timers.fire(now: 30_000, Self.settings, Self.idle) == .sendPing)
        timers.inputArrived()
        #expect(timers.deadline(Self.settings, Self.idle) == 60_000)
        #expect(timers.fire(now: 60_000, Self.settings, Self.idle) == .sendPing)
    }

    @Test func thePongTimeoutWaitsWhileReadingIsPausedAndRestartsAfter() {
        var timers = Timers(settings: Self.settings, now: 0)
        _ = timers.fire(now: 30_000, Self.settings, Self.idle)
        let paused = Timers.Transport(hasQueuedBytes: true, lastWriteProgress: 49_000, isReadingPaused: true)
        // Only the write stall applies while paused (the peer is reading).
        #expect(timers.deadline(Self.settings, paused) == 59_000)
        #expect(timers.fire(now: 55_000, Self.settings, paused) == .none)
        timers.readingResumed(now: 55_000)
        #expect(timers.deadline(Self.settings, Self.idle) == 60_000)  // the next ping; the pong wait restarted at 55 s
        #expect(timers.fire(now: 60_000, Self.settings, Self.idle) == .sendPing)
        #expect(timers.fire(now: 75_000, Self.settings, Self.idle) == .dropConnection)
    }

    @Test func aStalledWriteDropsTheConnection() {
        var timers = Timers(settings: Self.settings, now: 0)
        let stalled = Timers.Transport(hasQueuedBytes: true, lastWriteProgress: 2_000, isReadingPaused: false)
        #expect(timers.deadline(Self.settings, stalled) == 12_000)
        #expect(timers.fire(now: 12_000, Self.settings, stalled) == .dropConnection)
    }

    @Test func idleClosesWith1001AndCloseSentStopsPingsAndIdle() {
        let settings = Timers.Settings(pingInterval: 30_000, pongTimeout: 20_000, idleTimeout: 10_000, writeTimeout: 10_000, closeTimeout: 5_000)
        var timers = Timers(settings: settings, now: 0)
        timers.messageArrived(now: 4_000)
        #expect(timers.deadline(settings, Self.idle) == 14_000)
        #expect(timers.fire(now: 14_000, settings, Self.idle) == .close(.goingAway, reason: "idle"))
        timers.closeSent(now: 14_000)
        #expect(timers.deadline(settings, Self.idle) == 19_000)
        #expect(timers.fire(now: 18_999, settings, Self.idle) == .none)
        #expect(timers.fire(now: 19_000, settings, Self.idle) == .closeTimedOut)
    }

    @Test func noTimersNoDeadlineAndHugeTimeoutsNeverWrap() {
        let none = Timers.Settings(pingInterval: nil, pongTimeout: 1, idleTimeout: nil, writeTimeout: 1, closeTimeout: 1)
        #expect(Timers(settings: none, now: 5).deadline(none, Self.idle) == nil)
        let huge = Timers.Settings(pingInterval: .max, pongTimeout: .max, idleTimeout: .max, writeTimeout: .max, closeTimeout: .max)
        var timers = Timers(settings: huge, now: 1_000)
        timers.closeSent(now: 2_000)
        #expect(timers.deadline(huge, Timers.Transport(hasQueuedBytes: true, lastWriteProgress: 3, isReadingPaused: false)) == nil)
        #expect(timers.fire(now: .max - 1, huge, Self.idle) == .none)
    }

    /// Random settings and event sequences: before the deadline `fire` does
    /// nothing; at it, it acts.
    @Test func theDeadlineIsExactlyTheFirstInstantThatActs() {
        var random = SeededGenerator(seed: 0x5EED)
        for _ in 0..<2_000 {
            let settings = Timers.Settings(
                pingInterval: random.chance(4) ? nil : random.below(1_000) + 1, pongTimeout: random.below(1_000) + 1,
                idleTimeout: random.chance(2) ? nil : random.below(1_000) + 1, writeTimeout: random.below(1_000) + 1,
                closeTimeout: random.below(1_000) + 1)
            var now = random.below(10_000)
            var timers = Timers(settings: settings, now: now)
            for _ in 0..<20 {
                now += random.below(500)
                switch random.below(5) {
                case 0: timers.inputArrived()
                case 1: timers.messageArrived(now: now)
                case 2: if random.chance(8) { timers.closeSent(now: now) }
                default: break
                }
                let transport = Timers.Transport(
                    hasQueuedBytes: random.chance(3), lastWriteProgress: now - random.below(min(now, 800) + 1),
                    isReadingPaused: random.chance(4))
                guard let deadline = timers.deadline(settings, transport) else {
                    var probe = timers
                    #expect(probe.fire(now: now + 5_000, settings, transport) == .none)
                    continue
                }
                if deadline > now {
                    var early = timers
                    #expect(early.fire(now: deadline - 1, settings, transport) == .none, "acted before its deadline")
                }
                var due = timers
                #expect(due.fire(now: max(deadline, now), settings, transport) != .none, "did nothing at its deadline")
                if random.chance(2) {
                    now = max(deadline, now)
                    _ = timers.fire(now: now, settings, transport)
                }
            }
        }
    }
}
