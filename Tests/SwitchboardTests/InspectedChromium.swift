import Foundation
import Testing
import TestSupport

/// A headless Chromium with its DevTools port open, to read a live page
/// with `Runtime.evaluate`. Like `Chromium`, it is its own process group,
/// killed whole by `kill()`.
final class InspectedChromium {
    private let browser: Chromium
    private var devtools: TestWebSocket?
    private var nextID = 0

    init(url: String) throws {
        browser = try Chromium(url: url, arguments: ["--remote-debugging-port=0"])
    }

    var logTail: String { browser.logTail }

    func kill() { browser.kill() }

    /// Evaluates `expression` in the page and returns its value as a string.
    func evaluate(_ expression: String) throws -> String {
        let socket = try devtools ?? connect()
        nextID += 1
        let request: [String: Any] = ["id": nextID, "method": "Runtime.evaluate",
                                      "params": ["expression": expression, "returnByValue": true]]
        try socket.send(text: String(decoding: JSONSerialization.data(withJSONObject: request), as: UTF8.self))
        while true {
            let reply = try #require(JSONSerialization.jsonObject(with: Data(socket.receiveNonPing().payload)) as? [String: Any])
            guard reply["id"] as? Int == nextID else { continue }
            let result = (reply["result"] as? [String: Any])?["result"] as? [String: Any]
            return result?["value"] as? String ?? ""
        }
    }

    /// Finds the DevTools port (Chromium writes it to the profile) and the page's socket.
    private func connect() throws -> TestWebSocket {
        let portFile = browser.profileFolder.appendingPathComponent("DevToolsActivePort")
        var port: Int?
        _ = eventually(seconds: 15) {
            port = (try? String(contentsOf: portFile, encoding: .utf8))?.split(separator: "\n").first.flatMap { Int($0) }
            return port != nil
        }
        let devtoolsPort = try #require(port, "no DevTools port; chromium:\n\(logTail)")
        var path: String?
        _ = eventually(seconds: 10) {
            let list = try? TestSocket(port: devtoolsPort).exchange("GET /json/list HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let targets = (list.flatMap { try? JSONSerialization.jsonObject(with: Data($0.body)) } as? [[String: Any]]) ?? []
            path = targets.first { $0["type"] as? String == "page" }
                .flatMap { $0["webSocketDebuggerUrl"] as? String }
                .flatMap { URL(string: $0)?.path }
            return path != nil
        }
        let socket = try TestWebSocket(port: devtoolsPort, path: try #require(path, "no page target"))
        devtools = socket
        return socket
    }
}
