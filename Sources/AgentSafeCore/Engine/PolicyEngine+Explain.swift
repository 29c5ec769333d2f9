/// Every rule, in evaluation order, and what it made of one request.
public struct Explanation: Sendable {
    public var decision: Decision
    /// What happened before the rules (unknown action, invalid params, target type), if it decided.
    public var preRuleStep: String?
    public var rules: [RuleTrace]
}

public struct RuleTrace: Sendable {
    public enum Outcome: Sendable, Hashable {
        /// This rule decided.
        case decided
        /// The rule matches, but an earlier rule (or a pre-rule check) had already decided.
        case matchedButNotReached
        case notMatched(String)
    }
    public var rule: PolicyRule
    public var position: Int
    public var outcome: Outcome
}

extension PolicyEngine {
    /// Evaluates `request` and explains every rule: matched or not, and why.
    public func explain(_ request: DecisionRequest) -> Explanation {
        let decision = evaluate(request)
        let stage = prepare(request)
        let preRule: String? = stage.decision.code == .policy ? nil : stage.decision.reason
        var decided = decision.policyMatched != nil
        var traces: [RuleTrace] = []
        var found = false
        for (i, rule) in policy.rules.enumerated() {
            if let failure = mismatch(rule.match, request: request, target: stage.target,
                                      effectiveRisk: stage.decision.effectiveRisk)
            {
                traces.append(RuleTrace(rule: rule, position: i + 1, outcome: .notMatched(failure)))
            } else if decided && !found && preRule == nil {
                found = true
                traces.append(RuleTrace(rule: rule, position: i + 1, outcome: .decided))
            } else {
                traces.append(RuleTrace(rule: rule, position: i + 1, outcome: .matchedButNotReached))
            }
        }
        decided = found
        return Explanation(decision: decision, preRuleStep: preRule, rules: traces)
    }

    /// `nil` when `match` holds; otherwise the first criterion that fails, in words.
    func mismatch(_ match: PolicyMatch, request: DecisionRequest, target: Target?, effectiveRisk: RiskClass) -> String? {
        if !match.actions.contains(where: { $0.matches(request.action) }) {
            return "actions: \(request.action) matches none of \(list(match.actions.map(\.pattern)))"
        }
        if let selector = match.targets {
            guard let target else {
                return "targets: target \(request.target.map { "'\($0)'" } ?? "(none)") is not in the inventory"
            }
            if let envs = selector.environments, !envs.contains(target.environment) {
                return "targets.environments: \(target.environment.rawValue) not in \(list(envs.map(\.rawValue)))"
            }
            if let s = selector.sensitivities, !s.contains(target.sensitivity) {
                return "targets.sensitivities: \(target.sensitivity.rawValue) not in \(list(s.map(\.rawValue)))"
            }
            if let types = selector.types, !types.contains(target.type) {
                return "targets.types: \(target.type) not in \(list(types))"
            }
            if let labels = selector.labels {
                for key in labels.keys.sorted() where target.labels[key] != labels[key] {
                    let actual = target.labels[key].map { "'\($0)'" } ?? "missing"
                    return "targets.labels: \(key) is \(actual), rule wants '\(labels[key]!)'"
                }
            }
        }
        if let selector = match.callers {
            guard let caller = request.caller else { return "callers: anonymous caller (the rule names callers)" }
            if let ids = selector.agentIDs, !ids.contains(caller.agentID) {
                return "callers.agent_ids: \(caller.agentID) not in \(list(ids))"
            }
            if let roles = selector.roles, !roles.contains(where: caller.roles.contains) {
                return "callers.roles: caller has \(list(caller.roles)), rule wants one of \(list(roles))"
            }
            if let groups = selector.groups, !groups.contains(where: caller.groups.contains) {
                return "callers.groups: caller has \(list(caller.groups)), rule wants one of \(list(groups))"
            }
            if let from = selector.delegatedFrom {
                let chain = caller.verifiedChain.map(\.agentID)
                if !from.contains(where: chain.contains) {
                    return caller.delegationVerified || caller.delegationChain.isEmpty
                        ? "callers.delegated_from: chain \(list(chain)) has none of \(list(from))"
                        : "callers.delegated_from: the caller's delegation chain is not verified"
                }
            }
            if let max = selector.maxDelegationDepth, caller.delegationDepth > max {
                return "callers.max_delegation_depth: depth \(caller.delegationDepth) > \(max)"
            }
            if let required = selector.requireDelegation,
                required ? caller.verifiedChain.isEmpty : caller.delegationDepth > 0
            {
                return required
                    ? "callers.require_delegation: caller is direct, rule wants a delegated caller"
                    : "callers.require_delegation: caller is delegated, rule wants a direct caller"
            }
        }
        if let classes = match.riskClasses, !classes.contains(effectiveRisk) {
            return "risk_classes: effective risk \(effectiveRisk.rawValue) not in \(list(classes.map(\.rawValue)))"
        }
        if let requireTicket = match.requireTicket {
            let hasTicket = !(request.ticketID ?? "").isEmpty
            if hasTicket != requireTicket {
                return requireTicket ? "require_ticket: no change ticket given" : "require_ticket: a ticket was given"
            }
        }
        if let windows = match.timeWindows, !windows.contains(where: { $0.contains(request.instant) }) {
            let (day, hour) = request.instant.weekdayAndHour(in: windows.first?.timeZone)
            let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
            let zone = windows.first?.timeZone?.identifier ?? "UTC"
            return "time_windows: \(days[day]) \(hour):xx \(zone) is outside every window"
        }
        return nil
    }

    private func list(_ items: [String]) -> String {
        "[" + items.joined(separator: ", ") + "]"
    }
}
