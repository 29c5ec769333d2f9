import AgentSafeAudit
import AgentSafeConfig
import AgentSafeControl
import AgentSafeRunner
import AgentSafeCore
import AgentSafeShipping
import AgentSafeStore
import AgentSafeTickets
import Foundation
import Logging
import Synchronization

/// What `agent-safe serve` (and the tests) start the sidecar with.
public struct SidecarConfiguration: Sendable {
    public var load: LoadOptions
    /// Overrides of `server.host` / `server.port`.
    public var host: String?
    public var port: Int?
    /// Binding a non-loopback address needs this.
    public var allowRemote: Bool
    /// With no ticket keys configured, create (once) and use an ES256 development key in the state directory.
    public var developmentKey: Bool
    public var logger: Logger

    public init(load: LoadOptions = LoadOptions(), host: String? = nil, port: Int? = nil, allowRemote: Bool = false,
                developmentKey: Bool = true, logger: Logger = Logger(label: "agent-safe")) {
        self.load = load
        self.host = host
        self.port = port
        self.allowRemote = allowRemote
        self.developmentKey = developmentKey
        self.logger = logger
    }
}

/// A configuration error at start-up or reload, with every located problem.
public struct SidecarStartError: Error, Sendable, CustomStringConvertible {
    public var messages: [String]
    public var description: String { messages.joined(separator: "\n") }
}

/// One loaded configuration: swapped as a whole on reload.
final class Runtime: Sendable {
    let snapshot: Snapshot
    let tokens: TokenSetup
    let issuer: TicketIssuer
    let ticketVerifierSettings: TicketSettings
    let actions: [String: ActionDefinition]
    let lint: [LintFinding]
    let loadedAt: Date
    let keyNote: String?
    /// The cumulative-risk ledger (`nil` without `cumulative_risk:` or chain rules), rebuilt from the state store
    /// on reload.
    let ledger: RiskLedger?
    let dlp: DLPSetup?
    /// Approver bearer tokens → approver names (`approvals.approvers`), read at load.
    let approverTokens: [(token: [UInt8], name: String)]
    /// The runner's executors (`executors.enabled`), the planners of dry runs, and the credential vault.
    let executors: [any Executor]
    let planners: [any Executor]
    let vault: (any CredentialVault)?

