import AgentSafeAudit
import AgentSafeCore
import AgentSafeRunner
import AgentSafeTickets
import Foundation
import Synchronization
import Testing

/// An executor that records what it was asked and changes a fake "replicas" state.
final class RecordingExecutor: Executor, @unchecked Sendable {
    let name = "recording"
    let replicas = Mutex(2)
    let executed = Mutex<[ExecutionRequest]>([])
    var precheckPasses = true
    var outcome: ExecutionStatus = .success

    func supports(_ action: ActionDefinition) -> Bool { action.name == "scale-deployment" }
    func plan(_ request: ExecutionRequest) throws -> [PlannedCall] {
        [.argv(["kubectl", "scale", "deployment/\(request.string("deployment") ?? "")", "--replicas=\(request.string("replicas") ?? "")"])]
    }
    func prechecks(_ request: ExecutionRequest) async -> [PrecheckOutcome] {
        [PrecheckOutcome(name: "deployment-exists", passed: precheckPasses, message: precheckPasses ? "found" : "not found")]
    }
    func state(_ request: ExecutionRequest) async throws -> [String: JSONValue] { ["replicas": .integer(Int64(replicas.withLock { $0 }))] }
    func execute(_ request: ExecutionRequest) async -> ExecutionOutput {
        executed.withLock { $0.append(request) }
        if outcome == .success, case .integer(let n)? = request.params["replicas"] { replicas.withLock { $0 = Int(n) } }
        return ExecutionOutput(status: outcome, output: "scaled", error: outcome == .success ? nil : "boom", calls: try! plan(request))
    }
}

final class MemorySink: AuditSink, @unchecked Sendable {
    let events = Mutex<[AuditEvent]>([])
    func record(_ event: AuditEvent) async throws { events.withLock { $0.append(event) } }
    var all: [AuditEvent] { events.withLock { $0 } }
}

final class RevokingVault: CredentialVault {
    let name = "test"
    let revoked = Mutex<[String]>([])
    let scopes = Mutex<[[String: JSONValue]]>([])
    func credential(type: String, scope: [String: JSONValue], ttlSeconds: Int, notAfter: Int64, now: Int64) async throws -> Credential {
        scopes.withLock { $0.append(scope) }
        return Credential(id: "cred-test", type: type, scope: scope, secret: ["kubeconfig": "/secret/path"], expiresAt: min(notAfter, now + Int64(ttlSeconds)))
    }
    func revoke(_ credential: Credential) async { revoked.withLock { $0.append(credential.id) } }
}

@Suite("Runner: the execution pipeline")
struct RunnerTests {
    static let scale = ActionDefinition(
        name: "scale-deployment", parameters: [
            ActionParameter(name: "namespace", type: .string), ActionParameter(name: "deployment", type: .string),
            ActionParameter(name: "replicas", type: .integer),
        ], riskClass: .medium, targetTypes: ["k8s-deployment"], prechecks: [Precheck(name: "deployment-exists", description: "")],
        credentials: CredentialScope(type: "kubernetes", fields: ["namespaces": ["{{ params.namespace }}"], "verbs": ["patch"]], ttl: 120),
        stateFields: [StateFieldSpec(name: "replicas")])
    static let params: [String: JSONValue] = ["namespace": "web", "deployment": "web", "replicas": 5]

    struct Setup {
        let runner: Runner
        let executor: RecordingExecutor
        let sink: MemorySink
        let vault: RevokingVault
        let issuer: TicketIssuer

        func ticket(_ params: [String: JSONValue] = RunnerTests.params, now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> ExecutionTicket {
            try issuer.issue(TicketRequest(action: "scale-deployment", target: "dev/web", caller: "bot", params: params,
                                           auditID: "evt-decision"), now: now)
        }
    }

    static func setup(vault: Bool = true) throws -> Setup {
        let (_, key) = KeyFile.generate(.hs256)
        let ring = try KeyRing([key])
        let executor = RecordingExecutor()
        let sink = MemorySink()
        let v = RevokingVault()
        let runner = Runner(actions: [scale], verifier: TicketVerifier(ring: ring, replayGuard: InMemoryReplayGuard()),
                            executors: [executor], vault: vault ? v : nil, audit: sink)
        return Setup(runner: runner, executor: executor, sink: sink, vault: v, issuer: try TicketIssuer(ring: ring))
    }

