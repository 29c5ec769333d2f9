import AgentSafeCore
import Foundation

/// `agent-safe.yaml`: where the catalogue, policies and inventory are, and project-wide settings.
/// A superset of upstream's keys (§3.1); paths are relative to the file's directory.
public struct ProjectConfig: Sendable {
    /// The file this came from; `nil` for built-in defaults.
    public var path: String?
    public var registry: String?
    public var policies: String?
    public var inventory: String?
    public var auditLog: String?
    /// The HMAC key (upstream `signing_key`). Never printed: ``Secret`` redacts itself.
    public var signingKey: Secret?
    public var issuer: String
    public var rateLimit: RateLimitSettings?
    public var cumulativeRisk: CumulativeRiskSettings?
    public var unknownKeys: UnknownKeyPolicy
    public var duplicateRuleNames: UnknownKeyPolicy
    public var risk: RiskSettings
    /// `tickets:` (keys, algorithm, ttl, audience); `nil` when absent.
    public var tickets: TicketsConfig?
    /// `identity:` (keys and limits of identity tokens); `nil` when absent.
    public var identity: IdentityConfig?
    public var state = StateConfig()
    /// `audit:`; `nil` when absent (upstream's `audit_log` alone still names the log).
    public var audit: AuditConfig?
    public var server = ServerConfig()
    /// `approvals:` (always present: defaults apply).
    public var approvals = ApprovalsConfig()
    /// `dlp:`; `nil` when absent (no scanning).
    public var dlp: DLPConfig?
    public var changeTickets = ChangeTicketsConfig()
    /// `executors:` and `vault:` (the runner).
    public var executors = ExecutorsConfig()
    public var vault: VaultConfig?
    /// Line of `signing_key` (for errors about it).
    public var signingKeyLine = 1

    public init(path: String? = nil) {
        self.path = path
        self.issuer = "agent-safe"
        self.unknownKeys = .error
        self.duplicateRuleNames = .error
        self.risk = .none
    }

    static let keys = [
        "registry", "policies", "inventory", "audit_log", "signing_key", "issuer", "rate_limit", "cumulative_risk",
        "compat", "risk", "tickets", "identity", "state", "audit", "server", "approvals", "dlp", "change_tickets",
        "executors", "vault",
    ]

    /// Finds `agent-safe.yaml` in `directory` or the nearest parent (upstream's discovery rule).
    public static func discover(from directory: String) -> String? {
        var url = URL(fileURLWithPath: directory).standardizedFileURL
        while true {
            let candidate = url.appendingPathComponent("agent-safe.yaml").path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            let parent = url.deletingLastPathComponent()
            if parent.path == url.path { return nil }
            url = parent
        }
    }

    /// Loads and validates a config file.
    public static func load(path: String, displayPath: String? = nil) throws(ConfigLoadError) -> ProjectConfig {
        let shown = displayPath ?? path
        var config = ProjectConfig(path: path)
        guard let root = try YAMLFileReader().read(path: path, displayPath: shown) else { return config }
        // compat.unknown_keys decides how the rest of this very file is read, so read it first.
        if case .mapping(let pairs) = root.kind,
            let compat = pairs.first(where: { $0.key.scalarText == "compat" })?.value,
            case .mapping(let cp) = compat.kind,
            let uk = cp.first(where: { $0.key.scalarText == "unknown_keys" })?.value.scalarText,
            let policy = UnknownKeyPolicy(rawValue: uk)
        {
            config.unknownKeys = policy
        }
        let ctx = DecodeContext(file: shown, unknownKeys: config.unknownKeys)
        config.decode(root, ctx: ctx)
        if ctx.hasErrors { throw ConfigLoadError(ctx.diagnostics) }
        config.warnings = ctx.diagnostics
        return config
    }

    /// Warnings found while loading (unknown keys under `compat.unknown_keys: warn`).
    public var warnings: [ConfigDiagnostic] = []

