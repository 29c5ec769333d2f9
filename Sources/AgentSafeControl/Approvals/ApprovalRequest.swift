import AgentSafeCore

/// Where an approval request is in its life (docs/approvals.md):
///
///     pending ──approve──▶ approved ──first fetch──▶ (ticket issued; later fetches: already_issued)
///        │ ╰──deny─────▶ denied
///        ╰──ttl passes──▶ expired
public enum ApprovalStatus: String, Sendable, Hashable, CaseIterable {
    case pending, approved, denied, expired
}

/// A `require_approval` decision waiting for a human. Params are stored as the audit log stores them
/// (sensitive values and DLP findings redacted), so the approved ticket binds exactly what was shown to the approver.
public struct ApprovalRequest: Sendable, Hashable {
    /// `apr-` and 32 hex digits.
    public var id: String
    /// The audit id of the `require_approval` decision.
    public var auditID: String
    public var action: String
    public var target: String?
    /// The requesting agent id.
    public var caller: String
    /// The root principal of the requester's delegation chain (the requester when direct).
    public var principal: String
    public var callerRoles: [String]
    public var delegationChain: [String]
    public var params: [String: JSONValue]
    public var riskClass: RiskClass
    public var effectiveRisk: RiskClass
    public var policyMatched: String?
    public var reason: String
    public var code: String
    /// The change ticket (`ticket_id`) of the request.
    public var changeTicket: String?
    public var correlationID: String?
    public var cumulativeRisk: Double?
    public var status: ApprovalStatus
    /// Seconds since the Unix epoch.
    public var createdAt: Int64
    public var expiresAt: Int64
    public var resolvedAt: Int64?
    public var resolvedBy: String?
    public var resolutionReason: String?
    /// Identifies the same request asked again (caller, action, target, params, change ticket), so a retrying
    /// agent waits on one request instead of flooding the approvers.
    public var fingerprint: String?
    /// When the execution ticket was handed out (once).
    public var ticketIssuedAt: Int64?
    public var ticketJTI: String?

    public init(id: String, auditID: String, action: String, target: String?, caller: String, principal: String,
                callerRoles: [String] = [], delegationChain: [String] = [], params: [String: JSONValue],
                riskClass: RiskClass, effectiveRisk: RiskClass, policyMatched: String?, reason: String, code: String,
                changeTicket: String? = nil, correlationID: String? = nil, cumulativeRisk: Double? = nil,
                status: ApprovalStatus = .pending, createdAt: Int64, expiresAt: Int64) {
        self.id = id
        self.auditID = auditID
        self.action = action
        self.target = target
        self.caller = caller
        self.principal = principal
        self.callerRoles = callerRoles
        self.delegationChain = delegationChain
        self.params = params
        self.riskClass = riskClass
        self.effectiveRisk = effectiveRisk
        self.policyMatched = policyMatched
        self.reason = reason
        self.code = code
        self.changeTicket = changeTicket
        self.correlationID = correlationID
        self.cumulativeRisk = cumulativeRisk
        self.status = status
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    /// A fresh request id: `apr-` and 128 random bits in hex.
    public static func newID() -> String { EventID.random(prefix: "apr-", hexDigits: 32) }

    /// `true` for a well-formed request id (checked before any lookup).
    public static func isValidID(_ id: String) -> Bool {
        let u = Array(id.utf8)
        guard u.count == 36, u.starts(with: Array("apr-".utf8)) else { return false }
        return u[4...].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }
}

/// The outcome of resolving a request.
public enum ApprovalResolution: Sendable, Hashable {
    case resolved(ApprovalRequest)
    case notFound
    /// Already approved, denied or expired (expiry is applied first).
    case notPending(ApprovalStatus)
}

/// The outcome of asking for an approval.
public enum ApprovalCreation: Sendable, Hashable {
    case created(ApprovalRequest)
    /// The same request (same fingerprint) is already pending: that one is the answer.
    case existing(ApprovalRequest)
    /// The caller already has this many pending requests (the configured limit).
    case limitReached(pending: Int)
}

/// The outcome of fetching an approved request's ticket.
public enum TicketClaim: Sendable, Hashable {
    /// This caller is the one that gets the ticket; record its jti with ``ApprovalStore/attachTicket(id:jti:)``.
    case claimed(ApprovalRequest)
    /// The ticket was handed out before.
    case alreadyIssued(ApprovalRequest)
    /// Not approved (pending, denied, expired) — the request as it stands.
    case notApproved(ApprovalRequest)
    /// Approved, but the ticket wasn't fetched within the fetch window.
    case fetchWindowPassed(ApprovalRequest)
    case notFound
}

/// Durable approval requests. Every transition is a single conditional update, atomic between threads and
/// between processes sharing the store: two approvers can't both resolve a request, and two fetches can't both
/// claim its ticket.
public protocol ApprovalStore: Sendable {
    func create(_ request: ApprovalRequest) throws
    /// In one transaction: the pending request with the same fingerprint if there is one, else — unless the caller
    /// already has `maxPendingPerCaller` pending requests — the new request.
    func createOrReuse(_ request: ApprovalRequest, maxPendingPerCaller: Int, now: Int64) throws -> ApprovalCreation
    /// Deletes approved, denied and expired requests resolved before `before`; returns how many.
    @discardableResult
    func prune(resolvedBefore before: Int64) throws -> Int
    func get(_ id: String) throws -> ApprovalRequest?
    /// Newest first.
    func list(status: ApprovalStatus?, limit: Int) throws -> [ApprovalRequest]
    /// Approves (`approve: true`) or denies a pending, unexpired request.
    func resolve(_ id: String, approve: Bool, by approver: String, reason: String?, now: Int64) throws -> ApprovalResolution
    /// Claims the ticket of an approved request: succeeds once.
    func claimTicket(_ id: String, now: Int64, fetchWindowSeconds: Int64) throws -> TicketClaim
    /// Records the jti of the ticket handed out for a claimed request.
    func attachTicket(id: String, jti: String) throws
    /// Gives back a claim whose ticket could not be issued (signing or audit failed), so a later fetch can retry.
    func releaseClaim(id: String) throws
    /// Marks every pending request whose expiry has passed as `expired`; returns them (to be audited).
    func expireDue(now: Int64) throws -> [ApprovalRequest]
}
