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

    /// `{"type":"execution-ticket","action":…}` with upstream's claims first, then ours.
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

    /// The hex SHA-256 of `params`' canonical JSON.
    public static func paramsDigest(_ params: [String: JSONValue]) -> String {
        Hex.encode(SHA256.hash(data: Array(JSONValue.object(params).canonicalText.utf8)))
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
        .object(["token": .string(token), "jti": .string(jti),
                 "expires_at": .string(Instant(secondsSinceEpoch: expiresAt).iso8601)])
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

    public init(ring: KeyRing, settings: TicketSettings = TicketSettings()) throws(KeyError) {
        guard let signer = ring.signer else { throw KeyError("no ticket key able to sign (only public keys given)") }
        self.ring = ring
        self.settings = settings
        self.signer = signer
    }

    public func issue(_ request: TicketRequest, now: Int64) throws(KeyError) -> ExecutionTicket {
        var rng = SystemRandomNumberGenerator()
        return try issue(request, now: now, using: &rng)
    }

    public func issue(_ request: TicketRequest, now: Int64, using rng: inout some RandomNumberGenerator) throws(KeyError)
        -> ExecutionTicket
    {
        let jti = Hex.encode(withUnsafeBytes(of: (rng.next(), rng.next())) { Array($0) })
        let paramsText = JSONValue.object(request.params).canonicalText
        let digest = Hex.encode(SHA256.hash(data: Array(paramsText.utf8)))
        let claims = TicketClaims(
            issuer: settings.issuer, audience: settings.audience.map { [$0] } ?? [],
            subject: request.delegationChain.first?.agentID ?? request.caller, caller: request.caller,
            issuedAt: now, notBefore: now, expires: now + settings.ttlSeconds, jti: jti, action: request.action,
            target: request.target, params: request.params, paramsSHA256: digest, auditID: request.auditID,
            delegationChain: request.delegationChain, risk: request.risk, cumulativeRisk: request.cumulativeRisk,
            changeTicket: request.changeTicket)
        let token = try JWS.sign(payload: claims.payloadText(paramsText: paramsText, paramsDigest: digest),
                                 typ: TicketSettings.typ, with: signer)
        return ExecutionTicket(token: token, claims: claims)
    }
}