    /// Resolves a configured path against the config file's directory.
    public func resolve(_ relative: String) -> String {
        if relative.hasPrefix("/") { return relative }
        let base = path.map { URL(fileURLWithPath: $0).deletingLastPathComponent() }
            ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        return base.appendingPathComponent(relative).standardizedFileURL.path
    }

    mutating func decode(_ root: YAMLNode, ctx: DecodeContext) {
        guard let f = ctx.mapping(root, "", allowed: Self.keys) else { return }
        registry = f.present("registry").flatMap { ctx.string($0, "registry") }
        policies = f.present("policies").flatMap { ctx.string($0, "policies") }
        inventory = f.present("inventory").flatMap { ctx.string($0, "inventory") }
        auditLog = f.present("audit_log").flatMap { ctx.string($0, "audit_log") }
        if let n = f.present("signing_key"), let key = ctx.string(n, "signing_key") {
            if key.isEmpty { ctx.report(.invalidValue, n, "signing_key", "must not be empty") }
            signingKey = Secret(key)
            signingKeyLine = n.line
        }
        if let n = f["issuer"] {
            issuer = ctx.string(n, "issuer") ?? issuer
        }
        if let n = f.present("compat"),
            let cf = ctx.mapping(n, "compat", allowed: ["unknown_keys", "duplicate_rule_names"])
        {
            if let u = cf.present("unknown_keys") {
                unknownKeys = ctx.enumValue(u, "compat.unknown_keys", UnknownKeyPolicy.self) ?? .error
            }
            if let d = cf.present("duplicate_rule_names") {
                duplicateRuleNames = ctx.enumValue(d, "compat.duplicate_rule_names", UnknownKeyPolicy.self) ?? .error
            }
        }
        if let n = f.present("rate_limit") { rateLimit = RateLimitSettings(n, ctx: ctx) }
        if let n = f.present("cumulative_risk") { cumulativeRisk = CumulativeRiskSettings(n, ctx: ctx) }
        if let n = f.present("risk") { risk = Self.riskSettings(n, ctx: ctx) }
        if let n = f.present("tickets") {
            decodeTickets(n, ctx: ctx)
            if let k = f.present("signing_key") {
                ctx.report(.invalidValue, k, "signing_key",
                           "signing_key is ignored when tickets: is set; put the key in tickets.keys (or remove tickets:)")
            }
        }
        if let n = f.present("identity") { decodeIdentity(n, ctx: ctx) }
        if let n = f.present("state") { decodeState(n, ctx: ctx) }
        if let n = f.present("audit") { decodeAudit(n, ctx: ctx) }
        if let n = f.present("server") { decodeServer(n, ctx: ctx) }
        if let n = f.present("approvals") { decodeApprovals(n, ctx: ctx) }
        if let n = f.present("dlp") { decodeDLP(n, ctx: ctx) }
        if let n = f.present("change_tickets") { decodeChangeTickets(n, ctx: ctx) }
        if let n = f.present("executors") { decodeExecutors(n, ctx: ctx) }
        if let n = f.present("vault") { decodeVault(n, ctx: ctx) }
        if audit?.path != nil, let n = f.present("audit_log") {
            ctx.report(.invalidValue, n, "audit_log", "both audit_log and audit.path are set; keep one (audit_log is upstream's alias)")
        }
    }

    /// The state directory: `state.directory`, else `.agent-safe` beside the config file (or in the working
    /// directory without one).
    public var stateDirectory: String { resolve(state.directory ?? ".agent-safe") }

