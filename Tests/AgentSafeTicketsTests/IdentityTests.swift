import AgentSafeCore
import Crypto
import Foundation
import Testing

@testable import AgentSafeTickets

@Suite("Identity tokens and delegation")
struct IdentityTests {
    static let ring = try! KeyRing([Keys.hmac])
    static let authority = IdentityAuthority(ring: ring, settings: IdentitySettings(maxDelegationDepth: 2))
    static let now = Keys.now

    static func root() throws -> String {
        try authority.issue(agentID: "orchestrator", roles: ["deployer", "reader"], groups: ["platform"],
                            ttlSeconds: 600, now: now).token
    }

    @Test func issueAndVerify() throws {
        let claims = try Self.authority.verify(try Self.root(), now: Self.now + 5)
        #expect(claims.agentID == "orchestrator")
        #expect(claims.roles == ["deployer", "reader"])
        #expect(claims.delegationDepth == 0)
        #expect(claims.caller.delegationVerified)
        #expect(claims.expires == Self.now + 600)
    }

    @Test func delegateNarrowsAndChains() throws {
        let child = try Self.authority.delegate(parentToken: try Self.root(), childID: "planner", roles: ["reader"],
                                                now: Self.now + 10)
        let claims = try Self.authority.verify(child.token, now: Self.now + 11)
        #expect(claims.delegationChain.map(\.agentID) == ["orchestrator"])
        #expect(claims.roles == ["reader"])
        #expect(claims.expires == Self.now + 600)  // the parent's remaining lifetime by default
        let payload = try JSONValue.parse(Keys.payloadText(child.token))
        #expect(payload["act"] == ["sub": "planner"])
        #expect(payload["sub"] == "orchestrator")
        #expect(payload["delegation_depth"] == 1)
        let grandchild = try Self.authority.delegate(parentToken: child.token, childID: "worker", roles: ["reader"],
                                                     ttlSeconds: 60, now: Self.now + 20)
        let g = try Self.authority.verify(grandchild.token, now: Self.now + 21)
        #expect(g.delegationChain.map(\.agentID) == ["orchestrator", "planner"])
        #expect(g.caller.verifiedChain.count == 2)
        #expect(g.expires == Self.now + 80)
        #expect(try JSONValue.parse(Keys.payloadText(grandchild.token))["act"] == ["sub": "worker", "act": ["sub": "planner"]])
    }

    @Test func delegationThatWidensRolesOrGroups() throws {
        let root = try Self.root()
        #expect(code { try Self.authority.delegate(parentToken: root, childID: "x", roles: ["admin"], now: Self.now) } == .invalidDelegation)
        #expect(code { try Self.authority.delegate(parentToken: root, childID: "x", groups: ["security"], now: Self.now) } == .invalidDelegation)
    }

    @Test func delegationBeyondTheConfiguredDepth() throws {
        var token = try Self.root()
        for i in 1...2 {
            token = try Self.authority.delegate(parentToken: token, childID: "agent-\(i)", now: Self.now).token
        }
        #expect(code { try Self.authority.delegate(parentToken: token, childID: "agent-3", now: Self.now) } == .invalidDelegation)
        // A verifier configured with a lower maximum refuses the depth-2 token it is shown.
        let strict = IdentityAuthority(ring: Self.ring, settings: IdentitySettings(maxDelegationDepth: 1))
        #expect(code { try strict.verify(token, now: Self.now) } == .invalidDelegation)
    }

    @Test func childNeverOutlivesItsParent() throws {
        let child = try Self.authority.delegate(parentToken: try Self.root(), childID: "planner", ttlSeconds: 86_400,
                                                now: Self.now)
        #expect(child.claims.expires == Self.now + 600)
    }

    /// Tokens minted with the key but inconsistent (as a buggy or compromised minter could produce).
    @Test func inconsistentChainsAreRefused() throws {
        let child = try Self.authority.delegate(parentToken: try Self.root(), childID: "planner", roles: ["reader"],
                                                now: Self.now)
        let base = try JSONValue.parse(Keys.payloadText(child.token)).objectValue!
        func mint(_ change: (inout [String: JSONValue]) -> Void) -> String {
            var o = base
            change(&o)
            return Keys.forge(header: #"{"alg":"HS256","typ":"agent-safe-identity+jwt"}"#,
                              payload: JSONValue.object(o).canonicalText, hmacKey: Keys.hmacBytes)
        }
        let cases: [(String, String)] = [
            ("depth disagrees", mint { $0["delegation_depth"] = 0 }),
            ("act disagrees", mint { $0["act"] = ["sub": "someone"] }),
            ("sub is not the root", mint { $0["sub"] = "planner" }),
            ("roles widened", mint { $0["roles"] = ["reader", "admin"]; $0["delegated_roles"] = ["reader", "admin"] }),
            ("delegated_roles disagree", mint { $0["delegated_roles"] = ["deployer"] }),
            ("outlives parent", mint { $0["exp"] = .integer(Self.now + 10_000) }),
        ]
        for (name, token) in cases {
            #expect(code { try Self.authority.verify(token, now: Self.now) } == .invalidDelegation, "\(name)")
        }
    }

