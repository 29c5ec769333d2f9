/// One action an agent may ask for (one YAML file in `actions/`).
public struct ActionDefinition: Sendable, Hashable {
    public var name: String
    public var version: String
    public var description: String
    public var parameters: [ActionParameter]
    public var riskClass: RiskClass
    public var targetTypes: [String]
    public var prechecks: [Precheck]
    public var reversible: Bool
    public var rollbackAction: String?
    public var rollbackParams: [String: RollbackParamSource]
    public var requiredPrivileges: [String]
    public var tags: [String]
    public var credentials: CredentialScope?
    public var stateFields: [StateFieldSpec]
    /// Conditions on params that raise this action's risk (new in Agent-Safe Swift).
    public var riskModifiers: [RiskModifier]

    public init(
        name: String, version: String = "1.0.0", description: String = "", parameters: [ActionParameter] = [],
        riskClass: RiskClass, targetTypes: [String], prechecks: [Precheck] = [], reversible: Bool = false,
        rollbackAction: String? = nil, rollbackParams: [String: RollbackParamSource] = [:],
        requiredPrivileges: [String] = [], tags: [String] = [], credentials: CredentialScope? = nil,
        stateFields: [StateFieldSpec] = [], riskModifiers: [RiskModifier] = []
    ) {
        self.name = name
        self.version = version
        self.description = description
        self.parameters = parameters
        self.riskClass = riskClass
        self.targetTypes = targetTypes
        self.prechecks = prechecks
        self.reversible = reversible
        self.rollbackAction = rollbackAction
        self.rollbackParams = rollbackParams
        self.requiredPrivileges = requiredPrivileges
        self.tags = tags
        self.credentials = credentials
        self.stateFields = stateFields
        self.riskModifiers = riskModifiers
    }

    /// `name@version`.
    public var versionedName: String { "\(name)@\(version)" }

    public func parameter(named name: String) -> ActionParameter? {
        parameters.first { $0.name == name }
    }
}

public enum ParameterType: String, Sendable, Hashable, CaseIterable {
    case string
    case integer
    case number
    case boolean
    case array
}

public struct ActionParameter: Sendable, Hashable {
    public var name: String
    public var type: ParameterType
    /// Upstream default: `true`.
    public var required: Bool
    public var description: String
    /// Informational only: never injected into params (as upstream).
    public var defaultValue: JSONValue?
    public var constraints: ParameterConstraints?
    /// Redacted (keyed HMAC) in audit lines.
    public var sensitive: Bool

    public init(
        name: String, type: ParameterType, required: Bool = true, description: String = "",
        defaultValue: JSONValue? = nil, constraints: ParameterConstraints? = nil, sensitive: Bool = false
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.description = description
        self.defaultValue = defaultValue
        self.constraints = constraints
        self.sensitive = sensitive
    }
}

/// Constraints on a scalar value (a parameter, or each item of an array parameter).
public struct ValueConstraints: Sendable, Hashable {
    public var minValue: Double?
    public var maxValue: Double?
    public var minLength: Int?
    public var maxLength: Int?
    public var pattern: SafeRegex?
    public var enumValues: [String]?

    public init(
        minValue: Double? = nil, maxValue: Double? = nil, minLength: Int? = nil, maxLength: Int? = nil,
        pattern: SafeRegex? = nil, enumValues: [String]? = nil
    ) {
        self.minValue = minValue
        self.maxValue = maxValue
        self.minLength = minLength
        self.maxLength = maxLength
        self.pattern = pattern
        self.enumValues = enumValues
    }
}

/// A parameter's `constraints:` block: upstream's scalar constraints plus array constraints.
public struct ParameterConstraints: Sendable, Hashable {
    public var value: ValueConstraints
    public var minItems: Int?
    public var maxItems: Int?
    /// The type and constraints every item of an array parameter must satisfy.
    public var items: ItemSpec?

    public struct ItemSpec: Sendable, Hashable {
        public var type: ParameterType
        public var constraints: ValueConstraints
        public init(type: ParameterType, constraints: ValueConstraints = ValueConstraints()) {
            self.type = type
            self.constraints = constraints
        }
    }

    public init(
        _ value: ValueConstraints = ValueConstraints(), minItems: Int? = nil, maxItems: Int? = nil,
        items: ItemSpec? = nil
    ) {
        self.value = value
        self.minItems = minItems
        self.maxItems = maxItems
        self.items = items
    }
}

public struct Precheck: Sendable, Hashable {
    public var name: String
    public var description: String
    public init(name: String, description: String) {
        self.name = name
        self.description = description
    }
}

public struct StateFieldSpec: Sendable, Hashable {
    public var name: String
    public var description: String
    public var type: String
    public var required: Bool
    public init(name: String, description: String = "", type: String = "any", required: Bool = false) {
        self.name = name
        self.description = description
        self.type = type
        self.required = required
    }
}

/// Where a rollback parameter comes from: `params.<field>` or `before_state.<field>`.
public struct RollbackParamSource: Sendable, Hashable {
    public enum Origin: String, Sendable, Hashable {
        case params
        case beforeState = "before_state"
    }
    public var origin: Origin
    public var field: String
    public var source: String { "\(origin.rawValue).\(field)" }
    public init(origin: Origin, field: String) {
        self.origin = origin
        self.field = field
    }
}

/// The `credentials:` block: what a credential for this action may do.
public struct CredentialScope: Sendable, Hashable {
    public var type: String
    /// Scope fields; string values may hold `{{ params.x }}` templates.
    public var fields: [String: JSONValue]
    public var ttl: Int
    public init(type: String, fields: [String: JSONValue] = [:], ttl: Int = 300) {
        self.type = type
        self.fields = fields
        self.ttl = ttl
    }
}
