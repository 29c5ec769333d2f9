// Decision benchmarks (issue 2, section 8): in-process decisions for the repository's default set and for a
// generated set of 10,000 rules over 1,000 actions, and load + compile time of that generated set.
//
// Targets on the 2-core reference machine: ≤ 2 µs per decision (default set), ≤ 10 µs at 10,000 rules,
// load + compile ≤ 500 ms. Figures are recorded in docs/performance.md.

import AgentSafeConfig
import AgentSafeCore
import Benchmark
import Foundation

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )
    // Decisions run 1,000 times per iteration (`.kilo`), so every figure reads per decision.
    let perDecision = Benchmark.Configuration(scalingFactor: .kilo)

    // MARK: (a) the repository's default set

    Benchmark("Decision/default set/mix", configuration: perDecision) { benchmark in
        let world = DefaultSet.shared
        let requests = world.mix
        for i in benchmark.scaledIterations {
            blackHole(world.engine.evaluate(requests[i % requests.count].request))
        }
    } setup: {
        _ = DefaultSet.shared
    }
    for kind in DefaultSet.Kind.allCases {
        Benchmark("Decision/default set/\(kind.rawValue)", configuration: perDecision) { benchmark in
            let world = DefaultSet.shared
            let request = world.request(kind)
            for _ in benchmark.scaledIterations {
                blackHole(world.engine.evaluate(request))
            }
        } setup: {
            _ = DefaultSet.shared
        }
    }

    // MARK: (b) 10,000 generated rules over 1,000 actions

    Benchmark("Decision/10k rules/deep match", configuration: perDecision) { benchmark in
        let world = GeneratedWorld.shared
        let request = world.deepMatch
        for _ in benchmark.scaledIterations {
            blackHole(world.engine.evaluate(request))
        }
    } setup: {
        _ = GeneratedWorld.shared
    }
    Benchmark("Decision/10k rules/longest bucket", configuration: perDecision) { benchmark in
        let world = GeneratedWorld.shared
        let request = world.longestBucket
        for _ in benchmark.scaledIterations {
            blackHole(world.engine.evaluate(request))
        }
    } setup: {
        _ = GeneratedWorld.shared
    }
    Benchmark("Decision/10k rules/unknown target", configuration: perDecision) { benchmark in
        let world = GeneratedWorld.shared
        let request = world.unknownTarget
        for _ in benchmark.scaledIterations {
            blackHole(world.engine.evaluate(request))
        }
    } setup: {
        _ = GeneratedWorld.shared
    }

    // MARK: (c) load + compile of the generated set from YAML on disk

    Benchmark(
        "Load+compile/10k rules, 1k actions",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident], warmupIterations: 1,
            maxDuration: .seconds(20), maxIterations: 30)
    ) { _ in
        blackHole(try CatalogueLoader.load(GeneratedFiles.shared.options))
    } setup: {
        _ = GeneratedFiles.shared
    } teardown: {
        GeneratedFiles.shared.remove()
    }
}

// MARK: - Shared

/// Monday 2026-03-02 10:00 UTC (11:00 in Berlin): inside the default set's staging business hours.
let mondayMorning = Instant(secondsSinceEpoch: 1_772_445_600)

/// Stops the benchmark process with a message: a benchmark whose premise doesn't hold measures the wrong thing.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("DecisionBenchmarks: \(message)\n".utf8))
    exit(1)
}

/// The repository root, found from this file's location (`Benchmarks/Benchmarks/<Name>/<Name>.swift`).
let repositoryRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    guard FileManager.default.fileExists(atPath: url.appendingPathComponent("agent-safe.yaml").path) else {
        fail("no agent-safe.yaml at \(url.path) (the repository root as seen from \(#filePath))")
    }
    return url
}()

func load(_ options: LoadOptions) -> Snapshot {
    do {
        return try CatalogueLoader.load(options)
    } catch {
        fail("loading failed:\n" + error.diagnostics.map { "  \($0)" }.joined(separator: "\n"))
    }
}

