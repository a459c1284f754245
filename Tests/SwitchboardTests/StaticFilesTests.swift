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
}
