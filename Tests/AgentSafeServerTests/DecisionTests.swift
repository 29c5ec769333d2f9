import AgentSafeAudit
import AgentSafeCore
import AgentSafeTickets
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentSafeServer

/// POST /v1/check and /v1/check-plan, tickets, JWKS and delegation, through the router.
@Suite("Sidecar: decisions, tickets and delegation")
struct DecisionTests {
    @Test func allowCarriesATicketThatAnExecutorVerifies() async throws {
        let project = try Project()
        defer { project.remove() }
        let verifier = project.ticketVerifier
        try await project.withApp { client in
            let response = try await client.post("/v1/check", Bodies.restartDev)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let d = try response.json
            #expect(d["result"] == "allow")
            #expect(d["reason"] == "Identified agents may act on dev")
            #expect(d["policy_matched"] == "allow-dev")
            #expect(d["risk_class"] == "medium")
            #expect(d["effective_risk"] == "low")
            #expect(d["caller"] == "my-agent")
            #expect(d["code"] == "policy")
            let auditID = try #require(d["audit_id"]?.stringValue)
            #expect(auditID.hasPrefix("evt-") && auditID.count == 36)
            let ticket = try #require(d["ticket"])
            let token = try #require(ticket["token"]?.stringValue)
            #expect(ticket["jti"]?.stringValue?.count == 32)
            #expect(ticket["expires_at"]?.stringValue?.hasSuffix("Z") == true)
            let now = Int64(Date().timeIntervalSince1970)
            let claims = try verifier.inspect(token, expect: TicketExpectation(action: "restart-deployment", target: "dev/web",
                                                                               params: Bodies.restartParams), now: now)
            #expect(claims.auditID == auditID)
            #expect(claims.caller == "my-agent")
            #expect(claims.jti == ticket["jti"]?.stringValue)
            #expect(claims.expires - claims.issuedAt == 300)
        }
    }

    @Test func denyAndRequireApprovalCarryNoTicket() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let deny = try await client.post("/v1/check", Bodies.restartDevAnonymous).json
            #expect(deny["result"] == "deny")
            #expect(deny["code"] == "no_matching_policy")
            #expect(deny["policy_matched"] == .null)
            #expect(deny["caller"] == "anonymous")
            #expect(deny["ticket"] == nil)

            let approval = try await client.post("/v1/check", Bodies.scaleProdDeployer).json
            #expect(approval["result"] == "require_approval")
            #expect(approval["policy_matched"] == "approve-prod")
            #expect(approval["effective_risk"] == "high")
            #expect(approval["ticket"] == nil)