// MARK: - (a) Default set

/// The repository's own agent-safe.yaml, actions/, policies/ and inventory.yaml, with one request per kind of
/// outcome. Every request's outcome is checked once when the set is loaded.
struct DefaultSet: Sendable {
    enum Kind: String, CaseIterable, Sendable {
        case allow
        case deny
        case requireApproval = "require_approval"
        case unknownTarget = "unknown target"
    }

    struct Case: Sendable {
        var kind: Kind
        var request: DecisionRequest
        var result: DecisionResult
        var code: DecisionCode
        var policy: String?
    }

    static let shared = DefaultSet()

    let engine: PolicyEngine
    /// allow, deny, require_approval and unknown target in turn, several shapes of each.
    let mix: [Case]

    func request(_ kind: Kind) -> DecisionRequest {
        mix.first { $0.kind == kind }!.request
    }

    init() {
        let root = repositoryRoot.path
        let snapshot = load(LoadOptions(configPath: root + "/agent-safe.yaml", workingDirectory: root))
        engine = snapshot.engine

        func request(
            _ action: String, _ target: String, _ caller: Caller?, _ params: [String: JSONValue], ticket: String? = nil
        ) -> DecisionRequest {
            DecisionRequest(action: action, target: target, caller: caller, params: params, ticketID: ticket,
                            instant: mondayMorning, auditID: "evt-bench")
        }
        let reader = Caller(agentID: "triage-agent", roles: ["reader"])
        let sre = Caller(agentID: "ops-agent", roles: ["sre"])
        let deployer = Caller(agentID: "deploy-bot", roles: ["deployer"])
        let ci = Caller(agentID: "ci-agent")
        // The first case of each kind is the one its single-kind benchmark uses.
        mix = [
            // allow: a production read (second rule tried) ...
            Case(kind: .allow,
                 request: request("get-pod-logs", "prod/shop-web-pods", reader,
                                  ["namespace": "shop", "pod": "shop-web-5c8d7b9f4-kq2lm", "tail_lines": 200]),
                 result: .allow, code: .policy, policy: "allow-prod-reads"),
            // deny: a production change without a ticket.
            Case(kind: .deny,
                 request: request("restart-deployment", "prod/search-indexer", sre,
                                  ["namespace": "search", "deployment": "search-indexer"]),
                 result: .deny, code: .policy, policy: "deny-prod-without-ticket"),
            // require_approval: a production change with a ticket.
            Case(kind: .requireApproval,
                 request: request("update-image", "prod/search-indexer", deployer,
                                  ["namespace": "search", "deployment": "search-indexer", "container": "indexer",
                                   "image": "registry.example.com/search/indexer:5.2.0"], ticket: "CHG-5001"),
                 result: .requireApproval, code: .policy, policy: "require-approval-prod-with-ticket"),
            // unknown target: critical sensitivity, matches no `targets:` rule, default deny.
            Case(kind: .unknownTarget,
                 request: request("restart-deployment", "prod/does-not-exist", sre,
                                  ["namespace": "shop", "deployment": "shop-web"], ticket: "INC-1"),
                 result: .deny, code: .noMatchingPolicy, policy: nil),
            // ... and a dev change, which falls through to the last rule of the set.
            Case(kind: .allow,
                 request: request("restart-deployment", "dev/shop-web", ci,
                                  ["namespace": "shop", "deployment": "shop-web"]),
                 result: .allow, code: .policy, policy: "allow-dev"),
            Case(kind: .deny,
                 request: request("delete-namespace", "prod/shop-ns", sre, ["namespace": "shop"], ticket: "CHG-4711"),
                 result: .deny, code: .policy, policy: "deny-delete-namespace-prod"),
            Case(kind: .requireApproval,
                 request: request("delete-namespace", "staging/shop-ns", sre, ["namespace": "shop"]),
                 result: .requireApproval, code: .policy, policy: "require-approval-critical-risk"),
            Case(kind: .allow,
                 request: request("restart-deployment", "prod/search-indexer", sre,
                                  ["namespace": "search", "deployment": "search-indexer"], ticket: "INC-3120"),
                 result: .allow, code: .policy, policy: "allow-sre-prod-remediation"),
            Case(kind: .allow,
                 request: request("scale-deployment", "staging/shop-web", deployer,
                                  ["namespace": "shop", "deployment": "shop-web", "replicas": 4]),
                 result: .allow, code: .policy, policy: "allow-deployer-staging"),
        ]
        for c in mix {
            let d = engine.evaluate(c.request)
            guard d.result == c.result, d.code == c.code, d.policyMatched == c.policy else {
                fail("default set: \(c.kind.rawValue) request for \(c.request.action) on \(c.request.target ?? "-") "
                    + "decided \(d.result) (\(d.code), \(d.policyMatched ?? "no rule")): \(d.reason); expected "
                    + "\(c.result) (\(c.code), \(c.policy ?? "no rule"))")
            }
        }
    }
}