    static func riskSettings(_ node: YAMLNode, ctx: DecodeContext) -> RiskSettings {
        var settings = RiskSettings()
        guard let f = ctx.mapping(node, "risk", allowed: ["off_hours", "delegation"]) else { return settings }
        if let n = f.present("off_hours"),
            let of = ctx.mapping(n, "risk.off_hours", allowed: ["business_hours", "raise"])
        {
            let raise = of.present("raise").flatMap { raiseValue($0, "risk.off_hours.raise", ctx: ctx) } ?? 1
            var windows: [TimeWindow] = []
            if let bn = ctx.require(of, "business_hours"), let items = ctx.sequence(bn, "risk.off_hours.business_hours") {
                let decoder = PolicyDecoder(ctx: ctx, zones: ZoneResolver())
                for (i, item) in items.enumerated() {
                    if let w = decoder.timeWindow(item, "risk.off_hours.business_hours[\(i)]") { windows.append(w) }
                }
                if items.isEmpty {
                    ctx.report(.invalidValue, bn, "risk.off_hours.business_hours", "at least one window is required")
                }
            }
            settings.offHours = .init(businessHours: windows, raise: raise)
        }
        if let n = f.present("delegation"),
            let df = ctx.mapping(n, "risk.delegation", allowed: ["min_depth", "raise"])
        {
            let raise = df.present("raise").flatMap { raiseValue($0, "risk.delegation.raise", ctx: ctx) } ?? 1
            if let mn = ctx.require(df, "min_depth"), let depth = ctx.int(mn, "risk.delegation.min_depth") {
                if depth < 1 {
                    ctx.report(.invalidValue, mn, "risk.delegation.min_depth", "must be 1 or more, got \(depth)")
                } else {
                    settings.delegation = .init(minDepth: depth, raise: raise)
                }
            }
        }
        return settings
    }

    static func raiseValue(_ node: YAMLNode, _ path: String, ctx: DecodeContext) -> Int? {
        guard let v = ctx.int(node, path) else { return nil }
        guard (1...3).contains(v) else {
            ctx.report(.invalidValue, node, path, "raise must be 1, 2 or 3 risk classes, got \(v)")
            return nil
        }
        return v
    }
}

/// A secret string whose descriptions never show it.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

/// Upstream `rate_limit` (§7.1) plus aggregation. Validated here; enforced by the sidecar, which keeps the state.
public struct RateLimitSettings: Sendable, Hashable {
    public var maxRequests = 100
    public var windowSeconds = 60.0
    public var circuitBreakerThreshold = 0
    public var circuitBreakerWindowSeconds = 60.0
    public var circuitBreakerCooldownSeconds = 300.0
    /// Whose window a request counts in: the root of a verified delegation chain (the default, as the risk ledger:
    /// an orchestrator can't multiply its rate by acting through sub-agents) or the caller itself (upstream).
    /// Without delegation the two are the same.
    public var aggregate = CumulativeRiskSettings.Aggregate.root

    init(_ node: YAMLNode, ctx: DecodeContext) {
        let keys = ["max_requests", "window_seconds", "circuit_breaker_threshold", "circuit_breaker_window_seconds",
                    "circuit_breaker_cooldown_seconds", "aggregate"]
        guard let f = ctx.mapping(node, "rate_limit", allowed: keys) else { return }
        if let n = f.present("aggregate"), let v = ctx.enumValue(n, f.path("aggregate"), CumulativeRiskSettings.Aggregate.self) {
            aggregate = v
        }
        if let n = f.present("max_requests"), let v = ctx.int(n, f.path("max_requests")) {
            if v < 1 { ctx.report(.invalidValue, n, f.path("max_requests"), "must be at least 1") } else { maxRequests = v }
        }
        if let n = f.present("circuit_breaker_threshold"), let v = ctx.int(n, f.path("circuit_breaker_threshold")) {
            if v < 0 { ctx.report(.invalidValue, n, f.path("circuit_breaker_threshold"), "must be 0 or more") } else {
                circuitBreakerThreshold = v
            }
        }
        for (key, kp) in [("window_seconds", \RateLimitSettings.windowSeconds),
                          ("circuit_breaker_window_seconds", \.circuitBreakerWindowSeconds),
                          ("circuit_breaker_cooldown_seconds", \.circuitBreakerCooldownSeconds)]
        {
            guard let n = f.present(key), let v = ctx.double(n, f.path(key)) else { continue }
            if v <= 0 { ctx.report(.invalidValue, n, f.path(key), "must be greater than 0") } else { self[keyPath: kp] = v }
        }
    }
}

