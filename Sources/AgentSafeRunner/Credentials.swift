import AgentSafeCore
import Foundation

/// Where credentials come from (docs/executors.md). A vault hands out a credential for one execution, scoped by
/// the action's rendered `credentials` block, expiring no later than the ticket.
public protocol CredentialVault: Sendable {
    /// `file` or `env`.
    var name: String { get }
    func credential(type: String, scope: [String: JSONValue], ttlSeconds: Int, notAfter: Int64, now: Int64) async throws
        -> Credential
    /// Called after the execution, whatever its outcome.
    func revoke(_ credential: Credential) async
}

public struct CredentialError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }
}

/// Renders `{{ params.x }}` in an action's credential scope, refusing any value that could widen it.
///
/// A substituted value must be non-empty, at most 256 bytes, and free of wildcards (`*`, `?`, `[`, `]`),
/// template and policy-variable syntax (`{`, `}`, `$`), list separators (`,`), whitespace and control characters,
/// and `..`. An ARN separator `:` is allowed only when the placeholder is its whole string (a value that is a
/// whole ARN, like a policy ARN, can't jump into another field of a template's ARN), and a `/` only when the
/// placeholder ends its string (it can then only narrow a resource path). A reference to a param the request
/// doesn't have is an error, not left verbatim.
public enum ScopeTemplate {
    public static func render(_ fields: [String: JSONValue], params: [String: JSONValue]) throws(CredentialError) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for (key, value) in fields { out[key] = try render(value, params: params, path: key) }
        return out
    }

    static func render(_ value: JSONValue, params: [String: JSONValue], path: String) throws(CredentialError) -> JSONValue {
        switch value {
        case .string(let s): return .string(try render(string: s, params: params, path: path))
        case .array(let items):
            var out: [JSONValue] = []
            for (i, item) in items.enumerated() { out.append(try render(item, params: params, path: "\(path)[\(i)]")) }
            return .array(out)
        case .object(let o):
            var out: [String: JSONValue] = [:]
            for (k, v) in o { out[k] = try render(v, params: params, path: "\(path).\(k)") }
            return .object(out)
        default: return value
        }
    }

    static func render(string: String, params: [String: JSONValue], path: String) throws(CredentialError) -> String {
        var result = ""
        var rest = Substring(string)
        while let open = rest.range(of: "{{") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw CredentialError("invalid_template", "credentials.fields.\(path): unclosed '{{'")
            }
            let expression = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            guard expression.hasPrefix("params."), expression.count > 7 else {
                throw CredentialError("invalid_template", "credentials.fields.\(path): only {{ params.<name> }} is supported, got '{{ \(expression) }}'")
            }
            let name = String(expression.dropFirst(7))
            let atEnd = rest[close.upperBound...].isEmpty
            let whole = atEnd && result.isEmpty && rest.startIndex == open.lowerBound
            let text: String
            switch params[name] {
            case .string(let s)?: text = s
            case .integer(let i)?: text = String(i)
            case .bool(let b)?: text = b ? "true" : "false"
            case nil, .null?:
                throw CredentialError("missing_param", "credentials.fields.\(path) needs param '\(name)', which the request doesn't have")
            default:
                throw CredentialError("scope_widening", "credentials.fields.\(path): param '\(name)' must be a string, integer or boolean")
            }
            try check(text, name: name, path: path, slashAllowed: atEnd, colonAllowed: whole)
            result += text
            rest = rest[close.upperBound...]
        }
        result += rest
        return result
    }

    static func check(_ value: String, name: String, path: String, slashAllowed: Bool, colonAllowed: Bool) throws(CredentialError) {
        func refuse(_ why: String) -> CredentialError {
            CredentialError("scope_widening", "param '\(name)' can't be used in credentials.fields.\(path): \(why)")
        }
        guard !value.isEmpty else { throw refuse("it is empty") }
        guard value.utf8.count <= 256 else { throw refuse("it is longer than 256 bytes") }
        if value.contains("..") { throw refuse("it contains '..'") }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "*", "?", "[", "]": throw refuse("it contains the wildcard '\(scalar)'")
            case "{", "}", "$": throw refuse("it contains template or policy-variable syntax '\(scalar)'")
            case ":" where !colonAllowed: throw refuse("it contains the separator ':' inside a larger template")
            case ",": throw refuse("it contains the separator ','")
            case "/" where !slashAllowed: throw refuse("it contains '/' where a path separator would widen the scope")
            default:
                if scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7F {
                    throw refuse("it contains whitespace or a control character")
                }
            }
        }
    }
}