// MARK: - (b), (c) Generated set

/// SplitMix64 (AgentSafeCore): the generated set is the same on every run and every machine.
extension SplitMix64 {
    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    mutating func chance(_ percent: Int) -> Bool { int(0..<100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0..<items.count)] }
    mutating func subset<T>(_ items: [T], count: Int) -> [T] {
        var pool = items
        var out: [T] = []
        for _ in 0..<min(count, pool.count) { out.append(pool.remove(at: int(0..<pool.count))) }
        return out
    }
}

/// A catalogue shaped like a large organisation's: 100 services × 10 verbs = 1,000 actions, 60 targets, and
/// 10,000 rules with varied priorities: 60 % name 1–3 actions exactly, 30 % a service's actions by glob
/// (`svc-042-*`), 10 % a verb across a range of services by a glob with a character set
/// (`svc-0[3-4]?-restart`), plus a few `*` kill-switch rules. Most rules select environments and caller roles or
/// groups; some also risk classes or a ticket.
enum Generator {
    static let serviceCount = 100
    static let verbs: [(String, String)] = [
        ("get", "low"), ("list", "low"), ("logs", "low"), ("restart", "medium"), ("scale", "medium"),
        ("rollback", "medium"), ("deploy", "high"), ("patch", "high"), ("delete", "critical"), ("exec", "critical"),
    ]
    static let ruleCount = 10_000
    static let starRules = 10
    static let roles = ["reader", "deployer", "sre", "oncall", "auditor", "release-manager", "dba", "netops"]
    static let environments = ["dev", "staging", "prod"]
    static let sensitivities = ["public", "internal", "restricted", "critical"]
    static let risks = ["low", "medium", "high", "critical"]
    static let decisions = ["allow", "deny", "require_approval"]

    static func service(_ s: Int) -> String { "svc-" + String(repeating: "0", count: 3 - String(s).count) + String(s) }
    static func action(_ s: Int, _ v: Int) -> String { "\(service(s))-\(verbs[v].0)" }
    static let actionNames: [String] = (0..<serviceCount).flatMap { s in verbs.indices.map { action(s, $0) } }

