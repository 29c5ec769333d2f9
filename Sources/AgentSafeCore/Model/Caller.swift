/// Who is asking: an agent identity, possibly acting through a delegation chain.
public struct Caller: Sendable, Hashable {
    public var agentID: String
    public var agentName: String
    public var roles: [String]
    public var groups: [String]
    /// Who delegated to this caller, root (the original principal) first.
    public var delegationChain: [DelegationLink]
    /// Whether the chain was proven (a verified identity token, or an operator's what-if on the command line).
    /// An unproven chain can only hurt its claimer: it never satisfies `delegated_from` or
    /// `require_delegation: true`, but still counts against `max_delegation_depth` and risk modifiers.
    public var delegationVerified: Bool

    public init(
        agentID: String, agentName: String = "", roles: [String] = [], groups: [String] = [],
        delegationChain: [DelegationLink] = [], delegationVerified: Bool = false
    ) {
        self.delegationVerified = delegationVerified
        self.agentID = agentID
        self.agentName = agentName
        self.roles = roles
        self.groups = groups
        self.delegationChain = delegationChain
    }

    /// 0 for a direct caller; the number of links for a delegated one.
    public var delegationDepth: Int { delegationChain.count }

    /// The chain as far as it was proven (empty when unverified).
    public var verifiedChain: [DelegationLink] { delegationVerified ? delegationChain : [] }

    /// The principal at the root of the chain (the caller itself when direct).
    public var rootPrincipal: String { delegationChain.first?.agentID ?? agentID }
}

public struct DelegationLink: Sendable, Hashable {
    public var agentID: String
    public var agentName: String
    public init(agentID: String, agentName: String = "") {
        self.agentID = agentID
        self.agentName = agentName
    }
}
