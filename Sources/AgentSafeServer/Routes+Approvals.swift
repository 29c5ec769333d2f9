import AgentSafeAudit
import AgentSafeConfig
import AgentSafeControl
import AgentSafeCore
import AgentSafeStore
import AgentSafeTickets
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import AgentSafeShipping

/// Approvals (docs/approvals.md) and caller state.
///
/// Who may do what: the requester (its identity per `identity.mode`) fetches its own request and, once, the
/// ticket of an approved one; named approvers (`approvals.approvers`, a bearer token each) and the admin token
/// list, show and resolve requests. An agent identity token is never an approver, and an approver can't resolve
/// a request whose requester or delegation chain bears the approver's name.
extension Routes {
    static let approvalPaths: [String: [HTTPRequest.Method]] = [
        "/v1/approvals": [.get], "/v1/approvals/:id": [.get], "/v1/approvals/:id/approve": [.post],
        "/v1/approvals/:id/deny": [.post], "/v1/callers/:id": [.get],
    ]

    func registerApprovals(on router: Router<BasicRequestContext>) {
        router.get("/v1/approvals") { request, _ in try await self.listApprovals(request) }
        router.get("/v1/approvals/:id") { request, context in
            try await self.getApproval(request, id: context.parameters.get("id") ?? "")
        }
        router.post("/v1/approvals/:id/approve") { request, context in
            try await self.resolveApproval(request, id: context.parameters.get("id") ?? "", approve: true)
        }
        router.post("/v1/approvals/:id/deny") { request, context in
            try await self.resolveApproval(request, id: context.parameters.get("id") ?? "", approve: false)
        }
        router.get("/v1/callers/:id") { request, context in
            try await self.callerState(request, id: context.parameters.get("id") ?? "")
        }
    }

    // MARK: - Who is asking

    /// The bearer token of a request, if any.
    func bearer(_ request: Request) -> [UInt8]? {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        return Array(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8)
    }

    /// The approver a request authenticates as (a configured approver's token, or the admin token as `admin`).
    func approver(_ request: Request, runtime: Runtime) -> String? {
        guard let token = bearer(request), !token.isEmpty else { return nil }
        if let name = runtime.approver(forToken: token) { return name }
        if let admin = sidecar.adminToken, ConstantTime.equal(token, Array(admin.utf8)) { return "admin" }
        return nil
    }

    func requireApprover(_ request: Request, runtime: Runtime) throws -> String {
        guard bearer(request) != nil else {
            throw Problem.unauthorized("approver_token_required", "this endpoint needs an approver's bearer token (approvals.approvers)")
        }
        guard let name = approver(request, runtime: runtime) else {
            // An identity token (an agent) lands here too: agents never approve.
            throw Problem.forbidden("not_an_approver", "the bearer token is not an approver's; agent identities can't resolve approvals")
        }
        return name
    }

    func approvalID(_ id: String) throws -> String {
        guard ApprovalRequest.isValidID(id) else {
            throw Problem(.notFound, "unknown_approval", "Unknown approval", "no approval request '\(ParameterValidator.display(id))'")
        }
        return id
    }

    // MARK: - Handlers

    func listApprovals(_ request: Request) async throws -> Response {
        let runtime = sidecar.runtime
        _ = try requireApprover(request, runtime: runtime)
        await expireDue()
        var status: ApprovalStatus?
        if let s = request.uri.queryParameters["status"] {
            guard let parsed = ApprovalStatus(rawValue: String(s)) else {
                throw Problem.invalid("invalid_value", "status must be one of pending, approved, denied, expired")
            }
            status = parsed
        }
        let limit = request.uri.queryParameters["limit"].flatMap { Int(String($0)) } ?? 100
        let items = try store { try $0.list(status: status, limit: max(1, min(limit, 1000))) }
        return json(.object(["approvals": .array(items.map(ApprovalJSON.summary))]))
    }