    @Test func aValidTicketRunsOnceWithAScopedCredentialAndIsAudited() async throws {
        let s = try Self.setup()
        let ticket = try s.ticket()
        let result = await s.runner.run(RunRequest(token: ticket.token, params: Self.params))
        #expect(result.status == .success && result.code == "ok")
        #expect(result.beforeState == ["replicas": 2] && result.afterState == ["replicas": 5])
        #expect(result.diff == ["replicas": .object(["before": 2, "after": 5])])
        #expect(s.executor.executed.withLock { $0.count } == 1)
        // The credential: scope rendered from the ticket's params, expiring with the ticket at the latest, revoked after.
        let request = try #require(s.executor.executed.withLock { $0.first })
        #expect(request.credential?.scope["namespaces"] == ["web"])
        #expect((request.credential?.expiresAt ?? .max) <= ticket.expiresAt)
        #expect(s.vault.revoked.withLock { $0 } == ["cred-test"])
        // Audit: execution and state_capture, linked to the decision; no secret.
        let events = s.sink.all
        #expect(events.map(\.eventType) == [.execution, .stateCapture])
        #expect(events[0].correlationID == "evt-decision" && events[0].jti == ticket.jti && events[0].decision == .allow)
        #expect(events[1].context?["diff"]?["replicas"]?["after"] == 5)
        for e in events {
            var line = ""
            e.context?.appendCompact(to: &line)
            #expect(!line.contains("/secret/path"))
        }
        // The same ticket again: replayed, refused, audited, nothing executed.
        let again = await s.runner.run(RunRequest(token: ticket.token, params: Self.params))
        #expect(again.status == .refused && again.code == "ticket_replayed")
        #expect(s.executor.executed.withLock { $0.count } == 1)
        #expect(s.sink.all.last?.eventType == .execution && s.sink.all.last?.decision == .deny)
    }

    @Test func theRequestMustBeTheTickets() async throws {
        let s = try Self.setup()
        var other = Self.params
        other["replicas"] = 50
        let r1 = await s.runner.run(RunRequest(token: try s.ticket().token, params: other))
        #expect(r1.code == "ticket_params_mismatch")
        let r2 = await s.runner.run(RunRequest(token: try s.ticket().token, params: Self.params, target: "prod/web"))
        #expect(r2.code == "ticket_target_mismatch")
        let r3 = await s.runner.run(RunRequest(token: "not-a-token", params: Self.params))
        #expect(r3.code == "ticket_malformed")
        #expect(s.executor.executed.withLock { $0.isEmpty })
        #expect(s.sink.all.count == 3 && s.sink.all.allSatisfy { $0.eventType == .execution && $0.decision == .deny })
    }

    @Test func aFailedPrecheckBlocks() async throws {
        let s = try Self.setup()
        s.executor.precheckPasses = false
        let r = await s.runner.run(RunRequest(token: try s.ticket().token, params: Self.params))
        #expect(r.status == .refused && r.code == "precheck_failed" && r.message.contains("deployment-exists"))
        #expect(s.executor.executed.withLock { $0.isEmpty })
        #expect(s.vault.revoked.withLock { $0.count } == 1)
    }

    @Test func noVaultMeansNoExecution() async throws {
        let s = try Self.setup(vault: false)
        let r = await s.runner.run(RunRequest(token: try s.ticket().token, params: Self.params))
        #expect(r.code == "credential_unavailable")
        #expect(s.executor.executed.withLock { $0.isEmpty })
    }

    @Test func aParamThatWouldWidenTheScopeIsRefused() async throws {
        let s = try Self.setup()
        let wide: [String: JSONValue] = ["namespace": "*", "deployment": "web", "replicas": 5]
        let r = await s.runner.run(RunRequest(token: try s.ticket(wide).token, params: wide))
        #expect(r.code == "credential_scope_widening")
        #expect(s.executor.executed.withLock { $0.isEmpty })
    }

