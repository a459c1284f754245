import Testing
@testable import Switchboard

/// The WebSocket lifecycle without sockets: which code the handler hears,
/// and that it hears it once whatever the order of events.
@Suite("WebSocket lifecycle")
struct WebSocketLifecycleTests {
    typealias Event = WebSocketLifecycle.Event
    typealias Action = WebSocketLifecycle.Action

    private func run(_ events: [Event]) -> (WebSocketLifecycle, [Action]) {
        var lifecycle = WebSocketLifecycle()
        let actions = events.map { lifecycle.handle($0) }
        return (lifecycle, actions)
    }

    @Test func thePeersCloseIsAnsweredAndItsCodeReported() {
        let (lifecycle, actions) = run([.handshakeCompleted(.normalClosure, reason: "bye"), .transportEnded])
        #expect(actions == [.closeTransportAfterFlushAndNotify, .none])
        #expect(lifecycle.closeCodeForHandler == .normalClosure)
        #expect(lifecycle.reasonForHandler == "bye")
        #expect(run([.handshakeCompleted(nil, reason: "")]).0.closeCodeForHandler == .noStatusReceived)
    }

    @Test func ourCloseKeepsItsCodeWhenAnsweredOrTimedOut() {
        let (answered, actions) = run([.close(.policyViolation, reason: "slow consumer"), .close(.normalClosure, reason: ""),
                                       .handshakeCompleted(.normalClosure, reason: "")])
        #expect(actions == [.sendClose(.policyViolation, reason: "slow consumer"), .none, .closeTransportAfterFlushAndNotify])
        #expect(answered.closeCodeForHandler == .policyViolation)
        let (timedOut, timeoutActions) = run([.close(.goingAway, reason: "idle"), .closeTimedOut, .transportEnded])
        #expect(timeoutActions == [.sendClose(.goingAway, reason: "idle"), .closeTransportAndNotify, .none])
        #expect(timedOut.closeCodeForHandler == .goingAway)
    }

    @Test func aPeerThatIsGoneIsReportedAsAbnormal() {
        #expect(run([.transportEnded]).0.closeCodeForHandler == .abnormalClosure)
        let (silent, actions) = run([.close(.normalClosure, reason: ""), .peerUnresponsive])
        #expect(actions.last == .closeTransportAndNotify)
        #expect(silent.closeCodeForHandler == .abnormalClosure)
        #expect(silent.reasonForHandler == "")
    }

    @Test func aProtocolFailureWinsOverAnEarlierClose() {
        let (lifecycle, actions) = run([.close(.normalClosure, reason: ""), .failed(.invalidPayload, reason: "invalid UTF-8")])
        #expect(actions.last == .closeTransportAfterFlushAndNotify)
        #expect(lifecycle.closeCodeForHandler == .invalidPayload)
    }

    @Test func stoppingTheServerSends1001AndWaitsForTheTransport() {
        let (lifecycle, actions) = run([.serverStopping, .close(.normalClosure, reason: ""), .transportEnded])
        #expect(actions == [.sendCloseThenCloseTransport, .none, .notify])
        #expect(lifecycle.closeCodeForHandler == .goingAway)
    }

    /// Every order of up to six events: the handler is told exactly once
    /// when the WebSocket ends, never before, and nothing happens after.
    @Test func everyOrderOfEventsTellsTheHandlerOnce() {
        let events: [Event] = [
            .close(.normalClosure, reason: ""), .serverStopping, .handshakeCompleted(.goingAway, reason: ""),
            .failed(.protocolError, reason: ""), .peerUnresponsive, .closeTimedOut, .transportEnded,
        ]
        let notifying: Set<Action> = [.closeTransportAfterFlushAndNotify, .closeTransportAndNotify, .notify]
        func explore(_ lifecycle: WebSocketLifecycle, told: Bool, depth: Int) {
            guard depth > 0 else { return }
            for event in events {
                var next = lifecycle
                let action = next.handle(event)
                let tells = notifying.contains(action)
                if tells && told { Issue.record("handler told twice: \(event)") }
                if (next.phase == .ended) != (told || tells) { Issue.record("ended without telling the handler: \(event)") }
                if lifecycle.phase == .ended && action != .none { Issue.record("\(action) after the end") }
                explore(next, told: told || tells, depth: depth - 1)
            }
        }
        explore(WebSocketLifecycle(), told: false, depth: 6)
    }
}