    /// path relative to the project directory → contents.
    static func files() -> [(String, String)] {
        var rng = SplitMix64(state: 0x5AFE_2026)
        var out: [(String, String)] = []
        out.append(("agent-safe.yaml", "registry: actions\npolicies: policies\ninventory: inventory.yaml\n"))
        for s in 0..<serviceCount {
            for (v, (verb, risk)) in verbs.enumerated() {
                out.append(("actions/\(action(s, v)).yaml", """
                    name: \(action(s, v))
                    version: "1.0.0"
                    description: Generated action '\(verb)' of service \(service(s)).
                    parameters:
                      - name: instance
                        type: string
                        required: true
                        description: Instance name (DNS-1123 label).
                        constraints:
                          max_length: 63
                          pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'
                      - name: replicas
                        type: integer
                        required: false
                        description: Replica count.
                        constraints:
                          min_value: 0
                          max_value: 100
                    risk_class: \(risk)
                    risk_modifiers:
                      - when:
                          replicas: {equals: 0}
                        raise: 1
                        reason: Scaling to zero takes the service offline
                    target_types: [service, worker]
                    tags: [generated, \(verb)]

                    """))
            }
        }
        var inventory = "targets:\n"
        for env in environments {
            for t in 0..<20 {
                inventory += """
                      - id: \(env)/\(service(t * 5))
                        type: \(t % 4 == 3 ? "worker" : "service")
                        environment: \(env)
                        sensitivity: \(sensitivities[(t + environments.firstIndex(of: env)!) % 4])
                        owner: team-\(t % 10)
                        labels: {team: team-\(t % 10), tier: \(t % 2 == 0 ? "backend" : "frontend")}

                    """
            }
        }
        out.append(("inventory.yaml", inventory))

        // 10 policy files of 1,000 rules each.
        var files = Array(repeating: "rules:\n", count: 10)
        for i in 0..<ruleCount {
            var rule = "  - name: rule-\(i)\n    priority: \(rng.int(0..<1_000))\n    match:\n"
            var decision = rng.pick(decisions)
            if i < starRules {
                rule += "      actions: [\"*\"]\n      callers:\n        agent_ids: [revoked-bot-\(i), legacy-agent-\(i)]\n"
                decision = "deny"
            } else {
                switch i % 10 {
                case 0..<6:
                    let names = (0..<rng.int(1..<4)).map { _ in action(rng.int(0..<serviceCount), rng.int(0..<verbs.count)) }
                    rule += "      actions: [\(names.joined(separator: ", "))]\n"
                case 6..<9:
                    rule += "      actions: [\"\(service(rng.int(0..<serviceCount)))-*\"]\n"
                default:
                    let lo = rng.int(0..<9)
                    let hi = min(9, lo + rng.int(0..<3))
                    rule += "      actions: [\"svc-0[\(lo)-\(hi)]?-\(rng.pick(verbs).0)\"]\n"
                }
                if rng.chance(85) {
                    rule += "      targets:\n        environments: [\(rng.subset(environments, count: rng.int(1..<3)).joined(separator: ", "))]\n"
                    if rng.chance(20) { rule += "        sensitivities: [\(rng.subset(sensitivities, count: 2).joined(separator: ", "))]\n" }
                    if rng.chance(10) { rule += "        labels: {team: team-\(rng.int(0..<10))}\n" }
                }
                if rng.chance(80) {
                    rule += "      callers:\n"
                    if rng.chance(75) {
                        rule += "        roles: [\(rng.subset(roles, count: rng.int(1..<3)).joined(separator: ", "))]\n"
                    } else {
                        rule += "        groups: [team-\(rng.int(0..<10))]\n"
                    }
                    if rng.chance(30) { rule += "        max_delegation_depth: \(rng.int(0..<3))\n" }
                }
                if rng.chance(25) { rule += "      risk_classes: [\(rng.subset(risks, count: rng.int(1..<4)).joined(separator: ", "))]\n" }
                if rng.chance(20) { rule += "      require_ticket: \(rng.chance(50))\n" }
            }
            rule += "    decision: \(decision)\n    reason: Generated rule \(i)\n"
            files[i % 10] += rule
        }
        for (n, text) in files.enumerated() {
            out.append(("policies/\(n)0-generated.yaml", text))
        }
        return out
    }
}

/// The generated set written to a fresh temporary directory.
final class GeneratedFiles: Sendable {
    static let shared = GeneratedFiles()

    let directory: URL
    var options: LoadOptions {
        LoadOptions(configPath: directory.appendingPathComponent("agent-safe.yaml").path,
                    workingDirectory: directory.path, discoverConfig: false)
    }

