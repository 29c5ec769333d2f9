// swift-tools-version:6.1
// Baseline for scripts/bench-sidecar.sh: a bare Hummingbird 2 server with one route, POST /v1/check, that parses
// the JSON body with Foundation's JSONSerialization and answers a fixed small JSON object. Driven with the same
// wrk script as the sidecar, it shows what the framework costs on its own, so the sidecar's figures can be read
// as "framework + our per-request work". Its own package, so nothing here touches the main package or the
// package-benchmark suites in Benchmarks/Package.swift.
import PackageDescription

let package = Package(
    name: "sidecar-echo",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "SidecarEcho",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
