import HTTPTypes
import Testing

@testable import SwitchboardWire

/// One request as the parser returned it, comparable as a whole.
struct ParsedRequest: Equatable, CustomStringConvertible {
    var request: HTTPRequest
    var version: HTTPVersion
    var keepAlive: Bool
    var isUpgradeRequest: Bool
    var body: [UInt8]

    var description: String {
        "\(request.method) \(request.path ?? "nil") \(version) authority=\(request.authority ?? "nil") "
            + "keepAlive=\(keepAlive) upgrade=\(isUpgradeRequest) body=\(body.count)B"
    }

    /// The fields as "Name: value" lines, in order.
    var fieldLines: [String] { request.headerFields.map { "\($0.name.rawName): \($0.value)" } }
    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Everything a parser produced for some input: requests in order, then the error if any.
struct ParseOutcome: Equatable, CustomStringConvertible {
    var requests: [ParsedRequest] = []
    var error: HTTPRefusal?

    var description: String {
        "\(requests.count) request(s) \(requests) error=\(error.map(String.init(describing:)) ?? "none")"
    }
}

/// Feeds `chunks` in order, draining events after each; a paused parser is resumed so that
/// upgrade requests do not stop the comparison. Stops at the first error, after checking the
/// error is sticky.
func parse(chunks: [ArraySlice<UInt8>], limits: HTTPParserLimits = .default) -> ParseOutcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = ParseOutcome()
    for chunk in chunks {
        parser.receive(Array(chunk))
        do {
            while true {
                if parser.isPausedForUpgrade { parser.resume() }
                guard let event = try parser.nextEvent() else { break }
                switch event {
                case .request(let head, let body):
                    expectFieldsReadWithoutBuilding(head)
                    outcome.requests.append(
                        ParsedRequest(
                            request: head.request,
                            version: head.version,
                            keepAlive: head.keepAlive,
                            isUpgradeRequest: head.isUpgradeRequest,
                            body: body
                        )
                    )
                }
            }
        } catch {
            outcome.error = error
            #expect(throws: error) { try parser.nextEvent() }
            return outcome
        }
    }
    return outcome
}

/// Parses `input` whole, split in two at every byte boundary, and byte by byte, expects all
/// outcomes to be identical, and returns the outcome.
@discardableResult
func parseEverySplit(
    _ input: [UInt8],
    limits: HTTPParserLimits = .default,
    sourceLocation: SourceLocation = #_sourceLocation
) -> ParseOutcome {
    let whole = parse(chunks: [input[...]], limits: limits)
    var mismatches = 0
    for split in 1..<max(1, input.count) where mismatches < 3 {
        let outcome = parse(chunks: [input[..<split], input[split...]], limits: limits)
        if outcome != whole {
            mismatches += 1
            Issue.record("split at \(split): \(outcome) != \(whole)", sourceLocation: sourceLocation)
        }
    }
    let byteByByte = parse(chunks: input.indices.map { input[$0...$0] }, limits: limits)
    #expect(byteByByte == whole, "byte by byte", sourceLocation: sourceLocation)
    return whole
}

extension Array where Element == UInt8 {
    /// The UTF-8 bytes of `text`; write `\r\n` explicitly in literals.
    init(_ text: String) { self = Array(text.utf8) }
}

/// A head with the given lines, each followed by CRLF, then the empty line.
func head(_ lines: String...) -> String {
    lines.map { $0 + "\r\n" }.joined() + "\r\n"
}

/// Limits with small values so oversized inputs stay small enough to split everywhere.
func smallLimits(
    maxHeadSize: Int = 256,
    maxHeaderCount: Int = 8,
    maxRequestTargetLength: Int = 32,
    maxBodySize: Int = 64
) -> HTTPParserLimits {
    HTTPParserLimits(
        maxHeadSize: maxHeadSize,
        maxHeaderCount: maxHeaderCount,
        maxRequestTargetLength: maxRequestTargetLength,
        maxBodySize: maxBodySize
    )
}

/// A table row expecting an error.
struct InvalidCase: Sendable, CustomTestStringConvertible {
    let name: String
    let input: [UInt8]
    let status: Int
    let reason: String
    let limits: HTTPParserLimits

    init(_ name: String, _ input: String, _ status: Int, _ reason: String, limits: HTTPParserLimits = .default) {
        self.init(name, [UInt8](input), status, reason, limits: limits)
    }

    init(_ name: String, _ input: [UInt8], _ status: Int, _ reason: String, limits: HTTPParserLimits = .default) {
        self.name = name
        self.input = input
        self.status = status
        self.reason = reason
        self.limits = limits
    }

    var testDescription: String { name }

    /// Runs the row: every split gives the same outcome, which is exactly this error.
    func check(sourceLocation: SourceLocation = #_sourceLocation) {
        let outcome = parseEverySplit(input, limits: limits, sourceLocation: sourceLocation)
        #expect(outcome.requests.isEmpty, sourceLocation: sourceLocation)
        #expect(outcome.error?.status.code == status, "\(outcome)", sourceLocation: sourceLocation)
        #expect(outcome.error?.reason == reason, "\(outcome)", sourceLocation: sourceLocation)
    }
}

/// What routing and the handshake read from a parsed head without building
/// its `HTTPRequest` agrees with the request built from it.
func expectFieldsReadWithoutBuilding(_ head: HTTPRequestHead, sourceLocation: SourceLocation = #_sourceLocation) {
    var read: [([UInt8], [UInt8])] = []
    head.forEachField { name, value in read.append((Array(name), Array(value))) }
    let request = head.request
    let built = request.headerFields.map { field in
        (Array(field.name.rawName.utf8), field.withUnsafeBytesOfValue { Array($0) })
    }
    #expect(read.map(\.0) == built.map(\.0), sourceLocation: sourceLocation)
    #expect(read.map(\.1) == built.map(\.1), sourceLocation: sourceLocation)
    #expect(head.method == request.method && head.path == request.path && head.authority == request.authority,
            sourceLocation: sourceLocation)
}
