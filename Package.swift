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
        // The sans-I/O protocol layer and the RFC 7692 codec stand alone too
        // (Benchmarks/SwitchboardBenchmarks measures them).
        .library(name: "SwitchboardWire", targets: ["SwitchboardWire"]),
        .library(name: "SwitchboardDeflate", targets: ["SwitchboardDeflate"]),
        .executable(name: "BenchHost", targets: ["BenchHost"]),
        .executable(name: "ChatRoom", targets: ["ChatRoom"]),
        .executable(name: "Ticker", targets: ["Ticker"]),
        .executable(name: "ExistingApp", targets: ["ExistingApp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // System library: Debian's libuv1-dev. Imported by SwitchboardIO only.
        .systemLibrary(
            name: "CLibUV",
            path: "Sources/CLibUV",
            pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]
        ),
        // System library: Debian's zlib1g-dev. Imported by SwitchboardDeflate only.
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // permessage-deflate's compressor and decompressor over zlib.
        .target(
            name: "SwitchboardDeflate",
            dependencies: ["CZlib"],
            swiftSettings: strictSettings
        ),
        // Sans-I/O protocol code: bytes in, events out. No sockets, threads or clocks.
        .target(
            name: "SwitchboardWire",
            dependencies: [.product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: strictSettings
        ),
        // The libuv core: loops, listener, connections, write queues, timers.
        .target(
            name: "SwitchboardIO",
            dependencies: ["CLibUV", "SwitchboardSync"],
            swiftSettings: strictSettings
        ),
        // A pthread-backed lock that Thread Sanitizer can see (see Locked.swift).
        .target(
            name: "SwitchboardSync",
            swiftSettings: strictSettings
        ),
        // Topics and the sharded registry; reaches connections through a protocol.
        .target(
            name: "SwitchboardHub",
            dependencies: ["SwitchboardSync"],
            swiftSettings: strictSettings
        ),
        // Public API: Server, Router, HTTP host; joins the layers below.
        .target(
            name: "Switchboard",
            dependencies: [
                "SwitchboardWire", "SwitchboardIO", "SwitchboardHub", "SwitchboardDeflate", "SwitchboardSync",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "BenchHost",
            dependencies: ["Switchboard"],
            path: "Examples/BenchHost",
            swiftSettings: strictSettings
        ),
        // Helpers shared by the test targets: a blocking socket client.
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport"
        ),
        .executableTarget(
            name: "ChatRoom",
            dependencies: ["Switchboard"],
            path: "Examples/ChatRoom",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "Ticker",
            dependencies: ["Switchboard"],
            path: "Examples/Ticker",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "ExistingApp",
            dependencies: ["Switchboard"],
            path: "Examples/ExistingApp",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardWireTests",
            dependencies: ["SwitchboardWire"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardDeflateTests",
            dependencies: ["SwitchboardDeflate"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardHubTests",
            dependencies: ["SwitchboardHub", "SwitchboardSync"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardIOTests",
            dependencies: ["SwitchboardIO", "SwitchboardSync", "TestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardTests",
            dependencies: ["Switchboard", "SwitchboardWire", "SwitchboardDeflate", "SwitchboardSync", "TestSupport"],
            exclude: ["Clients"],
            swiftSettings: strictSettings
        ),
    ]
)

// MARK: Redis backplane (SwitchboardRedis)
// Added to the package above rather than written into it, so this part
// stays in one place.

package.products.append(.library(name: "SwitchboardRedis", targets: ["SwitchboardRedis"]))
package.targets += [
    // System library: Debian's libhiredis-dev. Imported by SwitchboardRedis only.
    .systemLibrary(
        name: "CHiredis",
        path: "Sources/CHiredis",
        pkgConfig: "hiredis",
        providers: [.apt(["libhiredis-dev"])]
    ),
    // hiredis's event hooks on libuv (attach.c): C that includes uv.h,
    // compiled here so Swift sees one attach function and no second copy
    // of libuv's types beside CLibUV's.
    .target(
        name: "CHiredisLibUV",
        path: "Sources/CHiredisLibUV",
        linkerSettings: [.linkedLibrary("hiredis"), .linkedLibrary("uv")]
    ),
    // The backplane over Redis pub/sub, on the server's own event loop.
    .target(
        name: "SwitchboardRedis",
        dependencies: [
            "Switchboard", "SwitchboardIO", "SwitchboardHub", "SwitchboardSync", "CHiredis", "CHiredisLibUV",
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: strictSettings
    ),
    .testTarget(
        name: "SwitchboardRedisTests",
        dependencies: ["SwitchboardRedis"],
        swiftSettings: strictSettings
    ),
]
// The examples join a backplane when REDIS_URL is set; the integration
// tests run servers with it and reuse SwitchboardTests' WebSocket client.
for target in package.targets where ["BenchHost", "ChatRoom", "SwitchboardTests"].contains(target.name) {
    target.dependencies.append("SwitchboardRedis")
}

// MARK: Fuzzing (Fuzz/, Scripts/fuzz.sh)
// The targets are a library so the test suite can replay the seed corpora
// through them; the executable is libFuzzer's entry when built with
// -DFUZZING and a corpus replayer otherwise.

package.products.append(.executable(name: "SwitchboardFuzz", targets: ["SwitchboardFuzz"]))
package.targets += [
    .target(
        name: "SwitchboardFuzzTargets",
        dependencies: [
            "SwitchboardWire", "SwitchboardDeflate", "Switchboard", "SwitchboardIO", "SwitchboardRedis",
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
    .testTarget(
        name: "SwitchboardFuzzTests",
        dependencies: ["SwitchboardFuzzTargets"],
        swiftSettings: strictSettings
    ),
]
