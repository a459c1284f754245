import SwitchboardWire

/// `deflate-negotiation`: the input is a `Sec-WebSocket-Extensions` value.
///
/// Parsed offers print back to a value that parses to the same offers.
/// Under each server policy, the agreement is for the first offer that
/// ``DeflateOfferReading`` accepts, never grants more than offer and
/// policy allow (RFC 7692 §7.1.1, §7.1.2), and its response value parses
/// back to exactly that agreement.
enum DeflateNegotiationTarget {
    static let target = FuzzTarget(
        name: "deflate-negotiation",
        summary: "WebSocketExtensionParser and PerMessageDeflateNegotiation",
        check: check
    )

    /// The policies `WebSocketCompression` asks for, and a few edges.
    static let policies = [
        PerMessageDeflatePolicy(serverNoContextTakeover: true, clientNoContextTakeover: true),
        PerMessageDeflatePolicy(serverNoContextTakeover: false, clientNoContextTakeover: false),
        PerMessageDeflatePolicy(
            serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 10),
        PerMessageDeflatePolicy(
            serverNoContextTakeover: false, clientNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 9),
    ]

    static func check(_ input: [UInt8]) throws(PropertyViolation) {
        guard let offers = parse(input) else { return }
        try checkPrintsBack(offers)
        for policy in policies {
            let agreement = PerMessageDeflateNegotiation.negotiate(offers, policy: policy)
            let chosen = offers.lazy.filter(DeflateOfferReading.isPerMessageDeflate).compactMap(DeflateOfferReading.init).first
            guard let agreement else {
                try require(chosen == nil, "declined every offer though \(chosen!) is acceptable")
                continue
            }
            guard let chosen else { throw PropertyViolation("agreed \(agreement) though no offer is acceptable") }
            try checkGrants(agreement, offer: chosen, policy: policy)
            try checkResponse(agreement, offer: chosen)
        }
    }

    static func parse(_ text: [UInt8]) -> [WebSocketExtensionOffer]? {
        text.withUnsafeBytes { WebSocketExtensionParser.parse($0) }
    }

    /// Tokens print as they are; values alternate between token and quoted form.
    private static func checkPrintsBack(_ offers: [WebSocketExtensionOffer]) throws(PropertyViolation) {
        var quote = false
        let printed = offers.map { offer in
            ([offer.name] + offer.parameters.map { parameter in
                guard let value = parameter.value else { return parameter.name }
                quote.toggle()
                return parameter.name + "=" + (quote ? "\"\(value)\"" : value)
            }).joined(separator: "; ")
        }.joined(separator: ", ")
        let again = parse(Array(printed.utf8))
        try require(again == offers, "\(printed) parsed as \(String(describing: again)), not \(offers)")
    }

    private static func checkGrants(
        _ agreement: PerMessageDeflateAgreement,
        offer: DeflateOfferReading,
        policy: PerMessageDeflatePolicy
    ) throws(PropertyViolation) {
        try require((8...15).contains(agreement.serverMaxWindowBits), "server window \(agreement.serverMaxWindowBits)")
        try require((8...15).contains(agreement.clientMaxWindowBits), "client window \(agreement.clientMaxWindowBits)")
        // §7.1.2.1: never a larger window than the client allows, nor than the policy.
        try require(
            agreement.serverMaxWindowBits <= min(offer.serverMaxWindowBits ?? 15, policy.serverMaxWindowBits),
            "server window \(agreement.serverMaxWindowBits) for \(offer) under \(policy)"
        )
        // §7.1.2.2: the client's window is limited only when the offer allows it.
        try require(
            agreement.clientMaxWindowBits == 15 || offer.clientMaxWindowBits != nil,
            "client window \(agreement.clientMaxWindowBits) limited though \(offer) does not allow it"
        )
        try require(agreement.clientMaxWindowBits <= offer.clientMaxWindowBits ?? 15, "client window above the offer")
        // §7.1.1: what the client asked for is granted; the policy may add more.
        try require(!offer.serverNoContextTakeover || agreement.serverNoContextTakeover, "server_no_context_takeover dropped")
        try require(!offer.clientNoContextTakeover || agreement.clientNoContextTakeover, "client_no_context_takeover dropped")
        try require(!policy.serverNoContextTakeover || agreement.serverNoContextTakeover, "policy's server_no_context_takeover dropped")
    }

    /// The response is one permessage-deflate element whose parameters say
    /// exactly what was agreed, and none the offer forbids (§7.1.2.2).
    private static func checkResponse(_ agreement: PerMessageDeflateAgreement, offer: DeflateOfferReading) throws(PropertyViolation) {
        let value = agreement.responseValue
        guard let parsed = parse(Array(value.utf8)), parsed.count == 1,
            DeflateOfferReading.isPerMessageDeflate(parsed[0]), let response = DeflateOfferReading(parsed[0])
        else {
            throw PropertyViolation("response \(value) does not parse as one valid permessage-deflate element")
        }
        try require(response.serverNoContextTakeover == agreement.serverNoContextTakeover, "\(value): server_no_context_takeover")
        try require(response.clientNoContextTakeover == agreement.clientNoContextTakeover, "\(value): client_no_context_takeover")
        try require((response.serverMaxWindowBits ?? 15) == agreement.serverMaxWindowBits, "\(value): server_max_window_bits")
        try require((response.clientMaxWindowBits ?? 15) == agreement.clientMaxWindowBits, "\(value): client_max_window_bits")
        try require(response.clientMaxWindowBits == nil || offer.clientMaxWindowBits != nil, "\(value): client window not offered")
    }
}
