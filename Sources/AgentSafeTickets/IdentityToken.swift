import AgentSafeCore

/// Settings of identity (and delegation) tokens.
public struct IdentitySettings: Sendable, Hashable {
    public var issuer: String
    public var audience: String?
    /// Default lifetime of a directly issued identity token (upstream: 1 h).
    public var ttlSeconds: Int64
    /// Deepest delegation accepted, enforced when verifying (never chosen by the requester).
    public var maxDelegationDepth: Int
    public var leewaySeconds: Int64

    public static let typ = "agent-safe-identity+jwt"
    public static let type = "agent-identity"

    public init(issuer: String = "agent-safe", audience: String? = nil, ttlSeconds: Int64 = 3600,
                maxDelegationDepth: Int = 3, leewaySeconds: Int64 = 30) {
        self.issuer = issuer
        self.audience = audience
        self.ttlSeconds = max(1, ttlSeconds)
        self.maxDelegationDepth = max(0, maxDelegationDepth)
        self.leewaySeconds = max(0, leewaySeconds)
    }
}

/// The claims of an identity token (upstream §4.1, plus `type`, `sub`, `jti`, `act`).
public struct IdentityClaims: Sendable, Hashable {
    public var agentID: String
    public var agentName: String
    public var roles: [String]
    public var groups: [String]
    public var issuer: String
    public var audience: [String]
    public var issuedAt: Int64
    public var expires: Int64
    public var jti: String?
    /// Who delegated to this agent, root first.
    public var delegationChain: [ChainLink]

    public var delegationDepth: Int { delegationChain.count }

    /// The caller the policy engine sees; its chain is marked verified.
    public var caller: Caller {
        Caller(agentID: agentID, agentName: agentName, roles: roles, groups: groups,
               delegationChain: delegationChain.map { DelegationLink(agentID: $0.agentID, agentName: $0.agentName) },
               delegationVerified: true)
    }

    func payloadText() -> String {
        var o: [String: JSONValue] = [
            "type": .string(IdentitySettings.type), "agent_id": .string(agentID), "agent_name": .string(agentName),
            "roles": .array(roles.map(JSONValue.string)), "groups": .array(groups.map(JSONValue.string)),
            "iss": .string(issuer), "iat": .integer(issuedAt), "exp": .integer(expires),
            "sub": .string(delegationChain.first?.agentID ?? agentID),
        ]
        if let jti { o["jti"] = .string(jti) }
        if audience.count == 1 { o["aud"] = .string(audience[0]) } else if audience.count > 1 {
            o["aud"] = .array(audience.map(JSONValue.string))
        }
        if !delegationChain.isEmpty {
            o["delegation_chain"] = .array(delegationChain.map(\.json))
            o["delegated_roles"] = .array(roles.map(JSONValue.string))
            o["delegation_depth"] = .integer(Int64(delegationChain.count))
            o["act"] = TicketClaims.act(caller: agentID, chain: delegationChain)
        }
        return JSONValue.object(o).canonicalText
    }
}

/// Issues, delegates and verifies identity tokens.
public struct IdentityAuthority: Sendable {
    public let ring: KeyRing
    public let settings: IdentitySettings

    public init(ring: KeyRing, settings: IdentitySettings = IdentitySettings()) {
        self.ring = ring
        self.settings = settings
    }

    static func randomID() -> String {
        var rng = SystemRandomNumberGenerator()
        return Hex.encode(withUnsafeBytes(of: (rng.next(), rng.next())) { Array($0) })
    }

    /// A direct (undelegated) identity token.
    public func issue(agentID: String, agentName: String = "", roles: [String] = [], groups: [String] = [],
                      ttlSeconds: Int64? = nil, now: Int64) throws(KeyError) -> (token: String, claims: IdentityClaims) {
        guard !agentID.isEmpty else { throw KeyError("an identity needs a non-empty agent id") }
        guard let signer = ring.signer else { throw KeyError("no identity key able to sign") }
        let claims = IdentityClaims(
            agentID: agentID, agentName: agentName, roles: roles, groups: groups, issuer: settings.issuer,
            audience: settings.audience.map { [$0] } ?? [], issuedAt: now, expires: now + max(1, ttlSeconds ?? settings.ttlSeconds),
            jti: Self.randomID(), delegationChain: [])
        return (try JWS.sign(payload: claims.payloadText(), typ: IdentitySettings.typ, with: signer), claims)
    }

