/// A YAML node with its position, after aliases and merge keys were resolved.
public struct YAMLNode: Sendable {
    public enum Kind: Sendable {
        /// `plain` is false for quoted and block scalars (which are always strings).
        case scalar(String, plain: Bool, tag: ScalarTag)
        case mapping([(key: YAMLNode, value: YAMLNode)])
        case sequence([YAMLNode])
    }

    /// How a scalar resolves under YAML 1.1 core rules (as PyYAML's safe_load reads it).
    public enum ScalarTag: String, Sendable {
        case string, integer, float, boolean, null, timestamp
    }

    public var kind: Kind
    public var line: Int
    public var column: Int

    public var kindName: String {
        switch kind {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(let text, _, let tag):
            switch tag {
            case .string: "a string"
            case .integer: "an integer (\(text))"
            case .float: "a number (\(text))"
            case .boolean: "a boolean (\(text))"
            case .null: "null"
            case .timestamp: "a date (\(text))"
            }
        }
    }

    public var isNull: Bool {
        if case .scalar(_, _, .null) = kind { return true }
        return false
    }
}
