import AgentSafeCore
import Crypto

/// Settings shared by ticket issuing and verification.
public struct TicketSettings: Sendable, Hashable {
    /// `iss` written and required.
    public var issuer: String
    /// `aud` written and required; no `aud` claim at all when `nil` (upstream's validator refuses unexpected ones).
    public var audience: String?
    /// Lifetime of a ticket (default 300 s, at most ``maximumTTL``).
    public var ttlSeconds: Int64
    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 30 s).
    public var leewaySeconds: Int64

    public static let maximumTTL: Int64 = 3600
    public static let typ = "agent-safe-ticket+jwt"
    public static let type = "execution-ticket"

    public init(issuer: String = "agent-safe", audience: String? = nil, ttlSeconds: Int64 = 300, leewaySeconds: Int64 = 30) {
        self.issuer = issuer
        self.audience = audience
        self.ttlSeconds = min(max(1, ttlSeconds), Self.maximumTTL)
        self.leewaySeconds = max(0, leewaySeconds)
    }
}

/// A link of a delegation chain as tokens carry it (upstream's `delegation_chain` entries, plus `exp`).
public struct ChainLink: Sendable, Hashable {
    public var agentID: String
    public var agentName: String
    public var roles: [String]
    public var groups: [String]
    /// ISO 8601 time of the delegation (upstream's `delegated_at`).
    public var delegatedAt: String?
    /// Expiry of the delegating (parent) token: a child never outlives it.
    public var expires: Int64?

    public init(agentID: String, agentName: String = "", roles: [String] = [], groups: [String] = [],
                delegatedAt: String? = nil, expires: Int64? = nil) {
        self.agentID = agentID
        self.agentName = agentName
        self.roles = roles
        self.groups = groups
        self.delegatedAt = delegatedAt
        self.expires = expires
    }

    var json: JSONValue {
        var o: [String: JSONValue] = ["agent_id": .string(agentID), "agent_name": .string(agentName),
                                      "roles": .array(roles.map(JSONValue.string)),
                                      "groups": .array(groups.map(JSONValue.string))]
        if let delegatedAt { o["delegated_at"] = .string(delegatedAt) }
        if let expires { o["exp"] = .integer(expires) }
        return .object(o)
    }
}

/// The claims of an execution ticket (docs/tickets.md).
public struct TicketClaims: Sendable, Hashable {
    public var issuer: String
    public var audience: [String]
    /// The principal the action is done for: the root of the delegation chain, or the caller.
    public var subject: String
    /// The agent that asked (upstream's `caller`).
    public var caller: String
    public var issuedAt: Int64
    public var notBefore: Int64?
    public var expires: Int64
    /// Unique id (128 random bits, hex); equals `nonce`. Single use is enforced on it.
    public var jti: String
    public var action: String
    public var target: String
    public var params: [String: JSONValue]
    /// SHA-256 (hex) over the canonical JSON of `params`; absent on upstream tickets.
    public var paramsSHA256: String?
    public var auditID: String
    public var delegationChain: [ChainLink]
    /// Effective risk class at issuance.
    public var risk: String?
    public var cumulativeRisk: Double?
    /// The change ticket (e.g. CHG-1234) the decision referred to.
    public var changeTicket: String?

    public var delegationDepth: Int { delegationChain.count }

