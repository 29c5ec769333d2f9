import AgentSafeCore

/// Compact JWS (RFC 7515) with the checks RFC 8725 asks for: exactly three segments, strict base64url, strict
/// JSON (duplicate member names refused), algorithm from our allow-list only and pinned to the key, no `crit`.
public enum JWS {
    /// A token whose signature checked out, with its decoded header and payload.
    public struct Verified: Sendable {
        public var header: JSONValue
        public var payload: JSONValue
        public var key: SigningKey
    }

    /// Largest token accepted (bytes); a ticket is well under 4 KiB.
    public static let maximumTokenBytes = 64 * 1024

    /// Signs `payload` (JSON text) with the ring's signer, `typ` in the header.
    public static func sign(payload: String, typ: String, with key: SigningKey) throws(KeyError) -> String {
        var header = #"{"alg":""# + key.algorithm.rawValue + #"","kid":"#
        JSONValue.string(key.kid).appendCompact(to: &header)
        header += #","typ":"#
        JSONValue.string(typ).appendCompact(to: &header)
        header += "}"
        var input: [UInt8] = []
        input.reserveCapacity((header.utf8.count + payload.utf8.count) * 4 / 3 + 90)
        Base64URL.encode(Array(header.utf8), into: &input)
        input.append(UInt8(ascii: "."))
        Base64URL.encode(Array(payload.utf8), into: &input)
        let signature = try key.sign(input)
        input.append(UInt8(ascii: "."))
        Base64URL.encode(signature, into: &input)
        return String(decoding: input, as: UTF8.self)
    }

    /// Checks the token's form and signature against `ring`. Claims are not looked at here.
    public static func verify(_ token: String, ring: KeyRing) throws(TokenError) -> Verified {
        let bytes = Array(token.utf8)
        guard !bytes.isEmpty else { throw TokenError(.malformed, "empty token") }
        guard bytes.count <= maximumTokenBytes else {
            throw TokenError(.malformed, "token is longer than \(maximumTokenBytes) bytes")
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
        guard let headerBytes = Base64URL.decode(headerPart) else { throw TokenError(.malformed, "header is not base64url") }
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
        guard let signature = Base64URL.decode(signaturePart) else {
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
        guard let payloadBytes = Base64URL.decode(payloadPart) else {
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
        return Verified(header: header, payload: payload, key: key)
    }

    /// The payload of a token, unverified (for display only; never trust it).
    public static func unverifiedPayload(_ token: String) -> JSONValue? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let bytes = Base64URL.decode(Array(parts[1].utf8)),
            let text = String(validating: bytes, as: UTF8.self)
        else { return nil }
        return try? JSONValue.parse(text)
    }
}

/// Why a token was refused. `code` is stable (documented in docs/tickets.md); `message` is for people and never
/// contains key material or the token itself.
public struct TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, CaseIterable {
        case malformed
        case unsupportedAlgorithm = "unsupported_algorithm"
        case unknownKey = "unknown_key"
        case badSignature = "bad_signature"
        case expired
        case notYetValid = "not_yet_valid"
        case wrongIssuer = "wrong_issuer"
        case wrongAudience = "wrong_audience"
        case wrongType = "wrong_type"
        case missingClaim = "missing_claim"
        case paramsMismatch = "params_mismatch"
        case actionMismatch = "action_mismatch"
        case targetMismatch = "target_mismatch"
        case replayed
        case invalidDelegation = "invalid_delegation"
        case storeUnavailable = "store_unavailable"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
