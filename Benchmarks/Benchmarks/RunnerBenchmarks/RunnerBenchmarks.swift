// Runner benchmarks (issue 7, section 7): the runner's own overhead per execution, excluding the executor's
// work — ticket verification and consumption in the durable SQLite replay store, credential rendering and the
// vault, prechecks/state/execute calls on an executor that returns at once, and the two audit events written to a
// real hash-chained log (durability `batch`: group commit, so one run waits for its fsync).
//
// Target on the 2-core reference machine: ≤ 1 ms per run. Figures are recorded in docs/performance.md.

import AgentSafeAudit
import AgentSafeCore
import AgentSafeRunner
import AgentSafeStore
import AgentSafeTickets
import Benchmark
import Foundation

/// Returns at once: what remains is the runner's own work.
struct InstantExecutor: Executor {
    let name = "instant"
    func supports(_ action: ActionDefinition) -> Bool { true }
    func plan(_ request: ExecutionRequest) throws -> [PlannedCall] { [.argv(["true"])] }
    func prechecks(_ request: ExecutionRequest) async -> [PrecheckOutcome] {
        [PrecheckOutcome(name: "deployment-exists", passed: true, message: "ok")]
    }
    func state(_ request: ExecutionRequest) async throws -> [String: JSONValue] { ["replicas": 3] }
    func execute(_ request: ExecutionRequest) async -> ExecutionOutput { ExecutionOutput(status: .success, calls: [.argv(["true"])]) }
}

struct StaticVault: CredentialVault {
    let name = "static"
    func credential(type: String, scope: [String: JSONValue], ttlSeconds: Int, notAfter: Int64, now: Int64) async throws -> Credential {
        Credential(id: "cred-bench", type: type, scope: scope, secret: ["kubeconfig": "/dev/null"], expiresAt: min(notAfter, now + 60))
    }
    func revoke(_ credential: Credential) async {}
}

/// Discards events: isolates the audit write's share.
struct NullSink: AuditSink {
    func record(_ event: AuditEvent) async throws {}
}

final class Fixture: @unchecked Sendable {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-safe-runner-bench-\(UUID().uuidString)").path
    let issuer: TicketIssuer
    let ring: KeyRing
    let action = ActionDefinition(
        name: "scale-deployment",
        parameters: [ActionParameter(name: "namespace", type: .string), ActionParameter(name: "deployment", type: .string),
                     ActionParameter(name: "replicas", type: .integer)],
        riskClass: .medium, targetTypes: ["k8s-deployment"], prechecks: [Precheck(name: "deployment-exists", description: "")],
        credentials: CredentialScope(type: "kubernetes", fields: ["namespaces": ["{{ params.namespace }}"], "verbs": ["patch"]]),
        stateFields: [StateFieldSpec(name: "replicas")])
    let params: [String: JSONValue] = ["namespace": "web", "deployment": "web", "replicas": 3]
    var tokens: [String] = []
    var next = 0

    init() {
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        ring = try! KeyRing([try! SigningKey.hmac(Array("benchmark-hmac-key-of-at-least-32-bytes!".utf8))])
        issuer = try! TicketIssuer(ring: ring)
    }

    func refill(_ count: Int) {
        let now = Int64(Date().timeIntervalSince1970)
        tokens = (0..<count).map { _ in
            try! issuer.issue(TicketRequest(action: "scale-deployment", target: "dev/web", caller: "bot", params: params,
                                            auditID: EventID.random()), now: now).token
        }
        next = 0
    }

    func token() -> String {
        if next == tokens.count { refill(20_000) }
        defer { next += 1 }
        return tokens[next]
    }

    func runner(sink: any AuditSink) -> Runner {
        Runner(actions: [action], verifier: TicketVerifier(ring: ring, replayGuard: try! SQLiteReplayStore(path: dir + "/state.sqlite")),
               executors: [InstantExecutor()], vault: StaticVault(), audit: sink)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 20_000
    )
    let fixture = Fixture()
    fixture.refill(20_000)
    let log = try! AuditLog(AuditLogOptions(path: fixture.dir + "/audit.jsonl", durability: .batch))
    let withAudit = fixture.runner(sink: log)
    let withoutAudit = fixture.runner(sink: NullSink())

    Benchmark("Runner/overhead per run (SQLite consume, audit log batch)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(await withAudit.run(RunRequest(token: fixture.token(), params: fixture.params)))
        }
    }
    Benchmark("Runner/overhead per run (SQLite consume, no audit)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(await withoutAudit.run(RunRequest(token: fixture.token(), params: fixture.params)))
        }
    }
    Benchmark("Runner/dry run (no audit)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(await withoutAudit.run(RunRequest(token: fixture.token(), params: fixture.params, dryRun: true)))
        }
    }
}
