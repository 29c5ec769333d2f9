// swift-tools-version:6.1
// Benchmarks for Agent-Safe, kept in their own package so the main package doesn't depend on ordo-one/benchmark
// (package-benchmark, under its current name: the old identifier still resolves but warns on every run).
// Run with scripts/bench.sh (or `swift package --package-path Benchmarks benchmark` from the repository root).
import PackageDescription

let package = Package(
    name: "agent-safe-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, so products resolve whatever the checkout directory is called.
        .package(name: "agent-safe", path: ".."),
        // The malloc interposer gives the malloc* metrics; the package's other default trait (the Swift 6.3 ARC
        // runtime interposer) needs a package this build environment doesn't have, so traits are listed here.
        .package(url: "https://github.com/ordo-one/benchmark.git", exact: "1.38.1",
                 traits: ["MallocInterposer"]),
        // Only for comparison with our JWS (docs/tickets.md, "Why not jwt-kit").
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
    ],
    targets: []
)

/// One executable target per benchmark suite, in the benchmark plugin's layout: `Benchmarks/<Name>/<Name>.swift`.
/// Add a suite (tickets, audit, ...) by adding its name and the Agent-Safe products it needs.
let suites: [(name: String, products: [String])] = [
    ("DecisionBenchmarks", ["AgentSafeCore", "AgentSafeConfig"]),
    ("TicketBenchmarks", ["AgentSafeCore", "AgentSafeTickets", "AgentSafeStore"]),
    ("AuditBenchmarks", ["AgentSafeCore", "AgentSafeAudit"]),
    ("ControlBenchmarks", ["AgentSafeCore", "AgentSafeControl", "AgentSafeStore", "AgentSafeAudit"]),
    ("RunnerBenchmarks", ["AgentSafeCore", "AgentSafeRunner", "AgentSafeTickets", "AgentSafeStore", "AgentSafeAudit"]),
]

for suite in suites {
    package.targets.append(
        .executableTarget(
            name: suite.name,
            dependencies: [.product(name: "Benchmark", package: "benchmark")]
                + suite.products.map { .product(name: $0, package: "agent-safe") }
                + (suite.name == "TicketBenchmarks" ? [.product(name: "JWTKit", package: "jwt-kit")] : []),
            path: "Benchmarks/\(suite.name)",
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    )
}