/// Upstream `cumulative_risk` (§7.3) plus aggregation, decay and a memory bound (docs/risk.md). Enforced by the
/// sidecar's risk ledger.
public struct CumulativeRiskSettings: Sendable, Hashable {
    /// Who a score belongs to.
    public enum Aggregate: String, Sendable, Hashable, CaseIterable {
        /// The root principal of a verified delegation chain (the caller itself when direct): an orchestrator
        /// can't split risk across sub-agents.
        case root
        /// The caller's own agent id (upstream).
        case caller
    }

    public var windowSeconds = 3600.0
    public var riskScores: [RiskClass: Int] = [.low: 1, .medium: 5, .high: 15, .critical: 50]
    public var escalationThreshold = 30
    public var denyThreshold = 75
    public var aggregate = Aggregate.root
    /// Count only the principal's earlier actions on the same target.
    public var perTarget = false
    /// When set, an entry's score halves every this many seconds (still dropped after the window).
    public var halfLifeSeconds: Double?
    /// Principals tracked at most; at the bound, new principals are refused (fail closed), never an active one
    /// forgotten.
    public var maxPrincipals = 100_000

    public init() {}

    init(_ node: YAMLNode, ctx: DecodeContext) {
        let keys = ["window_seconds", "risk_scores", "escalation_threshold", "deny_threshold", "aggregate", "per_target",
                    "half_life_seconds", "max_principals"]
        guard let f = ctx.mapping(node, "cumulative_risk", allowed: keys) else { return }
        if let n = f.present("window_seconds"), let v = ctx.double(n, f.path("window_seconds")) {
            if v <= 0 || v > 30 * 86_400 {
                ctx.report(.invalidValue, n, f.path("window_seconds"), "must be greater than 0 and at most 2592000 (30 days)")
            } else { windowSeconds = v }
        }
        if let n = f.present("risk_scores"),
            let sf = ctx.mapping(n, f.path("risk_scores"), allowed: RiskClass.allCases.map(\.rawValue))
        {
            // Stricter than upstream: classes not given keep their default instead of scoring 0.
            for risk in RiskClass.allCases {
                guard let v = sf.present(risk.rawValue), let score = ctx.int(v, sf.path(risk.rawValue)) else { continue }
                if score < 0 || score > 1_000_000 {
                    ctx.report(.invalidValue, v, sf.path(risk.rawValue), "must be 0 … 1000000")
                } else {
                    riskScores[risk] = score
                }
            }
        }
        if let n = f.present("escalation_threshold"), let v = ctx.int(n, f.path("escalation_threshold")) {
            if v < 1 { ctx.report(.invalidValue, n, f.path("escalation_threshold"), "must be at least 1") } else { escalationThreshold = v }
        }
        if let n = f.present("deny_threshold"), let v = ctx.int(n, f.path("deny_threshold")) {
            if v < 1 { ctx.report(.invalidValue, n, f.path("deny_threshold"), "must be at least 1") } else { denyThreshold = v }
        }
        if denyThreshold < escalationThreshold {
            ctx.report(.invalidValue, f["deny_threshold"] ?? node, f.path("deny_threshold"),
                       "deny_threshold \(denyThreshold) is below escalation_threshold \(escalationThreshold)")
        }
        if let n = f.present("aggregate"), let v = ctx.enumValue(n, f.path("aggregate"), Aggregate.self) { aggregate = v }
        if let n = f.present("per_target"), let v = ctx.bool(n, f.path("per_target")) { perTarget = v }
        if let n = f.present("half_life_seconds"), let v = ctx.double(n, f.path("half_life_seconds")) {
            if v <= 0 { ctx.report(.invalidValue, n, f.path("half_life_seconds"), "must be greater than 0") } else { halfLifeSeconds = v }
        }
        if let n = f.present("max_principals"), let v = ctx.int(n, f.path("max_principals")) {
            if (100...10_000_000).contains(v) { maxPrincipals = v } else {
                ctx.report(.invalidValue, n, f.path("max_principals"), "must be 100 … 10000000, got \(v)")
            }
        }
    }
}
