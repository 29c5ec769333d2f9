import AgentSafeAudit
import AgentSafeConfig
import AgentSafeCore
import AgentSafeRunner
import ArgumentParser
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Foundation

/// `agent-safe rollback plan AUDIT_ID`: the compensating request for an action that was executed, built from the
/// action's `rollback_params` and the audit log (params and the captured before-state). It is a request, not an
/// execution: it goes through the policy decision like any other (`--check URL` sends it to a sidecar).
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Plan the compensating request of an executed action.",
        subcommands: [Plan.self])

    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build the rollback request for an execution (its audit id, or the allowing decision's).",
            discussion: """
                Only a successful execution recorded in the audit log can be rolled back. params.* sources come from \
                the executed request, before_state.* from the state captured before it ran. A param redacted in the \
                log (sensitive) must be given with --param NAME=VALUE. Exit 0 planned (and, with --check, allowed), \
                1 not possible, 2 the check did not allow it.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The execution's audit id (or the decision's audit id it ran under).")
        var auditID: String

        @Option(name: .customLong("log"), help: "Audit log (default: the configured one and its rotated files).")
        var logs: [String] = []

        @Option(name: .customLong("param"), help: "NAME=VALUE for a param the log holds redacted (repeatable).")
        var overrides: [String] = []

        @Option(name: .long, help: "The caller to ask as (default: the caller of the original execution).")
        var caller: String?

        @Option(name: .long, help: "Send the request to this sidecar's /v1/check and print the decision.")
        var check: String?

        func run() async throws {
            let snapshot = try global.loadSnapshot()
            let files = try AuditCommand.files(logs, global: global)
            var given: [String: JSONValue] = [:]
            for item in overrides {
                guard let eq = item.firstIndex(of: "=") else { throw Console.fail("--param takes NAME=VALUE, got '\(item)'") }
                let value = String(item[item.index(after: eq)...])
                given[String(item[..<eq])] = (try? JSONValue.parse(value)) ?? .string(value)
            }
            let actions = Dictionary(snapshot.actions.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let plan: RollbackPlanner.Plan
            do {
                plan = try RollbackPlanner.plan(id: auditID, events: AuditReader(files: files).lazy.map(\.value), actions: actions,
                                                overrides: given, caller: caller)
            } catch {
                throw Console.fail(error.message)
            }
            let request = plan.request
            print(request.prettyText)
            if let check {
                let decision = try await Self.post(request, to: check)
                print(decision.prettyText)
                if decision["result"] != "allow" { throw ExitCode(2) }
            }
        }

        static func post(_ body: JSONValue, to base: String) async throws -> JSONValue {
            var text = ""
            body.appendCompact(to: &text)
            var request = HTTPClientRequest(url: (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/v1/check")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: text))
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
                let collected = try await response.body.collect(upTo: 1 << 20)
                return (try? JSONValue.parse(String(buffer: collected))) ?? .null
            } catch {
                throw Console.fail("cannot reach the sidecar at \(base): \(error)")
            }
        }
    }
}
