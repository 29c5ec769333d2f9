import AgentSafeCore
import Foundation

/// What to do with keys the schema doesn't know (`compat.unknown_keys` in agent-safe.yaml).
public enum UnknownKeyPolicy: String, Sendable, Hashable, CaseIterable {
    /// Refuse the file (the default: a misspelt key silently dropped is a policy hole).
    case error
    /// Load, and report each unknown key as a warning.
    case warn
}

/// Collects diagnostics while one file is decoded into Core values.
final class DecodeContext {
    let file: String
    let unknownKeys: UnknownKeyPolicy
    private(set) var diagnostics: [ConfigDiagnostic] = []

    init(file: String, unknownKeys: UnknownKeyPolicy) {
        self.file = file
        self.unknownKeys = unknownKeys
    }

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    func report(_ code: ConfigDiagnostic.Code, _ node: YAMLNode?, _ path: String, _ message: String,
                severity: ConfigDiagnostic.Severity = .error)
    {
        diagnostics.append(ConfigDiagnostic(
            severity: severity, code: code, file: file, line: node?.line ?? 0, column: node?.column ?? 0,
            fieldPath: path, message: message))
    }

    // MARK: - Shapes

    /// The node as a mapping with string keys; reports unknown keys (with a suggestion) and non-string keys.
    func mapping(_ node: YAMLNode, _ path: String, allowed: [String]) -> Fields? {
        guard case .mapping(let pairs) = node.kind else {
            report(.wrongType, node, path, "expected a mapping, got \(node.kindName)")
            return nil
        }
        var fields = Fields(node: node, path: path)
        for (key, value) in pairs {
            guard case .scalar(let name, _, _) = key.kind else {
                report(.wrongType, key, path, "mapping keys must be strings, got \(key.kindName)")
                continue
            }
            if !allowed.contains(name) {
                let hint = Suggest.closest(to: name, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                let known = allowed.count <= 12 ? "; known keys: " + allowed.joined(separator: ", ") : ""
                report(.unknownKey, key, join(path, name),
                       "unknown key '\(name)'\(hint)\(unknownKeys == .warn ? ", ignored" : "")\(known)",
                       severity: unknownKeys == .warn ? .warning : .error)
                continue
            }
            fields.values[name] = (key, value)
        }
        return fields
    }

    func sequence(_ node: YAMLNode, _ path: String) -> [YAMLNode]? {
        guard case .sequence(let items) = node.kind else {
            report(.wrongType, node, path, "expected a list, got \(node.kindName)")
            return nil
        }
        return items
    }

    // MARK: - Scalars

    func string(_ node: YAMLNode, _ path: String) -> String? {
        guard case .scalar(let text, _, let tag) = node.kind else {
            report(.wrongType, node, path, "expected a string, got \(node.kindName)")
            return nil
        }
        guard tag == .string else {
            let hint = tag == .null ? "" : " (quote it to make it a string)"
            report(.wrongType, node, path, "expected a string, got \(node.kindName)\(hint)")
            return nil
        }
        return text
    }

    /// Strings and dates (unquoted ISO 8601 timestamps) alike, as their text.
    func text(_ node: YAMLNode, _ path: String) -> String? {
        if case .scalar(let text, _, .timestamp) = node.kind { return text }
        return string(node, path)
    }

    func int(_ node: YAMLNode, _ path: String) -> Int? {
        guard case .scalar(let text, _, .integer) = node.kind else {
            report(.wrongType, node, path, "expected an integer, got \(node.kindName)")
            return nil
        }
        guard let value = Self.parseInt(text) else {
            report(.invalidValue, node, path, "integer \(text) is out of range")
            return nil
        }
        return value
    }

    func double(_ node: YAMLNode, _ path: String) -> Double? {
        guard case .scalar(let text, _, let tag) = node.kind, tag == .integer || tag == .float else {
            report(.wrongType, node, path, "expected a number, got \(node.kindName)")
            return nil
        }
        if tag == .integer, let i = Self.parseInt(text) { return Double(i) }
        let lowered = text.lowercased().replacingOccurrences(of: "_", with: "")
        guard let value = Double(lowered), value.isFinite else {
            report(.invalidValue, node, path, "\(text) is not a finite number")
            return nil
        }
        return value
    }

    func bool(_ node: YAMLNode, _ path: String) -> Bool? {
        guard case .scalar(let text, _, .boolean) = node.kind else {
            report(.wrongType, node, path, "expected true or false, got \(node.kindName)")
            return nil
        }
        switch text.lowercased() {
        case "true", "yes", "on", "y": return true
        default: return false
        }
    }

    func stringList(_ node: YAMLNode, _ path: String) -> [String]? {
        guard let items = sequence(node, path) else { return nil }
        var out: [String] = []
        var ok = true
        for (i, item) in items.enumerated() {
            if let s = string(item, "\(path)[\(i)]") { out.append(s) } else { ok = false }
        }
        return ok ? out : nil
    }

    func enumValue<E: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ path: String, _: E.Type) -> E?
    where E.RawValue == String {
        guard let text = string(node, path) else { return nil }
        if let value = E(rawValue: text) { return value }
        let options = E.allCases.map(\.rawValue)
        let hint = Suggest.closest(to: text.lowercased(), in: options).map { " (did you mean '\($0)'?)" } ?? ""
        report(.invalidValue, node, path, "'\(text)' is not one of \(options.joined(separator: ", "))\(hint)")
        return nil
    }

