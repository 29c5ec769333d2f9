/// Configured risk modifiers that don't belong to one action (agent-safe.yaml `risk:`).
public struct RiskSettings: Sendable, Hashable {
    /// Raise risk outside business hours.
    public var offHours: OffHours?
    /// Raise risk for deeply delegated callers.
    public var delegation: DelegationDepth?

    public struct OffHours: Sendable, Hashable {
        /// The request is off-hours when it falls in none of these windows.
        public var businessHours: [TimeWindow]
        public var raise: Int
        public init(businessHours: [TimeWindow], raise: Int = 1) {
            self.businessHours = businessHours
            self.raise = raise
        }
    }

    public struct DelegationDepth: Sendable, Hashable {
        /// Raise when the caller's delegation depth is at least this.
        public var minDepth: Int
        public var raise: Int
        public init(minDepth: Int, raise: Int = 1) {
            self.minDepth = minDepth
            self.raise = raise
        }
    }

    public init(offHours: OffHours? = nil, delegation: DelegationDepth? = nil) {
        self.offHours = offHours
        self.delegation = delegation
    }

    public static let none = RiskSettings()

    /// Whether any configured modifier could raise risk for some request.
    public var canRaise: Bool { offHours != nil || delegation != nil }
}
