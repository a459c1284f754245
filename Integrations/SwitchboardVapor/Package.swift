// swift-tools-version: 6.2
import PackageDescription

// Switchboard inside a Vapor 4 app, on the app's own port: its own package,
// so that users of the core library never download or build Vapor
// (README "Vapor").
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "SwitchboardVapor",
    products: [
        .library(name: "SwitchboardVapor", targets: ["SwitchboardVapor"]),
    ],
    dependencies: [
        .package(name: "Switchboard", path: "../.."),
        .package(url: "https://github.com/vapor/vapor", from: "4.122.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        .target(
            name: "SwitchboardVapor",
            dependencies: [
                .product(name: "Switchboard", package: "Switchboard"),
                .product(name: "Vapor", package: "vapor"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "VaporTestSupport",
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
            name: "SwitchboardVaporTests",
            dependencies: [
                "SwitchboardVapor", "VaporTestSupport",
                .product(name: "Switchboard", package: "Switchboard"),
                .product(name: "Vapor", package: "vapor"),
            ],
            exclude: ["Clients"],
            swiftSettings: strictSettings
        ),
    ]
)
