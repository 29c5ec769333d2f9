import AgentSafeCore
import AgentSafeTickets
import Foundation

/// Where a key comes from, with the place in agent-safe.yaml that named it (for errors).
public struct KeySource: Sendable, Hashable {
    /// A path (resolved against the config file's directory) or `env:NAME`.
    public var source: String
    public var line: Int
    public var column: Int
    public var fieldPath: String
}

/// `tickets:` in agent-safe.yaml.
public struct TicketsConfig: Sendable, Hashable {
    public var algorithm: JWSAlgorithm?
    public var keys: [KeySource] = []
    public var ttlSeconds: Int64 = 300
    public var audience: String?
    public var leewaySeconds: Int64 = 30
}

/// `identity:` in agent-safe.yaml.
public struct IdentityConfig: Sendable, Hashable {
    /// How the sidecar learns who calls: `open` (caller in the body; development), `token` (a Bearer identity
    /// token is required), `bound` (one configured identity).
    public var mode = "open"
    /// The identity of `bound` mode.
    public var boundAgentID: String?
    public var boundRoles: [String] = []
    public var boundGroups: [String] = []
    public var keys: [KeySource] = []
    public var maxDelegationDepth = 3
    public var ttlSeconds: Int64 = 3600
    public var audience: String?
}

/// `state:` in agent-safe.yaml: where the sidecar keeps its SQLite state (consumed tickets, …).
public struct StateConfig: Sendable, Hashable {
    public var directory: String?
    public var durability: String = "normal"
}

extension ProjectConfig {
    mutating func decodeTickets(_ node: YAMLNode, ctx: DecodeContext) {
        let keys = ["algorithm", "keys", "ttl_seconds", "audience", "leeway_seconds"]
        guard let f = ctx.mapping(node, "tickets", allowed: keys) else { return }
        var t = TicketsConfig()
        if let n = f.present("algorithm") { t.algorithm = ctx.enumValue(n, "tickets.algorithm", JWSAlgorithm.self) }
        if let n = ctx.require(f, "keys") { t.keys = keySources(n, "tickets.keys", ctx: ctx) }
        if let n = f.present("ttl_seconds"), let v = ctx.int(n, "tickets.ttl_seconds") {
            if v < 1 || Int64(v) > TicketSettings.maximumTTL {
                ctx.report(.invalidValue, n, "tickets.ttl_seconds", "must be between 1 and \(TicketSettings.maximumTTL), got \(v)")
            } else {
                t.ttlSeconds = Int64(v)
            }
        }
        if let n = f.present("audience"), let v = ctx.string(n, "tickets.audience") {
            if v.isEmpty { ctx.report(.invalidValue, n, "tickets.audience", "must not be empty") } else { t.audience = v }
        }
        if let n = f.present("leeway_seconds"), let v = ctx.int(n, "tickets.leeway_seconds") {
            if !(0...300).contains(v) {
                ctx.report(.invalidValue, n, "tickets.leeway_seconds", "must be between 0 and 300, got \(v)")
            } else {
                t.leewaySeconds = Int64(v)
            }
        }
        tickets = t
    }

    mutating func decodeIdentity(_ node: YAMLNode, ctx: DecodeContext) {
        let keys = ["mode", "bound", "keys", "max_delegation_depth", "ttl_seconds", "audience"]
        guard let f = ctx.mapping(node, "identity", allowed: keys) else { return }
        var i = IdentityConfig()
        if let n = f.present("mode"), let v = ctx.string(n, "identity.mode") {
            if ["open", "token", "bound"].contains(v) { i.mode = v } else {
                ctx.report(.invalidValue, n, "identity.mode", "'\(v)' is not one of open, token, bound")
            }
        }
        if let n = f.present("bound"), let bf = ctx.mapping(n, "identity.bound", allowed: ["agent_id", "roles", "groups"]) {
            if let a = ctx.require(bf, "agent_id") { i.boundAgentID = ctx.string(a, "identity.bound.agent_id") }
            if let r = bf.present("roles") { i.boundRoles = ctx.stringList(r, "identity.bound.roles") ?? [] }
            if let g = bf.present("groups") { i.boundGroups = ctx.stringList(g, "identity.bound.groups") ?? [] }
        }
        if i.mode == "bound", i.boundAgentID == nil {
            ctx.report(.missingField, node, "identity.bound", "identity.mode: bound needs identity.bound.agent_id")
        }
        if let n = f.present("keys") { i.keys = keySources(n, "identity.keys", ctx: ctx) }
        if let n = f.present("max_delegation_depth"), let v = ctx.int(n, "identity.max_delegation_depth") {
            if !(0...16).contains(v) {
                ctx.report(.invalidValue, n, "identity.max_delegation_depth", "must be between 0 and 16, got \(v)")
            } else {
                i.maxDelegationDepth = v
            }
        }
        if let n = f.present("ttl_seconds"), let v = ctx.int(n, "identity.ttl_seconds") {
            if v < 1 { ctx.report(.invalidValue, n, "identity.ttl_seconds", "must be at least 1") } else { i.ttlSeconds = Int64(v) }
        }
        if let n = f.present("audience"), let v = ctx.string(n, "identity.audience") { i.audience = v }
        identity = i
    }

