import AgentSafeAudit
import AgentSafeConfig
import AgentSafeCore
import AgentSafeTickets
import ArgumentParser
import Foundation

/// The configured audit log, opened for the length of one command.
final class AuditContext {
    let log: AuditLog
    let redactor: AuditRedactor
    let actions: [String: ActionDefinition]

    /// Opens the log named by `--audit-log`, `audit.path` or upstream's `audit_log`; `nil` when none is configured.
    static func open(_ config: ProjectConfig, override: String? = nil, actions: [ActionDefinition] = []) throws -> AuditContext? {
        let cwd = FileManager.default.currentDirectoryPath
        guard let path = override.map({ $0.hasPrefix("/") ? $0 : cwd + "/" + $0 }) ?? config.auditPath else { return nil }
        let a = config.audit ?? AuditConfig()
        var key: SigningKey?
        if let source = a.checkpointKey {
            do {
                key = try KeyFile.load(source: source.source)
            } catch {
                let file = config.path.map { CatalogueLoader.display($0, cwd: cwd) } ?? "agent-safe.yaml"
                throw Console.fail("\(file):\(source.line):\(source.column): \(source.fieldPath): \(error.description)")
            }
        }
        let options = AuditLogOptions(
            path: path, durability: AuditDurability(rawValue: a.durability) ?? .batch, rotateBytes: a.rotateBytes,
            rotateSeconds: a.rotateSeconds, checkpointEveryEvents: a.checkpointEveryEvents,
            checkpointEverySeconds: a.checkpointEverySeconds, checkpointKey: key)
        do {
            let log = try AuditLog(options)
            let redactor = try AuditRedactor.loadOrCreate(
                path: a.redactionKeyFile ?? config.stateDirectory + "/audit-redaction.key")
            if let recovered = log.recovered {
                Console.error("warning: \(path): recovered from an unclean shutdown (recovery event seq \(recovered.seq))")
            }
            return AuditContext(log: log, redactor: redactor,
                                actions: Dictionary(actions.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }))
        } catch {
            throw Console.fail("audit log \(path): \(error)")
        }
    }

    private init(log: AuditLog, redactor: AuditRedactor, actions: [String: ActionDefinition]) {
        self.log = log
        self.redactor = redactor
        self.actions = actions
    }

    /// Appends a decision and waits until it is durable ("audit before act": nothing is printed before this).
    func record(_ decision: Decision, request: DecisionRequest, ticket: ExecutionTicket?) throws {
        let params = redactor.redact(request.params, action: actions[request.action])
        do {
            _ = try log.append(AuditEvent.decision(decision, request: request, params: params, jti: ticket?.jti))
        } catch {
            throw Console.fail("audit append failed, decision withheld: \(error)")
        }
    }

    func append(_ event: AuditEvent) throws {
        do {
            _ = try log.append(event)
        } catch {
            throw Console.fail("audit append failed: \(error)")
        }
    }

    func close() { log.close() }
}
