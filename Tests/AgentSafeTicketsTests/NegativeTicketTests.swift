import AgentSafeCore
import Crypto
import Foundation
import Testing

@testable import AgentSafeTickets

/// Every way a ticket can be wrong, each refused with its stable code.
@Suite("Tickets that must be refused")
struct NegativeTicketTests {
    static let hsRing = try! KeyRing([Keys.hmac])
    static let ecRing = try! KeyRing([Keys.ec])
    static let bothRing = try! KeyRing([Keys.ec, Keys.hmac])

    func verify(_ token: String, ring: KeyRing = bothRing, expect: TicketExpectation = .init(),
                at now: Int64 = Keys.now) -> TokenError.Code? {
        code { try TicketVerifier(ring: ring).inspect(token, expect: expect, now: now) }
    }

    @Test func algNone() {
        let t = Keys.issue(Keys.hmac)
        let parts = Keys.segments(t.token)
        let header = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8))
        #expect(verify(header + "." + parts[1] + ".") == .unsupportedAlgorithm)
        #expect(verify(header + "." + parts[1] + "." + parts[2]) == .unsupportedAlgorithm)
        let lower = Base64URL.encode(Array(#"{"alg":"None"}"#.utf8))
        #expect(verify(lower + "." + parts[1] + "." + parts[2]) == .unsupportedAlgorithm)
    }

    @Test func otherAlgorithmsAreRefused() {
        let payload = Keys.payloadText(Keys.issue(Keys.hmac).token)
        for alg in ["HS384", "HS512", "RS256", "ES384", "PS256", "EdDSA"] {
            let token = Keys.forge(header: #"{"alg":""# + alg + #""}"#, payload: payload, hmacKey: Keys.hmacBytes)
            #expect(verify(token) == .unsupportedAlgorithm)
        }
    }

    @Test func hsTokenSignedWithTheECPublicKeyBytes() {
        // The classic key-confusion attack: HMAC keyed with the verifier's public key.
        guard case .ecPrivate(let k) = Keys.ec.material else { return }
        let payload = Keys.payloadText(Keys.issue(Keys.ec).token)
        for publicBytes in [Array(k.publicKey.x963Representation), Array(k.publicKey.pemRepresentation.utf8),
                            Array(k.publicKey.derRepresentation)] {
            let withKid = Keys.forge(header: #"{"alg":"HS256","kid":""# + Keys.ec.kid + #""}"#, payload: payload,
                                     hmacKey: publicBytes)
            #expect(verify(withKid, ring: Self.ecRing) == .unknownKey)
            let noKid = Keys.forge(header: #"{"alg":"HS256"}"#, payload: payload, hmacKey: publicBytes)
            #expect(verify(noKid, ring: Self.ecRing) == .unknownKey)
            #expect(verify(noKid, ring: Self.bothRing) == .badSignature)
        }
    }

    @Test func esHeaderOnAnHMACKey() {
        let t = Keys.issue(Keys.hmac)
        let parts = Keys.segments(t.token)
        let header = Base64URL.encode(Array((#"{"alg":"ES256","kid":""# + Keys.hmac.kid + #""}"#).utf8))
        #expect(verify(header + "." + parts[1] + "." + parts[2]) == .unknownKey)
    }

    @Test func unknownKid() {
        let payload = Keys.payloadText(Keys.issue(Keys.hmac).token)
        let token = Keys.forge(header: #"{"alg":"HS256","kid":"nope"}"#, payload: payload, hmacKey: Keys.hmacBytes)
        #expect(verify(token) == .unknownKey)
        // A ticket from a key we don't hold.
        #expect(verify(Keys.issue(Keys.ec2).token) == .unknownKey)
    }

    @Test func tamperedPayload() {
        let t = Keys.issue(Keys.ec)
        let parts = Keys.segments(t.token)
        let forged = Keys.payloadText(t.token).replacingOccurrences(of: "prod/shop-web", with: "prod/shop-db")
        #expect(verify(parts[0] + "." + Base64URL.encode(Array(forged.utf8)) + "." + parts[2]) == .badSignature)
    }

    @Test func tamperedParamsWithTheOldHash() {
        // Re-signed with the right key (as a buggy or malicious minter could): the digest no longer matches.
        let payload = Keys.payloadText(Keys.issue(Keys.hmac).token).replacingOccurrences(of: #""replicas":3"#, with: #""replicas":300"#)
        let token = Keys.forge(header: #"{"alg":"HS256","typ":"agent-safe-ticket+jwt"}"#, payload: payload, hmacKey: Keys.hmacBytes)
        #expect(verify(token) == .paramsMismatch)
    }

    @Test func brokenSignatures() {
        let t = Keys.issue(Keys.ec).token
        let parts = Keys.segments(t)
        #expect(verify(parts[0] + "." + parts[1] + ".") == .badSignature)           // empty
        #expect(verify(parts[0] + "." + parts[1] + "." + String(parts[2].dropLast(4))) == .badSignature)  // truncated
        #expect(verify(parts[0] + "." + parts[1] + "." + parts[2] + "AA") == .badSignature)  // too long
        #expect(verify(parts[0] + "." + parts[1] + "." + parts[2] + "=") == .badSignature)  // padding
        let h = Keys.issue(Keys.hmac).token
        let hp = Keys.segments(h)
        #expect(verify(hp[0] + "." + hp[1] + "." + String(hp[2].dropLast(2))) == .badSignature)
        var flipped = Array(hp[2].utf8)
        flipped[3] = flipped[3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(verify(hp[0] + "." + hp[1] + "." + String(decoding: flipped, as: UTF8.self)) == .badSignature)
    }

    @Test func wrongShapes() {
        let t = Keys.issue(Keys.ec).token
        #expect(verify("") == .malformed)
        #expect(verify("abc") == .malformed)
        #expect(verify(t + ".extra") == .malformed)
        #expect(verify(t + ".a.b") == .malformed)  // JWE-like five segments
        #expect(verify("!!!." + Keys.segments(t)[1] + "." + Keys.segments(t)[2]) == .malformed)
        #expect(verify(String(repeating: "a", count: 70_000)) == .malformed)
        // Duplicate member names in the header are refused (strict JSON).
        let dup = Keys.forge(header: #"{"alg":"HS256","alg":"none"}"#, payload: "{}", hmacKey: Keys.hmacBytes)
        #expect(verify(dup) == .malformed)
        let crit = Keys.forge(header: #"{"alg":"HS256","crit":["exp"]}"#, payload: "{}", hmacKey: Keys.hmacBytes)
        #expect(verify(crit) == .malformed)
        let array = Keys.forge(header: #"{"alg":"HS256"}"#, payload: "[1]", hmacKey: Keys.hmacBytes)
        #expect(verify(array) == .malformed)
    }

    @Test func timeClaims() {
        let t = Keys.issue(Keys.hmac).token
        #expect(verify(t, at: Keys.now + 300 + 29) == nil)          // within the 30 s leeway
        #expect(verify(t, at: Keys.now + 300 + 30) == .expired)
        #expect(verify(t, at: Keys.now - 31) == .notYetValid)      // nbf = iat = issue time
        #expect(verify(t, at: Keys.now - 29) == nil)
        let future = Keys.payloadText(t).replacingOccurrences(of: #""nbf":\#(Keys.now)"#, with: #""nbf":\#(Keys.now + 100)"#)
        let forged = Keys.forge(header: #"{"alg":"HS256"}"#, payload: future, hmacKey: Keys.hmacBytes)
        #expect(verify(forged) == .notYetValid)
    }

    @Test func wrongIssuerAudienceAndType() {
        let t = Keys.issue(Keys.hmac)
        let otherIssuer = TicketVerifier(ring: Self.bothRing, settings: TicketSettings(issuer: "someone-else"))
        #expect(code { try otherIssuer.inspect(t.token, now: Keys.now) } == .wrongIssuer)
        let withAud = Keys.issue(Keys.hmac, settings: TicketSettings(audience: "executors"))
        #expect(verify(withAud.token) == .wrongAudience)
        let typed = Keys.payloadText(t.token).replacingOccurrences(of: "execution-ticket", with: "approval")
        #expect(verify(Keys.forge(header: #"{"alg":"HS256"}"#, payload: typed, hmacKey: Keys.hmacBytes)) == .wrongType)
        let badTyp = Keys.forge(header: #"{"alg":"HS256","typ":"agent-safe-identity+jwt"}"#, payload: Keys.payloadText(t.token),
                                hmacKey: Keys.hmacBytes)
        #expect(verify(badTyp) == .wrongType)
    }

    @Test func missingClaims() {
        let payload = Keys.payloadText(Keys.issue(Keys.hmac).token)
        for claim in ["action", "target", "caller", "audit_id", "nonce", "iss", "iat", "exp"] {
            var object = try! JSONValue.parse(payload).objectValue!
            object[claim] = nil
            let token = Keys.forge(header: #"{"alg":"HS256"}"#, payload: JSONValue.object(object).canonicalText,
                                   hmacKey: Keys.hmacBytes)
            #expect(verify(token) == .missingClaim, "without \(claim)")
            object[claim] = .null
            let nulled = Keys.forge(header: #"{"alg":"HS256"}"#, payload: JSONValue.object(object).canonicalText,
                                    hmacKey: Keys.hmacBytes)
            #expect(verify(nulled) == .missingClaim, "\(claim): null")
        }
    }

    @Test func expectations() {
        let t = Keys.issue(Keys.ec).token
        #expect(verify(t, expect: .init(action: "restart-deployment")) == .actionMismatch)
        #expect(verify(t, expect: .init(target: "prod/shop-db")) == .targetMismatch)
        #expect(verify(t, expect: .init(params: ["namespace": "shop", "deployment": "web", "replicas": 4])) == .paramsMismatch)
        #expect(verify(t, expect: .init(params: ["namespace": "shop", "deployment": "web"])) == .paramsMismatch)
        #expect(verify(t, expect: .init(params: ["replicas": 3, "deployment": "web", "namespace": "shop"])) == nil)
        // 3 and 3.0 are different JSON values: a number where an integer was approved is refused.
        #expect(verify(t, expect: .init(params: ["namespace": "shop", "deployment": "web", "replicas": 3.5])) == .paramsMismatch)
        #expect(verify(t, expect: .init(params: ["namespace": "shop", "deployment": "web", "replicas": 3.0])) == .paramsMismatch)
    }

    @Test func identityTokenOfferedAsTicket() throws {
        let authority = IdentityAuthority(ring: Self.bothRing)
        let identity = try authority.issue(agentID: "deploy-bot", roles: ["deployer"], now: Keys.now)
        #expect(verify(identity.token) == .wrongType)
        // And a ticket offered as an identity token.
        let ticket = Keys.issue(Keys.ec)
        #expect(code { try authority.verify(ticket.token, now: Keys.now) } == .wrongType)
        // Even with the header typ rewritten to plain JWT, the claims keep them apart.
        let payload = Keys.payloadText(Keys.issue(Keys.hmac).token)
        let asJWT = Keys.forge(header: #"{"alg":"HS256","typ":"JWT"}"#, payload: payload, hmacKey: Keys.hmacBytes)
        #expect(code { try authority.verify(asJWT, now: Keys.now) } == .wrongType)
    }

    @Test func replay() throws {
        let guardStore = InMemoryReplayGuard()
        let verifier = TicketVerifier(ring: Self.bothRing, replayGuard: guardStore)
        let t = Keys.issue(Keys.ec).token
        _ = try verifier.verifyAndConsume(t, now: Keys.now)
        #expect(code { try verifier.verifyAndConsume(t, now: Keys.now + 1) } == .replayed)
        // Inspection doesn't consume and still works.
        _ = try verifier.inspect(t, now: Keys.now + 1)
        // Without a store a ticket can't be consumed at all (fail closed).
        #expect(code { try TicketVerifier(ring: Self.bothRing).verifyAndConsume(t, now: Keys.now) } == .storeUnavailable)
        // A refused ticket is not consumed: the same jti with a wrong expectation leaves the store untouched.
        let other = Keys.issue(Keys.ec).token
        #expect(code { try verifier.verifyAndConsume(other, expect: .init(action: "x"), now: Keys.now) } == .actionMismatch)
        _ = try verifier.verifyAndConsume(other, now: Keys.now)
    }
}
