/// A chain rule (`chains:` in a policy file): an ordered pattern of actions by one principal within a time
/// window that adds a risk bonus or forces a decision when the last step is requested (docs/risk.md).
///
/// ```yaml
/// chains:
///   - name: secret-then-exec
///     steps: [get-secret, exec-pod]   # action globs, in order; the last one is the request being decided
///     within_seconds: 900
///     same: namespace                 # none | target | namespace | param:<name>
///     decision: require_approval      # and/or bonus: 40
///     reason: Reading a secret and then executing in a pod of the same namespace
/// ```
public struct ChainRule: Sendable, Hashable {
    /// What the steps of one chain must share.
    public enum Same: Sendable, Hashable, CustomStringConvertible {
        /// Nothing: any targets.
        case none
        /// The same target id.
        case target
        /// The same namespace: the target's `namespace` label, else the `namespace` parameter.
        case namespace
        /// The same value of this parameter.
        case param(String)

        public var description: String {
            switch self {
            case .none: "none"
            case .target: "target"
            case .namespace: "namespace"
            case .param(let name): "param:\(name)"
            }
        }
    }

    public var name: String
    public var description: String
    /// Action globs in order; at least two.
    public var steps: [Glob]
    public var withinSeconds: Int
    public var same: Same
    /// Added to the cumulative score when the chain completes.
    public var bonus: Int
    /// Forced when the chain completes (`require_approval` or `deny`); it only ever makes a decision stricter.
    public var decision: DecisionResult?
    public var reason: String
    public var source: SourceLocation?

    public init(name: String, description: String = "", steps: [Glob], withinSeconds: Int, same: Same = .none,
                bonus: Int = 0, decision: DecisionResult? = nil, reason: String, source: SourceLocation? = nil) {
        self.name = name
        self.description = description
        self.steps = steps
        self.withinSeconds = withinSeconds
        self.same = same
        self.bonus = bonus
        self.decision = decision
        self.reason = reason
        self.source = source
    }
}

extension DecisionResult {
    /// deny > require_approval > allow.
    public var strictness: Int {
        switch self {
        case .allow: 0
        case .requireApproval: 1
        case .deny: 2
        }
    }

    /// The stricter of two results.
    public func stricter(_ other: DecisionResult) -> DecisionResult {
        other.strictness > strictness ? other : self
    }
}
