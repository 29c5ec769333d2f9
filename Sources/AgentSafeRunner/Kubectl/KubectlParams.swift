import AgentSafeCore

/// Reads an execution request's params for a kubectl argv, refusing anything kubectl could read as a flag or
/// split (defence in depth: the policy engine has already checked every param against its constraints).
struct KubectlParams {
    let request: ExecutionRequest

    init(_ request: ExecutionRequest) { self.request = request }

    private func value(_ name: String) -> JSONValue? {
        switch request.params[name] {
        case nil, .null?: request.action.parameter(named: name)?.defaultValue
        case let value?: value
        }
    }

    /// A Kubernetes object name (or namespace, node, container): one argv token, no `/` or `,` (which would make
    /// kubectl address another object or a list).
    func name(_ param: String) throws(ExecutorError) -> String {
        guard let value = try optionalName(param) else { throw ExecutorError("missing_param", "'\(param)' is required") }
        return value
    }

    func optionalName(_ param: String) throws(ExecutorError) -> String? {
        guard let value = try optionalToken(param) else { return nil }
        if value.contains(where: { $0 == "/" || $0 == "," || $0 == "=" }) {
            throw ExecutorError("invalid_param", "'\(param)' may not contain '/', ',' or '='")
        }
        return value
    }

    /// A value that becomes (part of) one argv token: not empty, no leading `-`, no whitespace or control
    /// characters.
    func token(_ param: String) throws(ExecutorError) -> String {
        guard let value = try optionalToken(param) else { throw ExecutorError("missing_param", "'\(param)' is required") }
        return value
    }

    func optionalToken(_ param: String) throws(ExecutorError) -> String? {
        guard let raw = value(param) else { return nil }
        guard case .string(let value) = raw else {
            throw ExecutorError("invalid_param", "'\(param)' must be a string, not \(raw.kindName)")
        }
        try Self.checkToken(value, param)
        return value
    }

    /// A string that never reaches the argv (it goes into a JSON document in a file): any content.
    func text(_ param: String) throws(ExecutorError) -> String {
        switch value(param) {
        case .string(let s)?: return s
        case nil: throw ExecutorError("missing_param", "'\(param)' is required")
        case let other?: throw ExecutorError("invalid_param", "'\(param)' must be a string, not \(other.kindName)")
        }
    }

    /// A string that may be empty (a label selector where the empty string means "every pod").
    func optionalSelector(_ param: String) throws(ExecutorError) -> String? {
        switch value(param) {
        case nil: return nil
        case .string(let s)? where s.isEmpty: return ""
        case .string(let s)?:
            try Self.checkToken(s, param)
            return s
        case let other?: throw ExecutorError("invalid_param", "'\(param)' must be a string, not \(other.kindName)")
        }
    }

    func int(_ param: String) throws(ExecutorError) -> Int64 {
        guard let value = try optionalInt(param) else { throw ExecutorError("missing_param", "'\(param)' is required") }
        return value
    }

    func optionalInt(_ param: String) throws(ExecutorError) -> Int64? {
        switch value(param) {
        case nil: return nil
        case .integer(let i)?: return i
        case .number(let d)? where d.rounded() == d && abs(d) < 1e15: return Int64(d)
        case let other?: throw ExecutorError("invalid_param", "'\(param)' must be an integer, not \(other.kindName)")
        }
    }

    func bool(_ param: String, default fallback: Bool) throws(ExecutorError) -> Bool {
        switch value(param) {
        case nil: return fallback
        case .bool(let b)?: return b
        case let other?: throw ExecutorError("invalid_param", "'\(param)' must be a boolean, not \(other.kindName)")
        }
    }

    /// An array of strings passed after `--` (exec-pod's command): each item is one argv element, so spaces and a
    /// leading `-` are the command's own business; control characters (NUL above all) are refused.
    func commandItems(_ param: String) throws(ExecutorError) -> [String] {
        guard let raw = value(param) else { throw ExecutorError("missing_param", "'\(param)' is required") }
        guard case .array(let items) = raw, !items.isEmpty else {
            throw ExecutorError("invalid_param", "'\(param)' must be a non-empty array of strings")
        }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item, !s.isEmpty else {
                throw ExecutorError("invalid_param", "every item of '\(param)' must be a non-empty string")
            }
            if s.unicodeScalars.contains(where: Self.isControl) {
                throw ExecutorError("invalid_param", "'\(param)' items may not contain control characters")
            }
            out.append(s)
        }
        return out
    }

    static func checkToken(_ value: String, _ param: String) throws(ExecutorError) {
        if value.isEmpty { throw ExecutorError("invalid_param", "'\(param)' may not be empty") }
        if value.hasPrefix("-") { throw ExecutorError("invalid_param", "'\(param)' may not start with '-'") }
        if value.unicodeScalars.contains(where: { isControl($0) || $0.properties.isWhitespace }) {
            throw ExecutorError("invalid_param", "'\(param)' may not contain whitespace or control characters")
        }
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }
}