    /// The payload's UTF-8 bytes, appended to `out`: byte for byte ``payloadText(paramsText:paramsDigest:)``
    /// (`params` is `paramsJSON`, its canonical JSON), written without intermediate strings.
    func appendPayload(to out: inout [UInt8], paramsJSON: UnsafeBufferPointer<UInt8>, paramsDigest: String) {
        out.append(contentsOf: #"{"type":"execution-ticket","action":"#.utf8)
        JSONValue.appendString(action, to: &out)
        out.append(contentsOf: #","target":"#.utf8)
        JSONValue.appendString(target, to: &out)
        out.append(contentsOf: #","caller":"#.utf8)
        JSONValue.appendString(caller, to: &out)
        out.append(contentsOf: #","params":"#.utf8)
        out.append(contentsOf: paramsJSON)
        out.append(contentsOf: #","audit_id":"#.utf8)
        JSONValue.appendString(auditID, to: &out)
        out.append(contentsOf: #","nonce":""#.utf8)
        out.append(contentsOf: jti.utf8)
        out.append(contentsOf: #"","iss":"#.utf8)
        JSONValue.appendString(issuer, to: &out)
        out.append(contentsOf: #","iat":"#.utf8)
        JSONValue.appendInteger(issuedAt, to: &out)
        out.append(contentsOf: #","exp":"#.utf8)
        JSONValue.appendInteger(expires, to: &out)
        if let notBefore {
            out.append(contentsOf: #","nbf":"#.utf8)
            JSONValue.appendInteger(notBefore, to: &out)
        }
        out.append(contentsOf: #","jti":""#.utf8)
        out.append(contentsOf: jti.utf8)
        out.append(contentsOf: #"","sub":"#.utf8)
        JSONValue.appendString(subject, to: &out)
        if audience.count == 1 {
            out.append(contentsOf: #","aud":"#.utf8)
            JSONValue.appendString(audience[0], to: &out)
        } else if audience.count > 1 {
            out.append(contentsOf: #","aud":"#.utf8)
            JSONValue.array(audience.map(JSONValue.string)).appendCanonical(to: &out)
        }
        out.append(contentsOf: #","params_sha256":""#.utf8)
        out.append(contentsOf: paramsDigest.utf8)
        out.append(UInt8(ascii: "\""))
        if !delegationChain.isEmpty {
            out.append(contentsOf: #","act":"#.utf8)
            Self.act(caller: caller, chain: delegationChain).appendCanonical(to: &out)
            out.append(contentsOf: #","delegation_chain":"#.utf8)
            JSONValue.array(delegationChain.map(\.json)).appendCanonical(to: &out)
        }
        out.append(contentsOf: #","delegation_depth":"#.utf8)
        JSONValue.appendInteger(Int64(delegationChain.count), to: &out)
        if risk != nil || cumulativeRisk != nil {
            out.append(contentsOf: #","risk":{"#.utf8)
            if let risk {
                out.append(contentsOf: #""class":"#.utf8)
                JSONValue.appendString(risk, to: &out)
            }
            if let cumulativeRisk {
                if risk != nil { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: #""cumulative":"#.utf8)
                JSONValue.number(cumulativeRisk).appendCanonical(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        if let changeTicket {
            out.append(contentsOf: #","ticket_id":"#.utf8)
            JSONValue.appendString(changeTicket, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// `{"type":"execution-ticket","action":…}` with upstream's claims first, then ours. The reference for
    /// ``appendPayload(to:paramsJSON:paramsDigest:)`` (tests compare the two).
    func payloadText(paramsText: String, paramsDigest: String) -> String {
        var out = #"{"type":"execution-ticket","action":"#
        out.reserveCapacity(512 + paramsText.utf8.count)
        JSONValue.string(action).appendCompact(to: &out)
        out += #","target":"#
        JSONValue.string(target).appendCompact(to: &out)
        out += #","caller":"#
        JSONValue.string(caller).appendCompact(to: &out)
        out += #","params":"#
        out += paramsText
        out += #","audit_id":"#
        JSONValue.string(auditID).appendCompact(to: &out)
        out += #","nonce":""# + jti + #"","iss":"#
        JSONValue.string(issuer).appendCompact(to: &out)
        out += #","iat":"# + String(issuedAt) + #","exp":"# + String(expires)
        if let notBefore { out += #","nbf":"# + String(notBefore) }
        out += #","jti":""# + jti + #"","sub":"#
        JSONValue.string(subject).appendCompact(to: &out)
        if audience.count == 1 {
            out += #","aud":"#
            JSONValue.string(audience[0]).appendCompact(to: &out)
        } else if audience.count > 1 {
            out += #","aud":"#
            JSONValue.array(audience.map(JSONValue.string)).appendCompact(to: &out)
        }
        out += #","params_sha256":""# + paramsDigest + "\""
        if !delegationChain.isEmpty {
            out += #","act":"#
            Self.act(caller: caller, chain: delegationChain).appendCompact(to: &out)
            out += #","delegation_chain":"#
            JSONValue.array(delegationChain.map(\.json)).appendCompact(to: &out)
        }
        out += #","delegation_depth":"# + String(delegationChain.count)
        if risk != nil || cumulativeRisk != nil {
            var r: [String: JSONValue] = [:]
            if let risk { r["class"] = .string(risk) }
            if let cumulativeRisk { r["cumulative"] = .number(cumulativeRisk) }
            out += #","risk":"#
            JSONValue.object(r).appendCompact(to: &out)
        }
        if let changeTicket {
            out += #","ticket_id":"#
            JSONValue.string(changeTicket).appendCompact(to: &out)
        }
        out += "}"
        return out
    }

    /// RFC 8693 `act`: the current actor outermost, earlier actors nested; the chain's root is `sub`.
    static func act(caller: String, chain: [ChainLink]) -> JSONValue {
        var actors = [caller]
        actors += chain.dropFirst().reversed().map(\.agentID)
        var value: JSONValue?
        for actor in actors.reversed() {
            var o: [String: JSONValue] = ["sub": .string(actor)]
            if let inner = value { o["act"] = inner }
            value = .object(o)
        }
        return value!
    }

    /// Whether `hex` is ``paramsDigest(_:)`` of `params` (compared without writing the digest out as text).
    static func paramsDigest(_ params: [String: JSONValue], is hex: String) -> Bool {
        guard hex.utf8.count == 2 * SHA256.byteCount else { return false }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        JSONValue.object(params).appendCanonical(to: &bytes)
        let digest = SHA256.hash(data: bytes)
        var text = hex.utf8.makeIterator()
        for b in digest {
            guard text.next() == Hex.digits[Int(b >> 4)], text.next() == Hex.digits[Int(b & 0x0F)] else { return false }
        }
        return true
    }

    /// The hex SHA-256 of `params`' canonical JSON.
    public static func paramsDigest(_ params: [String: JSONValue]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        JSONValue.object(params).appendCanonical(to: &bytes)
        return SHA256.hash(data: bytes).withUnsafeBytes(Hex.encode(raw:))
    }
}

/// A signed ticket, as `check` returns it.
public struct ExecutionTicket: Sendable, Hashable {
    public var token: String
    public var claims: TicketClaims
    public var jti: String { claims.jti }
    public var expiresAt: Int64 { claims.expires }

    /// `{token, jti, expires_at}` for decision output.
    public var summaryJSON: JSONValue {
        var w = JSONObjectWriter(capacity: token.utf8.count + 128)
        writeSummary(to: &w)
        return .parse(written: w.finish())
    }

    /// The members of ``summaryJSON`` (an answer's `ticket` object).
    public func writeSummary(to w: inout JSONObjectWriter) {
        w.string("token", token)
        w.string("jti", jti)
        w.string("expires_at", Instant(secondsSinceEpoch: expiresAt).iso8601)
    }
}

/// What a ticket is issued for.
public struct TicketRequest: Sendable {
    public var action: String
    public var target: String
    public var caller: String
    public var params: [String: JSONValue]
    public var auditID: String
    public var delegationChain: [ChainLink]
    public var risk: String?
    public var cumulativeRisk: Double?
    public var changeTicket: String?

    public init(action: String, target: String, caller: String, params: [String: JSONValue], auditID: String,
                delegationChain: [ChainLink] = [], risk: String? = nil, cumulativeRisk: Double? = nil,
                changeTicket: String? = nil) {
        self.action = action
        self.target = target
        self.caller = caller
        self.params = params
        self.auditID = auditID
        self.delegationChain = delegationChain
        self.risk = risk
        self.cumulativeRisk = cumulativeRisk
        self.changeTicket = changeTicket
    }
}

/// Issues execution tickets with a ring's signing key.
public struct TicketIssuer: Sendable {
    public let ring: KeyRing
    public let settings: TicketSettings
    let signer: SigningKey
    /// The signer's encoded header (the same for every ticket).
    let headerSegment: [UInt8]

    public init(ring: KeyRing, settings: TicketSettings = TicketSettings()) throws(KeyError) {
        guard let signer = ring.signer else { throw KeyError("no ticket key able to sign (only public keys given)") }
        self.ring = ring
        self.settings = settings
        self.signer = signer
        headerSegment = JWS.headerSegment(typ: TicketSettings.typ, key: signer)
    }

    public func issue(_ request: TicketRequest, now: Int64) throws(KeyError) -> ExecutionTicket {
        var rng = SecureRandom()
        return try issue(request, now: now, using: &rng)
    }

    public func issue(_ request: TicketRequest, now: Int64, using rng: inout some RandomNumberGenerator) throws(KeyError)
        -> ExecutionTicket
    {
        let jti = withUnsafeBytes(of: (rng.next(), rng.next()), Hex.encode(raw:))
        var paramsJSON: [UInt8] = []
        paramsJSON.reserveCapacity(128)
        JSONValue.object(request.params).appendCanonical(to: &paramsJSON)
        let digest = SHA256.hash(data: paramsJSON).withUnsafeBytes(Hex.encode(raw:))
        let claims = TicketClaims(
            issuer: settings.issuer, audience: settings.audience.map { [$0] } ?? [],
            subject: request.delegationChain.first?.agentID ?? request.caller, caller: request.caller,
            issuedAt: now, notBefore: now, expires: now + settings.ttlSeconds, jti: jti, action: request.action,
            target: request.target, params: request.params, paramsSHA256: digest, auditID: request.auditID,
            delegationChain: request.delegationChain, risk: request.risk, cumulativeRisk: request.cumulativeRisk,
            changeTicket: request.changeTicket)
        var payload: [UInt8] = []
        payload.reserveCapacity(480 + paramsJSON.count)
        paramsJSON.withUnsafeBufferPointer { claims.appendPayload(to: &payload, paramsJSON: $0, paramsDigest: digest) }
        let token = try payload.withUnsafeBufferPointer { bytes throws(KeyError) in
            try JWS.sign(payload: bytes, headerSegment: headerSegment, with: signer)
        }
        return ExecutionTicket(token: token, claims: claims)
    }
}
