import AgentSafeCore

/// Typed access to a payload's claims that turns a wrong or missing claim into a ``TokenError``.
struct ClaimReader {
    let claims: [String: JSONValue]

    init(_ payload: JSONValue) {
        claims = payload.objectValue ?? [:]
    }

    func has(_ name: String) -> Bool {
        if let v = claims[name], v != .null { return true }
        return false
    }

    func string(_ name: String) throws(TokenError) -> String {
        guard let v = claims[name], v != .null else { throw TokenError(.missingClaim, "token has no '\(name)' claim") }
        guard case .string(let s) = v else { throw TokenError(.malformed, "claim '\(name)' is not a string") }
        return s
    }

    func optionalString(_ name: String) throws(TokenError) -> String? {
        has(name) ? try string(name) : nil
    }

    /// A NumericDate (RFC 7519): integer seconds, or a finite number (floored).
    func date(_ name: String) throws(TokenError) -> Int64 {
        switch claims[name] {
        case nil, .null?: throw TokenError(.missingClaim, "token has no '\(name)' claim")
        case .integer(let i)?: return i
        case .number(let d)? where d.isFinite && abs(d) < 1e15: return Int64(d.rounded(.down))
        default: throw TokenError(.malformed, "claim '\(name)' is not a NumericDate")
        }
    }

    func optionalDate(_ name: String) throws(TokenError) -> Int64? {
        has(name) ? try date(name) : nil
    }

    func strings(_ name: String) throws(TokenError) -> [String] {
        switch claims[name] {
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
    func audience() throws(TokenError) -> [String] {
        switch claims["aud"] {
        case nil, .null?: return []
        case .string(let s)?: return [s]
        case .array?: return try strings("aud")
        default: throw TokenError(.malformed, "claim 'aud' is not a string or a list of strings")
        }
    }

    func chain() throws(TokenError) -> [ChainLink] {
        switch claims["delegation_chain"] {
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
    func checkChainConsistency(chain: [ChainLink], actor: String, subject: String?) throws(TokenError) {
        let depth: Int
        switch claims["delegation_depth"] {
        case nil, .null?: depth = 0
        case .integer(let d)?: depth = Int(d)
        default: throw TokenError(.malformed, "claim 'delegation_depth' is not an integer")
        }
        guard depth == chain.count else {
            throw TokenError(.invalidDelegation, "delegation_depth \(depth) disagrees with a chain of \(chain.count) link(s)")
        }
        if let act = claims["act"], act != .null {
            guard !chain.isEmpty, act == TicketClaims.act(caller: actor, chain: chain) else {
                throw TokenError(.invalidDelegation, "the 'act' claim disagrees with delegation_chain")
            }
        }
        if let subject, let root = chain.first, subject != root.agentID {
            throw TokenError(.invalidDelegation, "'sub' is not the root of the delegation chain")
        }
    }
}
