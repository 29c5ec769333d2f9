import AgentSafeCore
import Foundation

/// `executors:` (docs/executors.md): which executors run actions, and how.
public struct ExecutorsConfig: Sendable, Hashable {
    /// Executors that really run actions (`kubectl`, `aws`); none → only dry runs.
    public var enabled: [String] = []
    public var timeoutSeconds = 300
    public var maxTimeoutSeconds = 3600
    public var kubectlPath = "kubectl"
    public var kubectlAmbientCredentials = false
    public var awsEndpoint: String?
    public var awsAmbientCredentials = false

    public static let names = ["kubectl", "aws"]
    public init() {}
}

/// `vault:`: where credentials come from (`file` or `env`).
public struct VaultConfig: Sendable, Hashable {
    public var type = "env"
    public var path: String?
    public var envPrefix = "AGENT_SAFE_CRED_"
    public init() {}
}

extension ProjectConfig {
    mutating func decodeExecutors(_ node: YAMLNode, ctx: DecodeContext) {
        let keys = ["enabled", "timeout_seconds", "max_timeout_seconds", "kubectl", "aws"]
        guard let f = ctx.mapping(node, "executors", allowed: keys) else { return }
        var e = ExecutorsConfig()
        if let n = f.present("enabled"), let names = ctx.stringList(n, "executors.enabled") {
            for name in names where !ExecutorsConfig.names.contains(name) {
                let hint = Suggest.closest(to: name, in: ExecutorsConfig.names).map { " (did you mean '\($0)'?)" } ?? ""
                ctx.report(.invalidValue, n, "executors.enabled", "unknown executor '\(name)'\(hint); known: kubectl, aws")
            }
            e.enabled = names.filter(ExecutorsConfig.names.contains)
        }
        for (key, kp) in [("timeout_seconds", \ExecutorsConfig.timeoutSeconds), ("max_timeout_seconds", \.maxTimeoutSeconds)] {
            guard let n = f.present(key), let v = ctx.int(n, "executors.\(key)") else { continue }
            if (1...86_400).contains(v) { e[keyPath: kp] = v } else {
                ctx.report(.invalidValue, n, "executors.\(key)", "must be 1 … 86400 seconds, got \(v)")
            }
        }
        if let n = f.present("kubectl"), let kf = ctx.mapping(n, "executors.kubectl", allowed: ["path", "allow_ambient_credentials"]) {
            if let p = kf.present("path"), let v = ctx.string(p, "executors.kubectl.path") { e.kubectlPath = v }
            if let p = kf.present("allow_ambient_credentials"), let v = ctx.bool(p, "executors.kubectl.allow_ambient_credentials") {
                e.kubectlAmbientCredentials = v
            }
        }
        if let n = f.present("aws"), let af = ctx.mapping(n, "executors.aws", allowed: ["endpoint", "allow_ambient_credentials"]) {
            if let p = af.present("endpoint"), let v = ctx.string(p, "executors.aws.endpoint") {
                if let url = URL(string: v), ["http", "https"].contains(url.scheme ?? ""), url.host != nil { e.awsEndpoint = v } else {
                    ctx.report(.invalidValue, p, "executors.aws.endpoint", "must be an http(s) URL")
                }
            }
            if let p = af.present("allow_ambient_credentials"), let v = ctx.bool(p, "executors.aws.allow_ambient_credentials") {
                e.awsAmbientCredentials = v
            }
        }
        executors = e
    }

    mutating func decodeVault(_ node: YAMLNode, ctx: DecodeContext) {
        guard let f = ctx.mapping(node, "vault", allowed: ["type", "path", "env_prefix"]) else { return }
        var v = VaultConfig()
        if let n = f.present("type"), let t = ctx.string(n, "vault.type") {
            if ["file", "env"].contains(t) { v.type = t } else {
                ctx.report(.invalidValue, n, "vault.type", "'\(t)' is not one of file, env")
            }
        }
        if let n = f.present("path"), let p = ctx.string(n, "vault.path") { v.path = resolve(p) }
        if let n = f.present("env_prefix"), let p = ctx.string(n, "vault.env_prefix") {
            if p.isEmpty { ctx.report(.invalidValue, n, "vault.env_prefix", "must not be empty") } else { v.envPrefix = p }
        }
        if v.type == "file", v.path == nil {
            ctx.report(.missingField, node, "vault.path", "a file vault needs 'path' (a JSON file, mode 0600)")
        }
        vault = v
    }
}