    @Test func aDryRunShowsThePlanAndSendsNothing() async throws {
        let s = try Self.setup(vault: false)
        let r = await s.runner.run(RunRequest(token: try s.ticket().token, params: Self.params, dryRun: true))
        #expect(r.status == .dryRun && r.executor == "dry-run")
        #expect(r.output?.calls == [.argv(["kubectl", "scale", "deployment/web", "--replicas=5"])])
        #expect(r.prechecks.allSatisfy { $0.advisory })
        #expect(s.executor.executed.withLock { $0.isEmpty })
    }

    @Test func failuresAndTimeoutsAreAudited() async throws {
        for outcome in [ExecutionStatus.failure, .timeout] {
            let s = try Self.setup()
            s.executor.outcome = outcome
            let r = await s.runner.run(RunRequest(token: try s.ticket().token, params: Self.params))
            #expect(r.status == outcome && r.code == (outcome == .timeout ? "timeout" : "executor_failed"))
            #expect(s.sink.all.first?.decision == .deny)
            #expect(s.sink.all.first?.context?["status"] == .string(outcome.rawValue))
        }
    }
}

@Suite("Runner: credential scopes and vaults")
struct CredentialTests {
    @Test(arguments: ["*", "a*", "prod,dev", "a:b", "../x", "a b", "${aws:username}", "a\nb", "x?", "[abc]", ""])
    func wideningValuesAreRefused(_ value: String) {
        #expect(throws: CredentialError.self) {
            try ScopeTemplate.render(["resources": ["arn:aws:s3:::{{ params.bucket }}/logs"]], params: ["bucket": .string(value)])
        }
    }

    @Test func ordinaryValuesRenderAndASlashMayOnlyEndAResource() throws {
        let out = try ScopeTemplate.render(
            ["resources": ["arn:aws:ec2:{{ params.region }}:*:instance/{{params.id}}", "arn:aws:s3:::bucket/{{ params.key }}"],
             "n": 3],
            params: ["region": "eu-central-1", "id": "i-0abc", "key": "logs/2026/11/app.log"])
        #expect(out["resources"] == ["arn:aws:ec2:eu-central-1:*:instance/i-0abc", "arn:aws:s3:::bucket/logs/2026/11/app.log"])
        #expect(out["n"] == 3)
        #expect(throws: CredentialError.self) {
            try ScopeTemplate.render(["r": "arn:aws:s3:::{{ params.bucket }}/x"], params: ["bucket": "a/b"])
        }
        #expect(throws: CredentialError.self) { try ScopeTemplate.render(["r": "{{ params.missing }}"], params: [:]) }
        // A whole ARN as the whole field is fine (iam-attach-role-policy's policy_arn); never a wildcard in it.
        let arn = try ScopeTemplate.render(["resources": ["{{ params.policy_arn }}"]],
                                           params: ["policy_arn": "arn:aws:iam::aws:policy/service-role/ReadOnly"])
        #expect(arn["resources"] == ["arn:aws:iam::aws:policy/service-role/ReadOnly"])
        #expect(throws: CredentialError.self) {
            try ScopeTemplate.render(["resources": ["{{ params.policy_arn }}"]], params: ["policy_arn": "arn:aws:iam::aws:policy/*"])
        }
        #expect(throws: CredentialError.self) {
            try ScopeTemplate.render(["resources": ["arn:aws:iam::*:role/{{ params.role }}"]], params: ["role": "x:y"])
        }
        #expect(throws: CredentialError.self) { try ScopeTemplate.render(["r": "{{ env.HOME }}"], params: [:]) }
    }

    @Test func theFileVaultRefusesAFileOthersCanRead() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vault-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/credentials.json"
        try Data(#"{"aws": {"access_key_id": "AKIDEXAMPLE", "secret_access_key": "s3cr3t"}}"#.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        let vault = FileVault(path: path)
        await #expect(throws: CredentialError.self) {
            _ = try await vault.credential(type: "aws", scope: [:], ttlSeconds: 300, notAfter: 1_000, now: 0)
        }
        chmod(path, 0o600)
        let c = try await vault.credential(type: "aws", scope: [:], ttlSeconds: 300, notAfter: 100, now: 0)
        #expect(c.secret["access_key_id"] == "AKIDEXAMPLE" && c.expiresAt == 100)
        await #expect(throws: CredentialError.self) {
            _ = try await vault.credential(type: "kubernetes", scope: [:], ttlSeconds: 300, notAfter: 100, now: 0)
        }
    }

    @Test func theEnvironmentVaultReadsOnlyItsPrefix() async throws {
        let vault = EnvironmentVault(environment: ["AWS_ACCESS_KEY_ID": "ambient", "AGENT_SAFE_CRED_AWS_ACCESS_KEY_ID": "scoped",
                                                   "AGENT_SAFE_CRED_AWS_SECRET_ACCESS_KEY": "x"])
        let c = try await vault.credential(type: "aws", scope: [:], ttlSeconds: 60, notAfter: 1_000, now: 0)
        #expect(c.secret == ["access_key_id": "scoped", "secret_access_key": "x"] && c.expiresAt == 60)
        await #expect(throws: CredentialError.self) {
            _ = try await EnvironmentVault(environment: ["KUBECONFIG": "/x"]).credential(type: "kubernetes", scope: [:], ttlSeconds: 1, notAfter: 1, now: 0)
        }
    }
}

