import Testing
@testable import SwitchboardIO

/// The connection lifecycle without sockets: each rule, then every order of
/// events up to a length, checked against what libuv requires.
@Suite("Connection lifecycle")
struct ConnectionLifecycleTests {
    typealias Event = ConnectionLifecycle.Event
    typealias Action = ConnectionLifecycle.Action

    private func run(_ events: [Event]) -> (ConnectionLifecycle, [Action]) {
        var lifecycle = ConnectionLifecycle()
        let actions = events.map { lifecycle.handle($0) }
        return (lifecycle, actions)
    }

    @Test func gracefulCloseFlushesThenLingersThenClosesOnThePeersFIN() {
        let (lifecycle, actions) = run([
            .closeAfterFlush(queueIsEmpty: false), .drained, .discarded(byteCount: 10), .endOfInput, .socketClosed,
        ])
        #expect(actions == [.startFlushing, .startLingering, .none, .closeSocket, .finish])
        #expect(lifecycle.phase == .closed)
        #expect(lifecycle.errorCode == 0)
    }

    @Test func aWriteFailingWhileTheCloseIsRequestedClosesOnce() {
        // The crash: flushing the cork inside `closeAfterFlush` fails (the
        // peer reset), and the same call then asks to close after flush.
        let (lifecycle, actions) = run([.failed(code: -104), .closeAfterFlush(queueIsEmpty: true), .shutdownFailed, .deadlinePassed])
        #expect(actions == [.closeSocket, .none, .none, .none])
        #expect(lifecycle.phase == .closing)
        #expect(lifecycle.errorCode == -104)
    }

    @Test func aResetWhileLingeringClosesOnce() {
        let (_, actions) = run([.closeAfterFlush(queueIsEmpty: true), .failed(code: -104), .endOfInput, .close])
        #expect(actions == [.startLingering, .closeSocket, .none, .none])
    }

    @Test func endOfInputGoesToTheDelegateWhileOpenAndShortensTheClose() {
        // The peer finished first: once our queue is out nothing can be left
        // unread, so the connection closes without lingering.
        let (_, actions) = run([.endOfInput, .closeAfterFlush(queueIsEmpty: false), .drained])
        #expect(actions == [.deliverEndOfInput, .startFlushing, .closeSocket])
        let (_, emptyQueue) = run([.endOfInput, .closeAfterFlush(queueIsEmpty: true)])
        #expect(emptyQueue == [.deliverEndOfInput, .closeSocket])
    }

    @Test func deadlinesGoToTheDelegateWhileOpenAndEndALingeringClose() {
        #expect(run([.deadlinePassed]).1 == [.deliverDeadline])
        #expect(run([.closeAfterFlush(queueIsEmpty: false), .deadlinePassed]).1 == [.startFlushing, .closeSocket])
        #expect(run([.closeAfterFlush(queueIsEmpty: true), .deadlinePassed]).1 == [.startLingering, .closeSocket])
    }

    @Test func aPeerThatKeepsSendingAfterTheCloseIsCutOffPastTheDiscardLimit() {
        let limit = ConnectionLifecycle.lingerDiscardLimit
        #expect(run([.closeAfterFlush(queueIsEmpty: true), .discarded(byteCount: limit)]).1 == [.startLingering, .none])
        #expect(run([.closeAfterFlush(queueIsEmpty: true), .discarded(byteCount: limit), .discarded(byteCount: 1)]).1
            == [.startLingering, .none, .closeSocket])
        #expect(run([.closeAfterFlush(queueIsEmpty: true), .discarded(byteCount: Int.max)]).1 == [.startLingering, .closeSocket])
    }

    @Test func shutdownFailingClosesTheLingeringConnection() {
        #expect(run([.closeAfterFlush(queueIsEmpty: true), .shutdownFailed]).1 == [.startLingering, .closeSocket])
    }

    @Test func drainedGoesToTheDelegateOnlyWhileOpen() {
        #expect(run([.drained, .drained]).1 == [.deliverDrained, .deliverDrained])
        #expect(run([.close, .drained]).1 == [.closeSocket, .none])
    }

    /// Every sequence of up to `length` events (libuv's close callback only
    /// after `closeSocket`, as libuv runs it): `uv_close` at most once, the
    /// delegate told of the end at most once and only through the close
    /// callback, nothing delivered to the delegate once closing, and the
    /// phase never going back.
    @Test func everyOrderOfEventsClosesTheHandleAtMostOnce() {
        let events: [Event] = [
            .closeAfterFlush(queueIsEmpty: false), .closeAfterFlush(queueIsEmpty: true), .drained, .shutdownFailed,
            .endOfInput, .discarded(byteCount: ConnectionLifecycle.lingerDiscardLimit), .failed(code: -32),
            .deadlinePassed, .close, .socketClosed,
        ]
        let order: [ConnectionLifecycle.Phase] = [.open, .flushing, .lingering, .closing, .closed]
        var explored = 0
        // Violations are collected and checked once: an `#expect` per
        // explored state would cost more than the exploration (a minute
        // under the sanitizers).
        var violations: [String] = []
        func check(_ condition: Bool, _ what: @autoclosure () -> String) {
            if !condition && violations.count < 20 { violations.append(what()) }
        }

        func explore(_ lifecycle: ConnectionLifecycle, _ closes: Int, _ finishes: Int, depth: Int) {
            explored += 1
            guard depth > 0 else { return }
            for event in events {
                if event == .socketClosed && closes == 0 { continue }  // libuv calls back only after uv_close
                if event == .socketClosed && lifecycle.phase == .closed { continue }  // and only once
                var next = lifecycle
                let action = next.handle(event)
                let newCloses = closes + (action == .closeSocket ? 1 : 0)
                let newFinishes = finishes + (action == .finish ? 1 : 0)
                check(newCloses <= 1, "uv_close twice after \(event) in \(lifecycle.phase)")
                check(newFinishes <= 1, "finished twice after \(event) in \(lifecycle.phase)")
                check(action != .finish || event == .socketClosed, "finished on \(event), not on the close callback")
                check(order.firstIndex(of: next.phase)! >= order.firstIndex(of: lifecycle.phase)!,
                      "phase went back from \(lifecycle.phase) to \(next.phase) on \(event)")
                if lifecycle.isClosingOrClosed {
                    check(action == .none || action == .finish, "\(action) after uv_close")
                    check(!next.acceptsWrites && !next.sendsQueuedBytes && !next.readsInput, "I/O allowed after uv_close (\(event))")
                }
                if [.deliverDrained, .deliverDeadline, .deliverEndOfInput].contains(action) {
                    check(lifecycle.phase == .open, "\(action) in \(lifecycle.phase)")
                }
                explore(next, newCloses, newFinishes, depth: depth - 1)
            }
        }
        explore(ConnectionLifecycle(), 0, 0, depth: 6)
        #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
        #expect(explored > 100_000)
    }
}
