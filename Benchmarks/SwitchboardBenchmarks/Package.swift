// swift-tools-version: 6.1
// Micro benchmarks (ordo-one/benchmark), kept out of the main package so
// its build and CI stay lean. Run: `swift package benchmark` in this folder.
import PackageDescription

let package = Package(
    name: "SwitchboardBenchmarks",
    dependencies: [
        .package(name: "Switchboard", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "Compression",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SwitchboardWire", package: "Switchboard"),
                .product(name: "SwitchboardDeflate", package: "Switchboard"),
            ],
            path: "Benchmarks/Compression",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Echo",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Switchboard", package: "Switchboard"),
            ],
            path: "Benchmarks/Echo",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Publish",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Switchboard", package: "Switchboard"),
            ],
            path: "Benchmarks/Publish",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
