import AgentSafeAudit
import AgentSafeCore
import AgentSafeTickets
import Foundation

/// Where the runner's events go (the audit log; a test sink in tests).
public protocol AuditSink: Sendable {
    func record(_ event: AuditEvent) async throws
}

extension AuditLog: AuditSink {
    public func record(_ event: AuditEvent) async throws { _ = try await append(event) }
}

/// What one run asks for: a ticket and the request it is presented with.
public struct RunRequest: Sendable {
    public var token: String
    /// The params of the request; they must be the ticket's.
    public var params: [String: JSONValue]
    /// When given, the ticket must be for this action / target.
    public var action: String?
    public var target: String?
    public var dryRun: Bool
    public var timeout: Duration?

    public init(token: String, params: [String: JSONValue], action: String? = nil, target: String? = nil, dryRun: Bool = false,
                timeout: Duration? = nil) {
        self.token = token
        self.params = params
        self.action = action
        self.target = target
        self.dryRun = dryRun
        self.timeout = timeout
    }
}

/// The outcome of a run, as the CLI prints it and `POST /v1/execute` answers it.
public struct RunResult: Sendable {
    public var status: ExecutionStatus
    /// A stable code for refusals (`ticket_<code>`, `unknown_action`, `unsupported_action`, `credential_<code>`,
    /// `precheck_failed`) and failures (`executor_failed`, `timeout`); `ok` on success.
    public var code: String
    public var message: String
    /// The `execution` audit event's id.
    public var auditID: String
    /// The allowing decision's audit id (from the ticket).
    public var decisionAuditID: String?
    public var action: String?
    public var target: String?
    public var caller: String?
    public var jti: String?
    public var executor: String?
    public var prechecks: [PrecheckOutcome] = []
    public var beforeState: [String: JSONValue] = [:]
    public var afterState: [String: JSONValue] = [:]
    public var output: ExecutionOutput?
    public var durationMs: Double = 0
    /// The part of the run the runner itself spent (ticket, credential, bookkeeping), excluding the executor.
    public var overheadMs: Double = 0
    /// Whether the audit log recorded the run (a run whose record failed is reported, never hidden).
    public var auditRecorded = false

    /// `{field: {before, after}}` for every state field that changed.
    public var diff: [String: JSONValue] { Runner.diff(beforeState, afterState) }

    public var jsonValue: JSONValue {
        var o: [String: JSONValue] = [
            "status": .string(status.rawValue), "code": .string(code), "message": .string(message), "audit_id": .string(auditID),
            "decision_audit_id": decisionAuditID.map(JSONValue.string) ?? .null, "action": action.map(JSONValue.string) ?? .null,
            "target": target.map(JSONValue.string) ?? .null, "caller": caller.map(JSONValue.string) ?? .null,
            "jti": jti.map(JSONValue.string) ?? .null, "executor": executor.map(JSONValue.string) ?? .null,
            "prechecks": .array(prechecks.map(Runner.json)), "before_state": .object(beforeState),
            "after_state": .object(afterState), "diff": .object(diff), "duration_ms": .number((durationMs * 1000).rounded() / 1000),
            "audit_recorded": .bool(auditRecorded),
        ]
        if let output {
            o["output"] = .string(output.output)
            o["error"] = output.error.map(JSONValue.string) ?? .null
            o["exit_code"] = output.exitCode.map { .integer(Int64($0)) } ?? .null
            o["http_status"] = output.httpStatus.map { .integer(Int64($0)) } ?? .null
            o["calls"] = .array(output.calls.map(\.jsonValue))
        }
        return .object(o)
    }
}

/// The execution pipeline (docs/executors.md):
///
/// 1. verify **and consume** the ticket; the request's action, target and params must be the ticket's;
/// 2. pick the executor that maps the action (a dry run asks it for its plan only);
/// 3. resolve a credential scoped by the action's `credentials` block (templates rendered and checked), expiring
///    no later than the ticket;
/// 4. prechecks (a failed blocking one stops here); 5. before-state; 6. execute with a timeout;
/// 7. after-state and diff; 8. audit `execution` and `state_capture`; 9. revoke the credential.
///
/// Every outcome — success, failure, timeout, failed precheck, refused ticket — is audited.
public final class Runner: Sendable {
    public let actions: [String: ActionDefinition]
    public let inventory: Inventory
    public let verifier: TicketVerifier
    public let executors: [any Executor]
    public let dryRunExecutor: DryRunExecutor
    public let vault: (any CredentialVault)?
    public let audit: any AuditSink
    public let redactor: AuditRedactor?
    public let defaultTimeout: Duration
    public let maxTimeout: Duration

