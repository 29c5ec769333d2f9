// Control benchmarks (issue 6): what the controls around the policy engine add to one check, in process — the
// per-caller rate limiter and circuit breaker, the DLP scan of params, and the cumulative-risk ledger with chain
// rules — with 10,000 active principals; and the SQLite work behind a check that the HTTP figures only show in
// aggregate: a retried request finding its pending approval, the fingerprint that finds it, the ledger's batched
// inserts.
//
// Target on the 2-core reference machine: ≤ 3 µs added to one check (`Controls/all three`). Figures are
// recorded in docs/performance.md ("Controls (issue 6)").
//
// The sidecar (Sources/AgentSafeServer/Routes.swift, `decide`) calls per request: `RateLimiter.check`, the DLP
// scan (`DLPSetup.apply`: `DLPScanner.scan`, and `redact` only when something was found),
// `RiskLedger.assess(…, record: true)`, and `RateLimiter.recordDeny` when the result is a denial. The benchmarks
// do the same with the same arguments.

import AgentSafeAudit
import AgentSafeControl
import AgentSafeCore
import AgentSafeStore
import Benchmark
import Foundation

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )
    // Operations run 1,000 times per iteration (`.kilo`), so every figure reads per operation.
    let perOperation = Benchmark.Configuration(scalingFactor: .kilo)

    // MARK: Cumulative-risk ledger

    // As the sidecar calls it: the request is recorded when the ledger lets it through. The clock moves on by
    // `LedgerWorld.step` per request, so principals keep about 5 entries in the window (steady state).
    Benchmark("Controls/ledger assess (10k principals)", configuration: perOperation) { benchmark in
        let world = LedgerWorld.recording
        for _ in benchmark.scaledIterations {
            blackHole(world.assessNext())
        }
    } setup: {
        _ = LedgerWorld.recording
    } teardown: {
        LedgerWorld.recording.report("ledger assess (10k principals)")
    }
    // The same without recording (the pre-filled ledger doesn't change; the clock only jitters within a second).
    Benchmark("Controls/ledger assess, record: false (10k principals)", configuration: perOperation) { benchmark in
        let world = LedgerWorld.readOnly
        for _ in benchmark.scaledIterations {
            blackHole(world.assessNext())
        }
    } setup: {
        _ = LedgerWorld.readOnly
    } teardown: {
        LedgerWorld.readOnly.report("ledger assess, record: false")
    }

    // MARK: Rate limiter

    Benchmark("Controls/rate limiter check (10k callers)", configuration: perOperation) { benchmark in
        let world = LimiterWorld.shared
        for _ in benchmark.scaledIterations {
            blackHole(world.checkNext())
        }
    } setup: {
        _ = LimiterWorld.shared
    } teardown: {
        LimiterWorld.shared.report()
    }

    // MARK: DLP

    Benchmark("Controls/DLP scan (typical params)", configuration: perOperation) { benchmark in
        let scanner = DLPWorld.scanner
        let params = DLPWorld.typical
        for _ in benchmark.scaledIterations {
            blackHole(scanner.scan(params))
        }
    } setup: {
        DLPWorld.check()
    }
    Benchmark("Controls/DLP scan (params with a secret)", configuration: perOperation) { benchmark in
        let scanner = DLPWorld.scanner
        let params = DLPWorld.withSecret
        for _ in benchmark.scaledIterations {
            blackHole(scanner.scan(params))
        }
    } setup: {
        DLPWorld.check()
    }
    // What `DLPSetup.apply` does when something is found: scan, then redact.
    Benchmark("Controls/DLP scan+redact (params with a secret)", configuration: perOperation) { benchmark in
        let scanner = DLPWorld.scanner
        let params = DLPWorld.withSecret
        for _ in benchmark.scaledIterations {
            let findings = scanner.scan(params)
            blackHole(scanner.redact(params, findings: findings) { f, _ in "[redacted:\(f.detector.rawValue)]" })
        }
    } setup: {
        DLPWorld.check()
    }

    // MARK: All three: one check's added cost

    Benchmark("Controls/all three (one check's added cost)", configuration: perOperation) { benchmark in
        let world = CombinedWorld.shared
        for _ in benchmark.scaledIterations {
            blackHole(world.next())
        }
    } setup: {
        _ = CombinedWorld.shared
    } teardown: {
        CombinedWorld.shared.ledger.report("all three (ledger part)")
    }

    // MARK: The SQLite behind a check: approvals and the ledger's table

    // As Routes.record does for a require_approval: the newest pending, unexpired request with this fingerprint, on
    // the read-only WAL connection, among 10,000 other requests (half pending, half resolved).
    Benchmark("Controls/approval reuse lookup (10k stored)", configuration: perOperation) { benchmark in
        let world = ApprovalWorld.shared
        for _ in benchmark.scaledIterations {
            blackHole(world.store.pendingRequest(fingerprint: world.fingerprint, now: world.now))
        }
    } setup: {
        _ = ApprovalWorld.shared
    }

    // The fingerprint of a request (keyed HMAC over its canonical JSON), as Routes.record computes it.
    Benchmark("Controls/approval fingerprint", configuration: perOperation) { benchmark in
        let world = ApprovalWorld.shared
        for _ in benchmark.scaledIterations {
            blackHole(world.redactor.digest(world.fingerprintInput))
        }
    } setup: {
        _ = ApprovalWorld.shared
    }

    // Ledger rows as the sidecar writes them: one transaction per batch of 64 (about 5 ms of allowed checks at
    // 12,000 a second, a third of them allowed); the clock moves on, as entries arrive in time order.
    Benchmark("Controls/ledger insert, 64 a transaction (per entry)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let world = LedgerStoreWorld.shared
        var i = 0
        while i < benchmark.scaledIterations.count {
            let n = min(64, benchmark.scaledIterations.count - i)
            try world.store.append(contentsOf: world.next(n))
            i += n
        }
    } setup: {
        _ = LedgerStoreWorld.shared
    }
}

