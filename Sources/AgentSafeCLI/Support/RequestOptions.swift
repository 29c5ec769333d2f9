import AgentSafeConfig
import AgentSafeCore
import AgentSafeTickets
import ArgumentParser

/// One decision request on the command line (shared by `check` and `explain`).
struct RequestOptions: ParsableArguments {
    @Option(name: [.customShort("t"), .long], help: "Target id from the inventory.")
    var target: String?

    @Option(name: [.customShort("c"), .long], help: "Caller agent id (omit for an anonymous caller).")
    var caller: String?

    @Option(name: .customLong("role"), help: "A role of the caller (repeatable).")
    var roles: [String] = []

    @Option(name: .customLong("group"), help: "A group of the caller (repeatable).")
    var groups: [String] = []

    @Option(name: .customLong("delegated-from"),
            help: "A link of the caller's delegation chain, root first (repeatable).")
    var delegatedFrom: [String] = []

    @Option(name: .customLong("identity-token"),
            help: "The caller as a signed identity token (- reads it from stdin); replaces --caller, --role, --group.")
    var identityToken: String?

    @Option(name: [.customShort("p"), .long], help: "Parameters as a JSON object.")
    var params: String?

    @Option(name: .customLong("ticket-id"), help: "Change or incident ticket (e.g. CHG-1234).")
    var ticketID: String?

    @Option(name: .long, help: "Evaluate at this time (ISO 8601, e.g. 2026-03-02T22:00:00Z): what-if for time windows.")
    var at: String?

    /// The flags given that only make sense for a single request (refused with `--batch`).
    var singleRequestFlags: [String] {
        var flags: [String] = []
        if target != nil { flags.append("--target") }
        if caller != nil { flags.append("--caller") }
        if !roles.isEmpty { flags.append("--role") }
        if !groups.isEmpty { flags.append("--group") }
        if !delegatedFrom.isEmpty { flags.append("--delegated-from") }
        if params != nil { flags.append("--params") }
        if ticketID != nil { flags.append("--ticket-id") }
        if identityToken != nil { flags.append("--identity-token") }
        if at != nil { flags.append("--at") }
        return flags
    }

    func request(action: String, tokens: TokenContext? = nil) throws -> DecisionRequest {
        var parsedParams: [String: JSONValue] = [:]
        if let params {
            let value: JSONValue
            do {
                value = try JSONValue.parse(params)
            } catch {
                throw Console.fail("invalid JSON in --params: \(error.description)")
            }
            guard case .object(let object) = value else {
                throw Console.fail("--params must be a JSON object like '{\"replicas\": 3}', got a JSON \(value.kindName)")
            }
            parsedParams = object
        }
        if caller == nil, !(roles.isEmpty && groups.isEmpty && delegatedFrom.isEmpty) {
            throw Console.fail("--role, --group and --delegated-from need --caller")
        }
        let instant: Instant
        if let at {
            guard let parsed = Timestamps.parse(at) else {
                throw Console.fail("--at '\(at)' is not an ISO 8601 date-time like 2026-03-02T22:00:00Z")
            }
            instant = parsed
        } else {
            instant = Timestamps.now()
        }
        var identity = caller.map {
            Caller(agentID: $0, roles: roles, groups: groups,
                   delegationChain: delegatedFrom.map { DelegationLink(agentID: $0) },
                   delegationVerified: true)  // an operator's what-if; the sidecar takes chains from tokens only
        }
        if let identityToken {
            guard caller == nil else { throw Console.fail("give either --identity-token or --caller, not both") }
            guard let tokens else { throw Console.fail("--identity-token needs keys in agent-safe.yaml") }
            identity = try tokens.caller(fromIdentityToken: try readToken(identityToken), now: Clock.now())
        }
        return DecisionRequest(action: action, target: target, caller: identity, params: parsedParams,
                               ticketID: ticketID, instant: instant, auditID: EventID.random())
    }
}

extension DecisionResult {
    /// Exit code of `agent-safe check` for this result (docs/cli.md).
    var exitCode: Int32 {
        switch self {
        case .allow: 0
        case .deny: 2
        case .requireApproval: 3
        }
    }

    var label: String {
        switch self {
        case .allow: Console.paint("ALLOW", "32;1")
        case .deny: Console.paint("DENY", "31;1")
        case .requireApproval: Console.paint("REQUIRE_APPROVAL", "33;1")
        }
    }
}

enum DecisionText {
    static func render(_ d: Decision, ticket: ExecutionTicket? = nil) -> String {
        var lines = ["\(d.result.label) — \(d.reason)"]
        lines.append("  action:  \(d.action)")
        lines.append("  target:  \(d.target ?? "(none)")\(d.targetKnown || d.target == nil ? "" : " (not in inventory: treated as critical)")")
        lines.append("  caller:  \(d.caller)")
        var risk = "  risk:    \(d.effectiveRisk.rawValue) (action \(d.riskClass.rawValue), matrix \(d.matrixRisk.rawValue)"
        for m in d.modifiers { risk += "; +\(m.raise) \(m.reason)" }
        lines.append(risk + ")")
        if let p = d.policyMatched { lines.append("  policy:  \(p)") }
        if let t = d.ticketID { lines.append("  ticket_id: \(t)") }
        lines.append("  audit:   \(d.auditID)")
        if let ticket {
            lines.append("  ticket:  jti \(ticket.jti), expires \(Instant(secondsSinceEpoch: ticket.expiresAt).iso8601)")
            lines.append(ticket.token)
        }
        return lines.joined(separator: "\n")
    }
}
