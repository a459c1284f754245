import SwitchboardHub
import SwitchboardIO
import SwitchboardWire
import Synchronization

/// A published message as the hub hands it to every subscriber: the frame
/// encoded once, and, when some route compresses, a slot for its
/// compressed form, made once by the first subscriber that needs it and
/// shared by every subscriber without context takeover.
struct PublishedFrame: Sendable {
    let plain: SharedBytes
    let compressed: CompressedFrameSlot?
    let opcode: WebSocketOpcode
    /// Bytes of `plain` before the payload.
    let headerSize: Int
    /// Where the message stands in its topic's history; nil on topics
    /// without history (so their path costs one nil check more).
    let stamp: HistoryStamp?

    init(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, compressed: CompressedFrameSlot?, stamp: HistoryStamp? = nil) {
        plain = SharedBytes.webSocketFrame(opcode, payload)
        self.compressed = compressed
        self.opcode = opcode
        headerSize = WebSocketFrame.serverHeaderSize(payloadLength: payload.count)
        self.stamp = stamp
    }

    /// The payload, inside `plain`.
    func withPayload<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        plain.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[headerSize...])) }
    }
}

/// Holds the compressed frame of one publish once someone made it.
final class CompressedFrameSlot: Sendable {
    private let reference = AtomicLazyReference<Entry>()

    private final class Entry: Sendable {
        /// nil when compressing did not make the message smaller.
        let frame: SharedBytes?
        init(_ frame: SharedBytes?) { self.frame = frame }
    }

    /// The compressed frame, made by `make` on first use. Two loops asking
    /// at the same moment may both compress; one result is kept.
    func frame(_ make: () -> SharedBytes?) -> SharedBytes? {
        if let entry = reference.load() { return entry.frame }
        return reference.storeIfNil(Entry(make())).frame
    }
}

/// A kept message's place: its topic and position, and where its `data`
/// starts in the frame's payload (it ends one byte before the payload's
/// end, at the message object's closing brace).
final class HistoryStamp: Sendable {
    let topic: String
    let point: StreamPoint
    let dataStart: Int

    init(topic: String, point: StreamPoint, dataStart: Int) {
        self.topic = topic
        self.point = point
        self.dataStart = dataStart
    }
}
