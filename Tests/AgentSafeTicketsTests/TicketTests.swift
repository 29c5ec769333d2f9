import AgentSafeCore
import Crypto
import Foundation
import Testing

@testable import AgentSafeTickets

/// Keys and helpers shared by the ticket tests.
enum Keys {
    static let hmacBytes = Array("test-signing-key-0123456789abcdef".utf8)  // upstream Appendix A
    static let hmac = try! SigningKey.hmac(hmacBytes)
    static let ec = SigningKey.ecPrivate(P256.Signing.PrivateKey())
    static let ec2 = SigningKey.ecPrivate(P256.Signing.PrivateKey())
    static let now: Int64 = 1_800_000_000
    static let params: [String: JSONValue] = ["namespace": "shop", "deployment": "web", "replicas": 3]

    static func request(_ chain: [ChainLink] = []) -> TicketRequest {
        TicketRequest(action: "scale-deployment", target: "prod/shop-web", caller: "deploy-bot", params: params,
                      auditID: "evt-0123456789abcdef0123456789abcdef", delegationChain: chain, risk: "high",
                      changeTicket: "CHG-42")
    }

    static func issue(_ key: SigningKey, settings: TicketSettings = TicketSettings(), at now: Int64 = now) -> ExecutionTicket {
        try! TicketIssuer(ring: try! KeyRing([key]), settings: settings).issue(request(), now: now)
    }

    /// Re-signs an arbitrary header and payload with raw key bytes (to forge tokens).
    static func forge(header: String, payload: String, hmacKey: [UInt8]) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: hmacKey))
        return input + "." + Base64URL.encode(Array(mac))
    }

    static func segments(_ token: String) -> [String] { token.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }

    static func payloadText(_ token: String) -> String {
        String(decoding: Base64URL.decode(segments(token)[1])!, as: UTF8.self)
    }
}

@Suite("Execution tickets: issue and verify")
struct TicketTests {
    @Test(arguments: [Keys.hmac, Keys.ec])
    func roundTrip(_ key: SigningKey) throws {
        let ticket = Keys.issue(key)
        let verifier = TicketVerifier(ring: try KeyRing([key]), replayGuard: InMemoryReplayGuard())
        let claims = try verifier.verifyAndConsume(ticket.token, expect: .init(action: "scale-deployment",
                                                   target: "prod/shop-web", params: Keys.params), now: Keys.now + 10)
        #expect(claims == ticket.claims)
        #expect(claims.jti.count == 32)
        #expect(claims.expires == Keys.now + 300)
        #expect(claims.paramsSHA256 == TicketClaims.paramsDigest(Keys.params))
        #expect(claims.changeTicket == "CHG-42")
        let header = JWS.unverifiedPayload(ticket.token.split(separator: ".").dropFirst().joined(separator: "."))
        #expect(header == nil)  // not a token any more: two segments
        let payload = Keys.payloadText(ticket.token)
        #expect(payload.hasPrefix(#"{"type":"execution-ticket","action":"scale-deployment""#))
        #expect(!payload.contains("\"aud\""))  // no audience configured → no aud claim (upstream validator compat)
        #expect(payload.contains(#""nonce":""# + claims.jti))
    }

