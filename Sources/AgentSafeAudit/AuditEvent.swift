import AgentSafeCore

/// Event types of the audit log (docs/audit-format.md).
public enum AuditEventType: String, Sendable, Hashable, CaseIterable {
    case decision
    case approvalRequested = "approval_requested"
    case approvalResolved = "approval_resolved"
    /// The execution ticket of an approved request was handed to the requester (once).
    case approvalTicketIssued = "approval_ticket_issued"
    case ticketConsumed = "ticket_consumed"
    case execution
    case stateCapture = "state_capture"
    case rollback
    case configLoaded = "config_loaded"
    case recovery
    case checkpoint
}

/// One audit event before the writer gives it its place in the chain (`seq`, `prev_hash`, `entry_hash`).
/// Every field is written on every line (null when absent), as upstream does.
public struct AuditEvent: Sendable, Hashable {
    public var eventID: String
    public var timestamp: String
    public var eventType: AuditEventType
    public var action: String
    public var target: String?
    public var caller: String
    public var callerRoles: [String]
    public var callerGroups: [String]
    public var delegationChain: [String]
    public var params: [String: JSONValue]
    public var decision: DecisionResult?
    public var reason: String
    public var policyMatched: String?
    public var riskClass: RiskClass?
    public var effectiveRisk: RiskClass?
    public var cumulativeRisk: Int64?
    public var correlationID: String?
    public var ticketID: String?
    /// The execution ticket's id (never the token).
    public var jti: String?
    public var context: JSONValue?

    public init(eventID: String = EventID.random(), timestamp: String, eventType: AuditEventType, action: String = "",
                target: String? = nil, caller: String = "", callerRoles: [String] = [], callerGroups: [String] = [],
                delegationChain: [String] = [], params: [String: JSONValue] = [:], decision: DecisionResult? = nil,
                reason: String = "", policyMatched: String? = nil, riskClass: RiskClass? = nil,
                effectiveRisk: RiskClass? = nil, cumulativeRisk: Int64? = nil, correlationID: String? = nil,
                ticketID: String? = nil, jti: String? = nil, context: JSONValue? = nil) {
        self.eventID = eventID
        self.timestamp = timestamp
        self.eventType = eventType
        self.action = action
        self.target = target
        self.caller = caller
        self.callerRoles = callerRoles
        self.callerGroups = callerGroups
        self.delegationChain = delegationChain
        self.params = params
        self.decision = decision
        self.reason = reason
        self.policyMatched = policyMatched
        self.riskClass = riskClass
        self.effectiveRisk = effectiveRisk
        self.cumulativeRisk = cumulativeRisk
        self.correlationID = correlationID
        self.ticketID = ticketID
        self.jti = jti
        self.context = context
    }

    /// A decision event: the request as asked (params already redacted by the caller of this), the answer and why.
    public static func decision(_ d: Decision, request: DecisionRequest, params: [String: JSONValue], jti: String?,
                                cumulativeRisk: Int64? = nil, extra: [String: JSONValue] = [:]) -> AuditEvent {
        var context: [String: JSONValue] = ["code": .string(d.code.rawValue), "matrix_risk": .string(d.matrixRisk.rawValue)]
        context.merge(extra) { _, new in new }
        if !d.modifiers.isEmpty {
            context["risk_modifiers"] = .array(d.modifiers.map {
                .object(["source": .string($0.source.rawValue), "reason": .string($0.reason), "raise": .integer(Int64($0.raise))])
            })
        }
        if !d.targetKnown, d.target != nil { context["target_known"] = false }
        if let caller = request.caller, !caller.delegationChain.isEmpty {
            context["delegation_verified"] = .bool(caller.delegationVerified)
        }
        return AuditEvent(
            eventID: d.auditID, timestamp: request.instant.iso8601, eventType: .decision, action: d.action,
            target: d.target, caller: d.caller, callerRoles: request.caller?.roles ?? [],
            callerGroups: request.caller?.groups ?? [],
            delegationChain: request.caller?.delegationChain.map(\.agentID) ?? [], params: params, decision: d.result,
            reason: d.reason, policyMatched: d.policyMatched, riskClass: d.riskClass, effectiveRisk: d.effectiveRisk,
            cumulativeRisk: cumulativeRisk, correlationID: request.correlationID, ticketID: request.ticketID, jti: jti,
            context: .object(context))
    }

