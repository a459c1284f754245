import HTTPTypes
import Synchronization

/// A request head as the parser checked it: its bytes and where each field
/// line's name and value lie in them. `HTTPRequest` is built from it only
/// when someone asks (``request``), once: an upgrade needs only a few of
/// its fields, and building `HTTPFields` (a `String` and HTTPTypes' own
/// checks per field) was a third of a handshake's instructions.
final class ParsedRequestHead: @unchecked Sendable {
    /// Where a field line's name and value lie in ``bytes``.
    struct FieldSpan: Sendable {
        var nameStart: Int
        var nameEnd: Int
        var valueStart: Int
        var valueEnd: Int
    }

    // Filled in by `HTTPHeadCollector` while the head is parsed (one
    // thread); never changed once an `HTTPRequestHead` holds the object:
    // then shared read-only: no exclusivity checks (a runtime call per
    // access of a class's `var`).

    /// The parser's buffer, which holds the head from `bytesStart` on,
    /// request line first (the spans count from there): shared, not
    /// copied. The parser drops its reference once the bytes are consumed.
    @exclusivity(unchecked) private var bytes: [UInt8] = []
    @exclusivity(unchecked) private var bytesStart = 0
    /// Every field line but Host, in order.
    @exclusivity(unchecked) private var fields: [FieldSpan]
    let method: HTTPRequest.Method
    let target: HTTPRequestTarget
    /// The Host field's value (nil when absent or empty).
    @exclusivity(unchecked) private(set) var host: String?
    private let built = Mutex<HTTPRequest?>(nil)

    init(method: HTTPRequest.Method, target: HTTPRequestTarget) {
        self.method = method
        self.target = target
        fields = []
        // Room for a browser's upgrade request in the first allocation.
        fields.reserveCapacity(16)
    }

    func appendField(_ span: FieldSpan) {
        fields.append(span)
    }

    func setHost(_ host: String) {
        self.host = host
    }

    /// Keeps the bytes of the complete head: `buffer` from `start` on.
    func keepBytes(_ buffer: [UInt8], from start: Int) {
        bytes = buffer
        bytesStart = start
    }

    /// RFC 9112 §3.2.2: absolute-form and authority-form targets override Host.
    var authority: String? { target.authority ?? host }

    /// Calls `body` with each field line's name (as sent) and value, in order.
    func forEachField(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        bytes.withUnsafeBytes { buffer in
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[bytesStart...])
            for span in fields {
                body(
                    UnsafeRawBufferPointer(rebasing: bytes[span.nameStart..<span.nameEnd]),
                    UnsafeRawBufferPointer(rebasing: bytes[span.valueStart..<span.valueEnd]))
            }
        }
    }

    /// The head as `HTTPRequest`, built on the first call.
    var request: HTTPRequest {
        built.withLock { built in
            if let built { return built }
            let request = build()
            built = request
            return request
        }
    }

    private func build() -> HTTPRequest {
        var headerFields = HTTPFields()
        headerFields.reserveCapacity(fields.count)
        forEachField { name, value in
            // The scanner checked the name is a token, so the failable initialiser succeeds.
            guard let fieldName = HTTPKnownFieldNames.name(exactly: name) ?? HTTPField.Name(HTTPSyntax.string(name)) else {
                return
            }
            if value.contains(where: { $0 >= 0x80 }) {
                // Keep the exact bytes: obs-text need not be UTF-8 (RFC 9110 §5.5).
                headerFields.append(HTTPField(name: fieldName, value: HTTPSyntax.bytes(value)))
            } else {
                // ASCII: a String is exact, and much cheaper for HTTPTypes to take.
                headerFields.append(HTTPField(name: fieldName, value: HTTPSyntax.string(value)))
            }
        }
        return HTTPRequest(method: method, scheme: target.scheme, authority: authority, path: target.path, headerFields: headerFields)
    }
}
