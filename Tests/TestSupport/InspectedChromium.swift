public import Foundation

/// A headless Chromium with its DevTools port open, to read a live page
/// with `Runtime.evaluate`. Like `Chromium`, it is its own process group,
/// killed whole by `kill()`.
public final class InspectedChromium {
    private let browser: Chromium
    private var devtools: TestWebSocket?
    private var nextID = 0

    public init(url: String, arguments: [String] = []) throws {
        browser = try Chromium(url: url, arguments: ["--remote-debugging-port=0"] + arguments)
    }

    public var logTail: String { browser.logTail }

    public func kill() { browser.kill() }

    /// Evaluates `expression` in the page and returns its value as a string.
    public func evaluate(_ expression: String) throws -> String {
        let result = try call("Runtime.evaluate", ["expression": expression, "returnByValue": true])
        return (result["result"] as? [String: Any])?["value"] as? String ?? ""
    }

    /// A PNG of the page as it is drawn now.
    public func screenshot() throws -> Data {
        let result = try call("Page.captureScreenshot", ["format": "png"])
        guard let data = (result["data"] as? String).flatMap({ Data(base64Encoded: $0) }) else {
            throw TestSocket.Failure(description: "no screenshot in \(result.keys)")
        }
        return data
    }

    /// Calls a DevTools method and returns its `result`.
    private func call(_ method: String, _ params: [String: Any]) throws -> [String: Any] {
        let socket = try devtools ?? connect()
        nextID += 1
        let request: [String: Any] = ["id": nextID, "method": method, "params": params]
        try socket.send(text: String(decoding: JSONSerialization.data(withJSONObject: request), as: UTF8.self))
        while true {
            guard let reply = try JSONSerialization.jsonObject(with: Data(socket.receiveNonPing().payload)) as? [String: Any] else {
                throw TestSocket.Failure(description: "DevTools sent something else than a JSON object")
            }
            guard reply["id"] as? Int == nextID else { continue }
            return reply["result"] as? [String: Any] ?? [:]
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
        guard let devtoolsPort = port else { throw TestSocket.Failure(description: "no DevTools port; chromium:\n\(logTail)") }
        var path: String?
        _ = eventually(seconds: 10) {
            let list = try? TestSocket(port: devtoolsPort).get("/json/list")
            let targets = (list.flatMap { try? JSONSerialization.jsonObject(with: Data($0.body)) } as? [[String: Any]]) ?? []
            path = targets.first { $0["type"] as? String == "page" }
                .flatMap { $0["webSocketDebuggerUrl"] as? String }
                .flatMap { URL(string: $0)?.path }
            return path != nil
        }
        guard let path else { throw TestSocket.Failure(description: "no page target; chromium:\n\(logTail)") }
        let socket = try TestWebSocket(port: devtoolsPort, path: path)
        devtools = socket
        return socket
    }
}
