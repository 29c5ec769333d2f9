/// One problem `agent-safe lint` reports.
public struct LintFinding: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// Higher-priority rules match every request this rule could match: it never decides.
        case shadowed
        /// No request can match this rule at all.
        case unreachable
        /// Two rules share a name.
        case duplicateName = "duplicate_name"
        /// A rule names an action that isn't in the catalogue (or a glob that matches none).
        case unknownAction = "unknown_action"
    }
    public var kind: Kind
    public var rule: String
    public var source: SourceLocation?
    public var message: String
    /// For `shadowed`: the rules that decide instead.
    public var shadowedBy: [String]

    public init(kind: Kind, rule: String, source: SourceLocation?, message: String, shadowedBy: [String] = []) {
        self.kind = kind
        self.rule = rule
        self.source = source
        self.message = message
        self.shadowedBy = shadowedBy
    }
}

/// Finds dead and suspicious rules by reasoning over the finite parts of a request (the action catalogue and
/// the inventory) and symbolically over the rest (callers, time windows, tickets).
///
/// The analysis is sound for the loaded catalogue and inventory: a rule reported as shadowed can't decide any
/// request, because for every (action, target, effective risk) it could see, a single earlier rule matches every
/// caller, time and ticket it matches. It is not complete: a rule covered only by a union of several earlier
/// rules along the caller or time dimension is not reported. Unknown targets count as a possible target of any
/// rule without a `targets` selector.
public enum PolicyLinter {
    public static func lint(_ engine: PolicyEngine) -> [LintFinding] {
        var findings: [LintFinding] = []
        let rules = engine.policy.rules
        var seen: [String: SourceLocation?] = [:]
        for rule in rules {
            if let first = seen[rule.name] {
                let at = first.map { " (first defined at \($0))" } ?? ""
                findings.append(LintFinding(kind: .duplicateName, rule: rule.name, source: rule.source,
                                            message: "the name is used more than once\(at)"))
            } else {
                seen[rule.name] = rule.source
            }
        }
        let actionNames = engine.actions.keys.sorted()
        for (i, rule) in rules.enumerated() {
            for glob in rule.match.actions {
                if glob.isLiteral, engine.actions[glob.pattern] == nil {
                    let hint = Suggest.closest(to: glob.pattern, in: actionNames).map { " (did you mean '\($0)'?)" } ?? ""
                    findings.append(LintFinding(kind: .unknownAction, rule: rule.name, source: rule.source,
                                                message: "names action '\(glob.pattern)', which is not in the catalogue\(hint)"))
                } else if !glob.isLiteral, !actionNames.contains(where: glob.matches) {
                    findings.append(LintFinding(kind: .unknownAction, rule: rule.name, source: rule.source,
                                                message: "action glob '\(glob.pattern)' matches no action in the catalogue"))
                }
            }
            let space = Space(rule: rule, engine: engine)
            if let why = space.emptyReason {
                findings.append(LintFinding(kind: .unreachable, rule: rule.name, source: rule.source,
                                            message: "can never match: \(why)"))
                continue
            }
            var coveringRules = Set<Int32>()
            var allCovered = true
            for cell in space.cells {
                let candidates = engine.policy.candidates(action: cell.action, environment: cell.target?.environment)
                let cover = candidates.first { index in
                    Int(index) < i && covers(rules[Int(index)].match, rule.match, cell: cell)
                }
                guard let cover else {
                    allCovered = false
                    break
                }
                coveringRules.insert(cover)
            }
            if allCovered {
                let names = coveringRules.sorted().map { rules[Int($0)].name }
                let same = coveringRules.allSatisfy { rules[Int($0)].decision == rule.decision }
                let effect = same ? "the same decision is reached earlier, so the rule is redundant"
                    : "its '\(rule.decision.rawValue)' never applies"
                findings.append(LintFinding(
                    kind: .shadowed, rule: rule.name, source: rule.source,
                    message: "shadowed by \(names.map { "'\($0)'" }.joined(separator: ", ")) for every request it "
                        + "could match; \(effect)", shadowedBy: names))
            }
        }
        return findings
    }

    /// One (action, target) pair a rule could see, with the effective risks it could have there.
    struct Cell {
        var action: String
        var target: Target?
        var risks: Set<RiskClass>
    }

    struct Space {
        var cells: [Cell] = []
        var emptyReason: String?