// MARK: - Shared

/// Stops the benchmark process with a message: a benchmark whose premise doesn't hold measures the wrong thing.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ControlBenchmarks: \(message)\n".utf8))
    exit(1)
}

func note(_ message: String) {
    FileHandle.standardError.write(Data("ControlBenchmarks: \(message)\n".utf8))
}

/// SplitMix64 (AgentSafeCore): the same principals, histories and request order on every run.
extension SplitMix64 {
    mutating func int(_ count: Int) -> Int { Int(next() % UInt64(count)) }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

let principalCount = 10_000
let namespaces = ["payments", "checkout", "search", "catalog", "identity", "billing", "shipping", "inventory",
                  "reviews", "ads", "recommendations", "notifications", "reporting", "gateway", "auth", "media",
                  "orders", "pricing", "loyalty", "support"]

/// Caller / principal ids as a token or body would name them (longer than Swift's 15-byte inline strings).
let principals: [String] = (0..<principalCount).map { n in
    "team-\(n % 20 < 10 ? "0" : "")\(n % 20)-agent-" + String(repeating: "0", count: 5 - String(n).count) + String(n)
}

/// Audit ids for the requests (the sidecar makes one per request; made here once and reused).
let auditIDs: [String] = {
    var rng = SplitMix64(state: 0xA0D1_7000)
    return (0..<4096).map { _ in EventID.random(using: &rng) }
}()

// MARK: - Ledger

/// A principal's activity: mostly reads, some changes, now and then a secret read, an exec or a port-forward
/// (the last steps of the chains below). Risk classes as in the repository's `actions/`; scores are the
/// default `CumulativeRiskPolicy`'s (low 1, medium 5, high 15): 3 on average per request.
struct Shape: Sendable {
    var action: String
    var risk: RiskClass
    var params: @Sendable (String) -> [String: JSONValue]
}

let shapes: [Shape] = {
    let reads: [Shape] = [
        Shape(action: "list-pods", risk: .low) { ["namespace": .string($0), "label_selector": "app=api"] },
        Shape(action: "get-pod-logs", risk: .low) { ["namespace": .string($0), "pod": .string("\($0)-api-7d9f8c6b5-x2k4q"), "tail_lines": 200] },
        Shape(action: "get-deployment", risk: .low) { ["namespace": .string($0), "deployment": .string("\($0)-api")] },
        Shape(action: "rollout-status", risk: .low) { ["namespace": .string($0), "deployment": .string("\($0)-api")] },
        Shape(action: "get-configmap", risk: .low) { ["namespace": .string($0), "configmap": .string("\($0)-config")] },
    ]
    var all = Array(repeating: reads, count: 3).flatMap { $0 }  // 15 reads
    all += [
        Shape(action: "scale-deployment", risk: .medium) { ["namespace": .string($0), "deployment": .string("\($0)-api"), "replicas": 3] },
        Shape(action: "restart-deployment", risk: .medium) { ["namespace": .string($0), "deployment": .string("\($0)-api")] },
        Shape(action: "get-secret", risk: .high) { ["namespace": .string($0), "secret": .string("\($0)-db"), "key": "username"] },
        Shape(action: "exec-pod", risk: .high) { ["namespace": .string($0), "pod": .string("\($0)-api-7d9f8c6b5-x2k4q"), "command": ["cat", "/etc/hostname"]] },
        Shape(action: "port-forward", risk: .medium) { ["namespace": .string($0), "pod": .string("\($0)-api-7d9f8c6b5-x2k4q"), "local_port": 8080, "remote_port": 8080] },
    ]
    return all
}()

/// The chain rules of the example: a secret read then an exec in the same namespace; an S3 bucket-policy change
/// then an IAM attachment naming the same role; listing pods, reading a secret, then a port-forward.
let chains: [ChainRule] = [
    ChainRule(name: "secret-then-exec", steps: [Glob("get-secret"), Glob("exec-pod")], withinSeconds: 900,
              same: .namespace, decision: .requireApproval,
              reason: "Reading a secret and then executing in a pod of the same namespace"),
    ChainRule(name: "s3-policy-then-iam-attach", steps: [Glob("s3-put-*"), Glob("iam-attach-*")], withinSeconds: 1800,
              same: .param("role_name"), bonus: 40,
              reason: "A bucket policy change followed by a policy attachment to the same role"),
    ChainRule(name: "recon-secret-tunnel", steps: [Glob("list-pods"), Glob("get-secret"), Glob("port-forward")],
              withinSeconds: 1800, same: .namespace, decision: .deny,
              reason: "Listing pods, reading a secret and opening a port-forward in one namespace"),
]

/// Monday 2026-03-02 10:00 UTC, wall-clock seconds (the ledger runs on wall time).
let ledgerStart = 1_772_445_600.0

/// 10,000 principals, each working in one namespace, with a pre-filled history of about 5 entries in the
/// (default, one-hour) window, and a stream of their requests in random principal order.
final class LedgerWorld: @unchecked Sendable {  // used by one benchmark thread at a time
    static let entriesPerPrincipal = 5
    /// Seconds per request: with 10,000 principals picked at random each is seen every 10,000 × step seconds
    /// on average, so the window holds about `entriesPerPrincipal` entries of each (3,600 s / (10,000 × 0.072 s)).
    static let step = 3600.0 / Double(principalCount * entriesPerPrincipal)

