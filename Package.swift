// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "agent-safe",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "agent-safe", targets: ["AgentSafeCLI"]),
        .library(name: "AgentSafeCore", targets: ["AgentSafeCore"]),
        .library(name: "AgentSafeConfig", targets: ["AgentSafeConfig"]),
        // What an executor links to verify tickets: Core + swift-crypto, nothing else.
        .library(name: "AgentSafeTickets", targets: ["AgentSafeTickets"]),
        .library(name: "AgentSafeStore", targets: ["AgentSafeStore"]),
        .library(name: "AgentSafeControl", targets: ["AgentSafeControl"]),
        .library(name: "AgentSafeRunner", targets: ["AgentSafeRunner"]),
        .library(name: "AgentSafeAWS", targets: ["AgentSafeAWS"]),
        .library(name: "AgentSafeAudit", targets: ["AgentSafeAudit"]),
        .library(name: "AgentSafeServer", targets: ["AgentSafeServer"]),
        .library(name: "AgentSafeShipping", targets: ["AgentSafeShipping"]),
        .library(name: "AgentSafeClient", targets: ["AgentSafeClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        // SystemPackage (FilePath for kubectl's executable and working directory): what swift-subprocess itself uses.
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
    ],
    targets: [
        .target(name: "AgentSafeCore"),
        // Stateful controls (pure Swift, no I/O): cumulative risk ledger and chain rules, rate limits and circuit
        // breaker, DLP, the approval model.
        .target(name: "AgentSafeControl", dependencies: ["AgentSafeCore"]),
        .target(
            name: "AgentSafeTickets",
            dependencies: ["AgentSafeCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "AgentSafeStore",
            dependencies: ["AgentSafeTickets", "AgentSafeControl", "AgentSafeCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(name: "AgentSafeAWS", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "AgentSafeAudit",
            dependencies: ["AgentSafeCore", "AgentSafeTickets", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "AgentSafeConfig",
            dependencies: [
                "AgentSafeCore",
                "AgentSafeTickets",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "AgentSafeShipping",
            dependencies: [
                "AgentSafeCore",
                "AgentSafeAWS",
                "AgentSafeAudit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Executors (dry-run, kubectl, AWS) and the runner pipeline: verify and consume a ticket, resolve a scoped
        // credential, prechecks, state capture, execution, audit.
        .target(
            name: "AgentSafeRunner",
            dependencies: [
                "AgentSafeCore", "AgentSafeTickets", "AgentSafeAWS", "AgentSafeAudit",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system", condition: .when(platforms: [.linux])),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "AgentSafeClient",
            dependencies: [
                "AgentSafeCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "AgentSafeServer",
            dependencies: [
                "AgentSafeCore", "AgentSafeConfig", "AgentSafeTickets", "AgentSafeStore", "AgentSafeAudit",
                "AgentSafeShipping", "AgentSafeControl", "AgentSafeRunner",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            resources: [.copy("Resources/openapi.yaml")]
        ),
        .executableTarget(
            name: "AgentSafeCLI",
            dependencies: [
                "AgentSafeCore",
                "AgentSafeConfig",
                "AgentSafeTickets",
                "AgentSafeStore",
                "AgentSafeAudit",
                "AgentSafeServer",
                "AgentSafeShipping",
                "AgentSafeRunner",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // What several test targets share (a moto server with signed fixture calls); not a product.
        .target(
            name: "AgentSafeTestSupport",
            dependencies: [
                "AgentSafeAWS",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/AgentSafeTestSupport"
        ),
        .testTarget(name: "AgentSafeCoreTests", dependencies: ["AgentSafeCore"]),
        .testTarget(name: "AgentSafeConfigTests", dependencies: ["AgentSafeConfig", "AgentSafeCore"]),
        .testTarget(name: "AgentSafeTicketsTests", dependencies: ["AgentSafeTickets", "AgentSafeCore"]),
        .testTarget(
            name: "AgentSafeStoreTests",
            dependencies: ["AgentSafeStore", "AgentSafeTickets", "AgentSafeControl", "AgentSafeCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "AgentSafeControlTests", dependencies: ["AgentSafeControl", "AgentSafeCore", "AgentSafeConfig"]),
        .testTarget(name: "AgentSafeAWSTests", dependencies: ["AgentSafeAWS"]),
        .testTarget(name: "AgentSafeAuditTests", dependencies: ["AgentSafeAudit", "AgentSafeTickets", "AgentSafeCore"]),
        .testTarget(
            name: "AgentSafeServerTests",
            dependencies: [
                "AgentSafeServer", "AgentSafeTickets", "AgentSafeCore", "AgentSafeClient", "AgentSafeConfig",
                "AgentSafeAudit", "AgentSafeStore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "AgentSafeShippingTests",
            dependencies: [
                "AgentSafeShipping", "AgentSafeTestSupport",
                "AgentSafeAWS",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "AgentSafeCLITests", dependencies: ["AgentSafeCLI"]),
        .testTarget(
            name: "AgentSafeRunnerTests",
            dependencies: [
                "AgentSafeRunner", "AgentSafeCore", "AgentSafeTickets", "AgentSafeAWS", "AgentSafeAudit", "AgentSafeConfig",
                "AgentSafeStore", "AgentSafeTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ]
)

// One settings loop for every target (house style rule 1).
for target in package.targets {
    var settings = target.swiftSettings ?? []
    settings.append(contentsOf: [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
    ])
    target.swiftSettings = settings
}
