import AgentSafeAWS
import AgentSafeAudit
import AgentSafeCore
import AgentSafeRunner
import AgentSafeTickets
import Foundation
import Testing

/// The whole pipeline against moto: a ticket for ec2-stop-instance runs through the runner with a credential from
/// the environment vault; the instance stops; the audit log holds the execution and the before/after diff; the
/// rollback plan built from that log is the start of the same instance.
@Suite("Runner end to end against moto")
struct RunnerMotoTests {
    @Test func stopAnInstanceThroughTheRunnerAndPlanItsRollback() async throws {
        if let reason = MotoServer.unavailableReason {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("CI=true but \(reason)") } else {
                print("skipped: \(reason)")
            }
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-moto-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await MotoServer.with(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "3"]) { moto in
            let admin = try await moto.createAdmin()
            let run = try await moto.ec2(admin, [("Action", "RunInstances"), ("ImageId", "ami-12c6146b"), ("MinCount", "1"),
                                                 ("MaxCount", "1"), ("InstanceType", "t3.micro")], region: "eu-west-1")
            let id = try #require(MotoServer.element("instanceId", in: run))
            let params: [String: JSONValue] = ["instance_id": .string(id), "region": "eu-west-1"]

            let (_, key) = KeyFile.generate(.es256)
            let ring = try KeyRing([key])
            let log = try AuditLog(AuditLogOptions(path: dir + "/audit.jsonl", durability: .batch))
            let vault = EnvironmentVault(environment: ["AGENT_SAFE_CRED_AWS_ACCESS_KEY_ID": admin.accessKeyId,
                                                       "AGENT_SAFE_CRED_AWS_SECRET_ACCESS_KEY": admin.secretAccessKey])
            let runner = Runner(actions: Array(AWSFixtures.actions.values), verifier: TicketVerifier(ring: ring, replayGuard: InMemoryReplayGuard()),
                                executors: [AWSExecutor(endpoint: moto.url)], vault: vault, audit: log)
            let ticket = try TicketIssuer(ring: ring).issue(TicketRequest(
                action: "ec2-stop-instance", target: "aws/i-demo", caller: "ops-agent", params: params, auditID: "evt-allowed"),
                now: Int64(Date().timeIntervalSince1970))
            let result = await runner.run(RunRequest(token: ticket.token, params: params))
            #expect(result.status == .success, "\(result.code): \(result.message)")
            #expect(result.prechecks.first { $0.name == "instance-running" }?.passed == true)
            #expect(result.beforeState["state"] == "running" && result.afterState["state"] == "stopped")
            log.close()

            // The audit log: the execution, and the state diff linked to it; no secret anywhere.
            let text = try String(contentsOfFile: dir + "/audit.jsonl", encoding: .utf8)
            #expect(!text.contains(admin.secretAccessKey))
            let events = AuditReader(files: [dir + "/audit.jsonl"]).map(\.value)
            let execution = try #require(events.first { $0["event_type"] == "execution" })
            #expect(execution["context"]?["status"] == "success" && execution["correlation_id"] == "evt-allowed")
            let capture = try #require(events.first { $0["event_type"] == "state_capture" })
            #expect(capture["context"]?["diff"]?["state"] == .object(["before": "running", "after": "stopped"]))
            #expect(AuditVerifier().verify([dir + "/audit.jsonl"]).ok)

            // The rollback: start the same instance, as a request for the policy decision.
            let plan = try RollbackPlanner.plan(id: result.auditID, events: events, actions: AWSFixtures.actions)
            #expect(plan.action == "ec2-start-instance" && plan.params == params && plan.caller == "ops-agent")
        }
    }
}
