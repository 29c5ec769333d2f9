// State benchmarks: the SQLite work behind a /v1/check that the HTTP figures only show in aggregate — a retried
// request finding its pending approval (the `require_approval` third of the sidecar benchmark's mix), the
// fingerprint that finds it, and the risk ledger's batched inserts behind every allowed check.
// Figures are recorded in docs/performance.md ("Sidecar over HTTP").

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
    let perOperation = Benchmark.Configuration(scalingFactor: .kilo)

    // As Routes.record does for a require_approval: the newest pending, unexpired request with this fingerprint, on
    // the read-only WAL connection, among 10,000 other requests (half pending, half resolved).
    Benchmark("State/approval reuse lookup (10k stored)", configuration: perOperation) { benchmark in
        let world = ApprovalWorld.shared
        for _ in benchmark.scaledIterations {
            blackHole(world.store.pendingRequest(fingerprint: world.fingerprint, now: world.now))
        }
    } setup: {
        _ = ApprovalWorld.shared
    }

    // The fingerprint of a request (keyed HMAC over its canonical JSON), as Routes.record computes it.
    Benchmark("State/approval fingerprint", configuration: perOperation) { benchmark in
        let world = ApprovalWorld.shared
        for _ in benchmark.scaledIterations {
            blackHole(world.redactor.digest(world.fingerprintInput))
        }
    } setup: {
        _ = ApprovalWorld.shared
    }

    // Ledger rows as the sidecar writes them: one transaction per batch of 64 (about 5 ms of allowed checks at
    // 12,000 a second, a third of them allowed); the clock moves on, as entries arrive in time order.
    Benchmark("State/ledger insert, 64 a transaction (per entry)", configuration: .init(scalingFactor: .kilo)) { benchmark in
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
