import NIOCore
import SwitchboardWire

/// First in a connection's pipeline, before SwiftNIO's HTTP decoder: passes
/// the client's bytes on until the head of an upgrade request has gone by,
/// then holds back what follows (the client's first WebSocket frames) for
/// the hand-off.
///
/// SwiftNIO's decoder stops parsing after an upgrade request and keeps what
/// it read after it; removing it drops those bytes (Hummingbird's pipeline
/// asks for that). So they must never reach it.
final class HandOffBytesHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What is held back is bounded: past this, reading pauses and the
    /// kernel keeps the rest for Switchboard, which reads it after the 101.
    static let maxHeldBytes = 64 * 1024

    private var boundary = HTTPUpgradeBoundary()
    private var held: ByteBuffer?
    private var readPaused = false

    /// What the route that hands the connection off finds here.
    enum Take {
        /// The request being answered is an upgrade request; these bytes followed its head.
        case upgrade(heldBytes: [UInt8])
        /// No upgrade request's head has gone by.
        case notAnUpgrade
        /// The bytes could not be followed as HTTP (TLS in front, or framing the
        /// strict rules refuse): a hand-off could lose or misplace bytes.
        case lostTrack(String)
    }

    /// Called on the channel's loop by the route handing the connection off.
    func take() -> Take {
        switch boundary.state {
        case .following: return .notAnUpgrade
        case .lostTrack(let refusal): return .lostTrack(refusal.description)
        case .upgradeHeadEnded:
            let bytes = held.map { Array($0.readableBytesView) } ?? []
            held = nil
            return .upgrade(heldBytes: bytes)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard boundary.state == .following else {
            if boundary.state == .upgradeHeadEnded { hold(unwrapInboundIn(data)) } else { context.fireChannelRead(data) }
            return
        }
        var buffer = unwrapInboundIn(data)
        let passed = buffer.withUnsafeReadableBytes { boundary.scan($0) }
        if passed == buffer.readableBytes {
            context.fireChannelRead(data)
            return
        }
        let forHTTP = buffer.readSlice(length: passed)!
        hold(buffer)
        if forHTTP.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(forHTTP)) }
    }

    private func hold(_ buffer: ByteBuffer) {
        var buffer = buffer
        if held == nil { held = buffer } else { held!.writeBuffer(&buffer) }
        if held!.readableBytes >= Self.maxHeldBytes { readPaused = true }
    }

    func read(context: ChannelHandlerContext) {
        guard !readPaused else { return }
        context.read()
    }
}