    mutating func decodeState(_ node: YAMLNode, ctx: DecodeContext) {
        guard let f = ctx.mapping(node, "state", allowed: ["directory", "durability"]) else { return }
        var s = StateConfig()
        if let n = f.present("directory") { s.directory = ctx.string(n, "state.directory") }
        if let n = f.present("durability"), let v = ctx.string(n, "state.durability") {
            if ["normal", "full"].contains(v) { s.durability = v } else {
                ctx.report(.invalidValue, n, "state.durability", "'\(v)' is not one of normal, full")
            }
        }
        state = s
    }

    func keySources(_ node: YAMLNode, _ path: String, ctx: DecodeContext) -> [KeySource] {
        guard let items = ctx.sequence(node, path) else { return [] }
        if items.isEmpty { ctx.report(.invalidValue, node, path, "at least one key is required") }
        var out: [KeySource] = []
        for (i, item) in items.enumerated() {
            guard let text = ctx.string(item, "\(path)[\(i)]") else { continue }
            let source = text.hasPrefix("env:") ? text : resolve(text)
            out.append(KeySource(source: source, line: item.line, column: item.column, fieldPath: "\(path)[\(i)]"))
        }
        return out
    }
}

/// The loaded key rings and settings for tickets and identity tokens.
public struct TokenSetup: Sendable {
    public var ticketRing: KeyRing
    public var ticketSettings: TicketSettings
    public var identityRing: KeyRing
    public var identitySettings: IdentitySettings

    public init(ticketRing: KeyRing, ticketSettings: TicketSettings, identityRing: KeyRing, identitySettings: IdentitySettings) {
        self.ticketRing = ticketRing
        self.ticketSettings = ticketSettings
        self.identityRing = identityRing
        self.identitySettings = identitySettings
    }

    /// `nil` when no keys are configured (no `tickets:` and no `signing_key`): decisions then carry no ticket.
    public static func load(_ config: ProjectConfig, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigLoadError) -> TokenSetup?
    {
        let file = config.path.map { CatalogueLoader.display($0, cwd: FileManager.default.currentDirectoryPath) }
            ?? "agent-safe.yaml"
        var diagnostics: [ConfigDiagnostic] = []
        func ring(_ sources: [KeySource], algorithm: JWSAlgorithm?) -> KeyRing? {
            var keys: [SigningKey] = []
            for s in sources {
                do {
                    let key = try KeyFile.load(source: s.source, environment: environment)
                    if let algorithm, key.algorithm != algorithm {
                        diagnostics.append(ConfigDiagnostic(
                            code: .invalidValue, file: file, line: s.line, column: s.column, fieldPath: s.fieldPath,
                            message: "key is \(key.algorithm.rawValue) but tickets.algorithm is \(algorithm.rawValue)"))
                        continue
                    }
                    keys.append(key)
                } catch {
                    diagnostics.append(ConfigDiagnostic(code: .invalidValue, file: file, line: s.line, column: s.column,
                                                        fieldPath: s.fieldPath, message: error.description))
                }
            }
            do {
                return try KeyRing(keys)
            } catch {
                diagnostics.append(ConfigDiagnostic(code: .invalidValue, file: file, line: sources.first?.line ?? 1,
                                                    column: 1, fieldPath: "keys", message: error.description))
                return nil
            }
        }
        var ticketRing: KeyRing?
        var ticketSettings = TicketSettings(issuer: config.issuer)
        if let t = config.tickets {
            ticketRing = ring(t.keys, algorithm: t.algorithm)
            if let r = ticketRing, r.signer == nil, diagnostics.isEmpty {
                diagnostics.append(ConfigDiagnostic(code: .invalidValue, file: file, line: t.keys.first?.line ?? 1,
                                                    column: t.keys.first?.column ?? 1, fieldPath: "tickets.keys[0]",
                                                    message: "the first ticket key must be a private key (it signs)"))
            }
            ticketSettings = TicketSettings(issuer: config.issuer, audience: t.audience, ttlSeconds: t.ttlSeconds,
                                            leewaySeconds: t.leewaySeconds)
        } else if let secret = config.signingKey {
            // Upstream: `signing_key` is an HS256 key, its UTF-8 bytes, for tickets and identities alike.
            do {
                ticketRing = try KeyRing([SigningKey.hmac(Array(secret.value.utf8))])
            } catch {
                diagnostics.append(ConfigDiagnostic(code: .invalidValue, file: file, line: config.signingKeyLine,
                                                    column: 1, fieldPath: "signing_key", message: error.description))
            }
        }
        var identityRing = ticketRing
        var identitySettings = IdentitySettings(issuer: config.issuer)
        if let i = config.identity {
            if !i.keys.isEmpty { identityRing = ring(i.keys, algorithm: nil) }
            identitySettings = IdentitySettings(issuer: config.issuer, audience: i.audience, ttlSeconds: i.ttlSeconds,
                                                maxDelegationDepth: i.maxDelegationDepth)
        }
        if !diagnostics.isEmpty { throw ConfigLoadError(diagnostics) }
        guard let ticketRing else { return nil }
        return TokenSetup(ticketRing: ticketRing, ticketSettings: ticketSettings, identityRing: identityRing ?? ticketRing,
                          identitySettings: identitySettings)
    }

    public var issuer: TicketIssuer? { try? TicketIssuer(ring: ticketRing, settings: ticketSettings) }
    public var identity: IdentityAuthority { IdentityAuthority(ring: identityRing, settings: identitySettings) }
}