    func getApproval(_ request: Request, id raw: String) async throws -> Response {
        let id = try approvalID(raw)
        let runtime = sidecar.runtime
        await expireDue()
        // An approver (or admin) sees the request; it never receives the ticket.
        if approver(request, runtime: runtime) != nil {
            guard let r = try store({ try $0.get(id) }) else { throw notFound(id) }
            let window = Int64(runtime.snapshot.config.approvals.fetchWindowSeconds)
            let passed = r.status == .approved && r.ticketIssuedAt == nil && (r.resolvedAt ?? 0) + window < Int64(Date().timeIntervalSince1970)
            return json(.object(["approval": ApprovalJSON.summary(r),
                                 "ticket_status": .string(passed ? "fetch_window_passed" : Self.ticketStatus(r))]))
        }
        // The requester: its identity must be the one that asked (in open mode the 128-bit id is the capability).
        let caller = try self.caller(request, body: try BodyFields([:], allowed: [], strict: false), runtime: runtime)
        guard let existing = try store({ try $0.get(id) }) else { throw notFound(id) }
        if sidecar.mode != .open || caller != nil, caller?.agentID != existing.caller {
            throw Problem.forbidden("not_the_requester", "only the requester '\(existing.caller)' can fetch this request's ticket")
        }
        let now = Int64(Date().timeIntervalSince1970)
        let claim = try store {
            try $0.claimTicket(id, now: now, fetchWindowSeconds: Int64(runtime.snapshot.config.approvals.fetchWindowSeconds))
        }
        switch claim {
        case .notFound:
            throw notFound(id)
        case .claimed(let r):
            let ticket: ExecutionTicket
            do {
                ticket = try runtime.issuer.issue(TicketRequest(
                    action: r.action, target: r.target ?? "unknown", caller: r.caller, params: r.params, auditID: r.auditID,
                    delegationChain: r.delegationChain.map { ChainLink(agentID: $0) }, risk: r.effectiveRisk.rawValue,
                    cumulativeRisk: r.cumulativeRisk, changeTicket: r.changeTicket), now: now)
            } catch {
                try? sidecar.controls.approvals.releaseClaim(id: id)
                throw Problem(.internalServerError, "signing_failed", "Signing failed", "the ticket could not be signed")
            }
            do {
                _ = try await sidecar.audit.append(Self.approvalEvent(
                    r, type: .approvalTicketIssued, decision: .allow, reason: "ticket issued for approved request", now: now,
                    extra: ["jti": .string(ticket.jti)]))
                sidecar.shippers?.notifyAppended()
            } catch {
                try? sidecar.controls.approvals.releaseClaim(id: id)
                throw Problem(.serviceUnavailable, "audit_unavailable", "Audit unavailable", "the ticket could not be recorded, so it is not given")
            }
            try? sidecar.controls.approvals.attachTicket(id: id, jti: ticket.jti)
            var summary = r
            summary.ticketJTI = ticket.jti
            return json(.object(["approval": ApprovalJSON.summary(summary), "ticket_status": "issued",
                                 "ticket": ticket.summaryJSON]))
        case .alreadyIssued(let r), .notApproved(let r), .fetchWindowPassed(let r):
            return json(.object(["approval": ApprovalJSON.summary(r), "ticket_status": .string(Self.ticketStatus(r, claim: claim))]))
        }
    }

    static func ticketStatus(_ r: ApprovalRequest, claim: TicketClaim? = nil) -> String {
        if case .fetchWindowPassed? = claim { return "fetch_window_passed" }
        switch r.status {
        case .approved: return r.ticketIssuedAt != nil ? "already_issued" : "available"
        case .pending: return "pending"
        case .denied: return "denied"
        case .expired: return "expired"
        }
    }