    static let recording = LedgerWorld(record: true, seed: 1)
    static let readOnly = LedgerWorld(record: false, seed: 2)

    let ledger: RiskLedger
    let record: Bool
    /// principal × shape → params, built once (the sidecar has them from the request body).
    let params: [[[String: JSONValue]]]
    var rng: SplitMix64
    var now = ledgerStart
    var n = 0
    /// Outcomes of the measured requests, by result strictness × code (none, cumulative, chain, capacity).
    var outcomes = [Int](repeating: 0, count: 12)
    /// The target id per namespace (`prod/<namespace>`).
    let targets = namespaces.map { "prod/\($0)" }

    init(record: Bool, seed: UInt64) {
        self.record = record
        ledger = RiskLedger(policy: CumulativeRiskPolicy(), chains: chains)
        params = namespaces.map { ns in shapes.map { $0.params(ns) } }
        rng = SplitMix64(state: 0xC0DE_0000 + seed)
        // History: entries spread over the last hour, drawn from the same activity.
        let window = ledger.policy.windowSeconds
        for (p, principal) in principals.enumerated() {
            let ns = namespaces[p % namespaces.count]
            let times = (0..<Self.entriesPerPrincipal).map { _ in ledgerStart - window * rng.unit() }.sorted()
            for t in times {
                let s = rng.int(shapes.count)
                let candidate = candidate(principal: p, shape: s, ns: ns)
                guard ledger.record(LedgerEntry(id: auditIDs[rng.int(auditIDs.count)], principal: principal, at: t,
                                                action: candidate.action, target: candidate.target, namespace: ns,
                                                keys: ledger.keys(of: candidate.params), risk: candidate.risk,
                                                score: ledger.policy.score(candidate.risk)),
                                    now: ledgerStart)
                else { fail("the ledger refused principal \(p)") }
            }
        }
        guard ledger.trackedPrincipals == principalCount else {
            fail("ledger tracks \(ledger.trackedPrincipals) principals, expected \(principalCount)")
        }
    }

