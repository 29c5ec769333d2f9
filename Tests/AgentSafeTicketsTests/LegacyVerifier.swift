import AgentSafeCore
import Crypto
import Foundation
import Testing

@testable import AgentSafeTickets

// The verification path as it was before the fast paths (JWS.verify with a JSONParser dictionary, ClaimReader
// lookups, base64url decoded bit by bit), kept verbatim as the reference the differential tests compare against.

enum LegacyBase64 {
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        if text.count % 4 == 1 { return nil }
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for c in text {
            let v = Base64URL.decodeTable[Int(c)]
            if v == 0xFF { return nil }
            buffer = buffer << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
                buffer &= (1 << UInt32(bits)) - 1
            }
        }
        if buffer != 0 { return nil }
        return out
    }

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next()
            let b2 = b1 == nil ? nil : iterator.next()
            out.append(Base64URL.alphabet[Int(b0 >> 2)])
            out.append(Base64URL.alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            guard let b1 else { break }
            out.append(Base64URL.alphabet[Int((b1 & 0x0F) << 2 | (b2 ?? 0) >> 6)])
            guard let b2 else { break }
            out.append(Base64URL.alphabet[Int(b2 & 0x3F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

enum LegacyJWS {
    static func paramsDigest(_ params: [String: JSONValue]) -> String {
        Hex.encode(SHA256.hash(data: Array(JSONValue.object(params).canonicalText.utf8)))
    }

    static func verify(_ token: String, ring: KeyRing) throws(TokenError) -> JWS.Verified {
        let bytes = Array(token.utf8)
        guard !bytes.isEmpty else { throw TokenError(.malformed, "empty token") }
        guard bytes.count <= JWS.maximumTokenBytes else {
            throw TokenError(.malformed, "token is longer than \(JWS.maximumTokenBytes) bytes")
        }
        var dots: [Int] = []
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: ".") {
            dots.append(i)
            if dots.count > 2 { break }
        }
        guard dots.count == 2 else {
            throw TokenError(.malformed, dots.count < 2 ? "not enough segments" : "too many segments (JWE or JSON serialisations aren't accepted)")
        }
        let headerPart = bytes[0..<dots[0]]
        let payloadPart = bytes[(dots[0] + 1)..<dots[1]]
        let signaturePart = bytes[(dots[1] + 1)...]
        guard let headerBytes = LegacyBase64.decode(headerPart) else { throw TokenError(.malformed, "header is not base64url") }
        let header: JSONValue
        do {
            header = try JSONParser(maxDepth: 4).parse(String(decoding: headerBytes, as: UTF8.self))
        } catch {
            throw TokenError(.malformed, "header is not valid JSON")
        }
        guard case .object(let fields) = header else { throw TokenError(.malformed, "header is not a JSON object") }
        guard case .string(let algName)? = fields["alg"] else { throw TokenError(.malformed, "header has no 'alg'") }
        guard let algorithm = JWSAlgorithm(rawValue: algName) else {
            throw TokenError(.unsupportedAlgorithm, "algorithm '\(algName)' is not accepted (only HS256 and ES256)")
        }
        if fields["crit"] != nil { throw TokenError(.malformed, "header has 'crit' extensions, none are understood") }
        var kid: String?
        switch fields["kid"] {
        case nil: kid = nil
        case .string(let k)?: kid = k
        default: throw TokenError(.malformed, "header 'kid' is not a string")
        }
        guard let signature = LegacyBase64.decode(signaturePart) else {
            throw TokenError(.badSignature, "signature is not valid base64url")
        }
        guard !signature.isEmpty else { throw TokenError(.badSignature, "signature is empty") }
        let candidates = ring.candidates(kid: kid, algorithm: algorithm)
        guard !candidates.isEmpty else {
            if let kid {
                if let other = ring.key(kid: kid) {
                    throw TokenError(.unknownKey, "key '\(kid)' is an \(other.algorithm.rawValue) key; it never verifies \(algorithm.rawValue)")
                }
                throw TokenError(.unknownKey, "no key with kid '\(kid)'")
            }
            throw TokenError(.unknownKey, "no \(algorithm.rawValue) key is configured")
        }
        let input = Array(bytes[0..<dots[1]])
        guard let key = candidates.first(where: { $0.verify(signature, over: input) }) else {
            throw TokenError(.badSignature, "signature verification failed")
        }
        guard let payloadBytes = LegacyBase64.decode(payloadPart) else {
            throw TokenError(.malformed, "payload is not base64url")
        }
        guard let payloadText = String(validating: payloadBytes, as: UTF8.self) else {
            throw TokenError(.malformed, "payload is not UTF-8")
        }
        let payload: JSONValue
        do {
            payload = try JSONParser(maxDepth: 32).parse(payloadText)
        } catch {
            throw TokenError(.malformed, "payload is not valid JSON (\(error.message))")
        }
        guard case .object = payload else { throw TokenError(.malformed, "payload is not a JSON object") }
        return JWS.Verified(header: header, payload: payload, key: key)
    }

}

enum LegacyTicketVerifier {
    static func inspect(_ token: String, ring: KeyRing, settings: TicketSettings, expect: TicketExpectation = .init(), now: Int64) throws(TokenError) -> TicketClaims {
        let verified = try LegacyJWS.verify(token, ring: ring)
        if case .string(let typ)? = verified.header["typ"], typ != TicketSettings.typ, typ.uppercased() != "JWT" {
            throw TokenError(.wrongType, "header typ '\(typ)' is not an execution ticket")
        }
        let r = ClaimReader(verified.payload)
        guard case .string(TicketSettings.type)? = r.claims["type"] else {
            throw TokenError(.wrongType, "token is not an execution ticket (claim 'type' is not 'execution-ticket')")
        }
        for name in ["action", "target", "caller", "audit_id", "nonce", "iss", "iat", "exp"] where !r.has(name) {
            throw TokenError(.missingClaim, "token has no '\(name)' claim")
        }
        let issuer = try r.string("iss")
        guard issuer == settings.issuer else { throw TokenError(.wrongIssuer, "issuer '\(issuer)' is not '\(settings.issuer)'") }
        let audience = try r.audience()
        if let expected = settings.audience {
            guard audience.contains(expected) else {
                throw TokenError(.wrongAudience, audience.isEmpty ? "ticket has no audience; '\(expected)' expected"
                                                  : "ticket is for \(audience), not '\(expected)'")
            }
        } else if !audience.isEmpty {
            throw TokenError(.wrongAudience, "ticket names an audience \(audience) but none is configured")
        }
        let exp = try r.date("exp")
        let iat = try r.date("iat")
        let nbf = try r.optionalDate("nbf")
        let leeway = settings.leewaySeconds
        guard now < exp + leeway else { throw TokenError(.expired, "ticket expired at \(Instant(secondsSinceEpoch: exp).iso8601)") }
        if let nbf, now + leeway < nbf {
            throw TokenError(.notYetValid, "ticket is not valid before \(Instant(secondsSinceEpoch: nbf).iso8601)")
        }
        guard iat <= now + leeway else { throw TokenError(.notYetValid, "ticket was issued in the future") }
        let nonce = try r.string("nonce")
        let jti = try r.optionalString("jti") ?? nonce
        guard jti == nonce else { throw TokenError(.malformed, "'jti' and 'nonce' differ") }
        let params: [String: JSONValue]
        switch r.claims["params"] {
        case nil, .null?: params = [:]
        case .object(let p)?: params = p
        default: throw TokenError(.malformed, "claim 'params' is not an object")
        }
        let digest = try r.optionalString("params_sha256")
        if let digest, digest != LegacyJWS.paramsDigest(params) {
            throw TokenError(.paramsMismatch, "params_sha256 does not match the ticket's params")
        }
        let caller = try r.string("caller")
        let chain = try r.chain()
        let subject = try r.optionalString("sub")
        try r.checkChainConsistency(chain: chain, actor: caller, subject: subject)
        var risk: String?
        var cumulative: Double?
        if case .object(let o)? = r.claims["risk"] {
            risk = o["class"]?.stringValue
            cumulative = o["cumulative"]?.doubleValue
        }
        let claims = TicketClaims(
            issuer: issuer, audience: audience, subject: subject ?? caller, caller: caller, issuedAt: iat,
            notBefore: nbf, expires: exp, jti: jti, action: try r.string("action"), target: try r.string("target"),
            params: params, paramsSHA256: digest, auditID: try r.string("audit_id"), delegationChain: chain,
            risk: risk, cumulativeRisk: cumulative, changeTicket: try r.optionalString("ticket_id"))
        if let action = expect.action, action != claims.action {
            throw TokenError(.actionMismatch, "ticket is for action '\(claims.action)', not '\(action)'")
        }
        if let target = expect.target, target != claims.target {
            throw TokenError(.targetMismatch, "ticket is for target '\(claims.target)', not '\(target)'")
        }
        // Value equality keeps JSON number kinds apart: 3.0 expected is not the 3 the ticket was issued for.
        if let expected = expect.params, expected != params {
            throw TokenError(.paramsMismatch, "ticket params differ from the expected params")
        }
        return claims
    }

}