    @Test func expiredAndTamperedParents() throws {
        let root = try Self.root()
        #expect(code { try Self.authority.delegate(parentToken: root, childID: "x", now: Self.now + 700) } == .expired)
        let parts = Keys.segments(root)
        let tampered = parts[0] + "." + Base64URL.encode(Array(Keys.payloadText(root).replacingOccurrences(of: "reader", with: "admin0").utf8)) + "." + parts[2]
        #expect(code { try Self.authority.delegate(parentToken: tampered, childID: "x", now: Self.now) } == .badSignature)
    }
}

/// Upstream's Appendix-A tokens (PyJWT, HS256, no kid, typ JWT) verified with a fixed clock.
@Suite("Upstream JWT vectors")
struct UpstreamVectorTests {
    static let ticket = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0eXBlIjoiZXhlY3V0aW9uLXRpY2tldCIsImFjdGlvbiI6InJlc3RhcnQtZGVwbG95bWVudCIsInRhcmdldCI6ImRldi90ZXN0LWFwcCIsImNhbGxlciI6ImFnZW50LTAxIiwicGFyYW1zIjp7Im5hbWVzcGFjZSI6ImRldiIsImRlcGxveW1lbnQiOiJhcHAifSwiYXVkaXRfaWQiOiJldnQtMDAwMDAwMDAwMDAxIiwibm9uY2UiOiIwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZiIsImlzcyI6ImFnZW50LXNhZmUiLCJpYXQiOjE3MzU3MzI4MDAsImV4cCI6MTczNTczMzEwMH0.BPG2lsMqB0bgrcVpX6xGsAodRcpjgNZ4zAjezkLTeSU"
    static let identity = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhZ2VudF9pZCI6ImRlcGxveS1hZ2VudC0wMSIsImFnZW50X25hbWUiOiIiLCJyb2xlcyI6WyJkZXBsb3llciJdLCJncm91cHMiOlsicGxhdGZvcm0tdGVhbSJdLCJpc3MiOiJhZ2VudC1zYWZlIiwiaWF0IjoxNzM1NzMyODAwLCJleHAiOjE3MzU3MzY0MDB9.svaH2n8ZTHyiAsq3PEjuW8TpreVxEdWeKKeZS2P_mb4"
    static let ring = try! KeyRing([Keys.hmac])
    static let issuedAt: Int64 = 1_735_732_800

    @Test func upstreamTicketVerifies() throws {
        let verifier = TicketVerifier(ring: Self.ring, replayGuard: InMemoryReplayGuard())
        let claims = try verifier.verifyAndConsume(Self.ticket, expect: .init(action: "restart-deployment", target: "dev/test-app",
                                                   params: ["namespace": "dev", "deployment": "app"]), now: Self.issuedAt + 60)
        #expect(claims.caller == "agent-01")
        #expect(claims.jti == "0123456789abcdef0123456789abcdef")
        #expect(claims.auditID == "evt-000000000001")
        #expect(claims.paramsSHA256 == nil)
        #expect(code { try verifier.verifyAndConsume(Self.ticket, now: Self.issuedAt + 61) } == .replayed)
        #expect(code { try verifier.inspect(Self.ticket, now: Self.issuedAt + 300 + 30) } == .expired)
    }

    @Test func upstreamIdentityVerifies() throws {
        let claims = try IdentityAuthority(ring: Self.ring).verify(Self.identity, now: Self.issuedAt + 60)
        #expect(claims.agentID == "deploy-agent-01")
        #expect(claims.roles == ["deployer"])
        #expect(claims.groups == ["platform-team"])
        #expect(code { try TicketVerifier(ring: Self.ring).inspect(Self.identity, now: Self.issuedAt + 60) } == .wrongType)
    }

    @Test func aWrongKeyFails() throws {
        let other = try KeyRing([try SigningKey.hmac(Array("another-signing-key-0123456789abcdef".utf8))])
        #expect(code { try TicketVerifier(ring: other).inspect(Self.ticket, now: Self.issuedAt) } == .badSignature)
    }
}
