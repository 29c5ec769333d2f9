import AgentSafeAudit
import AgentSafeConfig
import AgentSafeCore
import AgentSafeRunner
import AgentSafeServer
import AgentSafeTickets
import ArgumentParser
import Foundation

/// `agent-safe run TOKEN --params JSON`: the runner in this process (docs/executors.md).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Execute a ticket's action: verify and consume the ticket, then run it (or --dry-run).",
        discussion: """
            The params must be the ticket's (and --action/--target, when given). Executors, the credential vault and \
            timeouts come from executors: and vault: in agent-safe.yaml; with no executor enabled only --dry-run \
            works. The run is recorded in the configured audit log; while a sidecar holds that log, use its \
            POST /v1/execute instead. Exit codes: 0 success (or dry run), 1 failed or timed out, 2 refused, 64 usage.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The execution ticket (or @FILE, or - for standard input).")
    var token: String

    @Option(name: .long, help: "The request's params as a JSON object (must be the ticket's).")
    var params: String = "{}"

    @Option(name: .long, help: "Refuse a ticket for another action.")
    var action: String?

    @Option(name: .long, help: "Refuse a ticket for another target.")
    var target: String?

    @Flag(name: .customLong("dry-run"), help: "Show the calls that would be made; send nothing (the ticket is still consumed).")
    var dryRun = false

    @Option(name: .long, help: "Timeout in seconds (capped by executors.max_timeout_seconds).")
    var timeout: Int?

    @Option(name: [.customShort("o"), .long], help: "text or json.")
    var output: OutputFormat = .text

    func run() async throws {
        guard case .object(let paramValues)? = try? JSONValue.parse(params) else {
            throw Console.fail("--params must be a JSON object, e.g. '{\"namespace\":\"web\"}'")
        }
        let snapshot = try global.loadSnapshot()
        let config = snapshot.config
        let tokens = try TokenContext.load(config).required()
        let store = try TokenContext.load(config).replayStore()
        guard let auditPath = config.auditPath else {
            throw Console.fail("no audit log configured (audit.path or audit_log): runs are always recorded")
        }
        let a = config.audit ?? AuditConfig()
        let log: AuditLog
        do {
            log = try AuditLog(AuditLogOptions(path: auditPath, durability: AuditDurability(rawValue: a.durability) ?? .batch))
        } catch {
            throw Console.fail("\(auditPath): \(error) — if a sidecar is running, use its POST /v1/execute instead")
        }
        defer { log.close() }
        let redactor = try? AuditRedactor.loadOrCreate(path: a.redactionKeyFile ?? config.stateDirectory + "/audit-redaction.key")
        let runner = Runner(
            actions: snapshot.actions, inventory: snapshot.inventory,
            verifier: TicketVerifier(ring: tokens.ticketRing, settings: tokens.ticketSettings, replayGuard: store),
            executors: RunnerSetup.executors(config), planners: RunnerSetup.planners(config), vault: RunnerSetup.vault(config),
            audit: log, redactor: redactor, defaultTimeout: .seconds(config.executors.timeoutSeconds),
            maxTimeout: .seconds(config.executors.maxTimeoutSeconds))
        let result = await runner.run(RunRequest(token: try readToken(token), params: paramValues, action: action, target: target,
                                                 dryRun: dryRun, timeout: timeout.map { .seconds($0) }))
        switch output {
        case .json: print(result.jsonValue.prettyText)
        case .text: print(Self.text(result))
        }
        guard result.auditRecorded else { throw Console.fail("the run could not be recorded in \(auditPath)") }
        switch result.status {
        case .success, .dryRun: return
        case .refused: throw ExitCode(2)
        case .failure, .timeout: throw ExitCode(1)
        }
    }

    static func text(_ r: RunResult) -> String {
        var lines = ["\(r.status.rawValue.uppercased())  \(r.code): \(r.message)"]
        if let action = r.action { lines.append("  action:   \(action) on \(r.target ?? "-") for \(r.caller ?? "-")") }
        if let executor = r.executor { lines.append("  executor: \(executor)  (\(String(format: "%.1f", r.durationMs)) ms)") }
        for p in r.prechecks {
            lines.append("  precheck: \(p.passed ? "ok  " : "FAIL") \(p.name)\(p.advisory ? " (advisory)" : ""): \(p.message)")
        }
        for call in r.output?.calls ?? [] { lines.append("  call:     \(call)") }
        for (field, change) in r.diff.sorted(by: { $0.key < $1.key }) {
            var b = "", a = ""
            (change["before"] ?? .null).appendCompact(to: &b)
            (change["after"] ?? .null).appendCompact(to: &a)
            lines.append("  changed:  \(field): \(b) → \(a)")
        }
        if let out = r.output?.output, !out.isEmpty, r.status != .dryRun { lines.append("  output:   " + out.prefix(2000)) }
        lines.append("  audit:    \(r.auditID)")
        return lines.joined(separator: "\n")
    }
}