    func candidate(principal p: Int, shape s: Int, ns: String? = nil) -> RiskCandidate {
        let shape = shapes[s]
        let ns = ns ?? namespaces[p % namespaces.count]
        return RiskCandidate(id: auditIDs[n & 4095], principal: principals[p], action: shape.action,
                             target: targets[p % namespaces.count], namespace: ns, params: params[p % namespaces.count][s],
                             risk: shape.risk)
    }

    /// One request of a random principal; the policy allowed it (as most requests are).
    @inline(__always)
    func assessNext() -> RiskAssessment {
        let p = rng.int(principalCount)
        let s = rng.int(shapes.count)
        n += 1
        let t: Double
        if record {
            now += Self.step
            t = now
        } else {
            t = ledgerStart + Double(n & 1023) / 1024
        }
        let a = ledger.assess(candidate(principal: p, shape: s), policyResult: .allow, now: t, record: record)
        count(a)
        return a
    }

    @inline(__always)
    func count(_ a: RiskAssessment) {
        let code: Int = switch a.code {
        case nil: 0
        case .cumulativeRisk?: 1
        case .chainRule?: 2
        case .ledgerAtCapacity?: 3
        }
        outcomes[a.result.strictness * 4 + code] += 1
    }

    /// What the measured requests got, and how big principals' histories were at the end.
    func report(_ name: String) {
        let total = outcomes.reduce(0, +)
        let results = ["allow", "require_approval", "deny"]
        let codes = ["", " (cumulative_risk)", " (chain_rule)", " (risk_ledger_at_capacity)"]
        let parts = outcomes.indices.filter { outcomes[$0] > 0 }.map {
            "\(results[$0 / 4])\(codes[$0 % 4]) \(String(format: "%.1f", 100 * Double(outcomes[$0]) / Double(max(1, total)))) %"
        }
        var sizes = 0
        var scores = 0.0
        for p in stride(from: 0, to: principalCount, by: 10) {
            let s = ledger.state(of: principals[p], now: record ? now : ledgerStart)
            sizes += s.contributionCount
            scores += s.before
        }
        note("\(name): \(total) assessments: \(parts.joined(separator: ", ")); "
            + "per principal at the end: \(String(format: "%.1f", Double(sizes) / 1000)) entries, "
            + "score \(String(format: "%.1f", scores / 1000)) (sample of 1,000)")
        outcomes = [Int](repeating: 0, count: 12)
    }
}

// MARK: - Rate limiter

/// The sidecar's limiter (100 requests per 60 s per caller, breaker after 5 denials in 60 s, cooldown 300 s,
/// 100,000 callers at most) with 10,000 callers, each with about 10 requests in its window.
final class LimiterWorld: @unchecked Sendable {
    static let shared = LimiterWorld()
    static let requestsPerCaller = 10
    static let step = 60.0 / Double(principalCount * requestsPerCaller)