/// Makes a credential id: `cred-` and 24 hex digits.
func newCredentialID() -> String { EventID.random(prefix: "cred-", hexDigits: 24) }

/// Credentials from a JSON file that only the runner can read (mode 0600 or stricter is required):
/// `{"kubernetes": {"kubeconfig": "/path", "context": "prod"}, "aws": {"access_key_id": "…", "secret_access_key": "…"}}`.
/// Read at every resolution, so rotating the file needs no restart.
public struct FileVault: CredentialVault {
    public let name = "file"
    public let path: String

    public init(path: String) { self.path = path }

    public func credential(type: String, scope: [String: JSONValue], ttlSeconds: Int, notAfter: Int64, now: Int64) async throws
        -> Credential
    {
        var info = stat()
        guard stat(path, &info) == 0 else { throw CredentialError("vault_unavailable", "credential file \(path) can't be read") }
        guard info.st_mode & 0o077 == 0 else {
            throw CredentialError("vault_insecure", "credential file \(path) is readable by group or others (chmod 600 it)")
        }
        guard let data = FileManager.default.contents(atPath: path),
            case .object(let root)? = try? JSONValue.parse(String(decoding: data, as: UTF8.self))
        else { throw CredentialError("vault_unavailable", "credential file \(path) is not a JSON object") }
        guard case .object(let entry)? = root[type] else {
            throw CredentialError("no_credential", "credential file \(path) has no entry for type '\(type)'")
        }
        var secret: [String: String] = [:]
        for (k, v) in entry { if case .string(let s) = v { secret[k] = s } }
        return Credential(id: newCredentialID(), type: type, scope: scope, secret: secret,
                          expiresAt: min(notAfter, now + Int64(max(1, ttlSeconds))))
    }

    public func revoke(_ credential: Credential) async {}
}

/// Credentials from environment variables `<prefix><TYPE>_<FIELD>` (upper case, `-` → `_`), e.g.
/// `AGENT_SAFE_CRED_AWS_ACCESS_KEY_ID`, `AGENT_SAFE_CRED_KUBERNETES_KUBECONFIG`. Only variables with the prefix
/// are read: the process's ambient AWS_* or KUBECONFIG never are.
public struct EnvironmentVault: CredentialVault {
    public let name = "env"
    public let prefix: String
    let environment: [String: String]

    public init(prefix: String = "AGENT_SAFE_CRED_", environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.prefix = prefix
        self.environment = environment
    }

    public func credential(type: String, scope: [String: JSONValue], ttlSeconds: Int, notAfter: Int64, now: Int64) async throws
        -> Credential
    {
        let start = prefix + type.uppercased().replacingOccurrences(of: "-", with: "_") + "_"
        var secret: [String: String] = [:]
        for (k, v) in environment where k.hasPrefix(start) && !v.isEmpty {
            secret[k.dropFirst(start.count).lowercased()] = v
        }
        guard !secret.isEmpty else {
            throw CredentialError("no_credential", "no credential for type '\(type)': set \(start)<FIELD> variables")
        }
        return Credential(id: newCredentialID(), type: type, scope: scope, secret: secret,
                          expiresAt: min(notAfter, now + Int64(max(1, ttlSeconds))))
    }

    public func revoke(_ credential: Credential) async {}
}