    func resolveApproval(_ request: Request, id raw: String, approve: Bool) async throws -> Response {
        let id = try approvalID(raw)
        let runtime = sidecar.runtime
        let approver = try requireApprover(request, runtime: runtime)
        var reason: String?
        if let length = request.headers[.contentLength], length != "0" {
            let o = try await readObject(request, limit: sidecar.maxBodyBytes)
            let f = try BodyFields(o, allowed: ["reason"], strict: sidecar.strictFields)
            reason = try f.optionalString("reason")
        }
        await expireDue()
        guard let existing = try store({ try $0.get(id) }) else { throw notFound(id) }
        // Separation of duties: nobody resolves a request they made or sit in the delegation chain of.
        if approver == existing.caller || approver == existing.principal || existing.delegationChain.contains(approver) {
            throw Problem.forbidden("self_approval", "'\(approver)' requested this action (or delegated it) and can't resolve it")
        }
        let now = Int64(Date().timeIntervalSince1970)
        let outcome = try store { try $0.resolve(id, approve: approve, by: approver, reason: reason, now: now) }
        switch outcome {
        case .notFound:
            throw notFound(id)
        case .notPending(let status):
            throw Problem(.conflict, "approval_not_pending", "Not pending", "approval request \(id) is already \(status.rawValue)")
        case .resolved(let r):
            do {
                _ = try await sidecar.audit.append(Self.approvalEvent(
                    r, type: .approvalResolved, decision: approve ? .allow : .deny,
                    reason: (approve ? "approved by \(approver)" : "denied by \(approver)") + (reason.map { ": \($0)" } ?? ""), now: now))
                sidecar.shippers?.notifyAppended()
            } catch {
                sidecar.logger.error("approval resolution not audited", metadata: ["approval": "\(id)", "error": "\(error)"])
                throw Problem(.serviceUnavailable, "audit_unavailable", "Audit unavailable",
                              "the resolution is stored but could not be audited; check the audit log")
            }
            if approve, let ledger = runtime.ledger {
                // Only what was allowed counts: an approved request joins its principal's ledger now.
                let entry = LedgerEntry(id: r.id, principal: r.principal, at: Double(now), action: r.action, target: r.target,
                                        namespace: r.target.flatMap { runtime.snapshot.inventory[$0]?.labels["namespace"] }
                                            ?? r.params["namespace"]?.stringValue,
                                        keys: ledger.keys(of: r.params), risk: r.effectiveRisk,
                                        score: ledger.policy.score(r.effectiveRisk))
                if ledger.record(entry, now: Double(now)) {
                    sidecar.controls.persist(entry)
                } else {
                    sidecar.logger.warning("risk ledger at capacity: an approved request of a new principal is not counted",
                                           metadata: ["approval": "\(id)", "principal": "\(r.principal)"])
                }
            }
            sidecar.metrics.approval(approve ? "approved" : "denied")
            return json(.object(["approval": ApprovalJSON.summary(r)]))
        }
    }

    func callerState(_ request: Request, id: String) async throws -> Response {
        let runtime = sidecar.runtime
        guard !id.isEmpty, id.utf8.count <= 256 else { throw Problem.invalid("invalid_value", "caller id must be 1 … 256 bytes") }
        if approver(request, runtime: runtime) == nil {
            let caller = try self.caller(request, body: try BodyFields([:], allowed: [], strict: false), runtime: runtime)
            if sidecar.mode != .open, caller?.agentID != id {
                throw Problem.forbidden("not_this_caller", "a caller can only read its own state (approvers read any)")
            }
        }
        var o: [String: JSONValue] = ["caller": .string(id)]
        if let limiter = sidecar.controls.limiter {
            let s = limiter.state(of: id, now: Self.monotonicSeconds())
            o["rate_limit"] = .object([
                "requests_in_window": .integer(Int64(s.requestsInWindow)), "remaining": .integer(Int64(s.remaining)),
                "window_seconds": .number(s.windowSeconds), "resets_in_seconds": s.resetsInSeconds.map(JSONValue.number) ?? .null,
                "denies_in_window": .integer(Int64(s.deniesInWindow)), "breaker_open": .bool(s.breakerOpen),
                "breaker_resumes_in_seconds": s.breakerResumesInSeconds.map(JSONValue.number) ?? .null,
            ])
        } else {
            o["rate_limit"] = .null
        }
        if let ledger = runtime.ledger {
            o["cumulative_risk"] = Self.assessmentJSON(ledger.state(of: id, now: Date().timeIntervalSince1970))
        } else {
            o["cumulative_risk"] = .null
        }
        return json(.object(o))
    }

    // MARK: - Helpers

    func notFound(_ id: String) -> Problem {
        Problem(.notFound, "unknown_approval", "Unknown approval", "no approval request '\(id)'")
    }

    func store<T>(_ body: (SQLiteApprovalStore) throws -> T) throws -> T {
        do { return try body(sidecar.controls.approvals) } catch let problem as Problem { throw problem } catch {
            sidecar.logger.error("approval store error", metadata: ["error": "\(error)"])
            throw Problem(.serviceUnavailable, "approvals_unavailable", "Approvals unavailable", "the approval store could not be read or written")
        }
    }

    /// Expires due requests and audits each transition (also run by the sweeper every few seconds).
    func expireDue() async {
        await sidecar.expireApprovals()
    }
}

extension Sidecar {
    /// Marks due approval requests `expired` and audits each.
    func expireApprovals() async {
        let now = Int64(Date().timeIntervalSince1970)
        guard let expired = try? controls.approvals.expireDue(now: now), !expired.isEmpty else { return }
        for r in expired {
            _ = try? await audit.append(Routes.approvalEvent(r, type: .approvalResolved, decision: .deny,
                                                             reason: "approval request expired unresolved", now: now))
            metrics.approval("expired")
        }
        shippers?.notifyAppended()
    }
}
