import Testing
import SwitchboardRedis

@Suite("Redis URL")
struct RedisURLTests {
    @Test func defaults() throws {
        #expect(try RedisURL(parsing: "redis://127.0.0.1") == RedisURL(host: "127.0.0.1", port: 6379))
        #expect(try RedisURL(parsing: "redis://cache.internal/") == RedisURL(host: "cache.internal"))
        #expect(try RedisURL(parsing: "REDIS://localhost:6380") == RedisURL(host: "localhost", port: 6380))
    }

    @Test func everyPart() throws {
        #expect(try RedisURL(parsing: "redis://:s3cret@10.0.0.5:6380/2")
            == RedisURL(host: "10.0.0.5", port: 6380, password: "s3cret", database: 2))
        #expect(try RedisURL(parsing: "redis://app:pa%3Ass%40word@[::1]:7000/15")
            == RedisURL(host: "::1", port: 7000, username: "app", password: "pa:ss@word", database: 15))
        #expect(try RedisURL(parsing: "redis://[::1]") == RedisURL(host: "::1"))
        // The last @ ends the credentials, so an unescaped @ in a password still works.
        #expect(try RedisURL(parsing: "redis://:a@b@host").password == "a@b")
    }

    /// Delimiters are ASCII bytes, not `Character`s: U+0605 (a prepended
    /// concatenation mark) joins the `:` or `@` after it into one grapheme
    /// cluster, and a Character search would miss them (found by the
    /// redis-url fuzzer: the port became part of the host).
    @Test func delimitersAfterACharacterThatJoinsTheNextOne() throws {
        #expect(try RedisURL(parsing: "redis://\u{605}:6380/1") == RedisURL(host: "\u{605}", port: 6380, database: 1))
        #expect(try RedisURL(parsing: "redis://:p\u{605}@host") == RedisURL(host: "host", password: "p\u{605}"))
        #expect(try RedisURL(parsing: "redis://\u{605}:6379/0").description == "redis://\u{605}:6379/0")
    }

    @Test(arguments: [
        ("127.0.0.1:6379", "expected redis://"),
        ("http://127.0.0.1", "unsupported scheme"),
        ("rediss://127.0.0.1", "TLS"),
        ("unix:///tmp/redis.sock", "unsupported scheme"),
        ("redis://", "host is missing"),
        ("redis://:6379", "host is missing"),
        ("redis://host:0", "port"),
        ("redis://host:65536", "port"),
        ("redis://host:-1", "port"),
        ("redis://host:abc", "port"),
        ("redis://host/x", "database"),
        ("redis://host/-1", "database"),
        ("redis://host?db=1", "query"),
        ("redis://secret@host", "credentials"),
        ("redis://:bad%zz@host", "hex"),
        ("redis://[::1", "unclosed"),
        ("redis://[::1]6379", "after the host"),
    ])
    func refusesWithAReason(url: String, reason: String) {
        #expect {
            _ = try RedisURL(parsing: url)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func neverShowsThePassword() throws {
        let url = try RedisURL(parsing: "redis://app:hunter2@host:6380/1")
        #expect(url.description == "redis://app:***@host:6380/1")
        #expect(!"\(url)".contains("hunter2"))
        #expect(throws: RedisURLError.self) { try RedisURL(parsing: "rediss://:hunter2@host") }
        do {
            _ = try RedisURL(parsing: "redis://:hunter2@host:99999")
        } catch {
            #expect(!"\(error)".contains("hunter2"))
        }
    }

    /// Found by the redis-url fuzz target: the message named whatever came
    /// before "://", so a malformed URL could put credentials or control
    /// characters into logs. Only a real scheme (RFC 3986 §3.1) is named.
    @Test(arguments: ["app:hunter2@cache://x", "r\u{0F}edis://host", ":hunter2@cache://", "redis\n://host"])
    func namesOnlyARealScheme(url: String) {
        do {
            _ = try RedisURL(parsing: url)
            Issue.record("accepted \(url)")
        } catch {
            #expect(error.reason.contains("expected redis://"))
            #expect(!error.reason.contains("hunter2") && !error.reason.contains("\u{0F}") && !error.reason.contains("\n"))
        }
        #expect {
            _ = try RedisURL(parsing: "http://host")
        } throws: { error in
            (error as? RedisURLError)?.reason == #"unsupported scheme "http"; expected redis://"#
        }
    }

    /// Found by the redis-url fuzz target: anything between brackets was
    /// taken as the host, so "redis://[[]" had host "[", which no resolver
    /// knows and whose description ("redis://[:6379/0") does not parse.
    @Test func bracketsHoldAnIPv6Address() throws {
        for url in ["redis://[[]", "redis://[a b]", "redis://[host]", "redis://[1.2.3.4]", "redis://[:]x"] {
            #expect(throws: RedisURLError.self, "\(url)") { try RedisURL(parsing: url) }
        }
        #expect(try RedisURL(parsing: "redis://[2001:DB8::1]:6380").host == "2001:DB8::1")
        #expect(try RedisURL(parsing: "redis://[::ffff:10.0.0.5]").host == "::ffff:10.0.0.5")
        #expect(try RedisURL(parsing: "redis://[fe80::1%eth0]").host == "fe80::1%eth0")
    }

    @Test func backplaneTakesTheURL() throws {
        #expect(try RedisBackplane(url: "redis://127.0.0.1:6390").url.port == 6390)
        #expect(throws: RedisURLError.self) { try RedisBackplane(url: "redis://") }
    }
}
