/// The policy decision point: pure, no I/O, safe to share between threads.
///
/// Order of evaluation (upstream §2.5 with the stricter steps of docs/compatibility.md):
/// 1. look up the action (unknown → base risk critical) and the target (unknown → sensitivity critical);
/// 2. effective risk = matrix, raised by the action's `risk_modifiers` and the configured modifiers;
/// 3. unknown action → deny; invalid params (also when none were given) → deny; a known target whose type is
///    not in the action's `target_types` → deny;
/// 4. rules in order, first match wins; none → deny.
public struct PolicyEngine: Sendable {
    public let actions: [String: ActionDefinition]
    public let inventory: Inventory
    public let policy: PolicySet
    public let risk: RiskSettings

    public init(actions: [ActionDefinition], inventory: Inventory, rules: [PolicyRule], risk: RiskSettings = .none) {
        var byName: [String: ActionDefinition] = [:]
        for action in actions { byName[action.name] = action }
        self.actions = byName
        self.inventory = inventory
        self.policy = PolicySet(rules: rules, actionNames: byName.keys)
        self.risk = risk
    }

    /// Decides one request.
    public func evaluate(_ request: DecisionRequest) -> Decision {
        var stage = prepare(request)
        if stage.decision.code != .policy { return stage.decision }
        let candidates = policy.candidates(action: request.action, environment: stage.target?.environment)
        // Rules are read in place through the buffer: no copy of each rule (or its match) tried.
        let matched = policy.rules.withUnsafeBufferPointer { rules -> Int? in
            for index in candidates {
                let i = Int(index)
                if matches(rules[i].match, request: request, target: stage.target,
                           effectiveRisk: stage.decision.effectiveRisk)
                {
                    return i
                }
            }
            return nil
        }
        if let i = matched {
            stage.decision.result = policy.rules[i].decision
            stage.decision.reason = policy.rules[i].reason
            stage.decision.policyMatched = policy.rules[i].name
            return stage.decision
        }
        stage.decision.result = .deny
        stage.decision.reason = "No matching policy (default deny)"
        stage.decision.code = .noMatchingPolicy
        return stage.decision
    }

    struct Stage {
        var decision: Decision
        var target: Target?
    }

    /// Everything before the rules: risk, and the checks that deny without consulting them.
    /// Returns a decision whose code is `.policy` when the rules still have to decide.
    func prepare(_ request: DecisionRequest) -> Stage {
        let action = actions[request.action]
        let target = request.target.flatMap { inventory[$0] }
        let base = action?.riskClass ?? .critical
        let matrix = RiskMatrix.effectiveRisk(action: base, sensitivity: target?.sensitivity ?? .critical)
        var decision = Decision(
            result: .deny, reason: "", code: .policy, action: request.action, target: request.target,
            targetKnown: target != nil, caller: request.caller?.agentID ?? "anonymous", riskClass: base,
            matrixRisk: matrix, effectiveRisk: matrix, auditID: request.auditID, ticketID: request.ticketID,
            correlationID: request.correlationID)
        guard let action else {
            decision.reason = "Unknown action: \(ParameterValidator.display(request.action))"
            decision.code = .unknownAction
            return Stage(decision: decision, target: target)
        }
        let errors = ParameterValidator.validate(request.params, against: action)
        if !errors.isEmpty {
            decision.reason = "Invalid parameters: " + errors.joined(separator: "; ")
            decision.code = .invalidParams
            decision.paramErrors = errors
            return Stage(decision: decision, target: target)
        }
        applyModifiers(action: action, request: request, to: &decision)
        if let target, !action.targetTypes.contains(target.type) {
            decision.reason = "Target '\(target.id)' is a \(target.type); \(action.name) applies to "
                + action.targetTypes.joined(separator: ", ")
            decision.code = .targetTypeMismatch
            return Stage(decision: decision, target: target)
        }
        return Stage(decision: decision, target: target)
    }

    func applyModifiers(action: ActionDefinition, request: DecisionRequest, to decision: inout Decision) {
        var risk = decision.effectiveRisk
        for modifier in action.riskModifiers where modifier.applies(to: request.params) {
            let raised = risk.raised(by: modifier.raise)
            decision.modifiers.append(
                AppliedModifier(source: .action, reason: modifier.reason, raise: modifier.raise, from: risk, to: raised))
            risk = raised
        }
        if let offHours = offHoursModifier(for: request) {
            let raised = risk.raised(by: offHours.raise)
            decision.modifiers.append(
                AppliedModifier(source: .offHours, reason: "Outside business hours", raise: offHours.raise,
                                from: risk, to: raised))
            risk = raised
        }
        if let delegation = self.risk.delegation, let caller = request.caller,
            caller.delegationDepth >= delegation.minDepth
        {
            let raised = risk.raised(by: delegation.raise)
            decision.modifiers.append(
                AppliedModifier(source: .delegation,
                                reason: "Delegation depth \(caller.delegationDepth) ≥ \(delegation.minDepth)",
                                raise: delegation.raise, from: risk, to: raised))
            risk = raised
        }
        decision.effectiveRisk = risk
    }

    private func offHoursModifier(for request: DecisionRequest) -> RiskSettings.OffHours? {
        guard let offHours = risk.offHours else { return nil }
        return offHours.businessHours.contains(where: { $0.contains(request.instant) }) ? nil : offHours
    }

    @inline(__always)
    func matches(_ match: PolicyMatch, request: DecisionRequest, target: Target?, effectiveRisk: RiskClass) -> Bool {
        if let selector = match.targets {
            guard let target, selector.matches(target) else { return false }
        }
        if let selector = match.callers {
            guard let caller = request.caller, selector.matches(caller) else { return false }
        }
        if let classes = match.riskClasses, !classes.contains(effectiveRisk) { return false }
        if let requireTicket = match.requireTicket {
            let hasTicket = !(request.ticketID ?? "").isEmpty
            if hasTicket != requireTicket { return false }
        }
        if let windows = match.timeWindows, !windows.contains(where: { $0.contains(request.instant) }) {
            return false
        }
        return true
    }
}
