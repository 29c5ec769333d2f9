import Foundation
import Testing

/// End-to-end tests of the built `agent-safe` binary: stdout, stderr and exit codes (docs/cli.md).
@Suite("agent-safe CLI")
struct CLITests {
    /// A starter project made by `agent-safe init`, in a fresh temp directory.
    static func starter() async throws -> URL {
        let dir = try CLIRunner.temporaryDirectory()
        let result = try await CLIRunner.run(["init", dir.path])
        #expect(result.status == 0, "\(result.stderr)")
        return dir
    }

    static let params = #"{"namespace":"web","deployment":"web"}"#

    @Test func initCreatesAWorkingProject() async throws {
        let dir = try await Self.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        let validate = try await CLIRunner.run(["validate"], in: dir)
        #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
        #expect(validate.stdout.contains("OK  actions:   3 action(s)"))
        let test = try await CLIRunner.run(["test", "policies/tests"], in: dir)
        #expect(test.status == 0, "\(test.stdout)")
        #expect(test.stdout.hasSuffix("5 passed, 0 failed\n"))
        let lint = try await CLIRunner.run(["lint", "--strict"], in: dir)
        #expect(lint.status == 0, "\(lint.stdout)")
        let again = try await CLIRunner.run(["init", dir.path])
        #expect(again.stdout.contains("skip  agent-safe.yaml (already exists)"))
    }

