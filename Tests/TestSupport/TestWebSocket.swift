public import SwitchboardWire

/// A minimal WebSocket client over `TestSocket`, for exact control of the
/// bytes: masked frames out, server frames parsed back.
///
/// Sendable so that async tests can do its blocking calls on a thread of
/// their own; it is used by one thread at a time.
public final class TestWebSocket: @unchecked Sendable {
    public let socket: TestSocket
    public let response: TestResponse

    public struct Frame: Equatable {
        public var opcode: UInt8
        public var fin: Bool
        public var payload: [UInt8]
        /// Set on the first frame of a compressed message (RFC 7692 §6).
        public var rsv1 = false
        public var text: String { String(decoding: payload, as: UTF8.self) }

        public init(opcode: UInt8, fin: Bool, payload: [UInt8], rsv1: Bool = false) {
            self.opcode = opcode
            self.fin = fin
            self.payload = payload
            self.rsv1 = rsv1
        }

        /// The close code in a close frame's payload.
        public var closeCode: UInt16? {
            payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
        }
    }

    /// Opens `path` and expects 101.
    public init(port: Int, path: String = "/ws", headers: [String] = [], receiveBufferSize: Int32? = nil, sourceHost: String? = nil) throws {
        socket = try TestSocket(port: port, receiveBufferSize: receiveBufferSize, sourceHost: sourceHost)
        response = try Self.handshake(socket, path: path, headers: headers)
        guard response.status == 101 else {
            throw TestSocket.Failure(description: "expected 101, got \(response.status)")
        }
    }

    /// A socket whose upgrade the caller did itself (its 101 is `response`).
    public init(upgraded socket: TestSocket, response: TestResponse) {
        self.socket = socket
        self.response = response
    }

    /// The upgrade request `handshake` sends.
    public static func upgradeRequest(path: String, headers: [String] = [], key: String = "dGhlIHNhbXBsZSBub25jZQ==") -> String {
        let lines = ["GET \(path) HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
                     "Sec-WebSocket-Key: \(key)", "Sec-WebSocket-Version: 13"] + headers
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// Sends an upgrade request and returns the response head.
    public static func handshake(_ socket: TestSocket, path: String, headers: [String] = [], key: String = "dGhlIHNhbXBsZSBub25jZQ==") throws -> TestResponse {
        try socket.send(upgradeRequest(path: path, headers: headers, key: key))
        let head = try socket.receiveHead()
        if head.status != 101, let length = head.header("content-length").flatMap(Int.init), length > 0 {
            var withBody = head
            withBody.body = try socket.receive(count: length)
            return withBody
        }
        return head
    }

    public func send(opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true, rsv1: Bool = false, masked: Bool = true) throws {
        try socket.send(WebSocketFrame.encode(opcode: opcode, payload: payload, fin: fin, rsv1: rsv1, maskingKey: masked ? (1, 2, 3, 4) : nil))
    }

    public func send(text: String) throws { try send(opcode: .text, Array(text.utf8)) }

    public func receiveFrame() throws -> Frame {
        let head = try socket.receive(count: 2)
        var length = Int(head[1] & 0x7F)
        if length == 126 {
            let bytes = try socket.receive(count: 2)
            length = Int(bytes[0]) << 8 | Int(bytes[1])
        } else if length == 127 {
            length = try socket.receive(count: 8).reduce(0) { $0 << 8 | Int($1) }
        }
        return Frame(opcode: head[0] & 0x0F, fin: head[0] & 0x80 != 0, payload: try socket.receive(count: length), rsv1: head[0] & 0x40 != 0)
    }

    /// The next frame that is not a ping; pings are answered on the way, as
    /// a browser does (a test client that waits long for something is not
    /// dropped for a missing pong).
    public func receiveNonPing() throws -> Frame {
        while true {
            let frame = try receiveFrame()
            if frame.opcode != 0x9 { return frame }
            try? send(opcode: .pong, frame.payload)
        }
    }
}
