import Foundation
import Testing
import TestSupport
@testable import Switchboard

@Suite("Static files")
struct StaticFilesTests {
    /// A site folder with an index, a script, a secret beside the folder and
    /// a symbolic link pointing at that secret.
    static func makeSite() throws -> (site: String, cleanup: () -> Void) {
        let base = NSTemporaryDirectory() + "switchboard-static-\(UUID().uuidString)"
        let site = base + "/site"
        try FileManager.default.createDirectory(atPath: site + "/js", withIntermediateDirectories: true)
        try "<h1>hi</h1>".write(toFile: site + "/index.html", atomically: true, encoding: .utf8)
        try "console.log(1)".write(toFile: site + "/js/app.js", atomically: true, encoding: .utf8)
        try "secret".write(toFile: base + "/secret.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: site + "/escape.txt", withDestinationPath: base + "/secret.txt")
        return (site, { try? FileManager.default.removeItem(atPath: base) })
    }

    @Test func servesFilesWithContentTypesAndIndex() throws {
        let (site, cleanup) = try Self.makeSite()
        defer { cleanup() }
        try withServer(routes: { $0.staticFiles(at: "/", directory: site) }) { _, port in
            let client = try TestSocket(port: port)
            let index = try client.exchange("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(index.status == 200)
            #expect(index.bodyText == "<h1>hi</h1>")
            #expect(index.header("content-type") == "text/html; charset=utf-8")
            let script = try client.exchange("GET /js/app.js HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(script.header("content-type") == "text/javascript; charset=utf-8")
            // Routes registered explicitly still win over the catch-all.
            #expect(try client.exchange(get).bodyText == "ok")
        }
    }

    @Test(arguments: [
        "/../secret.txt", "/js/../../secret.txt", "/%2e%2e/secret.txt", "/js/%2E%2E/%2e%2e/secret.txt",
        "/..%2fsecret.txt", "/escape.txt", "/js%5c..%5c..%5csecret.txt", "/missing.html", "/js/app.js%00.html",
    ])
    func refusesEverythingOutsideTheFolder(path: String) throws {
        let (site, cleanup) = try Self.makeSite()
        defer { cleanup() }
        try withServer(routes: { $0.staticFiles(at: "/", directory: site) }) { _, port in
            let response = try TestSocket(port: port).exchange("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(response.status == 404)
            #expect(!response.bodyText.contains("secret"))
        }
    }

    @Test func anUnchangedFileIsAnswered304AndAChangedOneInFull() throws {
        let (site, cleanup) = try Self.makeSite()
        defer { cleanup() }
        try withServer(routes: { $0.staticFiles(at: "/", directory: site) }) { _, port in
            let client = try TestSocket(port: port)
            func get(_ extra: String = "", method: String = "GET") throws -> TestResponse {
                try client.exchange("\(method) /js/app.js HTTP/1.1\r\nHost: t\r\n\(extra)\r\n")
            }
            let first = try get()
            let tag = try #require(first.header("etag"))
            let modified = try #require(first.header("last-modified"))
            #expect(tag.hasPrefix("W/\""))
            #expect(first.header("cache-control") == "no-cache")
            #expect(HTTPDate.parse(modified) != nil)

            let revalidated = try get("If-None-Match: \(tag)\r\n")
            #expect(revalidated.status == 304)
            #expect(revalidated.body.isEmpty)
            #expect(revalidated.header("etag") == tag)
            #expect(try get("If-None-Match: \"other\", \(tag)\r\n").status == 304)
            #expect(try get("If-None-Match: *\r\n").status == 304)
            #expect(try get("If-None-Match: W/\"other\"\r\n").status == 200)
            #expect(try get("If-None-Match: \(tag)\r\n", method: "HEAD").status == 304)

            #expect(try get("If-Modified-Since: \(modified)\r\n").status == 304)
            #expect(try get("If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n").status == 200)
            #expect(try get("If-Modified-Since: yesterday\r\n").status == 200)
            // If-None-Match decides when both are present.
            #expect(try get("If-None-Match: W/\"other\"\r\nIf-Modified-Since: \(modified)\r\n").status == 200)

            // A changed file: new size and time, so the old tag no longer matches.
            try "console.log(22)".write(toFile: site + "/js/app.js", atomically: true, encoding: .utf8)
            let changed = try get("If-None-Match: \(tag)\r\n")
            #expect(changed.status == 200)
            #expect(changed.bodyText == "console.log(22)")
            #expect(changed.header("etag") != tag)
        }
    }
}

@Suite("HTTP dates")
struct HTTPDateTests {
    @Test(arguments: ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"])
    func theThreeFormsOfRFC9110AreRead(text: String) {
        #expect(HTTPDate.parse(text) == 784_111_777)
    }

    @Test func formatsIMFFixdate() {
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    @Test(arguments: ["", "yesterday", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 32 Nov 1994 08:49:37 GMT",
                      "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Nov 199 08:49:37 GMT"])
    func anythingElseIsNotADate(text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }

    @Test func aTwoDigitYearIsNeverMoreThanFiftyYearsAhead() {
        let in2026 = HTTPDate.parse("Sat, 21 Nov 2026 00:00:00 GMT")!
        #expect(HTTPDate.parse("Friday, 01-Jan-30 00:00:00 GMT", now: in2026) == HTTPDate.parse("Tue, 01 Jan 2030 00:00:00 GMT"))
        #expect(HTTPDate.parse("Friday, 01-Jan-99 00:00:00 GMT", now: in2026) == HTTPDate.parse("Fri, 01 Jan 1999 00:00:00 GMT"))
    }
}