    init(snapshot: Snapshot, tokens: TokenSetup, keyNote: String?, ledger: RiskLedger? = nil) throws {
        self.snapshot = snapshot
        self.tokens = tokens
        guard let issuer = tokens.issuer else { throw SidecarStartError(messages: ["no ticket key able to sign"]) }
        self.issuer = issuer
        self.ticketVerifierSettings = tokens.ticketSettings
        self.actions = Dictionary(snapshot.actions.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.lint = PolicyLinter.lint(snapshot.engine)
        self.loadedAt = Date()
        self.keyNote = keyNote
        self.ledger = ledger
        self.dlp = DLPSetup(snapshot.config.dlp)
        self.executors = RunnerSetup.executors(snapshot.config)
        self.planners = RunnerSetup.planners(snapshot.config)
        self.vault = RunnerSetup.vault(snapshot.config)
        var approvers: [(token: [UInt8], name: String)] = []
        for a in snapshot.config.approvals.approvers {
            guard let data = FileManager.default.contents(atPath: a.tokenFile) else {
                throw SidecarStartError(messages: ["approvals.approvers '\(a.name)': cannot read token_file \(a.tokenFile)"])
            }
            let token = Array(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
            guard token.count >= 16 else {
                throw SidecarStartError(messages: ["approvals.approvers '\(a.name)': the token must be at least 16 bytes"])
            }
            approvers.append((token, a.name))
        }
        approverTokens = approvers
    }

    /// The approver a bearer token belongs to (constant-time comparison against every configured token).
    func approver(forToken given: [UInt8]) -> String? {
        var found: String?
        for (token, name) in approverTokens where ConstantTime.equal(given, token) { found = name }
        return found
    }

    static func load(_ configuration: SidecarConfiguration, controls: Controls?) throws -> Runtime {
        let (snapshot, tokens, note) = try loadParts(configuration)
        return try Runtime(snapshot: snapshot, tokens: tokens, keyNote: note,
                           ledger: controls?.makeLedger(snapshot, logger: configuration.logger))
    }

    static func loadParts(_ configuration: SidecarConfiguration) throws -> (Snapshot, TokenSetup, String?) {
        let snapshot: Snapshot
        switch Result(catching: { () throws(ConfigLoadError) in try CatalogueLoader.load(configuration.load) }) {
        case .success(let s): snapshot = s
        case .failure(let e): throw SidecarStartError(messages: e.diagnostics.map(\.description))
        }
        var tokens: TokenSetup?
        switch Result(catching: { () throws(ConfigLoadError) in try TokenSetup.load(snapshot.config) }) {
        case .success(let t): tokens = t
        case .failure(let e): throw SidecarStartError(messages: e.diagnostics.map(\.description))
        }
        var note: String?
        if tokens == nil {
            guard configuration.developmentKey else {
                throw SidecarStartError(messages: ["no ticket keys configured (tickets: or signing_key in agent-safe.yaml)"])
            }
            let path = snapshot.config.stateDirectory + "/dev-ticket-key.pem"
            if !FileManager.default.fileExists(atPath: path) {
                try FileManager.default.createDirectory(atPath: snapshot.config.stateDirectory,
                                                        withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let (contents, _) = KeyFile.generate(.es256)
                guard FileManager.default.createFile(atPath: path, contents: Data(contents.utf8),
                                                     attributes: [.posixPermissions: 0o600])
                else { throw SidecarStartError(messages: ["cannot write the development key \(path)"]) }
            }
            let key: SigningKey
            do { key = try KeyFile.load(source: path) } catch { throw SidecarStartError(messages: ["\(path): \(error)"]) }
            let ring = try KeyRing([key])
            let maxDepth = snapshot.config.identity?.maxDelegationDepth ?? 3
            tokens = TokenSetup(ticketRing: ring, ticketSettings: TicketSettings(issuer: snapshot.config.issuer), identityRing: ring,
                                identitySettings: IdentitySettings(issuer: snapshot.config.issuer, maxDelegationDepth: maxDepth))
            note = "development ticket key (ES256) at \(path); configure tickets: for production"
        }
        return (snapshot, tokens!, note)
    }
}

/// Who is calling, per `identity.mode`.
enum IdentityMode: String, Sendable {
    case open, token, bound
}

/// The sidecar's state: the current runtime (swapped atomically on reload), the audit log, the replay store.
final class Sidecar: Sendable {
    let configuration: SidecarConfiguration
    private let current: Mutex<Runtime>
    let audit: AuditLog
    let redactor: AuditRedactor
    let replay: SQLiteReplayStore
    let mode: IdentityMode
    let boundCaller: Caller?
    let adminToken: String?
    let maxBodyBytes: Int
    let strictFields: Bool
    let metrics: SidecarMetrics
    let logger: Logger
    let reloads = Mutex<Int>(0)
    /// The audit shippers (`audit.shippers`), woken after each durable append.
    let shippers: ShipperRunner?
    let controls: Controls

    var runtime: Runtime { current.withLock { $0 } }

    init(configuration: SidecarConfiguration, metrics: SidecarMetrics) throws {
        self.configuration = configuration
        self.logger = configuration.logger
        let (snapshot, tokens, note) = try Runtime.loadParts(configuration)
        let runtime: Runtime
        let config = snapshot.config
        self.metrics = metrics
        mode = IdentityMode(rawValue: config.identity?.mode ?? "open") ?? .open
        if mode == .bound, let id = config.identity?.boundAgentID {
            boundCaller = Caller(agentID: id, roles: config.identity?.boundRoles ?? [], groups: config.identity?.boundGroups ?? [])
        } else {
            boundCaller = nil
        }
        if let file = config.server.adminTokenFile {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw SidecarStartError(messages: ["server.admin_token_file: cannot read \(file)"])
            }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard token.utf8.count >= 16 else {
                throw SidecarStartError(messages: ["server.admin_token_file: the admin token must be at least 16 bytes"])
            }
            adminToken = token
        } else {
            adminToken = nil
        }
        maxBodyBytes = config.server.maxBodyBytes
        strictFields = config.server.strictFields
        let a = config.audit ?? AuditConfig()
        let auditPath = config.auditPath ?? config.stateDirectory + "/audit.jsonl"
        var checkpointKey: SigningKey?
        if let source = a.checkpointKey {
            do { checkpointKey = try KeyFile.load(source: source.source) } catch {
                throw SidecarStartError(messages: ["\(source.fieldPath): \(error)"])
            }
        }
        let loadedRedactor: AuditRedactor
        do {
            audit = try AuditLog(AuditLogOptions(
                path: auditPath, durability: AuditDurability(rawValue: a.durability) ?? .batch, rotateBytes: a.rotateBytes,
                rotateSeconds: a.rotateSeconds, checkpointEveryEvents: a.checkpointEveryEvents,
                checkpointEverySeconds: a.checkpointEverySeconds, checkpointKey: checkpointKey))
            loadedRedactor = try AuditRedactor.loadOrCreate(path: a.redactionKeyFile ?? config.stateDirectory + "/audit-redaction.key")
            redactor = loadedRedactor
            replay = try SQLiteReplayStore(path: config.stateDirectory + "/state.sqlite",
                                           durability: config.state.durability == "full" ? .full : .normal)
        } catch {
            throw SidecarStartError(messages: ["\(error)"])
        }
        do {
            shippers = try ShippingSetup.runner(config, auditPath: auditPath, logger: configuration.logger)
            let made = try Controls(config: config, redactor: loadedRedactor, logger: configuration.logger)
            controls = made
            runtime = try Runtime(snapshot: snapshot, tokens: tokens, keyNote: note,
                                  ledger: made.makeLedger(snapshot, logger: configuration.logger))
        } catch {
            audit.close()
            throw error
        }
        current = Mutex(runtime)
        _ = try? audit.append(configLoadedEvent(runtime, reason: "configuration loaded at start-up"))
    }

    func configLoadedEvent(_ runtime: Runtime, reason: String) -> AuditEvent {
        AuditEvent(timestamp: Instant(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)).iso8601,
                   eventType: .configLoaded, reason: reason,
                   context: .object(["digest": .string(runtime.snapshot.digest),
                                     "actions": .integer(Int64(runtime.snapshot.actions.count)),
                                     "rules": .integer(Int64(runtime.snapshot.engine.policy.rules.count)),
                                     "targets": .integer(Int64(runtime.snapshot.inventory.targets.count))]))
    }

    /// Loads the configuration again; swaps it in only if it is valid. Every attempt is audited.
    func reload(trigger: String) async throws -> Runtime {
        do {
            let loadStarted = Date().timeIntervalSince1970
            let fresh = try Runtime.load(configuration, controls: controls)
            let previous = current.withLock { runtime -> Runtime in
                let old = runtime
                runtime = fresh
                return old
            }
            // The new ledger was read back from the state store; what the old one recorded meanwhile (or records
            // for requests still in flight on it) is handed over. A minute of margin: each entry is copied once.
            if let old = previous.ledger, let new = fresh.ledger {
                old.forward(to: new, since: loadStarted - 60, now: Date().timeIntervalSince1970)
            }
            reloads.withLock { $0 += 1 }
            metrics.reloads(ok: true)
            _ = try? await audit.append(configLoadedEvent(fresh, reason: "configuration reloaded (\(trigger))"))
            logger.info("configuration reloaded", metadata: ["trigger": "\(trigger)", "digest": "\(fresh.snapshot.digest.prefix(12))"])
            return fresh
        } catch {
            metrics.reloads(ok: false)
            let messages = (error as? SidecarStartError)?.messages ?? ["\(error)"]
            _ = try? await audit.append(AuditEvent(
                timestamp: Instant(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)).iso8601, eventType: .configLoaded,
                reason: "reload rejected (\(trigger)); the previous configuration keeps serving",
                context: .object(["errors": .array(messages.prefix(50).map(JSONValue.string))])))
            logger.error("reload rejected", metadata: ["trigger": "\(trigger)", "errors": "\(messages.count)"])
            throw SidecarStartError(messages: messages)
        }
    }
}

/// Comparison of secrets whose time doesn't depend on where they differ.
enum ConstantTime {
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = a.count ^ b.count
        for i in 0..<min(a.count, b.count) { diff |= Int(a[i] ^ b[i]) }
        return diff == 0
    }
}
