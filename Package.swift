// swift-tools-version: 6.1
import PackageDescription

// Strict settings shared by every Swift target: explicit `any`, and imports that
// stay internal unless a type really appears in the public API.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Switchboard",
    products: [
        .library(name: "Switchboard", targets: ["Switchboard"]),
        .library(name: "SwitchboardRedis", targets: ["SwitchboardRedis"]),
        // The sans-I/O protocol layer and the RFC 7692 codec stand alone too
        // (Benchmarks/SwitchboardBenchmarks measures them).
        .library(name: "SwitchboardWire", targets: ["SwitchboardWire"]),
        .library(name: "SwitchboardDeflate", targets: ["SwitchboardDeflate"]),
        .executable(name: "BenchHost", targets: ["BenchHost"]),
        .executable(name: "ChatRoom", targets: ["ChatRoom"]),
        .executable(name: "Ticker", targets: ["Ticker"]),
        .executable(name: "ExistingApp", targets: ["ExistingApp"]),
        // libFuzzer's entry when built with -DFUZZING (Scripts/fuzz.sh), a
        // corpus replayer otherwise (Fuzz/README.md).
        .executable(name: "SwitchboardFuzz", targets: ["SwitchboardFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // `Server` is a `Service` of a `ServiceGroup`; no SwiftNIO in it.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Counters and gauges for whichever backend the app bootstraps.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // Prometheus's text format at the examples' /metrics.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // `swift package generate-documentation` for the DocC catalogs; a
        // plugin only, nothing of it is built into the library.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // MARK: System libraries (Debian), each imported by one module only

        .systemLibrary(name: "CLibUV", path: "Sources/CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // hiredis's event hooks on libuv (attach.c): C that includes uv.h,
        // compiled here so Swift sees one attach function and no second copy
        // of libuv's types beside CLibUV's.
        .target(name: "CHiredisLibUV", dependencies: ["CHiredis", "CLibUV"], path: "Sources/CHiredisLibUV"),

        // MARK: The library

        // SHA-1's compression on the CPU's SHA extensions (the handshake's accept value).
        .target(name: "CSwitchboardSHA1", path: "Sources/CSwitchboardSHA1"),
        // Sans-I/O protocol code: bytes in, events out. No sockets, threads or clocks.
        .target(
            name: "SwitchboardWire",
            dependencies: ["CSwitchboardSHA1", .product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: strictSettings
        ),
        // permessage-deflate's compressor and decompressor over zlib.
        .target(name: "SwitchboardDeflate", dependencies: ["CZlib"], swiftSettings: strictSettings),
        // A pthread-backed lock that Thread Sanitizer can see (see Locked.swift).
        .target(name: "SwitchboardSync", swiftSettings: strictSettings),
        // The libuv core: loops, listener, connections, write queues, deadlines.
        .target(name: "SwitchboardIO", dependencies: ["CLibUV", "SwitchboardSync"], swiftSettings: strictSettings),
        // Topics and the sharded registry; reaches connections through a protocol.
        .target(name: "SwitchboardHub", dependencies: ["SwitchboardSync"], swiftSettings: strictSettings),
        // Public API: Server, Router, HTTP host, WebSocket routes, pub/sub; joins the layers below.
        .target(
            name: "Switchboard",
            dependencies: [
                "SwitchboardWire", "SwitchboardIO", "SwitchboardHub", "SwitchboardDeflate", "SwitchboardSync",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            // The JavaScript client (Clients/javascript, linked here), compiled
            // in as bytes: a deployed binary needs no resource bundle.
            resources: [.embedInCode("PubSub/switchboard.js")],
            swiftSettings: strictSettings
        ),
        // The backplane over Redis pub/sub, on the server's own event loop.
        .target(
            name: "SwitchboardRedis",
            dependencies: [
                "Switchboard", "SwitchboardIO", "SwitchboardWire", "SwitchboardSync", "CHiredis", "CHiredisLibUV",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),

        // MARK: Examples (the first two join a Redis backplane when REDIS_URL is set)

        .executableTarget(
            name: "BenchHost",
            dependencies: [
                "Switchboard", "SwitchboardRedis",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Examples/BenchHost",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "ChatRoom",
            dependencies: [
                "Switchboard", "SwitchboardRedis",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Examples/ChatRoom",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "Ticker",
            dependencies: [
                "Switchboard",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Examples/Ticker",
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "ExistingApp", dependencies: ["Switchboard"], path: "Examples/ExistingApp", swiftSettings: strictSettings),

        // MARK: Fuzzing (Fuzz/README.md)

        // The targets are a library so the test suite replays the seed corpora through them.
        .target(
            name: "SwitchboardFuzzTargets",
            dependencies: [
                "SwitchboardWire", "SwitchboardDeflate", "Switchboard", "SwitchboardIO", "SwitchboardHub", "SwitchboardRedis", "CHiredis", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/SwitchboardFuzzTargets",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "SwitchboardFuzz",
            dependencies: ["SwitchboardFuzzTargets"],
            path: "Fuzz/SwitchboardFuzz",
            swiftSettings: strictSettings + [.enableExperimentalFeature("Extern")]
        ),

        // MARK: Tests

        // Helpers shared by the test targets: blocking socket and WebSocket
        // clients, processes (examples, redis-server), waiting for a condition.
        .target(
            name: "TestSupport",
            dependencies: [
                "Switchboard", "SwitchboardWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(name: "SwitchboardWireTests", dependencies: ["SwitchboardWire", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "SwitchboardDeflateTests", dependencies: ["SwitchboardDeflate"], swiftSettings: strictSettings),
        .testTarget(name: "SwitchboardHubTests", dependencies: ["SwitchboardHub", "SwitchboardSync", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "SwitchboardIOTests", dependencies: ["SwitchboardIO", "SwitchboardSync", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "SwitchboardTests",
            dependencies: [
                "Switchboard", "SwitchboardIO", "SwitchboardWire", "SwitchboardDeflate", "SwitchboardSync", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            exclude: ["Clients"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardRedisTests", dependencies: ["SwitchboardRedis", "Switchboard", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "SwitchboardFuzzTests", dependencies: ["SwitchboardFuzzTargets"], swiftSettings: strictSettings),
    ]
)
