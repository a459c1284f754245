// swift-tools-version: 6.2
import PackageDescription

// Signed-token (JWT) checks at the WebSocket handshake, with Vapor's jwt-kit:
// a package of its own, so that users of the core library never build
// swift-crypto for a feature they may not use.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "SwitchboardJWT",
    products: [
        .library(name: "SwitchboardJWT", targets: ["SwitchboardJWT"]),
    ],
    dependencies: [
        .package(name: "Switchboard", path: "../.."),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
    ],
    targets: [
        .target(
            name: "SwitchboardJWT",
            dependencies: [
                .product(name: "Switchboard", package: "Switchboard"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "JWTTestSupport",
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
            name: "SwitchboardJWTTests",
            dependencies: [
                "SwitchboardJWT", "JWTTestSupport",
                .product(name: "Switchboard", package: "Switchboard"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