    func enumList<E: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ path: String, _ type: E.Type) -> [E]?
    where E.RawValue == String {
        guard let items = sequence(node, path) else { return nil }
        var out: [E] = []
        var ok = true
        for (i, item) in items.enumerated() {
            if let v = enumValue(item, "\(path)[\(i)]", type) { out.append(v) } else { ok = false }
        }
        return ok ? out : nil
    }

    func stringMap(_ node: YAMLNode, _ path: String) -> [String: String]? {
        guard case .mapping(let pairs) = node.kind else {
            report(.wrongType, node, path, "expected a mapping of strings, got \(node.kindName)")
            return nil
        }
        var out: [String: String] = [:]
        var ok = true
        for (key, value) in pairs {
            guard let k = string(key, path) else {
                ok = false
                continue
            }
            if let v = string(value, join(path, k)) { out[k] = v } else { ok = false }
        }
        return ok ? out : nil
    }

    /// Any YAML value as JSON (for scope fields, defaults and condition operands).
    func json(_ node: YAMLNode, _ path: String) -> JSONValue? {
        switch node.kind {
        case .scalar(let text, _, let tag):
            switch tag {
            case .string, .timestamp: return .string(text)
            case .null: return .null
            case .boolean: return bool(node, path).map(JSONValue.bool)
            case .integer: return int(node, path).map { .integer(Int64($0)) }
            case .float: return double(node, path).map(JSONValue.number)
            }
        case .sequence(let items):
            var out: [JSONValue] = []
            for (i, item) in items.enumerated() {
                guard let v = json(item, "\(path)[\(i)]") else { return nil }
                out.append(v)
            }
            return .array(out)
        case .mapping(let pairs):
            var out: [String: JSONValue] = [:]
            for (key, value) in pairs {
                guard let k = string(key, path), let v = json(value, join(path, k)) else { return nil }
                out[k] = v
            }
            return .object(out)
        }
    }

    static func parseInt(_ text: String) -> Int? {
        var t = text.replacingOccurrences(of: "_", with: "")
        var sign = 1
        if t.hasPrefix("-") {
            sign = -1
            t.removeFirst()
        } else if t.hasPrefix("+") {
            t.removeFirst()
        }
        let value: Int?
        if t.hasPrefix("0x") {
            value = Int(t.dropFirst(2), radix: 16)
        } else if t.hasPrefix("0o") {
            value = Int(t.dropFirst(2), radix: 8)
        } else if t.hasPrefix("0b") {
            value = Int(t.dropFirst(2), radix: 2)
        } else if t.count > 1, t.hasPrefix("0") {
            value = Int(t.dropFirst(1), radix: 8)  // YAML 1.1 octal
        } else {
            value = Int(t)
        }
        return value.map { $0 * sign }
    }
}

/// The fields of one mapping, by key.
struct Fields {
    let node: YAMLNode
    let path: String
    var values: [String: (key: YAMLNode, value: YAMLNode)] = [:]

    init(node: YAMLNode, path: String) {
        self.node = node
        self.path = path
    }

    subscript(key: String) -> YAMLNode? {
        guard let v = values[key]?.value else { return nil }
        return v
    }

    /// The value node, or `nil` when absent or explicitly null.
    func present(_ key: String) -> YAMLNode? {
        guard let v = self[key], !v.isNull else { return nil }
        return v
    }

    func keyNode(_ key: String) -> YAMLNode? { values[key]?.key }

    func path(_ key: String) -> String { join(path, key) }
}

func join(_ path: String, _ key: String) -> String {
    path.isEmpty ? key : "\(path).\(key)"
}

extension DecodeContext {
    /// A required field: reports it missing (at the mapping) when absent or null.
    func require(_ fields: Fields, _ key: String) -> YAMLNode? {
        guard let node = fields[key] else {
            report(.missingField, fields.node, fields.path, "missing required field '\(key)'")
            return nil
        }
        if node.isNull {
            report(.missingField, node, fields.path(key), "'\(key)' must not be null")
            return nil
        }
        return node
    }
}
