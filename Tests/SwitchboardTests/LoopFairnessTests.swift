import Glibc
import SwitchboardDeflate
import SwitchboardWire
import SwitchboardSync
import Synchronization
import Testing
import TestSupport
@testable import Switchboard

/// One peer cannot hold its loop: a connection hands its handler at most
/// `WebSocketConnection.turnBudget` per loop turn, then the loop serves its
/// other connections before going on with the rest.
@Suite("Loop fairness over real sockets")
struct LoopFairnessTests {
    /// Counts the messages it is given; "count?" answers with the count.
    struct Counting: WebSocketHandler {
        let received: Counter
        func onBinary(_ socket: WebSocket<Void>, _ data: [UInt8]) { received.increment() }
        func onText(_ socket: WebSocket<Void>, _ text: String) { socket.send(text: "\(received.value)") }
    }

    @Test func decompressionBombsDoNotStarveTheOtherConnectionsOfTheLoop() throws {
        let received = Counter()
        let compressed = WebSocketConfiguration(maxMessageSize: 1 << 20, pingInterval: nil, compression: .perMessageDeflate)
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1))
        server.webSocket("/sink", configuration: compressed, handler: Counting(received: received))
        server.webSocket("/ask", configuration: WebSocketConfiguration(pingInterval: nil), handler: Counting(received: received))
        let port = try server.start().port
        defer { try? server.stop() }

        // 1 MiB of zeros deflates to about a kilobyte: 100 of them fit in
        // the socket buffers while the loop is held.
        var bomb: [UInt8] = []
        let zeros = [UInt8](repeating: 0, count: (1 << 20) - 64)
        let compressor = try DeflateCompressor(contextTakeover: false)
        zeros.withUnsafeBytes { compressor.compress($0, appendingTo: &bomb) }
        let frame = WebSocketFrame.encode(opcode: .binary, payload: bomb, rsv1: true, maskingKey: (1, 2, 3, 4))
        let bombs = 100

        let attacker = try TestWebSocket(port: port, path: "/sink", headers: ["Sec-WebSocket-Extensions: permessage-deflate"])
        let victim = try TestWebSocket(port: port, path: "/ask")
        // Hold the loop, so that the attacker's bytes and then the victim's
        // question are all waiting when it polls: epoll lists the attacker
        // first, since its socket became readable first.
        let held = Latch(count: 1)
        server.group!.loops[0].execute { held.wait(timeout: .seconds(10)) }
        try attacker.socket.send(Array([[UInt8]](repeating: frame, count: bombs).joined()))
        try victim.send(text: "count?")
        usleep(100_000)  // the bytes reach the server's socket buffers
        held.countDown()

        let answeredAfter = Int(try victim.receiveNonPing().text) ?? -1
        // The turn that spends the budget finishes its message.
        let budgetInBombs = WebSocketConnection.turnBudget / zeros.count + 1
        #expect(answeredAfter <= budgetInBombs, "the victim waited for \(answeredAfter) of \(bombs) bombs")
        #expect(eventually { received.value == bombs }, "the attacker's messages are all handled in later turns")
    }
}
