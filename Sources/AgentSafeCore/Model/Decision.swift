/// A request for a decision: may `caller` run `action` on `target` with `params` at `instant`?
public struct DecisionRequest: Sendable, Hashable {
    public var action: String
    /// The requested target id; `nil` when none was given.
    public var target: String?
    /// `nil` = anonymous.
    public var caller: Caller?
    public var params: [String: JSONValue]
    /// A change or incident ticket (`CHG-1234`).
    public var ticketID: String?
    public var correlationID: String?
    /// When the decision is made. The server's clock decides; `--at` in the CLI is for what-if evaluation.
    public var instant: Instant
    /// The id the decision and its audit event share.
    public var auditID: String

    public init(
        action: String, target: String? = nil, caller: Caller? = nil, params: [String: JSONValue] = [:],
        ticketID: String? = nil, correlationID: String? = nil, instant: Instant, auditID: String
    ) {
        self.action = action
        self.target = target
        self.caller = caller
        self.params = params
        self.ticketID = ticketID
        self.correlationID = correlationID
        self.instant = instant
        self.auditID = auditID
    }
}

/// Why a decision came out as it did, as a stable code (the reason text is for people).
public enum DecisionCode: String, Sendable, Hashable, Codable {
    /// A policy rule matched and decided.
    case policy
    case unknownAction = "unknown_action"
    case invalidParams = "invalid_params"
    case targetTypeMismatch = "target_type_mismatch"
    case noMatchingPolicy = "no_matching_policy"
    /// The sidecar's controls (docs/risk.md, docs/rate-limits.md, docs/dlp.md): each only makes a decision stricter.
    case rateLimited = "rate_limited"
    case circuitOpen = "circuit_open"
    case rateLimiterAtCapacity = "rate_limiter_at_capacity"
    case cumulativeRisk = "cumulative_risk"
    case chainRule = "chain_rule"
    case riskLedgerAtCapacity = "risk_ledger_at_capacity"
    case dlp
    case invalidChangeTicket = "invalid_change_ticket"
    /// The caller has too many pending approval requests (`approvals.max_pending_per_caller`).
    case approvalsPendingLimit = "approvals_pending_limit"
}

/// A rise in risk that applied to one request.
public struct AppliedModifier: Sendable, Hashable {
    public enum Source: String, Sendable, Hashable, Codable {
        /// A `risk_modifiers` entry of the action.
        case action
        /// The configured off-hours modifier.
        case offHours = "off_hours"
        /// The configured delegation-depth modifier.
        case delegation
    }
    public var source: Source
    public var reason: String
    public var raise: Int
    public var from: RiskClass
    public var to: RiskClass

    public init(source: Source, reason: String, raise: Int, from: RiskClass, to: RiskClass) {
        self.source = source
        self.reason = reason
        self.raise = raise
        self.from = from
        self.to = to
    }
}

/// The answer. A denial is a value, not an error.
public struct Decision: Sendable, Hashable {
    public var result: DecisionResult
    public var reason: String
    public var code: DecisionCode
    public var action: String
    /// The requested target id, kept even when the inventory doesn't know it; `nil` when none was requested.
    public var target: String?
    /// Whether the target was found in the inventory.
    public var targetKnown: Bool
    /// The caller's agent id, or `anonymous`.
    public var caller: String
    /// The action's declared risk (critical for an unknown action).
    public var riskClass: RiskClass
    /// Risk from the matrix alone (action risk × target sensitivity).
    public var matrixRisk: RiskClass
    /// Risk after the modifiers: what `risk_classes` rules are matched against.
    public var effectiveRisk: RiskClass
    public var modifiers: [AppliedModifier]
    public var policyMatched: String?
    public var auditID: String
    public var ticketID: String?
    public var correlationID: String?
    /// Parameter problems, when `code` is `invalid_params`.
    public var paramErrors: [String]

    public init(
        result: DecisionResult, reason: String, code: DecisionCode, action: String, target: String?,
        targetKnown: Bool, caller: String, riskClass: RiskClass, matrixRisk: RiskClass, effectiveRisk: RiskClass,
        modifiers: [AppliedModifier] = [], policyMatched: String? = nil, auditID: String, ticketID: String? = nil,
        correlationID: String? = nil, paramErrors: [String] = []
    ) {
        self.result = result
        self.reason = reason
        self.code = code
        self.action = action
        self.target = target
        self.targetKnown = targetKnown
        self.caller = caller
        self.riskClass = riskClass
        self.matrixRisk = matrixRisk
        self.effectiveRisk = effectiveRisk
        self.modifiers = modifiers
        self.policyMatched = policyMatched
        self.auditID = auditID
        self.ticketID = ticketID
        self.correlationID = correlationID
        self.paramErrors = paramErrors
    }
}
