import AgentSafeCore
import AgentSafeTickets
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentSafeServer

/// `identity.mode` open / token / bound, and the admin bearer token.
@Suite("Sidecar: identity modes and admin")
struct IdentityModeTests {
    static let logsNoCaller = #"{"action":"get-pod-logs","target":"staging/web","params":{"namespace":"web","pod":"web-1"}}"#

    @Test func tokenModeRequiresAValidBearerIdentity() async throws {
        let project = try Project(.init(mode: "token"))
        defer { project.remove() }
        let good = project.identityToken("orchestrator", roles: ["deployer"])
        let now = Int64(Date().timeIntervalSince1970)
        let expired = project.identityToken("orchestrator", ttl: 10, now: now - 1000)
        let foreign = try IdentityAuthority(ring: KeyRing([SigningKey.hmac(Array(repeating: 7, count: 32))]))
            .issue(agentID: "orchestrator", now: now).token
        var parts = good.split(separator: ".").map(String.init)
        parts[2] = String(parts[2].reversed())
        let tampered = parts.joined(separator: ".")
        let otherIssuer = try IdentityAuthority(ring: KeyRing([project.identityKey]), settings: IdentitySettings(issuer: "someone"))
            .issue(agentID: "orchestrator", now: now).token
        try await project.withApp { client in
            let none = try await client.post("/v1/check", Self.logsNoCaller)
            try none.expectProblem(.unauthorized, "identity_required")
            #expect(none.headers[.wwwAuthenticate] == #"Bearer realm="agent-safe""#)
            // A body caller is no substitute in token mode.
            try await client.post("/v1/check", Bodies.logsStaging).expectProblem(.unauthorized, "identity_required")
            try await client.post("/v1/check", Self.logsNoCaller, headers: .json(bearer: "garbage"))
                .expectProblem(.unauthorized, "identity_malformed")
            try await client.post("/v1/check", Self.logsNoCaller, headers: .json(bearer: expired))
                .expectProblem(.unauthorized, "identity_expired")
            let unknownKey = try await client.post("/v1/check", Self.logsNoCaller, headers: .json(bearer: foreign))
            #expect(unknownKey.status == .unauthorized)
            #expect(try unknownKey.json["code"]?.stringValue?.hasPrefix("identity_") == true)
            try await client.post("/v1/check", Self.logsNoCaller, headers: .json(bearer: tampered))
                .expectProblem(.unauthorized, "identity_bad_signature")
            try await client.post("/v1/check", Self.logsNoCaller, headers: .json(bearer: otherIssuer))
                .expectProblem(.unauthorized, "identity_wrong_issuer")
            // A ticket is not an identity.
            let ticketLike = try TicketIssuer(ring: KeyRing([project.identityKey])).issue(
                TicketRequest(action: "a", target: "t", caller: "orchestrator", params: [:], auditID: "evt-1"), now: now).token
            try await client.post("/v1/check", Self.logsNoCaller, headers: .json(bearer: ticketLike))
                .expectProblem(.unauthorized, "identity_wrong_type")
            try await client.post("/v1/check", Self.logsNoCaller, headers: [.contentType: "application/json", .authorization: "Basic eDp5"])
                .expectProblem(.unauthorized, "invalid_authorization")

            let ok = try await client.post("/v1/check", Self.logsNoCaller, headers: .json(bearer: good))
            #expect(ok.status == .ok)
            #expect(try ok.json["caller"] == "orchestrator")
            #expect(try ok.json["result"] == "allow")
            // The same caller in the body is fine; another one is refused.
            let same = try await client.post("/v1/check", Self.logsNoCaller.replacingOccurrences(of: "{\"action\"", with: "{\"caller\":\"orchestrator\",\"action\""),
                                              headers: .json(bearer: good))
            #expect(same.status == .ok)
            let other = try await client.post("/v1/check", Bodies.logsStaging, headers: .json(bearer: good))
            let p = try other.expectProblem(.forbidden, "caller_mismatch")
            #expect(p["detail"]?.stringValue?.contains("my-agent") == true)
            // Roles come from the token, never from the body.
            let body = Bodies.scaleProdDeployer.replacingOccurrences(of: "deploy-bot", with: "orchestrator")
                .replacingOccurrences(of: "\"deployer\"", with: "\"admin\"")
            let fromToken = try await client.post("/v1/check", body, headers: .json(bearer: good)).json
            #expect(fromToken["policy_matched"] == "approve-prod")

            // Plans too.
            try await client.post("/v1/check-plan", #"{"steps":[\#(Self.logsNoCaller)]}"#).expectProblem(.unauthorized, "identity_required")
            let plan = try await client.post("/v1/check-plan", #"{"steps":[\#(Self.logsNoCaller)]}"#, headers: .json(bearer: good))
            #expect(try plan.json["result"] == "allow")
        }
    }

    @Test func boundModeServesOneIdentity() async throws {
        let project = try Project(.init(mode: "bound", boundAgent: "web-agent", boundRoles: ["deployer"]))
        defer { project.remove() }
        try await project.withApp { client in
            let anonymous = try await client.post("/v1/check", Self.logsNoCaller)
            #expect(anonymous.status == .ok)
            #expect(try anonymous.json["caller"] == "web-agent")
            #expect(try anonymous.json["result"] == "allow")
            let same = try await client.post("/v1/check", Self.logsNoCaller.replacingOccurrences(of: "{\"action\"", with: "{\"caller\":\"web-agent\",\"action\""))
            #expect(same.status == .ok)
            let other = try await client.post("/v1/check", Bodies.logsStaging)
            let p = try other.expectProblem(.forbidden, "caller_mismatch")
            #expect(p["detail"] == "this sidecar serves 'web-agent' only")
            try await client.post("/v1/check", Self.logsNoCaller, headers: .json(bearer: project.identityToken("intruder")))
                .expectProblem(.forbidden, "caller_mismatch")
            try await client.post("/v1/check", Self.logsNoCaller, headers: .json(bearer: "garbage"))
                .expectProblem(.unauthorized, "identity_malformed")
            // The configured roles apply: a prod change by this deployer needs approval.
            let prod = try await client.post("/v1/check", #"{"action":"scale-deployment","target":"prod/web","params":{"namespace":"web","deployment":"web","replicas":2}}"#).json
            #expect(prod["result"] == "require_approval")
        }
    }

    @Test func openModeTakesTheBodyCallerOrAVerifiedToken() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            #expect(try await client.post("/v1/check", Bodies.logsStaging).json["caller"] == "my-agent")
            #expect(try await client.post("/v1/check", Self.logsNoCaller).json["result"] == "deny")
            let token = project.identityToken("tok-agent")
            #expect(try await client.post("/v1/check", Self.logsNoCaller, headers: .json(bearer: token)).json["caller"] == "tok-agent")
            try await client.post("/v1/check", Bodies.logsStaging, headers: .json(bearer: token)).expectProblem(.forbidden, "caller_mismatch")
            // A bad token is refused, never silently ignored in favour of the body.
            try await client.post("/v1/check", Bodies.logsStaging, headers: .json(bearer: "x.y.z")).expectProblem(.unauthorized, "identity_malformed")
        }
    }

    @Test func adminTokenGuardsReload() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let none = try await client.execute(uri: "/v1/admin/reload", method: .post)
            try none.expectProblem(.unauthorized, "admin_token_required")
            #expect(none.headers[.wwwAuthenticate] != nil)
            try await client.execute(uri: "/v1/admin/reload", method: .post, headers: [.authorization: "Bearer wrong"])
                .expectProblem(.forbidden, "admin_token_invalid")
            try await client.execute(uri: "/v1/admin/reload", method: .post, headers: [.authorization: "Bearer \(project.adminToken)x"])
                .expectProblem(.forbidden, "admin_token_invalid")
            // An agent identity is never an admin.
            try await client.execute(uri: "/v1/admin/reload", method: .post,
                                     headers: [.authorization: "Bearer \(project.identityToken("root", roles: ["admin"]))"])
                .expectProblem(.forbidden, "admin_token_invalid")
            let ok = try await client.execute(uri: "/v1/admin/reload", method: .post, headers: [.authorization: "bearer \(project.adminToken)"])
            #expect(ok.status == .ok)
        }
        let noAdmin = try Project(.init(admin: false))
        defer { noAdmin.remove() }
        _ = try await noAdmin.withApp { client in
            try await client.execute(uri: "/v1/admin/reload", method: .post, headers: [.authorization: "Bearer anything-at-all-here"])
                .expectProblem(.forbidden, "admin_disabled")
        }
    }

    @Test func startupRefusesBadSettings() throws {
        let project = try Project()
        defer { project.remove() }
        try project.write("short\n", to: "keys/admin.token")
        #expect(throws: SidecarStartError.self) { _ = try project.app() }
        try project.write(project.adminToken, to: "keys/admin.token")
        var remote = project.sidecarConfiguration
        remote.host = "0.0.0.0"
        do {
            _ = try buildApplication(configuration: remote)
            Issue.record("a non-loopback address needs allowRemote")
        } catch let error as SidecarStartError {
            #expect(error.description.contains("--allow-remote"))
        }
        try project.write("tickets: {keys: []}\n", to: "agent-safe.yaml")
        #expect(throws: SidecarStartError.self) { _ = try project.app() }
    }
}