    init() {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("agent-safe-bench-\(UUID().uuidString)")
        do {
            for sub in ["actions", "policies"] {
                try FileManager.default.createDirectory(
                    at: directory.appendingPathComponent(sub), withIntermediateDirectories: true)
            }
            for (path, text) in Generator.files() {
                try Data(text.utf8).write(to: directory.appendingPathComponent(path))
            }
        } catch {
            fail("cannot write the generated set to \(directory.path): \(error)")
        }
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// The generated set loaded once, with requests chosen so that they exercise the index: the deep-match request
/// is decided by a rule well down its candidate list, not the first one.
struct GeneratedWorld: Sendable {
    static let shared = GeneratedWorld()

    let engine: PolicyEngine
    let deepMatch: DecisionRequest
    let longestBucket: DecisionRequest
    let unknownTarget: DecisionRequest

    init() {
        let files = GeneratedFiles()
        let snapshot = load(files.options)
        files.remove()
        let engine = snapshot.engine
        self.engine = engine
        guard engine.actions.count == 1_000, engine.policy.rules.count == Generator.ruleCount else {
            fail("generated set has \(engine.actions.count) actions and \(engine.policy.rules.count) rules")
        }

        let caller = Caller(agentID: "release-bot-7", roles: ["release-manager"], groups: ["team-3"])
        func request(_ action: String, _ target: String) -> DecisionRequest {
            DecisionRequest(action: action, target: target, caller: caller,
                            params: ["instance": "web-7f9c4-2kq8z", "replicas": 3], ticketID: "CHG-1234",
                            instant: mondayMorning, auditID: "evt-bench")
        }
        /// (position of the deciding rule in the candidate list, candidate count), or nil when no rule decides.
        func depth(_ r: DecisionRequest) -> (Int, Int)? {
            let d = engine.evaluate(r)
            guard d.code == .policy, let name = d.policyMatched else { return nil }
            let env = r.target.flatMap { engine.inventory[$0] }?.environment
            let candidates = engine.policy.candidates(action: r.action, environment: env)
            guard let at = candidates.firstIndex(where: { engine.policy.rules[Int($0)].name == name }) else {
                fail("rule \(name) decided \(r.action) but is not among its candidates")
            }
            return (at, candidates.count)
        }

        // Deep match: an ordinary production request decided by a rule well down its candidate list, far from
        // the first. The set is fixed (seeded), so the choice is the same on every run.
        var deep: (DecisionRequest, Int, Int)?
        var longest: (DecisionRequest, Int)?
        for action in Generator.actionNames {
            for target in ["prod/svc-035", "staging/svc-010", "dev/svc-060"] {
                let r = request(action, target)
                let env = engine.inventory[target]!.environment
                let count = engine.policy.candidates(action: action, environment: env).count
                if count > (longest?.1 ?? -1) { longest = (r, count) }
                if deep == nil, target.hasPrefix("prod/"), let (at, total) = depth(r), at >= 10, at * 2 >= total {
                    deep = (r, at, total)
                }
            }
        }
        guard let deep, let longest else { fail("no request reaches a rule deep in its candidate list") }
        deepMatch = deep.0
        longestBucket = longest.0
        unknownTarget = request(deep.0.action, "prod/not-in-inventory")
        let d = engine.evaluate(deepMatch)
        let l = engine.evaluate(longestBucket)
        let u = engine.evaluate(unknownTarget)
        let unknownCount = engine.policy.candidates(action: unknownTarget.action, environment: nil).count
        FileHandle.standardError.write(Data("""
            DecisionBenchmarks: 10k rules: deep match \(deepMatch.action) on \(deepMatch.target!): \(d.result) by \
            \(d.policyMatched!), candidate \(deep.1 + 1) of \(deep.2); longest bucket \(longestBucket.action) on \
            \(longestBucket.target!): \(longest.1) candidates, \(l.result) by \(l.policyMatched ?? "no rule"); \
            unknown target: \(unknownCount) candidates, \(u.result) (\(u.code.rawValue))

            """.utf8))
    }
}