@Suite("Runner: rollback plans from the audit log")
struct RollbackTests {
    @Test func anExecutedScaleIsUndoneFromItsCapturedBeforeState() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rollback-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var action = RunnerTests.scale
        action.reversible = true
        action.rollbackAction = "scale-deployment"
        action.rollbackParams = ["namespace": .init(origin: .params, field: "namespace"),
                                 "deployment": .init(origin: .params, field: "deployment"),
                                 "replicas": .init(origin: .beforeState, field: "replicas")]
        let (_, key) = KeyFile.generate(.hs256)
        let ring = try KeyRing([key])
        let log = try AuditLog(AuditLogOptions(path: dir + "/audit.jsonl", durability: .none))
        let runner = Runner(actions: [action], verifier: TicketVerifier(ring: ring, replayGuard: InMemoryReplayGuard()),
                            executors: [RecordingExecutor()], vault: RevokingVault(), audit: log)
        let ticket = try TicketIssuer(ring: ring).issue(TicketRequest(
            action: "scale-deployment", target: "dev/web", caller: "bot", params: RunnerTests.params, auditID: "evt-decision"),
            now: Int64(Date().timeIntervalSince1970))
        let result = await runner.run(RunRequest(token: ticket.token, params: RunnerTests.params))
        #expect(result.status == .success)
        log.close()
        let events = AuditReader(files: [dir + "/audit.jsonl"]).map(\.value)
        let actions = ["scale-deployment": action]
        // By the execution's id, or by the decision's.
        for id in [result.auditID, "evt-decision"] {
            let plan = try RollbackPlanner.plan(id: id, events: events, actions: actions)
            #expect(plan.action == "scale-deployment" && plan.target == "dev/web" && plan.caller == "bot")
            #expect(plan.params == ["namespace": "web", "deployment": "web", "replicas": 2])
            #expect(plan.request["correlation_id"]?.stringValue == result.auditID)
        }
        // Nothing executed under another id; an irreversible action; a missing before-state.
        #expect(throws: RollbackPlanner.Failure.self) { try RollbackPlanner.plan(id: "evt-other", events: events, actions: actions) }
        var irreversible = action
        irreversible.reversible = false
        #expect(throws: RollbackPlanner.Failure.self) {
            try RollbackPlanner.plan(id: result.auditID, events: events, actions: ["scale-deployment": irreversible])
        }
        let withoutState = events.filter { $0["event_type"] != "state_capture" }
        #expect(throws: RollbackPlanner.Failure.self) { try RollbackPlanner.plan(id: result.auditID, events: withoutState, actions: actions) }
        // A redacted source must be given explicitly.
        let redacted = events.map { e -> JSONValue in
            guard e["event_type"] == "execution", case .object(var o) = e else { return e }
            o["params"] = ["namespace": "hmac-sha256:00", "deployment": "web", "replicas": 5]
            return .object(o)
        }
        #expect(throws: RollbackPlanner.Failure.self) { try RollbackPlanner.plan(id: result.auditID, events: redacted, actions: actions) }
        let given = try RollbackPlanner.plan(id: result.auditID, events: redacted, actions: actions, overrides: ["namespace": "web"])
        #expect(given.params["namespace"] == "web")
    }
}
