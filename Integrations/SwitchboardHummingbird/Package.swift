// swift-tools-version: 6.2
import PackageDescription

// Switchboard inside a Hummingbird 2 app, on the app's own port: its own
// package, so that users of the core library never download or build
// SwiftNIO and Hummingbird (README "Hummingbird").
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "SwitchboardHummingbird",
    products: [
        .library(name: "SwitchboardHummingbird", targets: ["SwitchboardHummingbird"]),
        .executable(name: "HummingbirdTodos", targets: ["HummingbirdTodos"]),
        .executable(name: "HummingbirdBenchHost", targets: ["HummingbirdBenchHost"]),
    ],
    dependencies: [
        .package(name: "Switchboard", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .target(
            name: "SwitchboardHummingbird",
            dependencies: [
                .product(name: "Switchboard", package: "Switchboard"),
                .product(name: "SwitchboardWire", package: "Switchboard"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // An existing Hummingbird todo API made real-time (README, Examples).
        .executableTarget(
            name: "HummingbirdTodos",
            dependencies: [
                "SwitchboardHummingbird",
                .product(name: "Switchboard", package: "Switchboard"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Examples/HummingbirdTodos",
            swiftSettings: strictSettings
        ),
        // BenchHost's /topic/NAME, served through the hand-off (Benchmarks/README.md).
        .executableTarget(
            name: "HummingbirdBenchHost",
            dependencies: [
                "SwitchboardHummingbird",
                .product(name: "Switchboard", package: "Switchboard"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Examples/HummingbirdBenchHost",
            swiftSettings: strictSettings
        ),
        .target(
            name: "HummingbirdTestSupport",
            dependencies: [
                .product(name: "Switchboard", package: "Switchboard"),
                .product(name: "SwitchboardWire", package: "Switchboard"),
            ],
            path: "Tests/TestSupport",
            // What only the core's tests use, with dependencies these do not have.
            exclude: ["TestMetricsBackend.swift", "CapturedLog.swift"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardHummingbirdTests",
            dependencies: [
                "SwitchboardHummingbird", "HummingbirdTestSupport",
                .product(name: "Switchboard", package: "Switchboard"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Clients"],
            swiftSettings: strictSettings
        ),
    ]
)