    /// The keys of ``bodyFields`` in serialisation order (sorted by UTF-16 code units), computed once.
    static let bodyKeys: [String] = AuditEvent(timestamp: "", eventType: .decision).bodyFields.keys
        .sorted(by: JSONValue.keyPrecedes)

    /// The body fields, for ``appendBody(to:)``'s switch (an integer switch, not one string comparison per key).
    enum BodyField: String, CaseIterable {
        case action, caller, callerGroups = "caller_groups", callerRoles = "caller_roles", context
        case correlationID = "correlation_id", cumulativeRisk = "cumulative_risk", decision
        case delegationChain = "delegation_chain", effectiveRisk = "effective_risk", jti, params
        case policyMatched = "policy_matched", reason, riskClass = "risk_class", target, ticketID = "ticket_id"
    }

    /// ``bodyKeys`` with each key's `,"key":` bytes, computed once.
    static let bodyPlan: [(prefix: [UInt8], field: BodyField?)] = bodyKeys.map { key in
        (Array(#",""#.utf8) + Array(key.utf8) + Array(#"":"#.utf8), BodyField(rawValue: key))
    }

    /// Appends `,"key":value` for every body field, in ``bodyKeys`` order, as UTF-8 bytes and without building a
    /// dictionary (byte for byte what serialising ``bodyFields`` canonically gives).
    func appendBody(to out: inout [UInt8]) {
        func str(_ s: String?) {
            if let s { JSONValue.appendString(s, to: &out) } else { out.append(contentsOf: "null".utf8) }
        }
        func list(_ items: [String]) {
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.appendString(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        for (prefix, field) in Self.bodyPlan {
            out.append(contentsOf: prefix)
            switch field {
            case .action?: str(action)
            case .caller?: str(caller)
            case .callerGroups?: list(callerGroups)
            case .callerRoles?: list(callerRoles)
            case .context?: if let context { context.appendCanonical(to: &out) } else { out.append(contentsOf: "null".utf8) }
            case .correlationID?: str(correlationID)
            case .cumulativeRisk?:
                if let cumulativeRisk { JSONValue.appendInteger(cumulativeRisk, to: &out) } else { out.append(contentsOf: "null".utf8) }
            case .decision?: str(decision?.rawValue)
            case .delegationChain?: list(delegationChain)
            case .effectiveRisk?: str(effectiveRisk?.rawValue)
            case .jti?: str(jti)
            case .params?: JSONValue.object(params).appendCanonical(to: &out)
            case .policyMatched?: str(policyMatched)
            case .reason?: str(reason)
            case .riskClass?: str(riskClass?.rawValue)
            case .target?: str(target)
            case .ticketID?: str(ticketID)
            case nil: out.append(contentsOf: "null".utf8)
            }
        }
    }

    /// The fields after the chain header, as a JSON object (keys serialised sorted).
    var bodyFields: [String: JSONValue] {
        func opt(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        return [
            "action": .string(action), "target": opt(target), "caller": .string(caller),
            "caller_roles": .array(callerRoles.map(JSONValue.string)), "caller_groups": .array(callerGroups.map(JSONValue.string)),
            "delegation_chain": .array(delegationChain.map(JSONValue.string)), "params": .object(params),
            "decision": opt(decision?.rawValue), "reason": .string(reason), "policy_matched": opt(policyMatched),
            "risk_class": opt(riskClass?.rawValue), "effective_risk": opt(effectiveRisk?.rawValue),
            "cumulative_risk": cumulativeRisk.map(JSONValue.integer) ?? .null, "correlation_id": opt(correlationID),
            "ticket_id": opt(ticketID), "jti": opt(jti), "context": context ?? .null,
        ]
    }
}

/// Where an appended event landed.
public struct AuditReceipt: Sendable, Hashable {
    public var seq: Int64
    public var eventID: String
    public var entryHash: String
}
