import SwitchboardWire

/// RFC 7692 §7.1 read again, apart from the code under test: the
/// parameters of one permessage-deflate offer or response, or nil when an
/// offer with them must be declined (an unknown or repeated parameter, or a
/// value that is not allowed).
struct DeflateOfferReading: Equatable {
    var serverNoContextTakeover = false
    var clientNoContextTakeover = false
    var serverMaxWindowBits: Int?
    /// Present without a value: 15 (§7.1.2.2 lets an offer leave it out).
    var clientMaxWindowBits: Int?

    init?(_ offer: WebSocketExtensionOffer) {
        var names: Set<String> = []
        for parameter in offer.parameters {
            let name = parameter.name.lowercased()
            guard names.insert(name).inserted else { return nil }
            switch (name, parameter.value) {
            case ("server_no_context_takeover", nil): serverNoContextTakeover = true
            case ("client_no_context_takeover", nil): clientNoContextTakeover = true
            case ("server_max_window_bits", let value?):
                guard let bits = Self.windowBits(value) else { return nil }
                serverMaxWindowBits = bits
            case ("client_max_window_bits", nil): clientMaxWindowBits = 15
            case ("client_max_window_bits", let value?):
                guard let bits = Self.windowBits(value) else { return nil }
                clientMaxWindowBits = bits
            default:
                return nil
            }
        }
    }

    /// §7.1.2: `1*DIGIT` without leading zeros, 8 to 15.
    static func windowBits(_ value: String) -> Int? {
        let allowed = (8...15).map(String.init)
        return allowed.contains(value) ? Int(value) : nil
    }

    static func isPerMessageDeflate(_ offer: WebSocketExtensionOffer) -> Bool {
        offer.name.lowercased() == PerMessageDeflateNegotiation.extensionName
    }
}
