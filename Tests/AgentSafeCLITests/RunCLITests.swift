import Foundation
import Testing

/// `run` and `rollback plan` through the built binary.
@Suite("agent-safe CLI: run and rollback")
struct RunCLITests {
    static let params = CLITests.params

    @Test func aDryRunPrintsTheKubectlCallSpendsTheTicketAndIsAudited() async throws {
        let dir = try await TicketCLITests.project()
        defer { try? FileManager.default.removeItem(at: dir) }
        let token = try await TicketCLITests.ticket(in: dir)
        let dry = try await CLIRunner.run(["run", token, "--params", Self.params, "--dry-run"], in: dir)
        #expect(dry.status == 0, "\(dry.stdout)\(dry.stderr)")
        #expect(dry.stdout.contains("DRY_RUN  ok"))
        #expect(dry.stdout.contains("rollout restart deployment/web"))
        // Spent: the same ticket again is refused (exit 2).
        let again = try await CLIRunner.run(["run", token, "--params", Self.params, "--dry-run", "-o", "json"], in: dir)
        #expect(again.status == 2)
        let json = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any]
        #expect(json?["code"] as? String == "ticket_replayed")
        // With no executor enabled, a real run is refused; other params are refused.
        let fresh = try await TicketCLITests.ticket(in: dir)
        let real = try await CLIRunner.run(["run", fresh, "--params", Self.params], in: dir)
        #expect(real.status == 2 && real.stdout.contains("unsupported_action"), "\(real.stdout)\(real.stderr)")
        let other = try await CLIRunner.run(["run", try await TicketCLITests.ticket(in: dir), "--params", #"{"namespace":"web","deployment":"api"}"#], in: dir)
        #expect(other.status == 2 && other.stdout.contains("ticket_params_mismatch"))
        let bad = try await CLIRunner.run(["run", fresh, "--params", "[1]"], in: dir)
        #expect(bad.status == 1 && bad.stderr.contains("--params must be a JSON object"))
        // Every run is in the audit log, which still verifies.
        let verify = try await CLIRunner.run(["audit", "verify"], in: dir)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let log = try String(contentsOf: dir.appendingPathComponent(".agent-safe/audit.jsonl"), encoding: .utf8)
        #expect(log.components(separatedBy: #""event_type":"execution""#).count - 1 == 4)
        #expect(!log.contains(token))
        // A dry run is not an execution: there is nothing to roll back.
        let evt = (json?["audit_id"] as? String) ?? ""
        let rollback = try await CLIRunner.run(["rollback", "plan", evt], in: dir)
        #expect(rollback.status == 1 && rollback.stderr.contains("only executed actions can be rolled back"), "\(rollback.stderr)")
    }
}
