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
        .library(name: "AgentSafeAWS", targets: ["AgentSafeAWS"]),
        .library(name: "AgentSafeAudit", targets: ["AgentSafeAudit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        .target(name: "AgentSafeCore"),
        .target(
            name: "AgentSafeTickets",
            dependencies: ["AgentSafeCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "AgentSafeStore",
            dependencies: ["AgentSafeTickets", .product(name: "GRDB", package: "GRDB.swift")]
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
        .executableTarget(
            name: "AgentSafeCLI",
            dependencies: [
                "AgentSafeCore",
                "AgentSafeConfig",
                "AgentSafeTickets",
                "AgentSafeStore",
                "AgentSafeAudit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "AgentSafeCoreTests", dependencies: ["AgentSafeCore"]),
        .testTarget(name: "AgentSafeConfigTests", dependencies: ["AgentSafeConfig", "AgentSafeCore"]),
        .testTarget(name: "AgentSafeTicketsTests", dependencies: ["AgentSafeTickets", "AgentSafeCore"]),
        .testTarget(name: "AgentSafeStoreTests", dependencies: ["AgentSafeStore", "AgentSafeTickets"]),
        .testTarget(name: "AgentSafeAWSTests", dependencies: ["AgentSafeAWS"]),
        .testTarget(name: "AgentSafeAuditTests", dependencies: ["AgentSafeAudit", "AgentSafeTickets", "AgentSafeCore"]),
        .testTarget(name: "AgentSafeCLITests", dependencies: ["AgentSafeCLI"]),
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