            let badParams = try await client.post("/v1/check", #"""
                {"action":"scale-deployment","target":"dev/web","caller":"me","params":{"namespace":"web","deployment":"web","replicas":1000}}
                """#).json
            #expect(badParams["result"] == "deny")
            #expect(badParams["code"] == "invalid_params")
            #expect(badParams["param_errors"]?.arrayValue?.count == 1)

            // An unknown action is a decision (deny), not an HTTP error.
            let unknown = try await client.post("/v1/check", #"{"action":"nuke","target":"dev/web","caller":"me"}"#)
            #expect(unknown.status == .ok)
            #expect(try unknown.json["code"] == "unknown_action")
        }
    }

    @Test func bodyTimestampIsIgnoredAndCorrelationIsEchoed() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let d = try await client.post("/v1/check", #"""
                {"action":"restart-deployment","target":"dev/web","caller":"me","params":{"namespace":"web","deployment":"web"},
                 "timestamp":"1999-01-01T03:00:00Z","correlation_id":"corr-1","ticket_id":"CHG-7"}
                """#).json
            #expect(d["result"] == "allow")
            #expect(d["correlation_id"] == "corr-1")
            #expect(d["ticket_id"] == "CHG-7")
            let claims = try project.ticketVerifier.inspect(d["ticket"]!["token"]!.stringValue!, now: Int64(Date().timeIntervalSince1970))
            #expect(claims.changeTicket == "CHG-7")
            // Issued now, by the server's clock, whatever the body said.
            #expect(abs(claims.issuedAt - Int64(Date().timeIntervalSince1970)) < 60)
        }
    }

    /// Time windows are judged by the server's clock: a body timestamp inside a window that the present is not in
    /// does not get the request allowed, and one outside a window the present is in does not get it refused.
    @Test func serverClockDecidesTimeWindows() async throws {
        let project = try Project()
        defer { project.remove() }
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let now = Date()
        let hour = utc.component(.hour, from: now)
        let away = (hour + 12) % 24  // an hour far from now
        let day = utc.dateComponents([.year, .month, .day], from: now)
        let stamp = String(format: "%04d-%02d-%02dT%02d:30:00Z", day.year!, day.month!, day.day!, away)
        try project.write(Starter.policy + """
              - name: staging-restart-away
                priority: 50
                match:
                  actions: [restart-deployment]
                  targets: {environments: [staging]}
                  callers: {}
                  time_windows: [{start_hour: \(away), end_hour: \(away), timezone: UTC}]
                decision: allow
                reason: only at the far hour
              - name: staging-scale-now
                priority: 40
                match:
                  actions: [scale-deployment]
                  targets: {environments: [staging]}
                  callers: {}
                  time_windows: [{start_hour: \((away + 1) % 24), end_hour: \((away + 23) % 24), timezone: UTC}]
                decision: allow
                reason: every hour but the far one

            """, to: "policies/default.yaml")
        try await project.withApp { client in
            let restart = try await client.post("/v1/check", #"""
                {"action":"restart-deployment","target":"staging/web","caller":"me","params":{"namespace":"web","deployment":"web"},"timestamp":"\#(stamp)"}
                """#).json
            #expect(restart["result"] == "deny", "the body's timestamp (\(stamp)) must not move the request into the window")
            let scale = try await client.post("/v1/check", #"""
                {"action":"scale-deployment","target":"staging/web","caller":"me","params":{"namespace":"web","deployment":"web","replicas":2},"timestamp":"\#(stamp)"}
                """#).json
            #expect(scale["result"] == "allow")
            #expect(scale["policy_matched"] == "staging-scale-now")
        }
    }

    @Test func auditLogVerifiesAndHoldsEveryDecision() async throws {
        let project = try Project(.init(checkpoint: true))
        defer { project.remove() }
        let ids = try await project.withApp { client in
            var ids: [String] = []
            for body in [Bodies.restartDev, Bodies.restartDevAnonymous, Bodies.scaleProdDeployer] {
                ids.append(try #require(try await client.post("/v1/check", body).json["audit_id"]?.stringValue))
            }
            let token = try #require(try await client.post("/v1/check", Bodies.logsStaging).json["ticket"]?["token"]?.stringValue)
            #expect(try await client.post("/v1/tickets/verify", #"{"token":"\#(token)"}"#).json["valid"] == true)
            return ids
        }
        // The app's services have stopped: the log is closed with a final checkpoint.
        let ring = try KeyRing([project.checkpointKey!])
        let report = AuditVerifier(ring: ring).verify(AuditFileSet(path: project.auditPath).files())
        #expect(report.ok, "\(String(describing: report.failure))")
        #expect(report.checkpoints >= 1)
        let text = try String(contentsOfFile: project.auditPath, encoding: .utf8)
        for id in ids { #expect(text.contains(#""event_id":"\#(id)""#)) }
        #expect(text.contains(#""event_type":"config_loaded""#))
        #expect(text.contains(#""event_type":"ticket_consumed""#))
        let lastLine = try #require(text.split(separator: "\n").last)
        #expect(lastLine.contains(#""event_type":"checkpoint""#))
    }

    @Test func concurrentChecksKeepOneAuditChain() async throws {
        let project = try Project(.init(checkpoint: true))
        defer { project.remove() }
        let ids = try await project.withApp { client in
            try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<64 {
                    group.addTask {
                        let body = [Bodies.restartDev, Bodies.restartDevAnonymous, Bodies.scaleProdDeployer, Bodies.logsStaging][i % 4]
                        let r = try await client.post("/v1/check", body)
                        #expect(r.status == .ok)
                        return try #require(try r.json["audit_id"]?.stringValue)
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
        }
        #expect(Set(ids).count == 64)
        let report = AuditVerifier(ring: try KeyRing([project.checkpointKey!])).verify(AuditFileSet(path: project.auditPath).files())
        #expect(report.ok, "\(String(describing: report.failure))")
        let text = try String(contentsOfFile: project.auditPath, encoding: .utf8)
        #expect(ids.allSatisfy { text.contains(#""event_id":"\#($0)""#) })
    }

    // MARK: - Plans

    @Test func planAllOrNothingWithholdsEveryTicketWhenOneStepDenies() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let mixed = try await client.post("/v1/check-plan", #"{"steps":[\#(Bodies.restartDev),\#(Bodies.restartProd)],"all_or_nothing":true}"#)
            #expect(mixed.status == .ok)
            let m = try mixed.json
            #expect(m["result"] == "deny")
            #expect(m["all_or_nothing"] == true)
            let steps = try #require(m["steps"]?.arrayValue)
            #expect(steps.map { $0["result"] } == ["allow", "deny"])
            #expect(steps.allSatisfy { $0["ticket"] == nil })

            let approval = try await client.post("/v1/check-plan", #"{"steps":[\#(Bodies.restartDev),\#(Bodies.scaleProdDeployer)],"all_or_nothing":true}"#).json
            #expect(approval["result"] == "require_approval")
            #expect(approval["steps"]?.arrayValue?.allSatisfy { $0["ticket"] == nil } == true)

            let good = try await client.post("/v1/check-plan", #"{"steps":[\#(Bodies.restartDev),\#(Bodies.logsStaging)],"all_or_nothing":true}"#).json
            #expect(good["result"] == "allow")
            let tickets = good["steps"]?.arrayValue?.compactMap { $0["ticket"]?["token"]?.stringValue } ?? []
            #expect(tickets.count == 2)
            for token in tickets { _ = try project.ticketVerifier.inspect(token, now: Int64(Date().timeIntervalSince1970)) }

            // Without all_or_nothing, each allowed step gets its own ticket.
            let each = try await client.post("/v1/check-plan", #"{"steps":[\#(Bodies.restartDev),\#(Bodies.restartProd)]}"#).json
            #expect(each["result"] == "deny")
            #expect(each["all_or_nothing"] == false)
            #expect(each["steps"]?.arrayValue?.map { $0["ticket"] != nil } == [true, false])
        }
    }

    @Test func planStepsInheritThePlanCorrelationAndReportPathsInErrors() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let plan = try await client.post("/v1/check-plan", #"""
                {"correlation_id":"plan-9","steps":[\#(Bodies.restartDev),
                 {"action":"get-pod-logs","target":"dev/web","caller":"me","params":{"namespace":"web","pod":"p"},"correlation_id":"own"}]}
                """#).json
            #expect(plan["steps"]?.arrayValue?.map { $0["correlation_id"] } == ["plan-9", "own"])
            try await client.post("/v1/check-plan", #"{"steps":[{"action":"x","paramz":{}}]}"#)
                .expectProblem(.unprocessableContent, "unknown_field")
            let p = try await client.post("/v1/check-plan", #"{"steps":[{"action":"x"},{"action":5}]}"#)
                .expectProblem(.badRequest, "wrong_type")
            #expect(p["detail"]?.stringValue?.contains("steps[1].action") == true)
            try await client.post("/v1/check-plan", #"{"steps":[]}"#).expectProblem(.unprocessableContent, "invalid_value")
            try await client.post("/v1/check-plan", #"{}"#).expectProblem(.badRequest, "missing_field")
            try await client.post("/v1/check-plan", #"{"steps":{}}"#).expectProblem(.badRequest, "wrong_type")
            try await client.post("/v1/check-plan", #"{"steps":[1]}"#).expectProblem(.badRequest, "wrong_type")
            try await client.post("/v1/check-plan", #"{"steps":[\#(Bodies.restartDev)],"all_or_nothing":"yes"}"#)
                .expectProblem(.badRequest, "wrong_type")
            let tooMany = "[" + Array(repeating: Bodies.restartDev, count: 101).joined(separator: ",") + "]"
            try await client.post("/v1/check-plan", #"{"steps":\#(tooMany)}"#).expectProblem(.unprocessableContent, "invalid_value")
        }
    }

    // MARK: - Tickets

    @Test func verifyConsumesOnceAndIntrospectDoesNot() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let token = try #require(try await client.post("/v1/check", Bodies.restartDev).json["ticket"]?["token"]?.stringValue)
            let expect = #"{"action":"restart-deployment","target":"dev/web","params":{"namespace":"web","deployment":"web"}}"#
            for _ in 0..<2 {
                let i = try await client.post("/v1/tickets/introspect", #"{"token":"\#(token)","expect":\#(expect)}"#)
                #expect(i.status == .ok)
                let v = try i.json
                #expect(v["valid"] == true)
                #expect(v["code"] == "valid")
                #expect(v["consumed"] == false)
                #expect(v["claims"]?["action"] == "restart-deployment")
                #expect(v["claims"]?["caller"] == "my-agent")
            }
            let mismatch = try await client.post("/v1/tickets/introspect", #"{"token":"\#(token)","expect":{"target":"prod/web"}}"#).json
            #expect(mismatch["valid"] == false)
            #expect(mismatch["code"] == "target_mismatch")
            let wrongParams = try await client.post("/v1/tickets/verify", #"{"token":"\#(token)","expect":{"params":{"namespace":"x","deployment":"web"}}}"#).json
            #expect(wrongParams["code"] == "params_mismatch")

            let first = try await client.post("/v1/tickets/verify", #"{"token":"\#(token)","expect":\#(expect)}"#).json
            #expect(first["valid"] == true)
            #expect(first["consumed"] == true)
            let replay = try await client.post("/v1/tickets/verify", #"{"token":"\#(token)"}"#)
            #expect(replay.status == .ok)
            #expect(try replay.json["valid"] == false)
            #expect(try replay.json["code"] == "replayed")
            // Introspection checks signature, claims and expectations only: it does not consult the replay store.
            #expect(try await client.post("/v1/tickets/introspect", #"{"token":"\#(token)"}"#).json["code"] == "valid")

            let garbage = try await client.post("/v1/tickets/verify", #"{"token":"not-a-token"}"#).json
            #expect(garbage["valid"] == false)
            #expect(garbage["code"] == "malformed")
            // An identity token is not a ticket.
            let identity = try await client.post("/v1/tickets/verify", #"{"token":"\#(project.identityToken("me"))"}"#).json
            #expect(identity["valid"] == false)

            try await client.post("/v1/tickets/verify", #"{}"#).expectProblem(.badRequest, "missing_field")
            try await client.post("/v1/tickets/verify", #"{"token":1}"#).expectProblem(.badRequest, "wrong_type")
            try await client.post("/v1/tickets/verify", #"{"token":"x","expect":[]}"#).expectProblem(.badRequest, "wrong_type")
            try await client.post("/v1/tickets/introspect", #"{"token":"x","expect":{"actoin":"a"}}"#)
                .expectProblem(.unprocessableContent, "unknown_field")
        }
    }

    @Test func jwksVerifiesATicket() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let jwks = try await client.get("/.well-known/jwks.json")
            #expect(jwks.status == .ok)
            #expect(jwks.headers[.contentType] == "application/json")
            let ring = try JWK.parseSet(jwks.text)
            #expect(ring.keys.count == 1)
            #expect(ring.keys[0].kid == project.ticketKey.kid)
            #expect(!jwks.text.contains("\"d\""))  // never the private part
            let token = try #require(try await client.post("/v1/check", Bodies.restartDev).json["ticket"]?["token"]?.stringValue)
            let claims = try TicketVerifier(ring: ring).inspect(token, now: Int64(Date().timeIntervalSince1970))
            #expect(claims.action == "restart-deployment")
        }
    }

    // MARK: - Delegation

    @Test func delegationNarrowsAndRefusesWidening() async throws {
        let project = try Project(.init(maxDelegationDepth: 1))
        defer { project.remove() }
        let parent = project.identityToken("orchestrator", roles: ["deployer", "reader"], groups: ["web-team"])
        try await project.withApp { client in
            let created = try await client.post("/v1/delegations", #"""
                {"parent_token":"\#(parent)","child_id":"log-reader","child_name":"Log reader","roles":["reader"],"ttl":600}
                """#)
            #expect(created.status == .created)
            let c = try created.json
            #expect(c["agent_id"] == "log-reader")
            #expect(c["delegation_depth"] == 1)
            let childToken = try #require(c["token"]?.stringValue)
            let claims = try project.identity.verify(childToken, now: Int64(Date().timeIntervalSince1970))
            #expect(claims.roles == ["reader"])
            #expect(claims.delegationChain.map(\.agentID) == ["orchestrator"])
            #expect(claims.expires - claims.issuedAt == 600)

            // The child token names its caller on /v1/check, with the verified chain.
            let d = try await client.post("/v1/check", Bodies.logsStaging.replacingOccurrences(of: #","caller":"my-agent""#, with: ""),
                                          headers: .json(bearer: childToken)).json
            #expect(d["caller"] == "log-reader")
            #expect(d["result"] == "allow")

            let widen = try await client.post("/v1/delegations", #"{"parent_token":"\#(parent)","child_id":"x","roles":["admin"]}"#)
            let w = try widen.expectProblem(.unprocessableContent, "delegation_invalid_delegation")
            #expect(w["detail"]?.stringValue?.contains("admin") == true)
            try await client.post("/v1/delegations", #"{"parent_token":"\#(parent)","child_id":"x","groups":["ops"]}"#)
                .expectProblem(.unprocessableContent, "delegation_invalid_delegation")
            // Depth 2 > max 1.
            try await client.post("/v1/delegations", #"{"parent_token":"\#(childToken)","child_id":"grandchild"}"#)
                .expectProblem(.unprocessableContent, "delegation_invalid_delegation")
            try await client.post("/v1/delegations", #"{"parent_token":"\#(parent)","child_id":"x","ttl":0}"#)
                .expectProblem(.unprocessableContent, "delegation_invalid_delegation")
            try await client.post("/v1/delegations", #"{"parent_token":"a.b.c","child_id":"x"}"#)
                .expectProblem(.unauthorized, "delegation_malformed")
            let expired = project.identityToken("old", ttl: 10, now: Int64(Date().timeIntervalSince1970) - 1000)
            try await client.post("/v1/delegations", #"{"parent_token":"\#(expired)","child_id":"x"}"#)
                .expectProblem(.unauthorized, "delegation_expired")
            try await client.post("/v1/delegations", #"{"parent_token":"\#(parent)"}"#).expectProblem(.badRequest, "missing_field")
            try await client.post("/v1/delegations", #"{"parent_token":"\#(parent)","child_id":"x","ttl":"1h"}"#)
                .expectProblem(.badRequest, "wrong_type")
            try await client.post("/v1/delegations", #"{"parent_token":"\#(parent)","child_id":"x","roles":"reader"}"#)
                .expectProblem(.badRequest, "wrong_type")
        }
    }
}
