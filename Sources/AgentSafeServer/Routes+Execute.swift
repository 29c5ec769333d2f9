import AgentSafeAudit
import AgentSafeConfig
import AgentSafeCore
import AgentSafeRunner
import AgentSafeShipping
import AgentSafeTickets
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /v1/execute` (docs/executors.md): runs a ticket's action through the runner. The ticket is the
/// authorization: it is verified and consumed, and the request's params (and action/target when given) must be
/// the ticket's. The answer is 200 with the run's `status` (`success`, `failure`, `timeout`, `refused`,
/// `dry_run`) and a stable `code`; the run is audited whatever its outcome.
extension Routes {
    static let executePaths: [String: [HTTPRequest.Method]] = ["/v1/execute": [.post]]

    func registerExecute(on router: Router<BasicRequestContext>) {
        router.post("/v1/execute") { request, _ in try await self.execute(request) }
    }

    func execute(_ request: Request) async throws -> Response {
        let o = try await readObject(request, limit: sidecar.maxBodyBytes)
        let f = try BodyFields(o, allowed: ["token", "params", "action", "target", "dry_run", "timeout_seconds"],
                               strict: sidecar.strictFields)
        let token = try f.string("token")
        let params = try f.object("params") ?? [:]
        let timeout = try f.integer("timeout_seconds")
        if let timeout, !(1...86_400).contains(timeout) {
            throw Problem.invalid("invalid_value", "'timeout_seconds' must be 1 … 86400")
        }
        let runtime = sidecar.runtime
        let config = runtime.snapshot.config
        let runner = Runner(
            actions: runtime.snapshot.actions, inventory: runtime.snapshot.inventory,
            verifier: TicketVerifier(ring: runtime.tokens.ticketRing, settings: runtime.ticketVerifierSettings, replayGuard: sidecar.replay),
            executors: runtime.executors, planners: runtime.planners, vault: runtime.vault, audit: sidecar.audit,
            redactor: sidecar.redactor, defaultTimeout: .seconds(config.executors.timeoutSeconds),
            maxTimeout: .seconds(config.executors.maxTimeoutSeconds))
        let result = await runner.run(RunRequest(
            token: token, params: params, action: try f.optionalString("action"), target: try f.optionalString("target"),
            dryRun: try f.bool("dry_run") ?? false, timeout: timeout.map { .seconds($0) }))
        sidecar.shippers?.notifyAppended()
        sidecar.metrics.count("executions", help: "Runs of POST /v1/execute by status", label: "status", result.status.rawValue)
        guard result.auditRecorded else {
            throw Problem(.serviceUnavailable, "audit_unavailable", "Audit unavailable",
                          "the run (status \(result.status.rawValue)) could not be recorded in the audit log")
        }
        return json(result.jsonValue)
    }
}
