/// One policy rule: when `match` holds, the decision is `decision` with `reason`.
public struct PolicyRule: Sendable, Hashable {
    public var name: String
    public var description: String
    /// Higher first; equal priorities keep load order. Upstream default 0.
    public var priority: Int
    public var match: PolicyMatch
    public var decision: DecisionResult
    public var reason: String
    /// Where the rule was written (`policies/10-prod.yaml:12:5`), for explain and lint.
    public var source: SourceLocation?

    public init(
        name: String, description: String = "", priority: Int = 0, match: PolicyMatch = PolicyMatch(),
        decision: DecisionResult, reason: String, source: SourceLocation? = nil
    ) {
        self.name = name
        self.description = description
        self.priority = priority
        self.match = match
        self.decision = decision
        self.reason = reason
        self.source = source
    }
}

/// A file position, 1-based.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// AND across the keys that are set; OR within each list. `nil` = no constraint; an empty list never matches.
public struct PolicyMatch: Sendable, Hashable {
    /// Upstream default `["*"]`.
    public var actions: [Glob]
    public var targets: TargetSelector?
    public var callers: CallerSelector?
    public var timeWindows: [TimeWindow]?
    /// Compared against the effective risk.
    public var riskClasses: [RiskClass]?
    public var requireTicket: Bool?

    public init(
        actions: [Glob] = [Glob("*")], targets: TargetSelector? = nil, callers: CallerSelector? = nil,
        timeWindows: [TimeWindow]? = nil, riskClasses: [RiskClass]? = nil, requireTicket: Bool? = nil
    ) {
        self.actions = actions
        self.targets = targets
        self.callers = callers
        self.timeWindows = timeWindows
        self.riskClasses = riskClasses
        self.requireTicket = requireTicket
    }
}

public struct TargetSelector: Sendable, Hashable {
    public var environments: [Environment]?
    public var sensitivities: [Sensitivity]?
    public var types: [String]?
    /// Every listed key must be on the target with an equal value. `[:]` always matches.
    public var labels: [String: String]?

    public init(
        environments: [Environment]? = nil, sensitivities: [Sensitivity]? = nil, types: [String]? = nil,
        labels: [String: String]? = nil
    ) {
        self.environments = environments
        self.sensitivities = sensitivities
        self.types = types
        self.labels = labels
    }

    public func matches(_ target: Target) -> Bool {
        if let environments, !environments.contains(target.environment) { return false }
        if let sensitivities, !sensitivities.contains(target.sensitivity) { return false }
        if let types, !types.contains(target.type) { return false }
        if let labels {
            for (key, value) in labels where target.labels[key] != value { return false }
        }
        return true
    }
}

public struct CallerSelector: Sendable, Hashable {
    public var agentIDs: [String]?
    public var roles: [String]?
    public var groups: [String]?
    /// Some listed id is a link of the caller's delegation chain.
    public var delegatedFrom: [String]?
    /// Matches when the caller's depth ≤ this (direct callers have depth 0).
    public var maxDelegationDepth: Int?
    /// `true`: delegated callers only; `false`: direct callers only.
    public var requireDelegation: Bool?

    public init(
        agentIDs: [String]? = nil, roles: [String]? = nil, groups: [String]? = nil,
        delegatedFrom: [String]? = nil, maxDelegationDepth: Int? = nil, requireDelegation: Bool? = nil
    ) {
        self.agentIDs = agentIDs
        self.roles = roles
        self.groups = groups
        self.delegatedFrom = delegatedFrom
        self.maxDelegationDepth = maxDelegationDepth
        self.requireDelegation = requireDelegation
    }

    public func matches(_ caller: Caller) -> Bool {
        if let agentIDs, !agentIDs.contains(caller.agentID) { return false }
        if let roles, !roles.contains(where: caller.roles.contains) { return false }
        if let groups, !groups.contains(where: caller.groups.contains) { return false }
        if let delegatedFrom {
            let chain = caller.verifiedChain.map(\.agentID)
            if !delegatedFrom.contains(where: chain.contains) { return false }
        }
        // A claimed depth counts against the limit even unproven; only a proven chain makes a caller delegated.
        if let maxDelegationDepth, caller.delegationDepth > maxDelegationDepth { return false }
        if let requireDelegation {
            if requireDelegation, caller.verifiedChain.isEmpty { return false }
            if !requireDelegation, caller.delegationDepth > 0 { return false }
        }
        return true
    }
}
