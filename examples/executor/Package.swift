// swift-tools-version:6.0
import PackageDescription

// A minimal executor: verifies an Agent-Safe execution ticket and spends it before doing anything.
// Copy this directory into your executor's repository and point the dependency at Agent-Safe
// (a path here; a URL and a version in your project).
let package = Package(
    name: "executor",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "agent-safe", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "executor",
            dependencies: [
                .product(name: "AgentSafeTickets", package: "agent-safe"),  // JWS, keys, TicketVerifier
                .product(name: "AgentSafeStore", package: "agent-safe"),    // SQLiteReplayStore (single use)
                .product(name: "AgentSafeCore", package: "agent-safe"),     // JSONValue (the params)
            ]
        ),
    ]
)
