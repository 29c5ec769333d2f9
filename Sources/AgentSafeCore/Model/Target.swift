/// Something an action is performed on (one entry of the inventory).
public struct Target: Sendable, Hashable {
    public var id: String
    public var type: String
    public var environment: Environment
    public var sensitivity: Sensitivity
    public var owner: String
    public var labels: [String: String]

    public init(
        id: String, type: String, environment: Environment, sensitivity: Sensitivity, owner: String = "",
        labels: [String: String] = [:]
    ) {
        self.id = id
        self.type = type
        self.environment = environment
        self.sensitivity = sensitivity
        self.owner = owner
        self.labels = labels
    }
}

/// The target inventory: exact, case-sensitive lookup by id.
public struct Inventory: Sendable, Hashable {
    public private(set) var targets: [Target]
    private var byID: [String: Int]

    /// - Precondition: ids are unique (the loader reports duplicates as errors).
    public init(targets: [Target]) {
        self.targets = targets
        var index: [String: Int] = [:]
        for (i, t) in targets.enumerated() where index[t.id] == nil {
            index[t.id] = i
        }
        self.byID = index
    }

    public static let empty = Inventory(targets: [])

    public subscript(id: String) -> Target? {
        byID[id].map { targets[$0] }
    }
}
