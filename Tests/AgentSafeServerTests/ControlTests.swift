import AgentSafeCore
import AgentSafeStore
import AgentSafeTickets
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

@testable import AgentSafeServer

/// Issue 6 through the sidecar: cumulative risk and chain rules, rate limits and the circuit breaker, approvals
/// with separation of duties, DLP, change-ticket shape.
@Suite("Sidecar: controls (risk ledger, chains, rate limits, approvals, DLP)")
struct ControlTests {
    /// Scores that make the starter catalogue's low-risk dev requests add up quickly.
    static let cumulative = """
        cumulative_risk:
          window_seconds: 3600
          risk_scores: {low: 10, medium: 20, high: 30, critical: 50}
          escalation_threshold: 35
          deny_threshold: 60

        """

    static let chain = """
        chains:
          - name: logs-restart-scale
            steps: [get-pod-logs, restart-deployment, scale-deployment]
            within_seconds: 600
            same: namespace
            decision: deny
            reason: Reconnaissance, restart and scale of one namespace in a row

        """

    static func body(_ action: String, target: String = "dev/web", caller: String? = nil, params: String,
                     extra: String = "") -> String {
        var fields = [#""action":"\#(action)""#, #""target":"\#(target)""#, #""params":\#(params)"#]
        if let caller { fields.append(#""caller":"\#(caller)""#) }
        if !extra.isEmpty { fields.append(extra) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static let logs = #"{"namespace":"web","pod":"web-1"}"#
    static let restart = #"{"namespace":"web","deployment":"web"}"#
    static let scale = #"{"namespace":"web","deployment":"web","replicas":3}"#

    // MARK: - Cumulative risk

    @Test func harmlessStepsAddUpAndTheDecisionExplainsItsScore() async throws {
        let project = try Project(.init(extra: Self.cumulative))
        defer { project.remove() }
        try await project.withApp { client in
            let first = try await client.post("/v1/check", Self.body("restart-deployment", caller: "bot", params: Self.restart)).json
            #expect(first["result"] == "allow")
            #expect(first["cumulative_risk"]?["score"] == .integer(10))
            let second = try await client.post("/v1/check", Self.body("restart-deployment", caller: "bot", params: Self.restart)).json
            #expect(second["result"] == "allow" && second["cumulative_risk"]?["score"] == .integer(20))
            _ = try await client.post("/v1/check", Self.body("restart-deployment", caller: "bot", params: Self.restart))
            let fourth = try await client.post("/v1/check", Self.body("restart-deployment", caller: "bot", params: Self.restart)).json
            #expect(fourth["result"] == "require_approval")
            #expect(fourth["code"] == "cumulative_risk")
            #expect(fourth["reason"]?.stringValue?.contains("escalation threshold 35") == true)
            #expect(fourth["ticket"] == nil)
            let approvalID = try #require(fourth["approval"]?["id"]?.stringValue)
            #expect(approvalID.hasPrefix("apr-"))
            let contributions = try #require(fourth["cumulative_risk"]?["contributions"]?.arrayValue)
            #expect(contributions.count == 3)
            #expect(contributions.first?["audit_id"]?.stringValue?.hasPrefix("evt-") == true)
            // Another caller is unaffected.
            let other = try await client.post("/v1/check", Self.body("restart-deployment", caller: "other", params: Self.restart)).json
            #expect(other["result"] == "allow")
            // The caller's state shows the score.
            let state = try await client.get("/v1/callers/bot").json
            #expect(state["cumulative_risk"]?["score"] == .integer(30))
        }
    }

    @Test func aChainSplitAcrossThreeDelegatedSubAgentsIsStillCaught() async throws {
        let project = try Project(.init(extra: Self.cumulative))
        defer { project.remove() }
        try project.write(Self.chain, to: "policies/chains.yaml")
        let identity = project.identity
        let now = Int64(Date().timeIntervalSince1970)
        let root = project.identityToken("orchestrator")
        let subs = try ["sub-a", "sub-b", "sub-c"].map { id in
            try identity.delegate(parentToken: root, childID: id, childName: "", roles: [], groups: [], ttlSeconds: 600, now: now).0
        }
        try await project.withApp { client in
            let a = try await client.post("/v1/check", Self.body("get-pod-logs", params: Self.logs), headers: .json(bearer: subs[0])).json
            #expect(a["result"] == "allow" && a["caller"] == "sub-a")
            #expect(a["cumulative_risk"]?["principal"] == "orchestrator")
            let b = try await client.post("/v1/check", Self.body("restart-deployment", params: Self.restart), headers: .json(bearer: subs[1])).json
            #expect(b["result"] == "allow")
            let c = try await client.post("/v1/check", Self.body("scale-deployment", params: Self.scale), headers: .json(bearer: subs[2])).json
            #expect(c["result"] == "deny")
            #expect(c["code"] == "chain_rule")
            #expect(c["reason"]?.stringValue?.contains("logs-restart-scale") == true)
            let fired = try #require(c["cumulative_risk"]?["chains"]?.arrayValue?.first)
            #expect(fired["steps"]?.arrayValue?.map(\.stringValue) == [a["audit_id"]?.stringValue, b["audit_id"]?.stringValue])
            // Another namespace is another chain.
            let elsewhere = try await client.post(
                "/v1/check", Self.body("scale-deployment", params: #"{"namespace":"shop","deployment":"web","replicas":3}"#),
                headers: .json(bearer: subs[2])).json
            #expect(elsewhere["code"] != "chain_rule")
        }
    }

    /// Three allowed restarts by `bot`: 30 points in the ledger.
    static func allowThreeRestarts(_ client: any TestClientProtocol) async throws {
        for _ in 0..<3 {
            let d = try await client.post("/v1/check", Self.body("restart-deployment", caller: "bot", params: Self.restart)).json
            #expect(d["result"] == "allow")
        }
    }

    @Test func theLedgerSurvivesARestart() async throws {
        let project = try Project(.init(extra: Self.cumulative))
        defer { project.remove() }
        try await project.withApp { client in
            try await Self.allowThreeRestarts(client)
        }
        // A new sidecar on the same state directory.
        try await project.withApp { client in
            let d = try await client.post("/v1/check", Self.body("restart-deployment", caller: "bot", params: Self.restart)).json
            #expect(d["cumulative_risk"]?["before"] == .integer(30))
            #expect(d["result"] == "require_approval")
        }
    }

    /// Ledger rows are written in batches a few milliseconds behind the request; a reload right after, which reads
    /// them back into a new ledger, must still see every one.
    @Test func aReloadRightAfterAllowedRequestsKeepsTheirScores() async throws {
        let project = try Project(.init(extra: Self.cumulative))
        defer { project.remove() }
        try await project.withApp { client in
            try await Self.allowThreeRestarts(client)
            let reload = try await client.execute(uri: "/v1/admin/reload", method: .post,
                                                  headers: [.authorization: "Bearer \(project.adminToken)"])
            #expect(reload.status == .ok)
            let d = try await client.post("/v1/check", Self.body("restart-deployment", caller: "bot", params: Self.restart)).json
            #expect(d["cumulative_risk"]?["before"] == .integer(30))
        }
    }

    @Test func anAllOrNothingPlanCountsRiskAcrossItsStepsAndRecordsNothingWhenRefused() async throws {
        let project = try Project(.init(extra: Self.cumulative))
        defer { project.remove() }
        try await project.withApp { client in
            let step = Self.body("restart-deployment", caller: "bot", params: Self.restart)
            let plan = try await client.post("/v1/check-plan", #"{"all_or_nothing":true,"steps":[\#(step),\#(step),\#(step),\#(step)]}"#).json
            #expect(plan["result"] == "require_approval")
            #expect(plan["steps"]?.arrayValue?.map { $0["result"]?.stringValue } == ["allow", "allow", "allow", "require_approval"])
            // A refused plan asks for no approval: none of its steps may later run on its own.
            #expect(plan["steps"]?.arrayValue?.allSatisfy { $0["approval"] == nil } == true)
            // Nothing of the refused plan runs, so nothing counts.
            let after = try await client.get("/v1/callers/bot").json
            #expect(after["cumulative_risk"]?["score"] == .integer(0))
        }
    }

    // MARK: - Rate limits and the circuit breaker

    @Test func rateLimitAndCircuitBreaker() async throws {
        let project = try Project(.init(extra: """
            rate_limit:
              max_requests: 3
              window_seconds: 60
              circuit_breaker_threshold: 2
              circuit_breaker_cooldown_seconds: 300

            """))
        defer { project.remove() }
        try await project.withApp { client in
            for _ in 0..<3 {
                #expect(try await client.post("/v1/check", Self.body("restart-deployment", caller: "fast", params: Self.restart)).json["result"] == "allow")
            }
            let limited = try await client.post("/v1/check", Self.body("restart-deployment", caller: "fast", params: Self.restart)).json
            #expect(limited["result"] == "deny" && limited["code"] == "rate_limited")
            #expect(limited["reason"] == "Rate limit exceeded for caller 'fast': 3 requests per 60s window.")
            // Two policy denials open the breaker.
            for _ in 0..<2 {
                let d = try await client.post("/v1/check", Self.body("restart-deployment", target: "prod/web", caller: "bad", params: Self.restart)).json
                #expect(d["result"] == "deny")
            }
            let paused = try await client.post("/v1/check", Self.body("restart-deployment", caller: "bad", params: Self.restart)).json
            #expect(paused["code"] == "circuit_open")
            #expect(paused["reason"]?.stringValue?.hasPrefix("Circuit breaker open for caller 'bad'") == true)
            let state = try await client.get("/v1/callers/bad").json
            #expect(state["rate_limit"]?["breaker_open"] == true)
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains("agent_safe_circuit_breakers_open 1"))
            #expect(metrics.contains(#"agent_safe_control_decisions_total{code="circuit_open"} 1"#))
        }
    }

    /// Sub-agents of one orchestrator share its window (`aggregate: root`, the default); with `aggregate: caller`
    /// each has its own, as upstream.
    @Test func subAgentsShareTheirRootsRateLimit() async throws {
        for aggregate in ["root", "caller"] {
            let project = try Project(.init(extra: """
                rate_limit:
                  max_requests: 2
                  window_seconds: 60
                \(aggregate == "caller" ? "  aggregate: caller\n" : "")
                """))
            defer { project.remove() }
            let now = Int64(Date().timeIntervalSince1970)
            let root = project.identityToken("orchestrator")
            let subs = try ["sub-a", "sub-b", "sub-c"].map { id in
                try project.identity.delegate(parentToken: root, childID: id, childName: "", roles: [], groups: [],
                                              ttlSeconds: 600, now: now).0
            }
            try await project.withApp { client in
                var results: [String] = []
                for sub in subs {
                    let d = try await client.post("/v1/check", Self.body("get-pod-logs", params: Self.logs), headers: .json(bearer: sub)).json
                    results.append(d["code"]?.stringValue ?? "?")
                    if d["code"] == "rate_limited" {
                        #expect(d["reason"] == "Rate limit exceeded for caller 'orchestrator': 2 requests per 60s window.")
                    }
                }
                if aggregate == "root" {
                    #expect(results == ["policy", "policy", "rate_limited"])
                    let state = try await client.get("/v1/callers/orchestrator").json
                    #expect(state["rate_limit"]?["requests_in_window"] == 2 && state["rate_limit"]?["remaining"] == 0)
                } else {
                    #expect(results == ["policy", "policy", "policy"])
                }
                // A caller without delegation is its own root either way.
                let direct = try await client.post("/v1/check", Self.body("get-pod-logs", caller: "solo", params: Self.logs)).json
                #expect(direct["code"] == "policy")
            }
        }
    }

    // MARK: - Approvals

    static func approvers(_ project: Project, ttl: Int = 3600) throws -> String {
        try project.write("alice-token-0123456789abcdef\n", to: "keys/alice.token")
        try project.write("mallory-token-0123456789abcdef\n", to: "keys/mallory.token")
        return """
            approvals:
              ttl_seconds: \(ttl)
              approvers:
                - {name: alice, token_file: ./keys/alice.token}
                - {name: deploy-bot, token_file: ./keys/mallory.token}

            """
    }

    @Test func oneApprovalYieldsExactlyOneTicketAndNobodyApprovesTheirOwnRequest() async throws {
        let base = try Project()
        defer { base.remove() }
        var options = Project.Options()
        options.extra = try Self.approvers(base)
        let project = try Project(options)
        defer { project.remove() }
        try Self.copyTokens(from: base, to: project)
        let verifier = project.ticketVerifier
        try await project.withApp { client in
            let asked = try await client.post("/v1/check", Bodies.scaleProdDeployer).json
            #expect(asked["result"] == "require_approval")
            let id = try #require(asked["approval"]?["id"]?.stringValue)
            // Pending: no ticket yet.
            let pending = try await client.get("/v1/approvals/\(id)").json
            #expect(pending["ticket_status"] == "pending" && pending["ticket"] == nil)
            // An agent identity can't approve.
            try await client.post("/v1/approvals/\(id)/approve", #"{"reason":"me"}"#,
                                  headers: .json(bearer: project.identityToken("deploy-bot"))).expectProblem(.forbidden, "not_an_approver")
            // No token at all.
            try await client.post("/v1/approvals/\(id)/approve", "{}").expectProblem(.unauthorized, "approver_token_required")
            // An approver who is the requester can't either.
            try await client.post("/v1/approvals/\(id)/approve", #"{"reason":"lgtm"}"#,
                                  headers: .json(bearer: "mallory-token-0123456789abcdef")).expectProblem(.forbidden, "self_approval")
            // Alice approves.
            let approved = try await client.post("/v1/approvals/\(id)/approve", #"{"reason":"change CHG-1 reviewed"}"#,
                                                 headers: .json(bearer: "alice-token-0123456789abcdef")).json
            #expect(approved["approval"]?["status"] == "approved" && approved["approval"]?["resolved_by"] == "alice")
            // Resolving twice is a conflict.
            try await client.post("/v1/approvals/\(id)/deny", "{}", headers: .json(bearer: "alice-token-0123456789abcdef"))
                .expectProblem(.conflict, "approval_not_pending")
            // The approver sees it but gets no ticket.
            let seen = try await client.get("/v1/approvals/\(id)", headers: [.authorization: "Bearer alice-token-0123456789abcdef"]).json
            #expect(seen["ticket"] == nil && seen["ticket_status"] == "available")
            // Eight concurrent fetches by the requester: exactly one ticket.
            let results = try await withThrowingTaskGroup(of: JSONValue.self) { group in
                for _ in 0..<8 { group.addTask { try await client.get("/v1/approvals/\(id)").json } }
                var out: [JSONValue] = []
                for try await r in group { out.append(r) }
                return out
            }
            let issued = results.filter { $0["ticket_status"] == "issued" }
            #expect(issued.count == 1)
            #expect(results.filter { $0["ticket_status"] == "already_issued" }.count == 7)
            let token = try #require(issued.first?["ticket"]?["token"]?.stringValue)
            let claims = try verifier.inspect(token, expect: TicketExpectation(action: "scale-deployment", target: "prod/web",
                                                                               params: ["namespace": "web", "deployment": "web", "replicas": 3]),
                                              now: Int64(Date().timeIntervalSince1970))
            #expect(claims.caller == "deploy-bot" && claims.auditID == asked["audit_id"]?.stringValue)
            // The listing shows it resolved.
            let list = try await client.get("/v1/approvals?status=approved", headers: [.authorization: "Bearer alice-token-0123456789abcdef"]).json
            #expect(list["approvals"]?.arrayValue?.count == 1)
        }
        // Every transition is in the audit log.
        let audit = try String(contentsOfFile: project.auditPath, encoding: .utf8)
        for type in ["approval_requested", "approval_resolved", "approval_ticket_issued"] {
            #expect(audit.contains(#""event_type":"\#(type)""#), "no \(type) event")
        }
        #expect(audit.contains("approved by alice: change CHG-1 reviewed"))
    }

    @Test func aRetriedRequestWaitsOnItsPendingApprovalAndPendingRequestsAreBounded() async throws {
        let project = try Project(.init(extra: "approvals:\n  max_pending_per_caller: 2\n"))
        defer { project.remove() }
        try await project.withApp { client in
            let first = try await client.post("/v1/check", Bodies.scaleProdDeployer).json
            let again = try await client.post("/v1/check", Bodies.scaleProdDeployer).json
            let id = try #require(first["approval"]?["id"]?.stringValue)
            #expect(again["approval"]?["id"]?.stringValue == id)
            #expect(first["approval"]?["reused"] == false && again["approval"]?["reused"] == true)
            // Other params: another request; then the limit of 2 pending requests is reached.
            func scale(_ n: Int) -> String {
                #"{"action":"scale-deployment","target":"prod/web","caller":{"agent_id":"deploy-bot","roles":["deployer"]},"params":{"namespace":"web","deployment":"web","replicas":\#(n)}}"#
            }
            #expect(try await client.post("/v1/check", scale(4)).json["result"] == "require_approval")
            let third = try await client.post("/v1/check", scale(5)).json
            #expect(third["result"] == "deny" && third["code"] == "approvals_pending_limit")
            #expect(third["approval"] == nil)
            // Asking again for a pending one still answers with it.
            #expect(try await client.post("/v1/check", scale(4)).json["result"] == "require_approval")
            // Denied from elsewhere (another process, as `agent-safe approvals deny` is): asking again is a new request.
            let other = try SQLiteApprovalStore(path: project.dir + "/.agent-safe/approvals.sqlite")
            _ = try other.resolve(id, approve: false, by: "alice", reason: "no", now: Int64(Date().timeIntervalSince1970))
            let fresh = try await client.post("/v1/check", Bodies.scaleProdDeployer).json
            #expect(fresh["result"] == "require_approval" && fresh["approval"]?["reused"] == false)
            #expect(fresh["approval"]?["id"]?.stringValue != id)
        }
        let audit = try String(contentsOfFile: project.auditPath, encoding: .utf8)
        #expect(audit.components(separatedBy: #""event_type":"approval_requested""#).count - 1 == 3)
        #expect(audit.contains(#""approval_reused":true"#))
    }

    @Test func anExpiredApprovalYieldsNoTicket() async throws {
        let base = try Project()
        defer { base.remove() }
        var options = Project.Options()
        options.extra = try Self.approvers(base, ttl: 1)
        let project = try Project(options)
        defer { project.remove() }
        try Self.copyTokens(from: base, to: project)
        try await project.withApp { client in
            let asked = try await client.post("/v1/check", Bodies.scaleProdDeployer).json
            let id = try #require(asked["approval"]?["id"]?.stringValue)
            try await Task.sleep(for: .milliseconds(2100))
            try await client.post("/v1/approvals/\(id)/approve", "{}", headers: .json(bearer: "alice-token-0123456789abcdef"))
                .expectProblem(.conflict, "approval_not_pending")
            let fetched = try await client.get("/v1/approvals/\(id)").json
            #expect(fetched["ticket_status"] == "expired" && fetched["ticket"] == nil)
            #expect(fetched["approval"]?["status"] == "expired")
        }
        let audit = try String(contentsOfFile: project.auditPath, encoding: .utf8)
        #expect(audit.contains("approval request expired unresolved"))
    }

    @Test func notifiersReceiveWebhookAndSlackPayloadsWithRetries() async throws {
        let received = Mutex<[(path: String, body: String)]>([])
        let failuresLeft = Mutex(1)
        let router = Router()
        router.post("/hook/:kind") { request, context -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            // The first delivery fails: the notifier must retry.
            if failuresLeft.withLock({ n in defer { n -= 1 }; return n > 0 }) { return .internalServerError }
            received.withLock { $0.append((context.parameters.get("kind") ?? "", String(buffer: body))) }
            return .ok
        }
        let receiver = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Quiet.logger)
        try await receiver.test(.live) { receiverClient in
            let port = try #require(receiverClient.port)
            var options = Project.Options()
            options.extra = """
                approvals:
                  notifiers:
                    - {type: webhook, url: "http://127.0.0.1:\(port)/hook/webhook", headers: {X-Team: sre}}
                    - {type: slack, url: "http://127.0.0.1:\(port)/hook/slack", channel: "#approvals"}

                """
            let project = try Project(options)
            defer { project.remove() }
            try await project.withApp(.live) { client in
                let asked = try await client.post("/v1/check", Bodies.scaleProdDeployer).json
                let id = try #require(asked["approval"]?["id"]?.stringValue)
                var waited = 0
                while received.withLock({ $0.count }) < 2, waited < 100 {
                    try await Task.sleep(for: .milliseconds(100))
                    waited += 1
                }
                let got = received.withLock { $0 }
                let webhook = try #require(got.first { $0.path == "webhook" })
                let hook = try JSONValue.parse(webhook.body)
                #expect(hook["type"] == "approval_request")
                #expect(hook["request"]?["id"]?.stringValue == id)
                #expect(hook["request"]?["action"] == "scale-deployment")
                let slack = try JSONValue.parse(try #require(got.first { $0.path == "slack" }).body)
                #expect(slack["channel"] == "#approvals")
                #expect(slack["text"]?.stringValue?.contains("*Approval Required*") == true)
                #expect(slack["text"]?.stringValue?.contains(id) == true)
            }
        }
    }

    // MARK: - DLP and change tickets

    @Test func aDLPHitLeavesNoTraceOfTheSecretInTheStateDirectory() async throws {
        let secret = "AKIAIOSFODNN7EXAMPLQ"
        let project = try Project(.init(extra: """
            dlp:
              action: deny
              overrides: {github_token: require_approval, jwt: redact}

            """))
        defer { project.remove() }
        let github = "ghp_" + String(String(repeating: "aB3dE5fG7h", count: 4).prefix(36))
        let jwt = try project.identityToken("someone")
        try await project.withApp { client in
            let denied = try await client.post(
                "/v1/check", Self.body("scale-deployment", caller: "bot", params: #"{"namespace":"web","deployment":"key \#(secret)","replicas":1}"#)).text
            #expect(!denied.contains(secret))
            let d = try JSONValue.parse(denied)
            #expect(d["result"] == "deny" && d["code"] == "dlp")
            #expect(d["reason"]?.stringValue?.contains("aws_access_key") == true)
            #expect(d["reason"]?.stringValue?.contains("deployment") == true)
            // A secret in a param that also fails validation: the validation details are withheld.
            let invalid = try await client.post(
                "/v1/check", Self.body("restart-deployment", caller: "bot", params: #"{"namespace":"web","deployment":"\#(secret)"}"#)).text
            #expect(!invalid.contains(secret))
            #expect(try JSONValue.parse(invalid)["result"] == "deny")
            // require_approval: the stored approval holds the redacted params.
            let held = try await client.post(
                "/v1/check", Self.body("scale-deployment", caller: "bot", params: #"{"namespace":"web","deployment":"\#(github)","replicas":1}"#)).json
            #expect(held["result"] == "require_approval" && held["code"] == "dlp")
            // redact: allowed, the ticket binds the real params, the audit line doesn't hold them.
            let redacted = try await client.post(
                "/v1/check", Self.body("scale-deployment", caller: "bot", params: #"{"namespace":"web","deployment":"\#(jwt)","replicas":1}"#)).json
            #expect(redacted["result"] == "allow" && redacted["ticket"] != nil)
            #expect(redacted["dlp"]?.arrayValue?.first?["detector"] == "jwt")
        }
        // grep every file of the state directory.
        let state = project.dir + "/.agent-safe"
        let files = try FileManager.default.subpathsOfDirectory(atPath: state)
        #expect(files.contains("audit.jsonl") && files.contains("approvals.sqlite"))
        for file in files {
            guard let data = FileManager.default.contents(atPath: state + "/" + file) else { continue }
            for needle in [secret, String(github), jwt] {
                #expect(data.range(of: Data(needle.utf8)) == nil, "\(file) holds a secret")
            }
        }
        let audit = try String(contentsOfFile: project.auditPath, encoding: .utf8)
        #expect(audit.contains("[redacted:aws_access_key]") && audit.contains("[redacted:jwt]"))
    }

    @Test func aChangeTicketMustHaveTheConfiguredShape() async throws {
        let project = try Project(.init(extra: "change_tickets: {pattern: \"^(CHG|INC)-[0-9]+$\"}\n"))
        defer { project.remove() }
        try await project.withApp { client in
            let bad = try await client.post("/v1/check", Self.body("restart-deployment", caller: "bot", params: Self.restart,
                                                                   extra: #""ticket_id":"please""#)).json
            #expect(bad["result"] == "deny" && bad["code"] == "invalid_change_ticket")
            let good = try await client.post("/v1/check", Self.body("restart-deployment", caller: "bot", params: Self.restart,
                                                                    extra: #""ticket_id":"CHG-42""#)).json
            #expect(good["result"] == "allow" && good["ticket_id"] == "CHG-42")
            let token = try #require(good["ticket"]?["token"]?.stringValue)
            let claims = try project.ticketVerifier.inspect(token, now: Int64(Date().timeIntervalSince1970))
            #expect(claims.changeTicket == "CHG-42")
        }
    }

    static func copyTokens(from base: Project, to project: Project) throws {
        for name in ["alice.token", "mallory.token"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: base.dir + "/keys/" + name))
            try data.write(to: URL(fileURLWithPath: project.dir + "/keys/" + name))
        }
    }
}