    @Test func params_sha256IsOverCanonicalJSON() {
        // Keys sorted by UTF-16 code units, no whitespace.
        let digest = TicketClaims.paramsDigest(["b": 1, "a": ["y": true, "x": "é"]])
        let expected = Hex.encode(SHA256.hash(data: Array(#"{"a":{"x":"é","y":true},"b":1}"#.utf8)))
        #expect(digest == expected)
    }

    @Test func hexOfRawBytesMatchesTheSequenceEncoder() {
        var rng = SplitMix64(seed: 7)
        for count in [0, 1, 16, 32, 33] {
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(bytes.withUnsafeBytes(Hex.encode(raw:)) == Hex.encode(bytes))
        }
        #expect(([0x00, 0x0f, 0xa0, 0xff] as [UInt8]).withUnsafeBytes(Hex.encode(raw:)) == "000fa0ff")
        // The known SHA-256 of "abc".
        #expect(SHA256.hash(data: Array("abc".utf8)).withUnsafeBytes(Hex.encode(raw:))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func audienceIsWrittenAndRequiredWhenConfigured() throws {
        let settings = TicketSettings(audience: "executors")
        let ticket = Keys.issue(Keys.ec, settings: settings)
        #expect(Keys.payloadText(ticket.token).contains(#""aud":"executors""#))
        let ring = try KeyRing([Keys.ec])
        _ = try TicketVerifier(ring: ring, settings: settings).inspect(ticket.token, now: Keys.now)
        #expect(throws: TokenError.self) { try TicketVerifier(ring: ring).inspect(ticket.token, now: Keys.now) }
        let other = TicketVerifier(ring: ring, settings: TicketSettings(audience: "someone-else"))
        #expect(code { try other.inspect(ticket.token, now: Keys.now) } == .wrongAudience)
        // A ticket without aud, verified by a verifier that expects one.
        let plain = Keys.issue(Keys.ec)
        #expect(code { try TicketVerifier(ring: ring, settings: settings).inspect(plain.token, now: Keys.now) } == .wrongAudience)
    }

    @Test func ttlIsCapped() {
        #expect(TicketSettings(ttlSeconds: 86_400).ttlSeconds == TicketSettings.maximumTTL)
        #expect(TicketSettings(ttlSeconds: 0).ttlSeconds == 1)
    }

    @Test func delegationChainIsCarriedInActAndDelegationChain() throws {
        let chain = [ChainLink(agentID: "orchestrator", roles: ["deployer"]), ChainLink(agentID: "planner", roles: ["deployer"])]
        let ticket = try TicketIssuer(ring: try KeyRing([Keys.ec])).issue(Keys.request(chain), now: Keys.now)
        let payload = try JSONValue.parse(Keys.payloadText(ticket.token))
        #expect(payload["sub"] == "orchestrator")
        #expect(payload["caller"] == "deploy-bot")
        #expect(payload["act"] == ["sub": "deploy-bot", "act": ["sub": "planner"]])
        #expect(payload["delegation_depth"] == 2)
        let claims = try TicketVerifier(ring: try KeyRing([Keys.ec])).inspect(ticket.token, now: Keys.now)
        #expect(claims.delegationChain.map(\.agentID) == ["orchestrator", "planner"])
    }

    @Test func rotation() throws {
        // Sign with the new key; the old one still verifies tickets it signed until it is removed.
        let old = Keys.issue(Keys.ec2)
        let ring = try KeyRing([Keys.ec, Keys.ec2])
        let fresh = try TicketIssuer(ring: ring).issue(Keys.request(), now: Keys.now)
        #expect(try JWS.verify(fresh.token, ring: ring).key.kid == Keys.ec.kid)
        let verifier = TicketVerifier(ring: ring)
        _ = try verifier.inspect(old.token, now: Keys.now)
        _ = try verifier.inspect(fresh.token, now: Keys.now)
        #expect(code { try TicketVerifier(ring: try KeyRing([Keys.ec])).inspect(old.token, now: Keys.now) } == .unknownKey)
    }

    @Test func jwksHasOnlyPublicECKeys() throws {
        let ring = try KeyRing([Keys.ec, Keys.hmac])
        let jwks = JWK.set(ring)
        let keys = jwks["keys"]?.arrayValue ?? []
        #expect(keys.count == 1)
        #expect(keys.first?["kid"]?.stringValue == Keys.ec.kid)
        #expect(keys.first?["d"] == nil)
        let parsed = try JWK.parseSet(jwks.canonicalText)
        let ticket = Keys.issue(Keys.ec)
        _ = try TicketVerifier(ring: parsed).inspect(ticket.token, now: Keys.now)
        #expect(parsed.signer == nil)
    }

    @Test func shortHMACKeysAreRefused() {
        #expect(throws: KeyError.self) { try SigningKey.hmac(Array("too-short".utf8)) }
        #expect(throws: KeyError.self) { try SigningKey.hmac([UInt8](repeating: 1, count: 31)) }
    }

    @Test func descriptionsNeverShowKeyMaterial() {
        let text = "\(Keys.hmac) \(Keys.ec)"
        #expect(!text.contains("test-signing-key"))
        #expect(text.contains(Keys.hmac.kid))
    }
}

func code(_ body: () throws -> Any) -> TokenError.Code? {
    do {
        _ = try body()
        return nil
    } catch let error as TokenError {
        return error.code
    } catch {
        return nil
    }
}
