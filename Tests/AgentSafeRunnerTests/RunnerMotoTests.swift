import AgentSafeAWS
import AgentSafeAudit
import AgentSafeCore
import AgentSafeRunner
import AgentSafeTestSupport
import AgentSafeTickets
import Foundation
import Testing

/// The whole pipeline against moto: a ticket for ec2-stop-instance runs through the runner with a credential from
/// the environment vault; the instance stops; the audit log holds the execution and the before/after diff; the
/// rollback plan built from that log is the start of the same instance.
@Suite("Runner end to end against moto",
       .enabled("needs moto_server (PyPI moto[server]); required when CI=true") { MotoServer.shouldRun("runner moto tests") })
struct RunnerMotoTests {
    @Test func stopAnInstanceThroughTheRunnerAndPlanItsRollback() async throws {
        if let reason = MotoServer.unavailableReason {
            Issue.record("CI=true but \(reason)")
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
            print("runner over moto: ec2-stop-instance \(String(format: "%.1f", result.durationMs)) ms "
                + "(runner's own \(String(format: "%.2f", result.overheadMs)) ms)")
        }
    }

    /// A runner over moto with the environment vault and an audit log in `dir`; returns the run and the log's events.
    static func runThroughRunner(_ moto: MotoServer, _ admin: AWSCredentials, dir: String, action: String,
                                 params: [String: JSONValue]) async throws -> (RunResult, [JSONValue]) {
        let (_, key) = KeyFile.generate(.es256)
        let ring = try KeyRing([key])
        let path = dir + "/\(action).jsonl"
        let log = try AuditLog(AuditLogOptions(path: path, durability: .batch))
        let vault = EnvironmentVault(environment: ["AGENT_SAFE_CRED_AWS_ACCESS_KEY_ID": admin.accessKeyId,
                                                   "AGENT_SAFE_CRED_AWS_SECRET_ACCESS_KEY": admin.secretAccessKey])
        let runner = Runner(actions: Array(AWSFixtures.actions.values), verifier: TicketVerifier(ring: ring, replayGuard: InMemoryReplayGuard()),
                            executors: [AWSExecutor(endpoint: moto.url)], vault: vault, audit: log)
        let ticket = try TicketIssuer(ring: ring).issue(TicketRequest(action: action, target: "aws/t", caller: "ops-agent",
                                                                      params: params, auditID: "evt-allowed"),
                                                        now: Int64(Date().timeIntervalSince1970))
        let result = await runner.run(RunRequest(token: ticket.token, params: params))
        log.close()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains(admin.secretAccessKey))
        return (result, AuditReader(files: [path]).map(\.value))
    }

    @Test func iamAndS3ThroughTheRunnerLeaveTheirDiffInTheAuditLog() async throws {
        if let reason = MotoServer.unavailableReason {
            Issue.record("CI=true but \(reason)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-moto-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await MotoServer.with(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "3"]) { moto in
            let admin = try await moto.createAdmin()
            // IAM: attach a managed policy to a role.
            let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
            _ = try await moto.iam(admin, [("Action", "CreateRole"), ("RoleName", "app-role"), ("AssumeRolePolicyDocument", trust)])
            let document = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#
            let created = try await moto.iam(admin, [("Action", "CreatePolicy"), ("PolicyName", "app-read"), ("PolicyDocument", document)])
            let arn = try #require(MotoServer.element("Arn", in: created))
            let (attach, attachEvents) = try await Self.runThroughRunner(
                moto, admin, dir: dir, action: "iam-attach-role-policy", params: ["role_name": "app-role", "policy_arn": .string(arn)])
            #expect(attach.status == .success, "\(attach.code): \(attach.message)")
            let attachDiff = attachEvents.first { $0["event_type"] == "state_capture" }?["context"]?["diff"]
            #expect(attachDiff?["attached_policies"] == .object(["before": [], "after": [.string(arn)]]))

            // S3: delete an object.
            let bucket = "agent-safe-runner"
            #expect(try await moto.signed(admin, service: "s3", method: "PUT", path: "/\(bucket)").status == 200)
            _ = try await moto.signed(admin, service: "s3", method: "PUT", path: "/\(bucket)/app.log",
                                      headers: [SigV4Header("Content-Type", "text/plain")], body: Array("hello".utf8))
            let (delete, deleteEvents) = try await Self.runThroughRunner(
                moto, admin, dir: dir, action: "s3-delete-object",
                params: ["bucket": .string(bucket), "key": "app.log", "region": "us-east-1"])
            #expect(delete.status == .success, "\(delete.code): \(delete.message)")
            let deleteDiff = deleteEvents.first { $0["event_type"] == "state_capture" }?["context"]?["diff"]
            #expect(deleteDiff?["content_length"] == .object(["before": 5, "after": .null]))
            #expect(try await moto.signed(admin, service: "s3", method: "GET", path: "/\(bucket)/app.log").status == 404)
            // Not reversible: no rollback plan.
            #expect(throws: RollbackPlanner.Failure.self) {
                try RollbackPlanner.plan(id: delete.auditID, events: deleteEvents, actions: AWSFixtures.actions)
            }
            print("runner over moto: iam-attach-role-policy \(String(format: "%.1f", attach.durationMs)) ms "
                + "(runner's own \(String(format: "%.2f", attach.overheadMs)) ms), s3-delete-object "
                + "\(String(format: "%.1f", delete.durationMs)) ms (runner's own \(String(format: "%.2f", delete.overheadMs)) ms)")
        }
    }
}
