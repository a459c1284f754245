import HTTPTypes
import Testing
@testable import Switchboard

@Suite("Router")
struct RouterTests {
    static func table(_ register: (Router) -> Void) -> RouteTable {
        let router = Router()
        register(router)
        return router.freeze()
    }

    static func name(_ match: RouteTable.Match) throws -> (String, Parameters) {
        guard case .found(.http(let handler, _), let parameters) = match else {
            Issue.record("expected a match, got \(match)")
            return ("", Parameters())
        }
        let request = Request(head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/"), body: [], parameters: parameters)
        return (try handler(request).bodyText, parameters)
    }

    let routes = table { router in
        router.get("/health") { _ in .text("health") }
        router.get("/topics/:name") { _ in .text("topic") }
        router.get("/topics/all") { _ in .text("all") }
        router.get("/topics/:name/stats") { _ in .text("stats") }
        router.post("/publish/:topic") { _ in .text("publish") }
        router.get("/files/*path") { _ in .text("files") }
        router.get("/a/:x/c") { _ in .text("axc") }
        router.get("/a/b/d") { _ in .text("abd") }
    }

    @Test(arguments: [
        ("/health", "health", [String: String]()),
        ("/topics/all", "all", [:]),
        ("/topics/news", "topic", ["name": "news"]),
        ("/topics/caf%C3%A9", "topic", ["name": "café"]),
        ("/topics/news/stats", "stats", ["name": "news"]),
        ("/files/css/site.css", "files", ["path": "css/site.css"]),
        ("/files/", "files", ["path": ""]),
        ("/a/b/c", "axc", ["x": "b"]),
        ("/a/b/d", "abd", [:]),
    ])
    func matchesTheMostSpecificRoute(path: String, expected: String, parameters: [String: String]) throws {
        let (body, found) = try Self.name(routes.match(.get, path: path[...]))
        #expect(body == expected)
        for (key, value) in parameters { #expect(found[key] == value) }
    }

    /// Delimiters are bytes: U+0605 joins the "/" or "?" after it into one
    /// `Character`, which must not merge two segments or hide the query (a
    /// request handed over by another HTTP stack may carry it raw).
    @Test func aCharacterThatJoinsTheNextDoesNotHideADelimiter() throws {
        let (body, found) = try Self.name(routes.match(.get, path: "/topics/\u{605}/stats"[...]))
        #expect(body == "stats" && found["name"] == "\u{605}")
        let request = Request(head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/ws\u{605}?user=\u{605}&x"), body: [], parameters: Parameters())
        #expect(request.path == "/ws\u{605}")
        #expect(request.queryValue("user") == "\u{605}")
        #expect(request.queryValue("x") == "")
        #expect(StaticFile.resolve("\u{605}/../\u{605}/../secret.txt", in: "/tmp") == nil)
    }

    @Test func headIsServedByGet() throws {
        #expect(try Self.name(routes.match(.head, path: "/health")).0 == "health")
    }

    @Test func wrongMethodListsTheAllowedOnes() {
        guard case .methodNotAllowed(let allowed) = routes.match(.get, path: "/publish/x") else {
            Issue.record("expected 405")
            return
        }
        #expect(allowed.map(\.rawValue) == ["OPTIONS", "POST"])
    }

    @Test(arguments: ["/", "/nope", "/health/", "/topics", "/topics/a/b/c", "/a/b", "/topics/%zz"])
    func unknownPathsAreNotFound(path: String) {
        guard case .notFound = routes.match(.get, path: path[...]) else {
            Issue.record("expected 404 for \(path)")
            return
        }
    }
}
