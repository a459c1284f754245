import NIOCore

/// Keeps the raw bytes that reach it instead of passing them on: put right
/// behind Vapor's HTTP decoder before the 101, it receives what the decoder
/// had read past the upgrade request (forwarded when Vapor removes it), then
/// what Vapor's upgrade buffer held, then any later read, all in order, for
/// Switchboard to read first. Nothing else reaches it: SwiftNIO's decoder
/// stops parsing after an upgrade request (whose body, if any, is refused
/// before the 101), and its leftovers would otherwise reach handlers that
/// expect parsed requests.
///
/// Past `limit` bytes it stops the channel's reads; the kernel keeps the
/// rest for Switchboard.
final class HandOffCapture: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    static let limit = 64 * 1024
    private(set) var bytes: [UInt8] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if let read = buffer.readBytes(length: buffer.readableBytes) { bytes += read }
        if bytes.count >= Self.limit { _ = context.channel.setOption(ChannelOptions.autoRead, value: false) }
    }

    /// Taken by the hand-off, once.
    func take() -> [UInt8] {
        defer { bytes = [] }
        return bytes
    }
}
