import Foundation

/// Requests to the todo API of the ExistingApp and HummingbirdTodos
/// examples, one connection each.
public struct TodoAPI: Sendable {
    public var port: Int

    public init(port: Int) { self.port = port }

    public func send(_ method: String, _ path: String, _ body: String? = nil) throws -> TestResponse {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        return try TestSocket(port: port).exchange(request + "\r\n" + (body ?? ""))
    }
}

extension InspectedChromium {
    /// The todo page's items as last drawn: "title", or "title (done)"
    /// (the class, not the checkbox a click flips at once).
    public func todoItems() throws -> [String] {
        let items = ##"JSON.stringify([...document.querySelectorAll("#list li")].map((item) => item.querySelector("span").textContent + (item.className === "done" ? " (done)" : "")))"##
        return (try JSONSerialization.jsonObject(with: Data(evaluate(items).utf8)) as? [String]) ?? []
    }

    /// Waits up to `seconds` for the page to show `expected`; nil when it
    /// does, else what it showed last (for the failure message).
    public func waitForTodos(_ expected: [String], seconds: Double = 10) -> String? {
        var seen: [String] = []
        let shown = eventually(seconds: seconds) {
            seen = try todoItems()
            return seen == expected
        }
        return shown ? nil : "\(seen); chromium:\n\(logTail)"
    }
}
