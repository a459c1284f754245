import Glibc
import Testing
import TestSupport
@testable import Switchboard

let get = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n"

@Suite("HTTP server over real sockets")
struct HTTPServerTests {
    @Test func answersHealth() throws {
        try withServer { _, port in
            let response = try TestSocket(port: port).exchange(get)
            #expect(response.status == 200)
            #expect(response.bodyText == "ok")
            #expect(response.header("content-type") == "text/plain; charset=utf-8")
            #expect(response.header("content-length") == "2")
            #expect(response.header("date")?.hasSuffix(" GMT") == true)
        }
    }

    @Test func aRequestKnowsItsPeersAddressWhichAHandlerMayReplace() throws {
        // The address is formatted only when read (most upgrades never ask):
        // it must still be the peer's, and setting it (even to nil) wins.
        let routes: (Router) -> Void = { router in
            router.get("/peer") { request in .text(request.remoteAddress.map { "\($0.host) \($0.port)" } ?? "-") }
            router.get("/replaced") { request in
                var request = request
                request.remoteAddress = nil
                return .text(request.remoteAddress.map { "\($0.host)" } ?? "none")
            }
        }
        try withServer(routes: routes) { _, port in
            let client = try TestSocket(port: port, sourceHost: "127.0.0.3")
            var local = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(client.fd, $0, &length) }
            }
            #expect(try client.exchange("GET /peer HTTP/1.1\r\nHost: t\r\n\r\n").bodyText == "127.0.0.3 \(UInt16(bigEndian: local.sin_port))")
            #expect(try client.exchange("GET /replaced HTTP/1.1\r\nHost: t\r\n\r\n").bodyText == "none")
        }
    }

    @Test func keepsTheConnectionAliveAcrossRequests() throws {
        try withServer { _, port in
            let client = try TestSocket(port: port)
            for _ in 0..<5 {
                #expect(try client.exchange(get).bodyText == "ok")
            }
        }
    }

    @Test func answersPipelinedRequestsInOrder() throws {
        try withServer { _, port in
            let client = try TestSocket(port: port)
            let names = (0..<20).map { "n\($0)" }
            try client.send(names.map { "GET /hello/\($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined())
            for name in names {
                #expect(try client.receiveResponse().bodyText == "hello \(name)")
            }
        }
    }

    @Test func readsContentLengthAndChunkedBodies() throws {
        try withServer { _, port in
            let client = try TestSocket(port: port)
            let fixed = try client.exchange("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
            #expect(fixed.bodyText == "hello")
            let chunked = try client.exchange(
                "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n")
            #expect(chunked.bodyText == "hello world")
        }
    }

    @Test func expectContinueGets100BeforeTheBodyIsSent() throws {
        try withServer { _, port in
            let client = try TestSocket(port: port)
            try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            #expect(try client.receive(count: 25) == Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
            try client.send("ping")
            #expect(try client.receiveResponse().bodyText == "ping")
            // A client that sends its body anyway gets no interim answer.
            try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\npong")
            let response = try client.receiveResponse()
            #expect(response.status == 200)
            #expect(response.bodyText == "pong")
        }
    }

    @Test func bodyArrivingInPiecesIsAssembled() throws {
        try withServer { _, port in
            let client = try TestSocket(port: port)
            let body = String(repeating: "x", count: 300_000)
            try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
            for piece in stride(from: 0, to: body.utf8.count, by: 65_536) {
                try client.send(Array(body.utf8)[piece..<min(piece + 65_536, body.utf8.count)].map { $0 })
            }
            #expect(try client.receiveResponse().body.count == 300_000)
        }
    }

    @Test func queryAndPathParametersAreDecoded() throws {
        try withServer { _, port in
            let client = try TestSocket(port: port)
            #expect(try client.exchange("GET /query?a=1&q=caf%C3%A9+au+lait HTTP/1.1\r\nHost: t\r\n\r\n").bodyText == "café au lait")
            #expect(try client.exchange("GET /hello/w%20orld HTTP/1.1\r\nHost: t\r\n\r\n").bodyText == "hello w orld")
        }
    }

    @Test func headHasTheLengthButNoBody() throws {
        try withServer { _, port in
            let client = try TestSocket(port: port)
            try client.send("HEAD /health HTTP/1.1\r\nHost: t\r\n\r\n" + get)
            let head = try client.receiveHead()
            #expect(head.status == 200)
            #expect(head.header("content-length") == "2")
            // The next response follows directly: HEAD carried no body bytes.
            #expect(try client.receiveResponse().bodyText == "ok")
        }
    }

    @Test func unknownPathIs404AndWrongMethodIs405WithAllow() throws {
        try withServer { _, port in
            let client = try TestSocket(port: port)
            #expect(try client.exchange("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n").status == 404)
            let wrong = try client.exchange("DELETE /health HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(wrong.status == 405)
            #expect(wrong.header("allow") == "GET, HEAD, OPTIONS")
            let options = try client.exchange("OPTIONS /echo HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(options.status == 204)
            #expect(options.header("allow") == "OPTIONS, POST")
            // The connection is still good after those answers.
            #expect(try client.exchange(get).status == 200)
        }
    }

    @Test func handlerErrorsBecomeStatusesWithoutDetails() throws {
        try withServer { _, port in
            let client = try TestSocket(port: port)
            let teapot = try client.exchange("GET /teapot HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(teapot.status == 418)
            #expect(teapot.bodyText == "short and stout\n")
            let crash = try client.exchange("GET /crash HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(crash.status == 500)
            #expect(!crash.bodyText.contains("hunter2"))
        }
    }

    @Test func connectionCloseAndHTTP10CloseAfterTheResponse() throws {
        try withServer { _, port in
            let closing = try TestSocket(port: port)
            let response = try closing.exchange("GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            #expect(response.header("connection") == "close")
            #expect(closing.isClosedByPeer())

            let old = try TestSocket(port: port)
            #expect(try old.exchange("GET /health HTTP/1.0\r\n\r\n").status == 200)
            #expect(old.isClosedByPeer())

            let oldKeepAlive = try TestSocket(port: port)
            let kept = try oldKeepAlive.exchange("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(kept.header("connection") == "keep-alive")
            #expect(try oldKeepAlive.exchange("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").status == 200)
        }
    }

    @Test func upgradeRequestOnAPlainRouteIsAnsweredAsHTTP() throws {
        try withServer { _, port in
            let client = try TestSocket(port: port)
            let response = try client.exchange(
                "GET /health HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
            #expect(response.status == 200)
            #expect(try client.exchange(get).status == 200)
        }
    }
}

