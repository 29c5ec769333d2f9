import AgentSafeCore

/// What the executor is about to do; a ticket for anything else is refused.
public struct TicketExpectation: Sendable, Hashable {
    public var action: String?
    public var target: String?
    public var params: [String: JSONValue]?

    public init(action: String? = nil, target: String? = nil, params: [String: JSONValue]? = nil) {
        self.action = action
        self.target = target
        self.params = params
    }
}

/// Verifies execution tickets: signature with a pinned algorithm, header `typ` and claim `type`, issuer, audience,
/// time claims with leeway, the params digest, the executor's expectations and, when consuming, single use.
public struct TicketVerifier: Sendable {
    public let ring: KeyRing
    public let settings: TicketSettings
    public let replayGuard: (any ReplayGuard)?

    public init(ring: KeyRing, settings: TicketSettings = TicketSettings(), replayGuard: (any ReplayGuard)? = nil) {
        self.ring = ring
        self.settings = settings
        self.replayGuard = replayGuard
        knownHeaders = ring.keys.map { JWS.KnownHeader(segment: JWS.headerSegment(typ: TicketSettings.typ, key: $0), key: $0,
                                                        typ: TicketSettings.typ) }
    }

    /// Verifies and consumes: the ticket is accepted once, then `replayed`. Needs a replay guard.
    public func verifyAndConsume(_ token: String, expect: TicketExpectation = .init(), now: Int64) throws(TokenError)
        -> TicketClaims
    {
        let claims = try inspect(token, expect: expect, now: now)
        guard let replayGuard else {
            throw TokenError(.storeUnavailable, "no replay store configured; a ticket can't be consumed")
        }
        let first: Bool
        do {
            first = try replayGuard.consume(jti: claims.jti, expiresAt: claims.expires + settings.leewaySeconds, now: now)
        } catch {
            throw TokenError(.storeUnavailable, "the replay store failed: \(error)")
        }
        guard first else { throw TokenError(.replayed, "ticket \(claims.jti) has already been used") }
        return claims
    }

    /// Verifies without consuming (inspection only: an executor must use ``verifyAndConsume(_:expect:now:)``).
    public func inspect(_ token: String, expect: TicketExpectation = .init(), now: Int64) throws(TokenError) -> TicketClaims {
        let signed = try JWS.checkSignature(token, ring: ring, knownHeaders: knownHeaders)
        guard Self.isUTF8(signed.payload) else { throw TokenError(.malformed, "payload is not UTF-8") }
        // The payload is read straight into the claims' slots (no dictionary), as strictly as JWS.verify parses it.
        let slots: [JSONValue?]?
        do {
            slots = try signed.payload.withUnsafeBufferPointer { bytes in
                Result { () throws(JSONParser.Error) -> [JSONValue?]? in
                    try JSONParser(maxDepth: JWS.payloadMaxDepth).parseMembers(bytes, names: TicketClaim.memberNames)
                }
            }.get()
        } catch {
            throw TokenError(.malformed, "payload is not valid JSON (\(error.message))")
        }
        guard let slots else { throw TokenError(.malformed, "payload is not a JSON object") }
        return try check(typ: signed.typ, TicketClaimReader(slots: slots), expect: expect, now: now)
    }

    /// Header segments of tickets signed by the ring's keys, recognised without parsing.
    let knownHeaders: [JWS.KnownHeader]

    static func isUTF8(_ bytes: [UInt8]) -> Bool {
        // ASCII (every ticket this package issues) is checked eight bytes at a time, without decoding.
        let ascii = bytes.withUnsafeBytes { raw in
            var i = 0
            while i + 8 <= raw.count {
                if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
                i += 8
            }
            while i < raw.count {
                if raw[i] >= 0x80 { return false }
                i += 1
            }
            return true
        }
        return ascii || String(validating: bytes, as: UTF8.self) != nil
    }

    /// The claim checks, on a verified token's header `typ` and payload claims.
    func check(typ headerTyp: JSONValue?, _ r: TicketClaimReader, expect: TicketExpectation, now: Int64) throws(TokenError)
        -> TicketClaims
    {
        if case .string(let typ)? = headerTyp, typ != TicketSettings.typ, typ.uppercased() != "JWT" {
            throw TokenError(.wrongType, "header typ '\(typ)' is not an execution ticket")
        }
        guard case .string(TicketSettings.type)? = r[.type] else {
            throw TokenError(.wrongType, "token is not an execution ticket (claim 'type' is not 'execution-ticket')")
        }
        for claim in Self.required where !r.has(claim) {
            throw TokenError(.missingClaim, "token has no '\(claim.name)' claim")
        }
        let issuer = try r.string(.iss)
        guard issuer == settings.issuer else { throw TokenError(.wrongIssuer, "issuer '\(issuer)' is not '\(settings.issuer)'") }
        let audience = try ClaimReader.audience(r[.aud])
        if let expected = settings.audience {
            guard audience.contains(expected) else {
                throw TokenError(.wrongAudience, audience.isEmpty ? "ticket has no audience; '\(expected)' expected"
                                                  : "ticket is for \(audience), not '\(expected)'")
            }
        } else if !audience.isEmpty {
            throw TokenError(.wrongAudience, "ticket names an audience \(audience) but none is configured")
        }
        let exp = try r.date(.exp)
        let iat = try r.date(.iat)
        let nbf = try r.optionalDate(.nbf)
        let leeway = settings.leewaySeconds
        guard now < exp + leeway else { throw TokenError(.expired, "ticket expired at \(Instant(secondsSinceEpoch: exp).iso8601)") }
        if let nbf, now + leeway < nbf {
            throw TokenError(.notYetValid, "ticket is not valid before \(Instant(secondsSinceEpoch: nbf).iso8601)")
        }
        guard iat <= now + leeway else { throw TokenError(.notYetValid, "ticket was issued in the future") }
        let nonce = try r.string(.nonce)
        let jti = try r.optionalString(.jti) ?? nonce
        guard jti == nonce else { throw TokenError(.malformed, "'jti' and 'nonce' differ") }
        let params: [String: JSONValue]
        switch r[.params] {
        case nil, .null?: params = [:]
        case .object(let p)?: params = p
        default: throw TokenError(.malformed, "claim 'params' is not an object")
        }
        let digest = try r.optionalString(.paramsSHA256)
        if let digest, !TicketClaims.paramsDigest(params, is: digest) {
            throw TokenError(.paramsMismatch, "params_sha256 does not match the ticket's params")
        }
        let caller = try r.string(.caller)
        let chain = try ClaimReader.chain(r[.delegationChain])
        let subject = try r.optionalString(.sub)
        try ClaimReader.checkChainConsistency(depth: r[.delegationDepth], act: r[.act], chain: chain, actor: caller,
                                              subject: subject)
        var risk: String?
        var cumulative: Double?
        if case .object(let o)? = r[.risk] {
            risk = o["class"]?.stringValue
            cumulative = o["cumulative"]?.doubleValue
        }
        let claims = TicketClaims(
            issuer: issuer, audience: audience, subject: subject ?? caller, caller: caller, issuedAt: iat,
            notBefore: nbf, expires: exp, jti: jti, action: try r.string(.action), target: try r.string(.target),
            params: params, paramsSHA256: digest, auditID: try r.string(.auditID), delegationChain: chain,
            risk: risk, cumulativeRisk: cumulative, changeTicket: try r.optionalString(.ticketID))
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

    static let required: [TicketClaim] = [.action, .target, .caller, .auditID, .nonce, .iss, .iat, .exp]
}