    let limiter = RateLimiter(policy: RateLimitPolicy(maxRequests: 100, windowSeconds: 60, breakerThreshold: 5,
                                                      breakerWindowSeconds: 60, breakerCooldownSeconds: 300,
                                                      maxTrackedCallers: 100_000))
    var rng = SplitMix64(state: 0x11A1_7000)
    /// Monotonic seconds.
    var now = 10_000.0
    var refused = 0
    var checks = 0

    init() {
        // Fill: one window's worth of requests in random caller order, then the same steady stream.
        for _ in 0..<(principalCount * Self.requestsPerCaller) { _ = checkNext() }
        guard limiter.trackedCallers == principalCount else {
            fail("limiter tracks \(limiter.trackedCallers) callers, expected \(principalCount)")
        }
        refused = 0
        checks = 0
    }

    @inline(__always)
    func checkNext() -> RateVerdict {
        now += Self.step
        checks += 1
        let v = limiter.check(principals[rng.int(principalCount)], now: now)
        if !v.isAllowed { refused += 1 }
        return v
    }

    func report() {
        note("rate limiter: \(checks) checks, \(refused) refused, \(limiter.trackedCallers) callers tracked")
        refused = 0
        checks = 0
    }
}

// MARK: - DLP

enum DLPWorld {
    /// All detectors, the default entropy settings: what `dlp: {}` gives.
    static let scanner = DLPScanner()
    static let typical: [String: JSONValue] = ["namespace": "payments", "deployment": "payments-api", "replicas": 3]
    /// A deployment change whose env carries a database URL with its password.
    static let withSecret: [String: JSONValue] = [
        "namespace": "payments", "deployment": "payments-api", "container": "api",
        "env": ["DATABASE_URL": "postgres://payments:Xk9mQ2vL7pRt@db.payments.svc:5432/payments", "LOG_LEVEL": "info"],
    ]

    static func check() {
        guard scanner.scan(typical).isEmpty else { fail("DLP found something in the typical params") }
        let found = scanner.scan(withSecret)
        guard found.count == 1, found[0].detector == .credentialURL else {
            fail("DLP found \(found) in the params with a secret, expected one credential_url")
        }
    }
}

// MARK: - All three

/// One request as the sidecar handles it after the engine: limiter check, DLP (scan; redact only on findings),
/// ledger assessment (recorded), and `recordDeny` when the result is a denial. The principal is the caller; both
/// tables hold 10,000 callers in the steady states of the benchmarks above.
final class CombinedWorld: @unchecked Sendable {
    static let shared = CombinedWorld()

    let ledger = LedgerWorld(record: true, seed: 3)
    let limiter = LimiterWorld()
    let scanner = DLPWorld.scanner