    @Test func checkExitCodes() async throws {
        let dir = try await Self.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        let allow = try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "-c", "me", "-p", Self.params], in: dir)
        #expect(allow.status == 0)
        #expect(allow.stdout.hasPrefix("ALLOW — Identified agents may act on dev"))
        #expect(allow.stdout.contains("policy:  allow-dev"))

        let deny = try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "-p", Self.params], in: dir)
        #expect(deny.status == 2)
        #expect(deny.stdout.hasPrefix("DENY — No matching policy (default deny)"))

        let approval = try await CLIRunner.run(["check", "restart-deployment", "-t", "prod/web", "-c", "bot", "--role", "deployer",
                                          "-p", Self.params], in: dir)
        #expect(approval.status == 3)
        #expect(approval.stdout.hasPrefix("REQUIRE_APPROVAL"))

        let badJSON = try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "-p", "{nope"], in: dir)
        #expect(badJSON.status == 1)
        #expect(badJSON.stderr.contains("invalid JSON in --params"))

        let notObject = try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "-p", "[1,2]"], in: dir)
        #expect(notObject.status == 1)
        #expect(notObject.stderr.contains("must be a JSON object"))

        let usage = try await CLIRunner.run(["check"], in: dir)
        #expect(usage.status == 64)
    }

    @Test func checkJSONOutput() async throws {
        let dir = try await Self.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try await CLIRunner.run(["check", "scale-deployment", "-t", "dev/web", "-c", "me", "-o", "json",
                                     "-p", #"{"namespace":"web","deployment":"web","replicas":0}"#], in: dir)
        #expect(out.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        #expect(json["result"] as? String == "allow")
        #expect(json["policy_matched"] as? String == "allow-dev")
        #expect(json["effective_risk"] as? String == "medium")  // low, raised by the scale-to-zero modifier
        #expect((json["risk_modifiers"] as? [Any])?.count == 1)
        #expect((json["audit_id"] as? String)?.hasPrefix("evt-") == true)
    }

    @Test func batchKeepsOrderAndReportsBadLines() async throws {
        let dir = try await Self.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = """
            {"action":"restart-deployment","target":"dev/web","caller":"me","params":{"namespace":"web","deployment":"web"}}
            not json
            {"action":"restart-deployment","target":"prod/web","caller":{"agent_id":"bot","roles":["deployer"]},"params":{"namespace":"web","deployment":"web"}}

            {"action":"restart-deployment","target":"dev/web","params":{"namespace":"web","deployment":"web"},"tiket_id":"x"}
            {"action":"scale-deployment","target":"dev/web","caller":"me","params":{"namespace":"web","deployment":"web","replicas":1000}}
            """
        let out = try await CLIRunner.run(["check", "--batch", "-"], in: dir, stdin: input)
        #expect(out.status == 1)  // some lines were errors
        let lines = out.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == 5)
        #expect(lines[0]?["result"] as? String == "allow")
        #expect((lines[1]?["error"] as? [String: Any])?["code"] as? String == "malformed_json")
        #expect(lines[1]?["line"] as? Int == 2)
        #expect(lines[2]?["result"] as? String == "require_approval")
        #expect(((lines[3]?["error"] as? [String: Any])?["message"] as? String)?.contains("did you mean 'ticket_id'") == true)
        #expect(lines[4]?["result"] as? String == "deny")
        #expect(lines[4]?["code"] as? String == "invalid_params")
    }

    @Test func batchRefusesSingleRequestFlagsAndChecksCallerFields() async throws {
        let dir = try await Self.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        let line = #"{"action":"restart-deployment","target":"dev/web","params":{"namespace":"web","deployment":"web"}}"#
        let mixed = try await CLIRunner.run(["check", "--batch", "-", "--caller", "me", "--target", "prod/web"], in: dir, stdin: line)
        #expect(mixed.status == 64)
        #expect(mixed.stderr.contains("--target describes one request"))
        let input = """
            {"action":"restart-deployment","target":"dev/web","caller":{"agent_id":"me","role":["x"]},"params":{}}
            {"action":"restart-deployment","target":"dev/web","caller":{"agent_id":"me","agent_name":7},"params":{}}
            """
        let out = try await CLIRunner.run(["check", "--batch", "-"], in: dir, stdin: input)
        #expect(out.status == 1)
        let lines = out.stdout.split(separator: "\n").map { String($0) }
        #expect(lines.count == 2)
        #expect(lines.first?.contains("did you mean 'roles'") == true)
        #expect(lines.last?.contains("'caller.agent_name' must be a string") == true)
    }

    @Test func explainListsEveryRule() async throws {
        let dir = try await Self.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try await CLIRunner.run(["explain", "restart-deployment", "-t", "staging/web", "-c", "me", "-p", Self.params], in: dir)
        #expect(out.status == 0)
        #expect(out.stdout.contains("1. approve-critical [p1000, require_approval]"))
        #expect(out.stdout.contains("no: risk_classes: effective risk medium not in [critical]"))
        #expect(out.stdout.contains("no: actions: restart-deployment matches none of [get-pod-logs]"))
        #expect(out.stdout.contains("No rule matched: default deny."))
    }

    @Test func validateReportsEveryErrorWithLocation() async throws {
        let dir = try await Self.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        try "targets:\n  - id: dev/web\n    type: k8s-deployment\n    environment: production\n    sensitivity: public\n"
            .write(to: dir.appendingPathComponent("inventory.yaml"), atomically: true, encoding: .utf8)
        try "rules:\n  - name: x\n    priorty: 5\n    match: {}\n    decision: allow\n    reason: r\n"
            .write(to: dir.appendingPathComponent("policies/zz.yaml"), atomically: true, encoding: .utf8)
        let out = try await CLIRunner.run(["validate"], in: dir)
        #expect(out.status == 1)
        #expect(out.stdout.contains("inventory.yaml:4:18: error: targets[0].environment: 'production' is not one of dev, staging, prod"))
        #expect(out.stdout.contains("policies/zz.yaml:3:5: error: rules[0].priorty: unknown key 'priorty' (did you mean 'priority'?)"))
        #expect(out.stdout.contains("2 errors found."))
        let check = try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web"], in: dir)
        #expect(check.status == 1)
        #expect(check.stderr.contains("configuration not loaded: 2 errors"))
    }

    @Test func listActions() async throws {
        let dir = try await Self.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try await CLIRunner.run(["list-actions", "--risk", "low"], in: dir)
        #expect(out.status == 0)
        #expect(out.stdout.contains("get-pod-logs"))
        #expect(!out.stdout.contains("scale-deployment"))
        #expect(out.stdout.contains("1 action(s) registered."))
    }

    @Test func ourOwnCatalogueIsValidLintCleanAndTested() async throws {
        let root = CLIRunner.packageRoot
        let validate = try await CLIRunner.run(["validate"], in: root)
        #expect(validate.status == 0, "\(validate.stdout)")
        let lint = try await CLIRunner.run(["lint", "--strict"], in: root)
        #expect(lint.status == 0, "\(lint.stdout)")
        let test = try await CLIRunner.run(["test", "policies/tests"], in: root)
        #expect(test.status == 0, "\(test.stdout)")
        #expect(test.stdout.contains(" passed, 0 failed"))
        let actions = try await CLIRunner.run(["list-actions", "-o", "json"], in: root)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(actions.stdout.utf8)) as? [[String: Any]])
        let aws = list.filter { ($0["tags"] as? [String])?.contains("aws") == true }
        let k8s = list.filter { ($0["tags"] as? [String])?.contains("kubernetes") == true }
        #expect(aws.count == 13)
        #expect(k8s.count >= 20)
    }

    @Test func upstreamCompatFilesThroughTheCLI() async throws {
        guard CLIRunner.requireCompat() else { return }
        let c = CLIRunner.compatRoot
        let flags = ["--registry", c.appendingPathComponent("actions").path, "--policies",
                     c.appendingPathComponent("policies").path, "--inventory", c.appendingPathComponent("inventory.yaml").path]
        let tmp = try CLIRunner.temporaryDirectory()  // no agent-safe.yaml to discover here
        defer { try? FileManager.default.removeItem(at: tmp) }
        let validate = try await CLIRunner.run(["validate"] + flags, in: tmp)
        #expect(validate.status == 0, "\(validate.stdout)")
        // Three upstream cases contradict the documented target_types difference (docs/compatibility.md).
        let test = try await CLIRunner.run(["test", c.appendingPathComponent("tests/policy_tests").path] + flags, in: tmp)
        #expect(test.status == 1)
        #expect(test.stdout.hasSuffix("10 passed, 3 failed\n"))
        for name in ["dev-delete-pod-allowed", "dev-read-logs-allowed", "staging-get-logs-allowed"] {
            #expect(test.stdout.contains("FAIL  \(name)  (expected allow, got deny)"))
        }
        let lint = try await CLIRunner.run(["lint", "--strict"] + flags, in: tmp)
        #expect(lint.status == 1)
        #expect(lint.stdout.contains("rule 'deny-delete-namespace-prod' shadowed by 'require-approval-critical-risk'"))
    }
}
