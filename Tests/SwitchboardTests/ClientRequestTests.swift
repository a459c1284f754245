import Testing
@testable import Switchboard

/// The client protocol's decoding without a socket: what each frame asks
/// for, and the exact error frame each refusal sends (Docs/client-protocol.md).
@Suite("Client protocol decoding")
struct ClientRequestTests {
    @Test func readsEachRequestType() throws {
        #expect(try ClientRequest.decode(#"{"type":"subscribe","topic":"prices","id":1}"#).get()
            == ClientRequest(action: .subscribe, topic: "prices", id: "1"))
        #expect(try ClientRequest.decode(#"{"type":"unsubscribe","topic":"prices"}"#).get()
            == ClientRequest(action: .unsubscribe, topic: "prices", id: nil))
        #expect(try ClientRequest.decode(#"{"type":"publish","topic":"t","data":[1,"two",null],"id":"b1"}"#).get()
            == ClientRequest(action: .publish(data: #"[1,"two",null]"#), topic: "t", id: #""b1""#))
    }

    @Test(arguments: [
        ("not json", #"{"type":"error","code":"bad_request","reason":"expected a JSON object"}"#),
        (#"[1,2]"#, #"{"type":"error","code":"bad_request","reason":"expected a JSON object"}"#),
        (#"{"topic":"a","id":7}"#, #"{"type":"error","id":7,"code":"bad_request","reason":"missing type"}"#),
        (#"{"type":"subscribe","id":7}"#, #"{"type":"error","id":7,"code":"bad_request","reason":"missing topic"}"#),
        (#"{"type":"shout","id":7}"#, #"{"type":"error","id":7,"code":"bad_request","reason":"missing topic"}"#),
        (#"{"type":"sh\"out","topic":"a","id":"x"}"#,
         #"{"type":"error","id":"x","code":"bad_request","reason":"unknown type sh\"out"}"#),
        (#"{"type":"publish","topic":"a","id":7}"#, #"{"type":"error","id":7,"code":"bad_request","reason":"publish needs data"}"#),
        (#"{"type":"publish","topic":"","id":7}"#,
         #"{"type":"error","id":7,"code":"invalid_topic","reason":"topics are 1 to 256 bytes without control characters"}"#),
        (#"{"type":"subscribe","topic":"a\u0001b"}"#,
         #"{"type":"error","code":"invalid_topic","reason":"topics are 1 to 256 bytes without control characters"}"#),
    ])
    func refusesWithTheDocumentedFrame(request: String, reply: String) {
        switch ClientRequest.decode(request) {
        case .success(let decoded): Issue.record("accepted \(decoded)")
        case .failure(let error): #expect(error.replyText == reply)
        }
    }

    @Test func topicLimitIsInBytes() {
        #expect(ClientRequest.isValidTopic(String(repeating: "é", count: 128)))
        #expect(!ClientRequest.isValidTopic(String(repeating: "é", count: 128) + "x"))
        #expect(!ClientRequest.isValidTopic("a\u{85}b"))  // C1 control
    }
}