        init(rule: PolicyRule, engine: PolicyEngine) {
            let match = rule.match
            if match.actions.isEmpty { emptyReason = "actions is an empty list"; return }
            if let reason = PolicyLinter.emptyCallers(match.callers) { emptyReason = reason; return }
            if let windows = match.timeWindows {
                if windows.isEmpty { emptyReason = "time_windows is an empty list"; return }
                if windows.map(\.cells).reduce(WeekCells(), { $0.union($1) }).isEmpty {
                    emptyReason = "no time window covers any hour of the week (days must be 0–6)"
                    return
                }
            }
            if let classes = match.riskClasses, classes.isEmpty { emptyReason = "risk_classes is an empty list"; return }
            if let t = match.targets {
                if t.environments?.isEmpty == true { emptyReason = "targets.environments is an empty list"; return }
                if t.sensitivities?.isEmpty == true { emptyReason = "targets.sensitivities is an empty list"; return }
                if t.types?.isEmpty == true { emptyReason = "targets.types is an empty list"; return }
            }
            let actions = engine.actions.values.filter { a in match.actions.contains { $0.matches(a.name) } }
            if actions.isEmpty { emptyReason = "no action in the catalogue matches \(match.actions.map(\.pattern))"; return }
            var targets: [Target?] = engine.inventory.targets.filter { match.targets?.matches($0) ?? true }
            if match.targets == nil { targets.append(nil) }
            if targets.isEmpty { emptyReason = "no target in the inventory matches its targets selector"; return }
            var sawTypeMismatchOnly = true
            for action in actions.sorted(by: { $0.name < $1.name }) {
                for target in targets {
                    if let target, !action.targetTypes.contains(target.type) { continue }
                    sawTypeMismatchOnly = false
                    let base = RiskMatrix.effectiveRisk(action: action.riskClass,
                                                        sensitivity: target?.sensitivity ?? .critical)
                    let canRaise = !action.riskModifiers.isEmpty || engine.risk.canRaise
                    var risks = Set(RiskClass.allCases.filter { canRaise ? $0 >= base : $0 == base })
                    if let classes = match.riskClasses { risks.formIntersection(classes) }
                    if risks.isEmpty { continue }
                    cells.append(Cell(action: action.name, target: target, risks: risks))
                }
            }
            if cells.isEmpty {
                emptyReason = sawTypeMismatchOnly
                    ? "its actions never apply to its targets (target_types don't match the target types)"
                    : "its risk_classes are never the effective risk of its actions on its targets"
            }
        }
    }

    static func emptyCallers(_ c: CallerSelector?) -> String? {
        guard let c else { return nil }
        if c.agentIDs?.isEmpty == true { return "callers.agent_ids is an empty list" }
        if c.roles?.isEmpty == true { return "callers.roles is an empty list" }
        if c.groups?.isEmpty == true { return "callers.groups is an empty list" }
        if c.delegatedFrom?.isEmpty == true { return "callers.delegated_from is an empty list" }
        if let d = c.maxDelegationDepth, d < 0 { return "callers.max_delegation_depth is negative" }
        if c.requireDelegation == true, c.maxDelegationDepth == 0 {
            return "callers.require_delegation is true but max_delegation_depth is 0"
        }
        if c.requireDelegation == false, c.delegatedFrom != nil {
            return "callers.require_delegation is false but delegated_from needs a delegated caller"
        }
        return nil
    }

    /// Whether every request matching `lower` on `cell` also matches `higher`.
    static func covers(_ higher: PolicyMatch, _ lower: PolicyMatch, cell: Cell) -> Bool {
        if let t = higher.targets {
            guard let target = cell.target, t.matches(target) else { return false }
        }
        if let classes = higher.riskClasses, !cell.risks.isSubset(of: classes) { return false }
        if let ticket = higher.requireTicket, lower.requireTicket != ticket { return false }
        if !coversCallers(higher.callers, lower.callers) { return false }
        if !coversTime(higher.timeWindows, lower.timeWindows) { return false }
        return true
    }

    static func coversCallers(_ h: CallerSelector?, _ l: CallerSelector?) -> Bool {
        guard let h else { return true }
        guard let l else { return false }  // the lower rule also sees anonymous callers
        func subset(_ hv: [String]?, _ lv: [String]?) -> Bool {
            guard let hv else { return true }
            guard let lv else { return false }
            return Set(lv).isSubset(of: hv)
        }
        if !subset(h.agentIDs, l.agentIDs) || !subset(h.roles, l.roles) || !subset(h.groups, l.groups)
            || !subset(h.delegatedFrom, l.delegatedFrom)
        {
            return false
        }
        // Depth bounds of the lower rule's callers.
        let lowerMin = (l.requireDelegation == true || l.delegatedFrom != nil) ? 1 : 0
        let lowerMax = l.requireDelegation == false ? 0 : l.maxDelegationDepth
        if let max = h.maxDelegationDepth {
            guard let lowerMax, lowerMax <= max else { return false }
        }
        if let required = h.requireDelegation {
            if required && lowerMin < 1 { return false }
            if !required && lowerMax != 0 { return false }
        }
        return true
    }

    static func coversTime(_ h: [TimeWindow]?, _ l: [TimeWindow]?) -> Bool {
        guard let h else { return true }
        guard let l else { return false }
        let zones = Set(h.map { $0.timeZone?.identifier ?? "UTC" } + l.map { $0.timeZone?.identifier ?? "UTC" })
        guard zones.count == 1 else { return false }
        let hc = h.map(\.cells).reduce(WeekCells()) { $0.union($1) }
        let lc = l.map(\.cells).reduce(WeekCells()) { $0.union($1) }
        return lc.isSubset(of: hc)
    }
}
