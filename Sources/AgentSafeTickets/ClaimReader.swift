import AgentSafeCore

/// Typed access to a payload's claims that turns a wrong or missing claim into a ``TokenError``.
///
/// The conversions are static, on a claim's value (`nil` when absent), so that ``TicketClaimReader`` (claims in
/// slots) and this reader (claims in a dictionary) judge a value the same way.
struct ClaimReader {
    let claims: [String: JSONValue]

    init(_ payload: JSONValue) {
        claims = payload.objectValue ?? [:]
    }

    func has(_ name: String) -> Bool { Self.present(claims[name]) }
    func string(_ name: String) throws(TokenError) -> String { try Self.string(claims[name], name) }
    func optionalString(_ name: String) throws(TokenError) -> String? { try Self.optionalString(claims[name], name) }
    func date(_ name: String) throws(TokenError) -> Int64 { try Self.date(claims[name], name) }
    func optionalDate(_ name: String) throws(TokenError) -> Int64? { try Self.optionalDate(claims[name], name) }
    func strings(_ name: String) throws(TokenError) -> [String] { try Self.strings(claims[name], name) }
    func audience() throws(TokenError) -> [String] { try Self.audience(claims["aud"]) }
    func chain() throws(TokenError) -> [ChainLink] { try Self.chain(claims["delegation_chain"]) }

    func checkChainConsistency(chain: [ChainLink], actor: String, subject: String?) throws(TokenError) {
        try Self.checkChainConsistency(depth: claims["delegation_depth"], act: claims["act"], chain: chain, actor: actor,
                                       subject: subject)
    }

    // MARK: Conversions of one claim's value

    static func present(_ v: JSONValue?) -> Bool {
        if let v, v != .null { return true }
        return false
    }

    static func string(_ v: JSONValue?, _ name: String) throws(TokenError) -> String {
        guard let v, v != .null else { throw TokenError(.missingClaim, "token has no '\(name)' claim") }
        guard case .string(let s) = v else { throw TokenError(.malformed, "claim '\(name)' is not a string") }
        return s
    }

    static func optionalString(_ v: JSONValue?, _ name: String) throws(TokenError) -> String? {
        present(v) ? try string(v, name) : nil
    }

    /// A NumericDate (RFC 7519): integer seconds, or a finite number (floored).
    static func date(_ v: JSONValue?, _ name: String) throws(TokenError) -> Int64 {
        switch v {
        case nil, .null?: throw TokenError(.missingClaim, "token has no '\(name)' claim")
        case .integer(let i)?: return i
        case .number(let d)? where d.isFinite && abs(d) < 1e15: return Int64(d.rounded(.down))
        default: throw TokenError(.malformed, "claim '\(name)' is not a NumericDate")
        }
    }

    static func optionalDate(_ v: JSONValue?, _ name: String) throws(TokenError) -> Int64? {
        present(v) ? try date(v, name) : nil
    }

    static func strings(_ v: JSONValue?, _ name: String) throws(TokenError) -> [String] {
        switch v {
        case nil, .null?: return []
        case .array(let items)?:
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw TokenError(.malformed, "claim '\(name)' holds a non-string") }
                out.append(s)
            }
            return out
        default: throw TokenError(.malformed, "claim '\(name)' is not a list of strings")
        }
    }

    /// `aud`: a string or a list of strings.
    static func audience(_ v: JSONValue?) throws(TokenError) -> [String] {
        switch v {
        case nil, .null?: return []
        case .string(let s)?: return [s]
        case .array?: return try strings(v, "aud")
        default: throw TokenError(.malformed, "claim 'aud' is not a string or a list of strings")
        }
    }

    /// `delegation_chain`.
    static func chain(_ v: JSONValue?) throws(TokenError) -> [ChainLink] {
        switch v {
        case nil, .null?: return []
        case .array(let items)?:
            var out: [ChainLink] = []
            for (i, item) in items.enumerated() {
                guard case .object = item else { throw TokenError(.malformed, "delegation_chain[\(i)] is not an object") }
                let r = ClaimReader(item)
                let id: String
                do {
                    id = try r.string("agent_id")
                } catch {
                    throw TokenError(.malformed, "delegation_chain[\(i)] has no agent_id")
                }
                out.append(ChainLink(agentID: id, agentName: try r.optionalString("agent_name") ?? "",
                                     roles: try r.strings("roles"), groups: try r.strings("groups"),
                                     delegatedAt: try r.optionalString("delegated_at"),
                                     expires: try r.optionalDate("exp")))
            }
            return out
        default: throw TokenError(.malformed, "claim 'delegation_chain' is not a list")
        }
    }

    /// Checks `delegation_depth` and `act` against the chain: a token whose fields disagree is refused.
    static func checkChainConsistency(depth depthClaim: JSONValue?, act: JSONValue?, chain: [ChainLink], actor: String,
                                      subject: String?) throws(TokenError) {
        let depth: Int
        switch depthClaim {
        case nil, .null?: depth = 0
        case .integer(let d)?: depth = Int(d)
        default: throw TokenError(.malformed, "claim 'delegation_depth' is not an integer")
        }
        guard depth == chain.count else {
            throw TokenError(.invalidDelegation, "delegation_depth \(depth) disagrees with a chain of \(chain.count) link(s)")
        }
        if let act, act != .null {
            guard !chain.isEmpty, act == TicketClaims.act(caller: actor, chain: chain) else {
                throw TokenError(.invalidDelegation, "the 'act' claim disagrees with delegation_chain")
            }
        }
        if let subject, let root = chain.first, subject != root.agentID {
            throw TokenError(.invalidDelegation, "'sub' is not the root of the delegation chain")
        }
    }
}

/// The claims a ticket verifier reads. A payload is parsed straight into one slot per claim
/// (``JSONParser/parseMembers(_:names:)``); other members are checked as JSON and dropped.
enum TicketClaim: Int, CaseIterable {
    case type, action, target, caller, params, auditID, nonce, iss, iat, exp, nbf, jti, sub, aud, paramsSHA256, act
    case delegationChain, delegationDepth, risk, ticketID

    /// Member names, by raw value.
    static let names = ["type", "action", "target", "caller", "params", "audit_id", "nonce", "iss", "iat", "exp", "nbf",
                        "jti", "sub", "aud", "params_sha256", "act", "delegation_chain", "delegation_depth", "risk",
                        "ticket_id"]
    static let memberNames = JSONMemberNames(names)

    var name: String { Self.names[rawValue] }
}

/// ``ClaimReader`` over a ticket's claim slots.
struct TicketClaimReader {
    let slots: [JSONValue?]

    init(slots: [JSONValue?]) {
        precondition(slots.count == TicketClaim.names.count)
        self.slots = slots
    }

    /// The same claims from a parsed payload object.
    init(_ claims: [String: JSONValue]) {
        slots = TicketClaim.names.map { claims[$0] }
    }

    subscript(_ claim: TicketClaim) -> JSONValue? { slots[claim.rawValue] }

    func has(_ c: TicketClaim) -> Bool { ClaimReader.present(self[c]) }
    func string(_ c: TicketClaim) throws(TokenError) -> String { try ClaimReader.string(self[c], c.name) }
    func optionalString(_ c: TicketClaim) throws(TokenError) -> String? { try ClaimReader.optionalString(self[c], c.name) }
    func date(_ c: TicketClaim) throws(TokenError) -> Int64 { try ClaimReader.date(self[c], c.name) }
    func optionalDate(_ c: TicketClaim) throws(TokenError) -> Int64? { try ClaimReader.optionalDate(self[c], c.name) }
}