    /// `planners`: the executors a dry run asks for their plan (default: `executors`); they need not be enabled,
    /// since a plan sends nothing.
    public init(actions: [ActionDefinition], inventory: Inventory = .empty, verifier: TicketVerifier, executors: [any Executor],
                planners: [any Executor]? = nil, vault: (any CredentialVault)?, audit: any AuditSink, redactor: AuditRedactor? = nil,
                defaultTimeout: Duration = .seconds(300), maxTimeout: Duration = .seconds(3600)) {
        self.actions = Dictionary(actions.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.inventory = inventory
        self.verifier = verifier
        self.executors = executors
        self.dryRunExecutor = DryRunExecutor(planners: planners ?? executors)
        self.vault = vault
        self.audit = audit
        self.redactor = redactor
        self.defaultTimeout = defaultTimeout
        self.maxTimeout = maxTimeout
    }

    public func run(_ request: RunRequest, now: Int64 = Int64(Date().timeIntervalSince1970)) async -> RunResult {
        let started = ContinuousClock.now
        var executorTime: Duration = .zero
        var result = RunResult(status: .refused, code: "", message: "", auditID: EventID.random())
        var claims: TicketClaims?
        var credential: Credential?
        var before: [String: JSONValue] = [:]

        func finish() async -> RunResult {
            if let credential, let vault { await vault.revoke(credential) }
            let total = ContinuousClock.now - started
            result.durationMs = Self.milliseconds(total)
            result.overheadMs = Self.milliseconds(total - executorTime)
            result.auditRecorded = await write(result, claims: claims, params: request.params)
            return result
        }

        // 1. The ticket: verified and consumed, bound to this request.
        let expect = TicketExpectation(action: request.action, target: request.target, params: request.params)
        do {
            let verified = try verifier.verifyAndConsume(request.token, expect: expect, now: now)
            claims = verified
            result.decisionAuditID = verified.auditID
            result.action = verified.action
            result.target = verified.target
            result.caller = verified.caller
            result.jti = verified.jti
        } catch {
            result.code = "ticket_\(error.code.rawValue)"
            result.message = "ticket refused: \(error.message)"
            return await finish()
        }
        guard let claims, let action = actions[claims.action] else {
            result.code = "unknown_action"
            result.message = "the ticket's action '\(claims?.action ?? "")' is not in this runner's catalogue"
            return await finish()
        }
        // 2. The executor.
        let executor: any Executor
        if request.dryRun {
            executor = dryRunExecutor
        } else if let found = executors.first(where: { $0.supports(action) }) {
            executor = found
        } else {
            result.code = "unsupported_action"
            result.message = "no configured executor maps '\(action.name)' (executors: \(executors.map(\.name).joined(separator: ", ")))"
            return await finish()
        }
        result.executor = executor.name
        let timeout = min(request.timeout ?? defaultTimeout, maxTimeout)
        var execution = ExecutionRequest(action: action, target: claims.target, targetInfo: inventory[claims.target],
                                         params: claims.params, auditID: claims.auditID, jti: claims.jti, timeout: timeout)
        // 3. The credential (not for a dry run: nothing is sent).
        if let scope = action.credentials, !request.dryRun {
            guard let vault else {
                result.code = "credential_unavailable"
                result.message = "'\(action.name)' needs a '\(scope.type)' credential and no vault is configured"
                return await finish()
            }
            do {
                let rendered = try ScopeTemplate.render(scope.fields, params: claims.params)
                credential = try await vault.credential(type: scope.type, scope: rendered, ttlSeconds: scope.ttl,
                                                        notAfter: claims.expires, now: now)
                execution.credential = credential
            } catch let error as CredentialError {
                result.code = "credential_\(error.code)"
                result.message = "credential refused: \(error.message)"
                return await finish()
            } catch {
                result.code = "credential_unavailable"
                result.message = "credential refused: \(error)"
                return await finish()
            }
        }
        // 4. Prechecks: a failed blocking one stops the run.
        var clock = ContinuousClock.now
        result.prechecks = await executor.prechecks(execution)
        executorTime += ContinuousClock.now - clock
        if let failed = result.prechecks.first(where: { !$0.passed && !$0.advisory }) {
            result.code = "precheck_failed"
            result.message = "precheck '\(failed.name)' failed: \(failed.message)"
            return await finish()
        }
        // 5–7. State, execution, state.
        clock = ContinuousClock.now
        before = (try? await executor.state(execution)) ?? [:]
        result.beforeState = before
        let output = await executor.execute(execution)
        result.output = output
        if output.status == .success { result.afterState = (try? await executor.state(execution)) ?? [:] }
        executorTime += ContinuousClock.now - clock
        result.status = output.status
        switch output.status {
        case .success: (result.code, result.message) = ("ok", "executed \(action.name) on \(claims.target)")
        case .dryRun: (result.code, result.message) = ("ok", "dry run: nothing was sent")
        case .timeout: (result.code, result.message) = ("timeout", output.error ?? "the executor timed out after \(timeout)")
        case .failure: (result.code, result.message) = ("executor_failed", output.error ?? "the executor reported a failure")
        case .refused: (result.code, result.message) = ("executor_refused", output.error ?? "the executor refused the request")
        }
        return await finish()
    }

    // MARK: - Audit

    func write(_ r: RunResult, claims: TicketClaims?, params: [String: JSONValue]) async -> Bool {
        let now = Instant(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)).iso8601
        let action = r.action.flatMap { actions[$0] }
        let shownParams = redactor?.redact(claims?.params ?? [:], action: action) ?? (claims?.params ?? [:])
        var context: [String: JSONValue] = [
            "status": .string(r.status.rawValue), "code": .string(r.code), "executor": r.executor.map(JSONValue.string) ?? .null,
            "duration_ms": .number((r.durationMs * 1000).rounded() / 1000),
            "prechecks": .array(r.prechecks.map(Self.json)),
        ]
        if let output = r.output {
            context["calls"] = .array(output.calls.map(\.jsonValue))
            if let code = output.exitCode { context["exit_code"] = .integer(Int64(code)) }
            if let status = output.httpStatus { context["http_status"] = .integer(Int64(status)) }
            if let error = output.error { context["error"] = .string(ParameterValidator.display(error)) }
        }
        let decision: DecisionResult? = r.status == .success || r.status == .dryRun ? .allow : .deny
        let execution = AuditEvent(
            eventID: r.auditID, timestamp: now, eventType: .execution, action: r.action ?? "", target: r.target,
            caller: r.caller ?? "", delegationChain: claims?.delegationChain.map(\.agentID) ?? [], params: shownParams,
            decision: decision, reason: r.message, correlationID: r.decisionAuditID, ticketID: claims?.changeTicket, jti: r.jti,
            context: .object(context))
        var events = [execution]
        if !r.beforeState.isEmpty || !r.afterState.isEmpty {
            events.append(AuditEvent(
                timestamp: now, eventType: .stateCapture, action: r.action ?? "", target: r.target, caller: r.caller ?? "",
                params: shownParams, reason: "state before and after \(r.action ?? "")", correlationID: r.auditID,
                jti: r.jti, context: .object(["before": .object(r.beforeState), "after": .object(r.afterState),
                                              "diff": .object(r.diff), "execution_id": .string(r.auditID),
                                              "decision_audit_id": r.decisionAuditID.map(JSONValue.string) ?? .null])))
        }
        do {
            for event in events { try await audit.record(event) }
            return true
        } catch {
            return false
        }
    }

    // MARK: - Helpers

    static func diff(_ before: [String: JSONValue], _ after: [String: JSONValue]) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for key in Set(before.keys).union(after.keys) where before[key] != after[key] {
            out[key] = .object(["before": before[key] ?? .null, "after": after[key] ?? .null])
        }
        return out
    }

    static func json(_ p: PrecheckOutcome) -> JSONValue {
        .object(["name": .string(p.name), "passed": .bool(p.passed), "message": .string(p.message), "advisory": .bool(p.advisory)])
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }
}
