import AgentSafeAudit
import AgentSafeConfig
import AgentSafeControl
import AgentSafeShipping
import AgentSafeCore
import AgentSafeStore
import AgentSafeTickets
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Prometheus

/// The HTTP API (docs/api.md, docs/openapi.yaml).
struct Routes: Sendable {
    let sidecar: Sidecar

    static let paths: [String: [HTTPRequest.Method]] = [
        "/v1/check": [.post], "/v1/check-plan": [.post], "/v1/tickets/verify": [.post], "/v1/tickets/introspect": [.post],
        "/.well-known/jwks.json": [.get], "/v1/delegations": [.post], "/v1/actions": [.get], "/v1/actions/:name": [.get],
        "/v1/policies": [.get], "/v1/admin/reload": [.post], "/healthz": [.get, .head], "/readyz": [.get, .head], "/metrics": [.get],
        "/openapi.yaml": [.get],
    ].merging(approvalPaths) { a, _ in a }.merging(executePaths) { a, _ in a }

    func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/check") { request, context in try await self.check(request, context) }
        router.post("/v1/check-plan") { request, context in try await self.checkPlan(request, context) }
        router.post("/v1/tickets/verify") { request, context in try await self.verifyTicket(request, context, consume: true) }
        router.post("/v1/tickets/introspect") { request, context in try await self.verifyTicket(request, context, consume: false) }
        router.get("/.well-known/jwks.json") { _, _ in json(JWK.set(self.sidecar.runtime.tokens.ticketRing)) }
        router.post("/v1/delegations") { request, _ in try await self.delegate(request) }
        router.get("/v1/actions") { _, _ in
            json(.object(["actions": .array(self.sidecar.runtime.snapshot.actions.map { Self.summary($0) })]))
        }
        router.get("/v1/actions/:name") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard let action = self.sidecar.runtime.actions[name] else {
                let hint = Suggest.closest(to: name, in: self.sidecar.runtime.actions.keys).map { " (did you mean '\($0)'?)" } ?? ""
                throw Problem(.notFound, "unknown_action", "Unknown action", "no action named '\(name)'\(hint)")
            }
            return json(Self.detail(action))
        }
        router.get("/v1/policies") { _, _ in json(self.policies()) }
        router.post("/v1/admin/reload") { request, _ in try await self.reload(request) }
        router.get("/healthz") { _, _ in json(["status": "ok"]) }
        router.head("/healthz") { _, _ in Response(status: .ok) }
        router.get("/readyz") { _, _ in self.ready() }
        router.head("/readyz") { _, _ in Response(status: self.ready().status) }
        router.get("/metrics") { _, _ in
            let limiter = self.sidecar.controls.limiter?.stats(now: Self.monotonicSeconds())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: self.sidecar.metrics.render(
                                audit: self.sidecar.audit.currentStats, shippers: self.sidecar.shippers?.snapshots() ?? [],
                                callers: limiter?.tracked ?? 0, breakers: limiter?.breakersOpen ?? 0,
                                principals: self.sidecar.runtime.ledger?.trackedPrincipals ?? 0))))
        }
        registerApprovals(on: router)
        registerExecute(on: router)
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.text)))
        }
    }

    // MARK: - Callers

    /// The caller of a request per identity mode. A Bearer identity token is always verified when present;
    /// a refused one is a 401, never a silent fallback to a bare id.
    func caller(_ request: Request, body: BodyFields, runtime: Runtime) throws -> Caller? {
        var fromToken: Caller?
        if let header = request.headers[.authorization] {
            guard header.lowercased().hasPrefix("bearer ") else {
                throw Problem.unauthorized("invalid_authorization", "Authorization must be 'Bearer <identity token>'")
            }
            let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            do {
                fromToken = try runtime.tokens.identity.verify(token, now: Int64(Date().timeIntervalSince1970)).caller
            } catch {
                throw Problem.unauthorized("identity_\(error.code.rawValue)", "identity token refused: \(error.message)")
            }
        }
        let claimed = try bodyCaller(body)
        switch sidecar.mode {
        case .token:
            guard let fromToken else {
                throw Problem.unauthorized("identity_required", "this sidecar requires 'Authorization: Bearer <identity token>'")
            }
            if let claimed, claimed.agentID != fromToken.agentID {
                throw Problem.forbidden("caller_mismatch", "the body names caller '\(claimed.agentID)' but the token is for '\(fromToken.agentID)'")
            }
            return fromToken
        case .bound:
            let bound = sidecar.boundCaller!
            if let who = fromToken ?? claimed, who.agentID != bound.agentID {
                throw Problem.forbidden("caller_mismatch", "this sidecar serves '\(bound.agentID)' only")
            }
            return bound
        case .open:
            if let fromToken {
                if let claimed, claimed.agentID != fromToken.agentID {
                    throw Problem.forbidden("caller_mismatch", "the body names caller '\(claimed.agentID)' but the token is for '\(fromToken.agentID)'")
                }
                return fromToken
            }
            return claimed
        }
    }

    /// `caller` in a body: a string id or `{agent_id, agent_name?, roles?, groups?, delegation_chain?}`. A chain
    /// given this way is unverified: it can only restrict (docs/api.md).
    func bodyCaller(_ body: BodyFields) throws -> Caller? {
        switch body.values["caller"] {
        case nil, .null?: return nil
        case .string(let id)?:
            guard !id.isEmpty, id.utf8.count <= 256 else { throw Problem.invalid("invalid_value", "'caller' must be 1 … 256 bytes") }
            return Caller(agentID: id)
        case .object(let o)?:
            let f = try BodyFields(o, allowed: ["agent_id", "agent_name", "roles", "groups", "delegation_chain"],
                                   strict: sidecar.strictFields, prefix: "caller.")
            let id = try f.string("agent_id")
            guard !id.isEmpty, id.utf8.count <= 256 else {
                throw Problem.invalid("invalid_value", "'caller.agent_id' must be 1 … 256 bytes")
            }
            return Caller(agentID: id, agentName: try f.optionalString("agent_name") ?? "", roles: try f.strings("roles") ?? [],
                          groups: try f.strings("groups") ?? [],
                          delegationChain: (try f.strings("delegation_chain") ?? []).map { DelegationLink(agentID: $0) },
                          delegationVerified: false)
        case let other?:
            throw Problem.wrongType("'caller' must be a string or an object, got \(other.kindName)")
        }
    }

    // MARK: - Decisions

    static let checkFields: Set<String> = ["action", "target", "params", "caller", "ticket_id", "correlation_id", "timestamp"]

    struct Decided {
        var decision: Decision
        var request: DecisionRequest
        var ticket: ExecutionTicket?
        /// Params as the audit log and the approval store keep them (DLP findings replaced).
        var storedParams: [String: JSONValue]
        var assessment: RiskAssessment?
        var dlpFindings: [DLPFinding] = []
        var approval: ApprovalRequest?
        /// Whether `approval` was created for this decision (not a pending one reused).
        var approvalIsNew = false
    }

    /// Seconds on a monotonic clock, for the rate limiter (immune to wall-clock steps).
    static let clockStart = ContinuousClock.now
    static func monotonicSeconds() -> Double {
        let d = ContinuousClock.now - clockStart
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// Raises a decision to `result` when that is stricter (controls never loosen one).
    static func raise(_ d: inout Decision, to result: DecisionResult, code: DecisionCode, reason: String) {
        guard result.strictness > d.result.strictness else { return }
        d.result = result
        d.code = code
        d.reason = reason
    }

    func decide(_ o: [String: JSONValue], request: Request, runtime: Runtime, prefix: String = "", issueTicket: Bool = true)
        throws -> Decided
    {
        let f = try BodyFields(o, allowed: Self.checkFields, strict: sidecar.strictFields, prefix: prefix)
        let action = try f.string("action")
        guard !action.isEmpty else { throw Problem.invalid("invalid_value", "'\(prefix)action' must not be empty") }
        let wall = Date().timeIntervalSince1970
        let now = Int64(wall)
        // The server's clock decides time windows: a timestamp in the body is ignored (docs/api.md).
        let req = DecisionRequest(action: action, target: try f.optionalString("target"), caller: try caller(request, body: f, runtime: runtime),
                                  params: try f.object("params") ?? [:], ticketID: try f.optionalString("ticket_id"),
                                  correlationID: try f.optionalString("correlation_id"),
                                  instant: Instant(secondsSinceEpoch: now), auditID: EventID.random())
        var decision = runtime.snapshot.engine.evaluate(req)
        let controls = sidecar.controls
        // The rate limiter's key: the delegation root or the caller itself (`rate_limit.aggregate`).
        let limitKey = Controls.principal(req.caller, aggregate: controls.limiterAggregate)
        var d = Decided(decision: decision, request: req, storedParams: req.params)

        // Change-ticket shape.
        if let pattern = runtime.snapshot.config.changeTickets.pattern, let id = req.ticketID, !id.isEmpty, !pattern.wholeMatch(id) {
            Self.raise(&decision, to: .deny, code: .invalidChangeTicket,
                       reason: "Change ticket \(ParameterValidator.display(id)) does not match the required pattern \(pattern.pattern)")
        }
        // Rate limit and circuit breaker (every request counts towards the window, as upstream).
        var limited = false
        if let limiter = controls.limiter {
            switch limiter.check(limitKey, now: Self.monotonicSeconds()) {
            case .allowed: break
            case .rateLimited(let reason, _):
                Self.raise(&decision, to: .deny, code: .rateLimited, reason: reason)
                limited = true
            case .breakerOpen(let reason, _):
                Self.raise(&decision, to: .deny, code: .circuitOpen, reason: reason)
                limited = true
            case .atCapacity(let reason):
                Self.raise(&decision, to: .deny, code: .rateLimiterAtCapacity, reason: reason)
                limited = true
            }
        }
        // DLP: the secret never reaches the audit log or the state store, whatever the result.
        if let dlp = runtime.dlp {
            let outcome = dlp.apply(req.params)
            d.dlpFindings = outcome.findings
            d.storedParams = outcome.redacted
            if !outcome.findings.isEmpty, decision.code == .invalidParams {
                // Validation messages may quote the value: never echo a secret-looking one.
                let detectors = Set(outcome.findings.map(\.detector.rawValue)).sorted().joined(separator: ", ")
                decision.reason = "Invalid parameters (details withheld: a parameter value looks like a secret: \(detectors))"
                decision.paramErrors = []
            }
            if let result = outcome.result, let reason = outcome.reason {
                Self.raise(&decision, to: result, code: .dlp, reason: reason)
            }
        }
        // Cumulative risk and chain rules: recorded atomically when the request is allowed.
        if let ledger = runtime.ledger {
            let aggregate = runtime.snapshot.config.cumulativeRisk?.aggregate ?? .root
            let target = req.target.flatMap { runtime.snapshot.inventory[$0] }
            let namespace = target?.labels["namespace"] ?? req.params["namespace"]?.stringValue
            let a = ledger.assess(
                RiskCandidate(id: req.auditID, principal: Controls.principal(req.caller, aggregate: aggregate), action: action,
                              target: req.target, namespace: namespace, params: req.params, risk: decision.effectiveRisk),
                policyResult: decision.result, now: wall, record: true)
            if a.result != decision.result, let reason = a.reason {
                let code: DecisionCode = switch a.code {
                case .chainRule?: .chainRule
                case .ledgerAtCapacity?: .riskLedgerAtCapacity
                default: .cumulativeRisk
                }
                Self.raise(&decision, to: a.result, code: code, reason: reason)
            }
            d.assessment = a
        }
        // Denials feed the circuit breaker (its own refusals don't).
        if decision.result == .deny, !limited, let limiter = controls.limiter {
            limiter.recordDeny(limitKey, now: Self.monotonicSeconds())
        }
        d.decision = decision
        if issueTicket, decision.result == .allow {
            do {
                d.ticket = try issue(decision, req, runtime: runtime, now: now, cumulative: d.assessment?.total)
            } catch {
                // No decision is given: take the ledger entry back.
                Self.takeBack([d], runtime: runtime)
                throw error
            }
        }
        return d
    }

    func issue(_ decision: Decision, _ req: DecisionRequest, runtime: Runtime, now: Int64, cumulative: Double? = nil) throws -> ExecutionTicket {
        let chain = (req.caller?.verifiedChain ?? []).map { ChainLink(agentID: $0.agentID, agentName: $0.agentName) }
        do {
            return try runtime.issuer.issue(TicketRequest(
                action: decision.action, target: decision.target ?? "unknown", caller: decision.caller, params: req.params,
                auditID: decision.auditID, delegationChain: chain, risk: decision.effectiveRisk.rawValue,
                cumulativeRisk: cumulative, changeTicket: req.ticketID), now: now)
        } catch {
            throw Problem(.internalServerError, "signing_failed", "Signing failed", "the ticket could not be signed")
        }
    }

    /// The audit context of the controls' part in a decision.
    static func controlContext(_ d: Decided) -> [String: JSONValue] {
        var extra: [String: JSONValue] = [:]
        if let a = d.assessment { extra["cumulative"] = Self.assessmentJSON(a, brief: true) }
        if !d.dlpFindings.isEmpty {
            extra["dlp"] = .array(d.dlpFindings.map { .object(["detector": .string($0.detector.rawValue), "path": .string($0.path)]) })
        }
        if let approval = d.approval {
            extra["approval_id"] = .string(approval.id)
            if !d.approvalIsNew { extra["approval_reused"] = true }
        }
        return extra
    }

    /// Audits a decision and waits until it is durable: nothing is answered before its record exists.
    /// A `require_approval` becomes a durable approval request first (its id is in the audit line).
    /// `requestApproval: false` (a refused all-or-nothing plan) records a `require_approval` step without creating
    /// an approval request: the plan as a whole was refused, so none of its steps may later run on its own.
    func record(_ d: inout Decided, runtime: Runtime, requestApproval: Bool = true) async throws {
        let params = sidecar.redactor.redact(d.storedParams, action: runtime.actions[d.request.action])
        let controls = sidecar.controls
        let now = Int64(Date().timeIntervalSince1970)
        if d.decision.result == .requireApproval, requestApproval {
            let caller = d.request.caller
            let aggregate = runtime.snapshot.config.cumulativeRisk?.aggregate ?? .root
            var approval = ApprovalRequest(
                id: ApprovalRequest.newID(), auditID: d.decision.auditID, action: d.decision.action, target: d.decision.target,
                caller: d.decision.caller, principal: Controls.principal(caller, aggregate: aggregate),
                callerRoles: caller?.roles ?? [], delegationChain: caller?.verifiedChain.map(\.agentID) ?? [], params: params,
                riskClass: d.decision.riskClass, effectiveRisk: d.decision.effectiveRisk, policyMatched: d.decision.policyMatched,
                reason: d.decision.reason, code: d.decision.code.rawValue, changeTicket: d.request.ticketID,
                correlationID: d.request.correlationID, cumulativeRisk: d.assessment?.total, createdAt: now,
                expiresAt: now + Int64(runtime.snapshot.config.approvals.ttlSeconds))
            // The same request asked again (a retrying agent) waits on the pending one.
            approval.fingerprint = sidecar.redactor.digest(.object([
                "caller": .string(approval.caller), "action": .string(approval.action),
                "target": approval.target.map(JSONValue.string) ?? .null, "params": .object(params),
                "ticket_id": approval.changeTicket.map(JSONValue.string) ?? .null,
            ]))
            let limit = runtime.snapshot.config.approvals.maxPendingPerCaller
            let outcome: ApprovalCreation
            let store = controls.approvals, candidate = approval
            do {
                // A retried request finds its pending approval with one indexed read on a WAL reader, which never
                // waits for the writer, so it is done here; anything else takes the write path off this thread.
                if let fingerprint = candidate.fingerprint, let existing = store.pendingRequest(fingerprint: fingerprint, now: now) {
                    outcome = .existing(existing)
                } else {
                    outcome = try await Blocking.run { try store.createOrReuse(candidate, maxPendingPerCaller: limit, now: now) }
                }
            } catch {
                sidecar.logger.error("approval store write failed; decision withheld", metadata: ["error": "\(error)"])
                throw Problem(.serviceUnavailable, "approvals_unavailable", "Approvals unavailable",
                              "the approval request could not be stored, so the decision is not given")
            }
            switch outcome {
            case .created(let created):
                d.approval = created
                d.approvalIsNew = true
            case .existing(let existing):
                d.approval = existing
            case .limitReached(let pending):
                Self.raise(&d.decision, to: .deny, code: .approvalsPendingLimit,
                           reason: "Caller '\(d.decision.caller)' already has \(pending) pending approval requests (the limit is \(limit)); wait for them to be resolved")
            }
        }
        var events = [AuditEvent.decision(d.decision, request: d.request, params: params, jti: d.ticket?.jti,
                                          cumulativeRisk: d.assessment.map { Int64($0.total.rounded()) },
                                          extra: Self.controlContext(d))]
        if let approval = d.approval, d.approvalIsNew {
            events.append(Self.approvalEvent(approval, type: .approvalRequested, decision: .requireApproval,
                                             reason: "approval requested: \(approval.reason)", now: now))
        }
        do {
            _ = try await sidecar.audit.append(events)
            sidecar.shippers?.notifyAppended()
        } catch {
            sidecar.logger.error("audit append failed; decision withheld", metadata: ["error": "\(error)"])
            if let entry = d.assessment?.entry { runtime.ledger?.remove(principal: entry.principal, id: entry.id) }
            if let approval = d.approval, d.approvalIsNew {
                _ = try? controls.approvals.resolve(approval.id, approve: false, by: "system",
                                                    reason: "the decision could not be audited", now: now)
            }
            throw Problem(.serviceUnavailable, "audit_unavailable", "Audit unavailable",
                          "the decision could not be recorded, so it is not given")
        }
        if let entry = d.assessment?.entry { controls.persist(entry) }
        if let approval = d.approval, d.approvalIsNew {
            controls.notifier.enqueue(approval, notifiers: runtime.snapshot.config.approvals.notifiers)
        }
        sidecar.metrics.decision(d.decision.result.rawValue)
        if ![.policy, .unknownAction, .invalidParams, .targetTypeMismatch, .noMatchingPolicy].contains(d.decision.code) {
            sidecar.metrics.controlDecision(d.decision.code.rawValue)
        }
    }

    static func approvalEvent(_ r: ApprovalRequest, type: AuditEventType, decision: DecisionResult?, reason: String,
                              now: Int64, extra: [String: JSONValue] = [:]) -> AuditEvent {
        var context: [String: JSONValue] = ["approval_id": .string(r.id), "status": .string(r.status.rawValue),
                                            "expires_at": .string(Instant(secondsSinceEpoch: r.expiresAt).iso8601)]
        if let by = r.resolvedBy { context["resolved_by"] = .string(by) }
        context.merge(extra) { _, new in new }
        return AuditEvent(
            timestamp: Instant(secondsSinceEpoch: now).iso8601, eventType: type, action: r.action, target: r.target,
            caller: r.caller, callerRoles: r.callerRoles, delegationChain: r.delegationChain, params: r.params,
            decision: decision, reason: reason, policyMatched: r.policyMatched, riskClass: r.riskClass,
            effectiveRisk: r.effectiveRisk, cumulativeRisk: r.cumulativeRisk.map { Int64($0.rounded()) },
            correlationID: r.auditID, ticketID: r.changeTicket, context: .object(context))
    }

    /// `contributions`: how many of the most recent contributing actions to list (`brief` lists none).
    static func assessmentJSON(_ a: RiskAssessment, brief: Bool = false, contributions limit: Int = 20) -> JSONValue {
        var o: [String: JSONValue] = [
            "principal": .string(a.principal), "score": .number(a.total), "before": .number(a.before),
            "added": .number(a.added), "escalation_threshold": .number(a.escalationThreshold),
            "deny_threshold": .number(a.denyThreshold), "window_seconds": .number(a.windowSeconds),
            "contributing_actions": .integer(Int64(a.contributionCount)),
        ]
        if !a.chains.isEmpty {
            o["chains"] = .array(a.chains.map { c in
                .object(["rule": .string(c.rule), "reason": .string(c.reason), "bonus": .number(c.bonus),
                         "decision": c.decision.map { .string($0.rawValue) } ?? .null,
                         "steps": .array(c.steps.map(JSONValue.string))])
            })
        }
        if !brief {
            o["contributions"] = .array(a.contributions.prefix(limit).map { c in
                .object(["audit_id": .string(c.id), "action": .string(c.action), "target": c.target.map(JSONValue.string) ?? .null,
                         "at": .string(Instant(secondsSinceEpoch: Int64(c.at)).iso8601), "score": .number(c.score)])
            })
        }
        return .object(o)
    }

    /// A decision's answer: the decision's members, then what the sidecar added to it.
    func writeAnswer(_ d: Decided, to w: inout JSONObjectWriter) {
        d.decision.writeMembers(to: &w)
        if let ticket = d.ticket {
            w.object("ticket") { ticket.writeSummary(to: &$0) }
        }
        // A decision lists the 5 most recent contributions (all counted in contributing_actions; GET /v1/callers/{id}
        // lists 20).
        if let a = d.assessment { w.value("cumulative_risk", Self.assessmentJSON(a, contributions: 5)) }
        if let approval = d.approval {
            w.object("approval") { o in
                o.string("id", approval.id)
                o.string("expires_at", Instant(secondsSinceEpoch: approval.expiresAt).iso8601)
                o.bool("reused", !d.approvalIsNew)
            }
        }
        if !d.dlpFindings.isEmpty {
            w.objects("dlp", d.dlpFindings) { f, o in
                o.string("detector", f.detector.rawValue)
                o.string("path", f.path)
            }
        }
    }

    func check(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let o = try await readObject(request, limit: sidecar.maxBodyBytes)
        let runtime = sidecar.runtime
        var d = try decide(o, request: request, runtime: runtime)
        try await record(&d, runtime: runtime)
        var w = JSONObjectWriter(capacity: 2048)
        writeAnswer(d, to: &w)
        return json(bytes: w.finish())
    }

    func checkPlan(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let o = try await readObject(request, limit: sidecar.maxBodyBytes)
        let f = try BodyFields(o, allowed: ["steps", "all_or_nothing", "correlation_id"], strict: sidecar.strictFields)
        let steps: [JSONValue]
        switch o["steps"] {
        case nil, .null?: throw Problem.missingField("'steps' (a list of check requests) is required")
        case .array(let items)?: steps = items
        case let other?: throw Problem.wrongType("'steps' must be a list of check requests, got \(other.kindName)")
        }
        guard !steps.isEmpty, steps.count <= 100 else { throw Problem.invalid("invalid_value", "'steps' must hold 1 to 100 requests") }
        let allOrNothing = try f.bool("all_or_nothing") ?? false
        let planCorrelation = try f.optionalString("correlation_id")
        let runtime = sidecar.runtime
        var decided: [Decided] = []
        for (i, step) in steps.enumerated() {
            guard case .object(var so) = step else { throw Problem.wrongType("steps[\(i)] must be an object") }
            // A step without its own correlation_id carries the plan's.
            if let planCorrelation, so["correlation_id"] == nil || so["correlation_id"] == .null {
                so["correlation_id"] = .string(planCorrelation)
            }
            // Each allowed step is recorded in the ledger as it is decided, so risk accumulates across the plan.
            do {
                decided.append(try decide(so, request: request, runtime: runtime, prefix: "steps[\(i)].", issueTicket: !allOrNothing))
            } catch {
                Self.takeBack(decided, runtime: runtime)
                throw error
            }
        }
        let worst: DecisionResult = decided.contains { $0.decision.result == .deny } ? .deny
            : decided.contains { $0.decision.result == .requireApproval } ? .requireApproval : .allow
        if allOrNothing {
            if worst == .allow {
                let now = Int64(Date().timeIntervalSince1970)
                for i in decided.indices {
                    decided[i].ticket = try issue(decided[i].decision, decided[i].request, runtime: runtime, now: now,
                                                  cumulative: decided[i].assessment?.total)
                }
            } else {
                // Nothing of the plan runs: none of its steps counts.
                Self.takeBack(decided, runtime: runtime)
                for i in decided.indices { decided[i].assessment?.entry = nil }
            }
        }
        for i in decided.indices {
            do {
                try await record(&decided[i], runtime: runtime, requestApproval: !allOrNothing)
            } catch {
                // The steps not recorded were never given: their ledger entries go too.
                Self.takeBack(Array(decided[(i + 1)...]), runtime: runtime)
                throw error
            }
        }
        var w = JSONObjectWriter(capacity: 2048 * decided.count)
        w.string("result", worst.rawValue)
        w.bool("all_or_nothing", allOrNothing)
        w.objects("steps", decided) { d, o in writeAnswer(d, to: &o) }
        return json(bytes: w.finish())
    }

    static func takeBack(_ decided: [Decided], runtime: Runtime) {
        for d in decided {
            if let entry = d.assessment?.entry { runtime.ledger?.remove(principal: entry.principal, id: entry.id) }
        }
    }

    // MARK: - Tickets and delegation

    func verifyTicket(_ request: Request, _ context: BasicRequestContext, consume: Bool) async throws -> Response {
        let o = try await readObject(request, limit: sidecar.maxBodyBytes)
        let f = try BodyFields(o, allowed: ["token", "expect"], strict: sidecar.strictFields)
        let token = try f.string("token")
        var expect = TicketExpectation()
        if let e = try f.object("expect") {
            let ef = try BodyFields(e, allowed: ["action", "target", "params"], strict: sidecar.strictFields, prefix: "expect.")
            expect = TicketExpectation(action: try ef.optionalString("action"), target: try ef.optionalString("target"),
                                       params: try ef.object("params"))
        }
        let runtime = sidecar.runtime
        let verifier = TicketVerifier(ring: runtime.tokens.ticketRing, settings: runtime.ticketVerifierSettings,
                                      replayGuard: sidecar.replay)
        let now = Int64(Date().timeIntervalSince1970)
        let expectation = expect
        let check = { @Sendable () -> Result<TicketClaims, TokenError> in
            Result { () throws(TokenError) in
                consume ? try verifier.verifyAndConsume(token, expect: expectation, now: now)
                    : try verifier.inspect(token, expect: expectation, now: now)
            }
        }
        // Consuming writes to SQLite: off the cooperative threads.
        let result = consume ? try await Blocking.run(check) : check()
        switch result {
        case .success(let claims):
            sidecar.metrics.verification(consume ? "consumed" : "valid")
            if consume {
                let event = AuditEvent(
                    timestamp: Instant(secondsSinceEpoch: now).iso8601, eventType: .ticketConsumed, action: claims.action,
                    target: claims.target, caller: claims.caller, params: sidecar.redactor.redact(claims.params, action: runtime.actions[claims.action]),
                    reason: "ticket consumed", correlationID: claims.auditID, ticketID: claims.changeTicket, jti: claims.jti)
                do { _ = try await sidecar.audit.append(event) } catch {
                    throw Problem(.serviceUnavailable, "audit_unavailable", "Audit unavailable", "the consumption could not be recorded")
                }
            }
            return json(.object(["valid": true, "code": "valid", "consumed": .bool(consume),
                                 "claims": JWS.unverifiedPayload(token) ?? .null]))
        case .failure(let error):
            sidecar.metrics.verification(error.code.rawValue)
            return json(.object(["valid": false, "code": .string(error.code.rawValue), "message": .string(error.message)]))
        }
    }

    func delegate(_ request: Request) async throws -> Response {
        let o = try await readObject(request, limit: sidecar.maxBodyBytes)
        let f = try BodyFields(o, allowed: ["parent_token", "child_id", "child_name", "roles", "groups", "ttl"],
                               strict: sidecar.strictFields)
        let parent = try f.string("parent_token"), child = try f.string("child_id")
        let ttl = try f.integer("ttl")
        let childName = try f.optionalString("child_name") ?? ""
        let roles = try f.strings("roles") ?? [], groups = try f.strings("groups") ?? []
        let identity = sidecar.runtime.tokens.identity
        let result = Result { () throws(TokenError) in
            try identity.delegate(parentToken: parent, childID: child, childName: childName, roles: roles, groups: groups,
                                  ttlSeconds: ttl, now: Int64(Date().timeIntervalSince1970))
        }
        switch result {
        case .success(let (token, claims)):
            return json(.object(["token": .string(token), "agent_id": .string(claims.agentID),
                                 "delegation_depth": .integer(Int64(claims.delegationDepth)),
                                 "expires_at": .string(Instant(secondsSinceEpoch: claims.expires).iso8601)]), status: .created)
        case .failure(let error):
            let status: HTTPResponse.Status = [.badSignature, .malformed, .unknownKey, .expired, .unsupportedAlgorithm,
                                               .wrongIssuer, .wrongAudience, .wrongType, .notYetValid].contains(error.code)
                ? .unauthorized : .unprocessableContent
            throw Problem(status, "delegation_\(error.code.rawValue)", "Delegation refused", error.message)
        }
    }

    // MARK: - Catalogue, admin, health

    static func summary(_ a: ActionDefinition) -> JSONValue {
        .object(["name": .string(a.name), "description": .string(a.description), "risk_class": .string(a.riskClass.rawValue),
                 "target_types": .array(a.targetTypes.map(JSONValue.string)), "reversible": .bool(a.reversible),
                 "tags": .array(a.tags.map(JSONValue.string))])
    }

    static func detail(_ a: ActionDefinition) -> JSONValue {
        guard case .object(var o) = summary(a) else { return summary(a) }
        o["parameters"] = .array(a.parameters.map { p in
            .object(["name": .string(p.name), "type": .string(p.type.rawValue), "required": .bool(p.required),
                     "description": .string(p.description), "sensitive": .bool(p.sensitive)])
        })
        o["rollback_action"] = a.rollbackAction.map(JSONValue.string) ?? .null
        o["required_privileges"] = .array(a.requiredPrivileges.map(JSONValue.string))
        return .object(o)
    }

    func policies() -> JSONValue {
        let runtime = sidecar.runtime
        let rules = runtime.snapshot.engine.policy.rules.map { r -> JSONValue in
            .object(["name": .string(r.name), "priority": .integer(Int64(r.priority)), "decision": .string(r.decision.rawValue),
                     "actions": .array(r.match.actions.map { .string($0.pattern) }), "reason": .string(r.reason)])
        }
        let lint = runtime.lint.map { l -> JSONValue in
            .object(["kind": .string(l.kind.rawValue), "rule": .string(l.rule), "message": .string(l.message)])
        }
        return .object(["digest": .string(runtime.snapshot.digest), "rules": .array(rules), "lint": .array(lint)])
    }

    func reload(_ request: Request) async throws -> Response {
        guard let admin = sidecar.adminToken else {
            throw Problem.forbidden("admin_disabled", "no admin token is configured (server.admin_token_file); send SIGHUP to reload")
        }
        guard let given = bearer(request) else {
            throw Problem.unauthorized("admin_token_required", "this endpoint needs the admin bearer token")
        }
        // Constant-time comparison; an agent identity token is never an admin token.
        guard ConstantTime.equal(given, Array(admin.utf8)) else {
            throw Problem.forbidden("admin_token_invalid", "the admin token is not valid")
        }
        do {
            let fresh = try await sidecar.reload(trigger: "POST /v1/admin/reload")
            return json(.object(["reloaded": true, "digest": .string(fresh.snapshot.digest),
                                 "actions": .integer(Int64(fresh.snapshot.actions.count)),
                                 "rules": .integer(Int64(fresh.snapshot.engine.policy.rules.count))]))
        } catch let error as SidecarStartError {
            throw Problem(.unprocessableContent, "invalid_configuration", "Invalid configuration",
                          "the new configuration was rejected; the previous one keeps serving",
                          extra: ["errors": .array(error.messages.prefix(100).map(JSONValue.string))])
        }
    }

    func ready() -> Response {
        let stats = sidecar.audit.currentStats
        var problems: [JSONValue] = []
        if !sidecar.audit.isWritable { problems.append("audit log not writable") }
        if (try? sidecar.replay.count()) == nil { problems.append("state store not open") }
        let ok = problems.isEmpty
        return json(.object(["ready": .bool(ok), "problems": .array(problems), "audit_last_seq": .integer(stats.lastSeq),
                             "config_digest": .string(sidecar.runtime.snapshot.digest)]),
                    status: ok ? .ok : .serviceUnavailable)
    }
}
