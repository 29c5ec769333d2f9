/// How much harm an action can do: an action's declared class, or the effective class of one request.
public enum RiskClass: String, Sendable, Hashable, CaseIterable, Comparable, Codable {
    case low
    case medium
    case high
    case critical

    var rank: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .high: 2
        case .critical: 3
        }
    }

    public static func < (lhs: RiskClass, rhs: RiskClass) -> Bool { lhs.rank < rhs.rank }

    /// This class raised by `steps` classes, capped at ``critical``.
    public func raised(by steps: Int) -> RiskClass {
        let all = RiskClass.allCases
        return all[min(all.count - 1, max(0, rank + steps))]
    }
}

/// How sensitive a target is (inventory `sensitivity`).
public enum Sensitivity: String, Sendable, Hashable, CaseIterable, Comparable, Codable {
    case `public`
    case `internal`
    case restricted
    case critical

    var rank: Int {
        switch self {
        case .public: 0
        case .internal: 1
        case .restricted: 2
        case .critical: 3
        }
    }

    public static func < (lhs: Sensitivity, rhs: Sensitivity) -> Bool { lhs.rank < rhs.rank }
}

/// The environment a target lives in (inventory `environment`).
public enum Environment: String, Sendable, Hashable, CaseIterable, Codable {
    case dev
    case staging
    case prod
}

/// The three answers Agent-Safe gives.
public enum DecisionResult: String, Sendable, Hashable, CaseIterable, Codable {
    case allow
    case deny
    case requireApproval = "require_approval"
}

/// The risk matrix: effective risk = M[action risk][target sensitivity] (upstream §2.4).
public enum RiskMatrix {
    private static let table: [[RiskClass]] = [
        // public   internal   restricted  critical
        [.low, .low, .medium, .high],  // low
        [.low, .medium, .high, .critical],  // medium
        [.medium, .high, .critical, .critical],  // high
        [.high, .critical, .critical, .critical],  // critical
    ]

    public static func effectiveRisk(action: RiskClass, sensitivity: Sensitivity) -> RiskClass {
        table[action.rank][sensitivity.rank]
    }
}
