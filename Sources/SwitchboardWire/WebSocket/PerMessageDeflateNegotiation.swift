/// What the server is willing to do for permessage-deflate (RFC 7692).
public struct PerMessageDeflatePolicy: Sendable, Hashable {
    /// Ask for `server_no_context_takeover` (reset the server's compressor
    /// after every message). The server may always do this (§7.1.1.1).
    public var serverNoContextTakeover: Bool
    /// Ask for `client_no_context_takeover`; a server may include it in any
    /// response (§7.1.1.2).
    public var clientNoContextTakeover: Bool
    /// The largest window the server compresses with (9...15, or 8 to send
    /// every message uncompressed: zlib has no raw 8-bit window).
    public var serverMaxWindowBits: Int
    /// The largest window asked of the client (8...15), when the client
    /// says it can limit its window (`client_max_window_bits` in its offer).
    public var clientMaxWindowBits: Int

    public init(serverNoContextTakeover: Bool, clientNoContextTakeover: Bool, serverMaxWindowBits: Int = 15, clientMaxWindowBits: Int = 15) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
    }
}

/// The agreed permessage-deflate parameters of one connection.
public struct PerMessageDeflateAgreement: Sendable, Hashable {
    /// The server resets its compressor after every message.
    public var serverNoContextTakeover: Bool
    /// The client resets its compressor after every message, so the server
    /// may reset its decompressor too.
    public var clientNoContextTakeover: Bool
    /// The server compresses with at most this window (8...15).
    public var serverMaxWindowBits: Int
    /// The client compresses with at most this window (8...15).
    public var clientMaxWindowBits: Int

    /// The `Sec-WebSocket-Extensions` value of the 101 response.
    public var responseValue: String {
        var value = PerMessageDeflateNegotiation.extensionName
        if serverNoContextTakeover { value += "; server_no_context_takeover" }
        if clientNoContextTakeover { value += "; client_no_context_takeover" }
        if serverMaxWindowBits < 15 { value += "; server_max_window_bits=\(serverMaxWindowBits)" }
        if clientMaxWindowBits < 15 { value += "; client_max_window_bits=\(clientMaxWindowBits)" }
        return value
    }
}

/// The server's side of the permessage-deflate handshake (RFC 7692 §5, §7.1).
///
/// Offers are considered in the client's order of preference and the
/// first acceptable one wins. An offer is declined (and the next one
/// considered) when it breaks §7.1's rules: an unknown parameter, a
/// parameter given twice, or a value that is not allowed. A
/// `Sec-WebSocket-Extensions` field that breaks RFC 6455's grammar never
/// gets here: the handshake refuses it with 400. When no offer is
/// acceptable, the connection opens without compression.
public enum PerMessageDeflateNegotiation {
    public static let extensionName = "permessage-deflate"

    /// The agreement for the first acceptable offer, or nil.
    public static func negotiate(_ offers: [WebSocketExtensionOffer], policy: PerMessageDeflatePolicy) -> PerMessageDeflateAgreement? {
        for offer in offers where offer.name.lowercased() == extensionName {
            if let agreement = accept(offer, policy: policy) { return agreement }
        }
        return nil
    }

    /// The agreement for one offer, or nil to decline it.
    static func accept(_ offer: WebSocketExtensionOffer, policy: PerMessageDeflatePolicy) -> PerMessageDeflateAgreement? {
        guard let request = Request(offer) else { return nil }
        var agreement = PerMessageDeflateAgreement(
            serverNoContextTakeover: request.serverNoContextTakeover || policy.serverNoContextTakeover,
            clientNoContextTakeover: request.clientNoContextTakeover || policy.clientNoContextTakeover,
            serverMaxWindowBits: min(policy.serverMaxWindowBits, 15),
            clientMaxWindowBits: 15
        )
        // §7.1.2.1: the server must not use a larger window than the client
        // allows; answering with the same or a smaller value accepts it.
        if let limit = request.serverMaxWindowBits {
            agreement.serverMaxWindowBits = min(agreement.serverMaxWindowBits, limit)
        }
        // §7.1.2.2: the response may limit the client's window only when the
        // offer says the client can honour it.
        if let clientLimit = request.clientMaxWindowBits {
            agreement.clientMaxWindowBits = min(clientLimit, policy.clientMaxWindowBits)
        }
        return agreement
    }

    /// The parameters of one offer, checked against §7.1.
    struct Request {
        var serverNoContextTakeover = false
        var clientNoContextTakeover = false
        /// nil when not offered.
        var serverMaxWindowBits: Int?
        /// nil when not offered; 15 when offered without a value.
        var clientMaxWindowBits: Int?

        init?(_ offer: WebSocketExtensionOffer) {
            var seen: Set<String> = []
            for parameter in offer.parameters {
                let name = parameter.name.lowercased()
                // §7.1: "MUST decline ... if ... has more than one parameter of the same name".
                guard seen.insert(name).inserted else { return nil }
                switch name {
                case "server_no_context_takeover":
                    guard parameter.value == nil else { return nil }
                    serverNoContextTakeover = true
                case "client_no_context_takeover":
                    guard parameter.value == nil else { return nil }
                    clientNoContextTakeover = true
                case "server_max_window_bits":
                    // §7.1.2.1: a value is required, 8 to 15.
                    guard let bits = parameter.value.flatMap(Self.windowBits) else { return nil }
                    serverMaxWindowBits = bits
                case "client_max_window_bits":
                    // §7.1.2.2: the value may be left out; when present, 8 to 15.
                    if let value = parameter.value {
                        guard let bits = Self.windowBits(value) else { return nil }
                        clientMaxWindowBits = bits
                    } else {
                        clientMaxWindowBits = 15
                    }
                default:
                    // §7.1: an unknown parameter declines the offer.
                    return nil
                }
            }
        }

        /// A window size: 1*DIGIT without leading zeros, 8 to 15 (§7.1.2).
        static func windowBits(_ value: String) -> Int? {
            guard let first = value.utf8.first, first != UInt8(ascii: "0"),
                value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                value.utf8.count <= 2, let bits = Int(value), (8...15).contains(bits)
            else { return nil }
            return bits
        }
    }
}