    @inline(__always)
    func next() -> RiskAssessment {
        let p = limiter.rng.int(principalCount)
        let caller = principals[p]
        limiter.now += LimiterWorld.step
        let verdict = limiter.limiter.check(caller, now: limiter.now)

        let s = ledger.rng.int(shapes.count)
        ledger.n += 1
        ledger.now += LedgerWorld.step
        let candidate = ledger.candidate(principal: p, shape: s)
        var params = candidate.params
        let findings = scanner.scan(params)
        if !findings.isEmpty {
            params = scanner.redact(params, findings: findings) { f, _ in "[redacted:\(f.detector.rawValue)]" }
        }
        blackHole(params)

        let a = ledger.ledger.assess(candidate, policyResult: verdict.isAllowed ? .allow : .deny,
                                     now: ledger.now, record: true)
        ledger.count(a)
        if a.result == .deny, verdict.isAllowed {
            limiter.limiter.recordDeny(caller, now: limiter.now)
        }
        return a
    }
}

final class ApprovalWorld: @unchecked Sendable {
    static let shared = try! ApprovalWorld()
    let store: SQLiteApprovalStore
    let redactor: AuditRedactor
    let now: Int64
    let fingerprintInput: JSONValue
    let fingerprint: String

    init() throws {
        let dir = NSTemporaryDirectory() + "agent-safe-state-bench-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let store = try SQLiteApprovalStore(path: dir + "/approvals.sqlite")
        let redactor = AuditRedactor(key: Array(repeating: 7, count: 32))
        let now: Int64 = 1_800_000_000
        let params: [String: JSONValue] = ["namespace": "search", "deployment": "search-indexer", "container": "indexer",
                                           "image": "registry.example.com/search/indexer:5.2.0"]
        func request(caller: String, params: [String: JSONValue]) -> ApprovalRequest {
            var r = ApprovalRequest(
                id: ApprovalRequest.newID(), auditID: EventID.random(), action: "update-image", target: "prod/search-indexer",
                caller: caller, principal: caller, callerRoles: ["deployer"], params: params,
                riskClass: .high, effectiveRisk: .high, policyMatched: "require-approval-prod-with-ticket",
                reason: "Production changes require approval", code: "policy", changeTicket: "CHG-5001",
                createdAt: now - 60, expiresAt: now + 3600)
            r.fingerprint = redactor.digest(.object(["caller": .string(caller), "action": "update-image",
                                                     "target": "prod/search-indexer", "params": .object(params),
                                                     "ticket_id": "CHG-5001"]))
            return r
        }
        for i in 0..<10_000 {
            var p = params
            p["image"] = .string("registry.example.com/search/indexer:5.\(i)")
            let r = request(caller: "deploy-bot-\(i % 50)", params: p)
            _ = try store.createOrReuse(r, maxPendingPerCaller: 100_000, now: now - 60)
            if i % 2 == 0 { _ = try store.resolve(r.id, approve: false, by: "alice", reason: "no", now: now - 30) }
        }
        let mine = request(caller: "deploy-bot", params: params)
        _ = try store.createOrReuse(mine, maxPendingPerCaller: 100_000, now: now - 60)
        self.store = store
        self.redactor = redactor
        self.now = now
        fingerprintInput = .object(["caller": "deploy-bot", "action": "update-image", "target": "prod/search-indexer",
                                    "params": .object(params), "ticket_id": "CHG-5001"])
        fingerprint = mine.fingerprint!
        precondition(redactor.digest(fingerprintInput) == fingerprint)
        precondition(store.pendingRequest(fingerprint: fingerprint, now: now)?.id == mine.id)
    }
}

final class LedgerStoreWorld: @unchecked Sendable {
    static let shared = try! LedgerStoreWorld()
    let store: SQLiteRiskLedgerStore
    private var clock = 1_800_000_000.0
    private var counter = 0

    init() throws {
        let dir = NSTemporaryDirectory() + "agent-safe-ledger-bench-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        store = try SQLiteRiskLedgerStore(path: dir + "/ledger.sqlite")
    }

    func next(_ n: Int) -> [LedgerEntry] {
        (0..<n).map { _ in
            counter += 1
            clock += 0.00025
            return LedgerEntry(id: EventID.random(), principal: "reader-bot-\(counter % 3)", at: clock, action: "get-pod-logs",
                               target: "prod/shop-web-pods", namespace: "shop", keys: [:], risk: .low, score: 1)
        }
    }
}