    /// A child token for `childID`, acting for the parent token's holder. Scope only narrows: the child's roles
    /// and groups must be held by the parent; it expires no later than the parent; the depth limit is the
    /// configured one.
    public func delegate(parentToken: String, childID: String, childName: String = "", roles: [String] = [],
                         groups: [String] = [], ttlSeconds: Int64? = nil, now: Int64) throws(TokenError)
        -> (token: String, claims: IdentityClaims)
    {
        let parent = try verify(parentToken, now: now)
        guard !childID.isEmpty else { throw TokenError(.invalidDelegation, "the child needs a non-empty agent id") }
        let depth = parent.delegationDepth + 1
        guard depth <= settings.maxDelegationDepth else {
            throw TokenError(.invalidDelegation, "delegation depth \(depth) exceeds the maximum \(settings.maxDelegationDepth)")
        }
        let extraRoles = Set(roles).subtracting(parent.roles).sorted()
        guard extraRoles.isEmpty else {
            throw TokenError(.invalidDelegation, "cannot delegate roles the parent does not hold: \(extraRoles.joined(separator: ", "))")
        }
        let extraGroups = Set(groups).subtracting(parent.groups).sorted()
        guard extraGroups.isEmpty else {
            throw TokenError(.invalidDelegation, "cannot delegate groups the parent does not hold: \(extraGroups.joined(separator: ", "))")
        }
        if let ttlSeconds, ttlSeconds <= 0 { throw TokenError(.invalidDelegation, "ttl must be positive") }
        let remaining = parent.expires - now
        guard remaining > 0 else { throw TokenError(.expired, "the parent token has expired") }
        let lifetime = min(ttlSeconds ?? remaining, remaining)
        let link = ChainLink(agentID: parent.agentID, agentName: parent.agentName, roles: parent.roles,
                             groups: parent.groups, delegatedAt: Instant(secondsSinceEpoch: now).iso8601,
                             expires: parent.expires)
        let claims = IdentityClaims(
            agentID: childID, agentName: childName, roles: roles, groups: groups, issuer: settings.issuer,
            audience: settings.audience.map { [$0] } ?? [], issuedAt: now, expires: now + lifetime,
            jti: Self.randomID(), delegationChain: parent.delegationChain + [link])
        guard let signer = ring.signer else { throw TokenError(.unknownKey, "no identity key able to sign") }
        do {
            return (try JWS.sign(payload: claims.payloadText(), typ: IdentitySettings.typ, with: signer), claims)
        } catch {
            throw TokenError(.unknownKey, error.description)
        }
    }

    /// Verifies an identity token, including its delegation chain: depth within the configured maximum, every
    /// link narrowing the one before (roles and groups), no child outliving its parent, `act` and
    /// `delegation_depth` agreeing with the chain.
    public func verify(_ token: String, now: Int64) throws(TokenError) -> IdentityClaims {
        let verified = try JWS.verify(token, ring: ring)
        if case .string(let typ)? = verified.header["typ"], typ != IdentitySettings.typ, typ.uppercased() != "JWT" {
            throw TokenError(.wrongType, "header typ '\(typ)' is not an identity token")
        }
        let r = ClaimReader(verified.payload)
        switch r.claims["type"] {
        case nil, .null?, .string(IdentitySettings.type)?: break
        default: throw TokenError(.wrongType, "token is not an identity token (claim 'type' is \(r.claims["type"]!.canonicalText))")
        }
        for name in ["agent_id", "iss", "iat", "exp"] where !r.has(name) {
            throw TokenError(.missingClaim, "token has no '\(name)' claim")
        }
        let issuer = try r.string("iss")
        guard issuer == settings.issuer else { throw TokenError(.wrongIssuer, "issuer '\(issuer)' is not '\(settings.issuer)'") }
        let audience = try r.audience()
        if let expected = settings.audience {
            guard audience.contains(expected) else { throw TokenError(.wrongAudience, "token is not for '\(expected)'") }
        } else if !audience.isEmpty {
            throw TokenError(.wrongAudience, "token names an audience \(audience) but none is configured")
        }
        let exp = try r.date("exp")
        let iat = try r.date("iat")
        guard now < exp + settings.leewaySeconds else {
            throw TokenError(.expired, "token expired at \(Instant(secondsSinceEpoch: exp).iso8601)")
        }
        guard iat <= now + settings.leewaySeconds else { throw TokenError(.notYetValid, "token was issued in the future") }
        if let nbf = try r.optionalDate("nbf"), now + settings.leewaySeconds < nbf {
            throw TokenError(.notYetValid, "token is not valid before \(Instant(secondsSinceEpoch: nbf).iso8601)")
        }
        let agentID = try r.string("agent_id")
        guard !agentID.isEmpty else { throw TokenError(.malformed, "claim 'agent_id' is empty") }
        let roles = try r.strings("roles")
        let groups = try r.strings("groups")
        let chain = try r.chain()
        try r.checkChainConsistency(chain: chain, actor: agentID, subject: try r.optionalString("sub"))
        guard chain.count <= settings.maxDelegationDepth else {
            throw TokenError(.invalidDelegation, "delegation depth \(chain.count) exceeds the maximum \(settings.maxDelegationDepth)")
        }
        if !chain.isEmpty {
            let delegated = try r.strings("delegated_roles")
            if r.has("delegated_roles"), Set(delegated) != Set(roles) {
                throw TokenError(.invalidDelegation, "delegated_roles disagrees with roles")
            }
            // Each holder's scope is within the one that delegated to it.
            var scopes = chain.map { (roles: Set($0.roles), groups: Set($0.groups), id: $0.agentID, exp: $0.expires) }
            scopes.append((Set(roles), Set(groups), agentID, exp))
            for i in 1..<scopes.count {
                guard scopes[i].roles.isSubset(of: scopes[i - 1].roles) else {
                    throw TokenError(.invalidDelegation, "'\(scopes[i].id)' holds roles '\(scopes[i - 1].id)' did not have")
                }
                guard scopes[i].groups.isSubset(of: scopes[i - 1].groups) else {
                    throw TokenError(.invalidDelegation, "'\(scopes[i].id)' holds groups '\(scopes[i - 1].id)' did not have")
                }
                if let parentExp = scopes[i - 1].exp, let childExp = scopes[i].exp, childExp > parentExp {
                    throw TokenError(.invalidDelegation, "'\(scopes[i].id)' outlives the token it was delegated from")
                }
            }
            for link in chain where link.agentID.isEmpty {
                throw TokenError(.invalidDelegation, "a delegation link has an empty agent id")
            }
        }
        return IdentityClaims(agentID: agentID, agentName: try r.optionalString("agent_name") ?? "", roles: roles,
                              groups: groups, issuer: issuer, audience: audience, issuedAt: iat, expires: exp,
                              jti: try r.optionalString("jti"), delegationChain: chain)
    }
}
