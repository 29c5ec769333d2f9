/// A condition on request params that raises an action's effective risk (action YAML `risk_modifiers`).
public struct RiskModifier: Sendable, Hashable {
    /// Every condition must hold (AND).
    public var conditions: [ParamCondition]
    /// Classes to raise by (1…3), capped at critical.
    public var raise: Int
    public var reason: String

    public init(conditions: [ParamCondition], raise: Int, reason: String) {
        self.conditions = conditions
        self.raise = raise
        self.reason = reason
    }

    public func applies(to params: [String: JSONValue]) -> Bool {
        conditions.allSatisfy { $0.holds(in: params) }
    }
}

/// One test on one param.
public struct ParamCondition: Sendable, Hashable {
    public enum Test: Sendable, Hashable {
        case equals(JSONValue)
        case notEquals(JSONValue)
        case isIn([JSONValue])
        case notIn([JSONValue])
        case greaterThan(Double)
        case greaterThanOrEqual(Double)
        case lessThan(Double)
        case lessThanOrEqual(Double)
        case matches(SafeRegex)
        case present(Bool)
    }

    public var param: String
    public var test: Test

    public init(param: String, test: Test) {
        self.param = param
        self.test = test
    }

    public func holds(in params: [String: JSONValue]) -> Bool {
        let value = params[param]
        switch test {
        case .present(let expected):
            return (value != nil && value != .null) == expected
        default:
            break
        }
        guard let value else { return false }
        switch test {
        case .equals(let expected): return ParamCondition.same(value, expected)
        case .notEquals(let expected): return !ParamCondition.same(value, expected)
        case .isIn(let options): return options.contains { ParamCondition.same(value, $0) }
        case .notIn(let options): return !options.contains { ParamCondition.same(value, $0) }
        case .greaterThan(let bound): return value.doubleValue.map { $0 > bound } ?? false
        case .greaterThanOrEqual(let bound): return value.doubleValue.map { $0 >= bound } ?? false
        case .lessThan(let bound): return value.doubleValue.map { $0 < bound } ?? false
        case .lessThanOrEqual(let bound): return value.doubleValue.map { $0 <= bound } ?? false
        case .matches(let regex): return value.stringValue.map { regex.wholeMatch($0) } ?? false
        case .present: return false
        }
    }

    /// Typed equality; an integer equals a number of the same value (0 == 0.0), a bool never equals a number.
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.integer, .number), (.number, .integer), (.integer, .integer), (.number, .number):
            return a.doubleValue == b.doubleValue
        default:
            return a == b
        }
    }
}
