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

    @Test func theExactPathTableAgreesWithTheTreeOnEveryPath() throws {
        // Every path of up to three segments from the routes' own words (and
        // some others), with and without the leading slash, every method.
        let words = ["", "health", "topics", "all", "news", "stats", "publish", "files", "a", "b", "c", "d", "x"]
        var paths: [String] = ["", "/"]
        var level = [""]
        for _ in 0..<3 {
            level = level.flatMap { prefix in words.map { prefix + "/" + $0 } }
            paths += level
        }
        paths += paths.map { String($0.dropFirst()) }
        var compared = 0
        for path in paths {
            for method in [HTTPRequest.Method.get, .head, .post, .options] {
                let fast = describe(routes.match(method, path: path[...]))
                let tree = describe(routes.matchWalkingTheTree(method, path: path[...]))
                #expect(fast == tree, "\(method) \(path)")
                compared += 1
            }
        }
        #expect(compared > 10_000)
        // The table holds only literal routes; "/health" is one.
        #expect(routes.exactPaths["/health"] != nil && routes.exactPaths["/topics/all"] != nil)
        #expect(routes.exactPaths.count == 3)  // /health, /topics/all, /a/b/d
    }

    private func describe(_ match: RouteTable.Match) -> String {
        switch match {
        case .found(.http(_, let index), let parameters): "found \(index) \(parameters)"
        case .found(.webSocket, let parameters): "websocket \(parameters)"
        case .methodNotAllowed(let allowed): "405 \(allowed)"
        case .notFound: "404"
        }
    }
}
