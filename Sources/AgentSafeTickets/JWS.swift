import AgentSafeCore
import Foundation  // memchr, memcmp

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
        var payload = payload
        return try payload.withUTF8 { bytes in
            Result { () throws(KeyError) -> String in
                try sign(payload: bytes, headerSegment: headerSegment(typ: typ, key: key), with: key)
            }
        }.get()
    }

    /// The base64url header segment `sign` writes for `key` and `typ` (fixed per key and type: computed once by
    /// ``TicketIssuer`` and matched byte for byte by ``TicketVerifier``).
    static func headerSegment(typ: String, key: SigningKey) -> [UInt8] {
        var header = #"{"alg":""# + key.algorithm.rawValue + #"","kid":"#
        JSONValue.string(key.kid).appendCompact(to: &header)
        header += #","typ":"#
        JSONValue.string(typ).appendCompact(to: &header)
        header += "}"
        var segment: [UInt8] = []
        Base64URL.encode(Array(header.utf8), into: &segment)
        return segment
    }

    /// Signs the payload bytes behind an already encoded header segment. The token is written straight into its
    /// string: header segment, payload segment, then the signature over both.
    static func sign(payload: UnsafeBufferPointer<UInt8>, headerSegment: [UInt8], with key: SigningKey) throws(KeyError)
        -> String
    {
        let inputCount = headerSegment.count + 1 + Base64URL.encodedCount(payload.count)
        let total = inputCount + 1 + Base64URL.encodedCount(key.signatureByteCount)
        var failure: KeyError?
        let token = String(unsafeUninitializedCapacity: total) { out in
            _ = headerSegment.withUnsafeBufferPointer { out.baseAddress!.initialize(from: $0.baseAddress!, count: $0.count) }
            out[headerSegment.count] = UInt8(ascii: ".")
            _ = Base64URL.encode(payload, to: UnsafeMutableBufferPointer(rebasing: out[(headerSegment.count + 1)...]))
            let signature: [UInt8]
            do throws(KeyError) {
                signature = try key.sign(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: out[0..<inputCount])))
            } catch {
                failure = error
                return 0
            }
            precondition(signature.count == key.signatureByteCount)
            out[inputCount] = UInt8(ascii: ".")
            signature.withUnsafeBufferPointer {
                _ = Base64URL.encode($0, to: UnsafeMutableBufferPointer(rebasing: out[(inputCount + 1)...]))
            }
            return total
        }
        if let failure { throw failure }
        return token
    }

    /// Checks the token's form and signature against `ring`. Claims are not looked at here.
    public static func verify(_ token: String, ring: KeyRing) throws(TokenError) -> Verified {
        let signed = try checkSignature(token, ring: ring)
        let text = try payloadText(signed.payload)
        let payload: JSONValue
        do {
            payload = try JSONParser(maxDepth: payloadMaxDepth).parse(text)
        } catch {
            throw TokenError(.malformed, "payload is not valid JSON (\(error.message))")
        }
        guard case .object = payload else { throw TokenError(.malformed, "payload is not a JSON object") }
        // No known headers were given, so the header was parsed.
        return Verified(header: signed.header ?? .null, payload: payload, key: signed.key)
    }

    /// Nesting allowed in a payload (the object itself is level 1).
    static let payloadMaxDepth = 32

    /// A header segment known in advance (what ``headerSegment(typ:key:)`` gives): a token starting with it has
    /// this header, so its JSON needn't be parsed again.
    struct KnownHeader: Sendable {
        var segment: [UInt8]
        var key: SigningKey
        var typ: String
    }

    /// A token whose signature checked out, its payload still base64url-decoded bytes only.
    struct Signed {
        /// The decoded header; `nil` when it was a known header (then `typ` says what it held).
        var header: JSONValue?
        /// The header's `typ` member, as parsed.
        var typ: JSONValue?
        var payload: [UInt8]
        var key: SigningKey
    }

    /// Form and signature checks (in this order): size, three segments, header (base64url, JSON object, `alg`
    /// allowed, no `crit`, `kid` a string), signature base64url and non-empty, a candidate key, the signature, the
    /// payload base64url. The payload's UTF-8 and JSON are the caller's (``payloadText(_:)``).
    static func checkSignature(_ token: String, ring: KeyRing, knownHeaders: [KnownHeader] = []) throws(TokenError) -> Signed {
        var token = token
        return try token.withUTF8 { bytes in
            Result { () throws(TokenError) -> Signed in try checkSignature(bytes, ring: ring, knownHeaders: knownHeaders) }
        }.get()
    }

    static func checkSignature(_ bytes: UnsafeBufferPointer<UInt8>, ring: KeyRing, knownHeaders: [KnownHeader]) throws(TokenError)
        -> Signed
    {
        guard !bytes.isEmpty else { throw TokenError(.malformed, "empty token") }
        guard bytes.count <= maximumTokenBytes else {
            throw TokenError(.malformed, "token is longer than \(maximumTokenBytes) bytes")
        }
        // The first three dots, if there are as many.
        var dots = (-1, -1)
        var dotCount = 0
        var from = 0
        let base = bytes.baseAddress!
        while dotCount < 3, from < bytes.count,
            let found = memchr(base + from, Int32(UInt8(ascii: ".")), bytes.count - from)
        {
            let i = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            if dotCount == 0 { dots.0 = i } else if dotCount == 1 { dots.1 = i }
            dotCount += 1
            from = i + 1
        }
        let (firstDot, secondDot) = dots
        guard dotCount == 2 else {
            throw TokenError(.malformed, dotCount < 2 ? "not enough segments" : "too many segments (JWE or JSON serialisations aren't accepted)")
        }
        let headerPart = UnsafeBufferPointer(rebasing: bytes[0..<firstDot])
        let payloadPart = UnsafeBufferPointer(rebasing: bytes[(firstDot + 1)..<secondDot])
        let signaturePart = UnsafeBufferPointer(rebasing: bytes[(secondDot + 1)...])
        let known = knownHeaders.first { known in
            known.segment.count == headerPart.count
                && known.segment.withUnsafeBufferPointer { memcmp($0.baseAddress!, base, headerPart.count) == 0 }
        }
        if let known {
            // The very bytes `sign` writes for this key: alg and kid are the key's, typ is known, no crit. The
            // checks below would pass and find exactly this key, so they are skipped.
            guard let signature = Base64URL.decode(buffer: signaturePart) else {
                throw TokenError(.badSignature, "signature is not valid base64url")
            }
            guard !signature.isEmpty else { throw TokenError(.badSignature, "signature is empty") }
            return try finish(bytes, secondDot: secondDot, payloadPart: payloadPart, signature: signature,
                              candidates: [known.key], header: nil, typ: .string(known.typ))
        }
        guard let headerBytes = Base64URL.decode(buffer: headerPart) else { throw TokenError(.malformed, "header is not base64url") }
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
        guard let signature = Base64URL.decode(buffer: signaturePart) else {
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
        return try finish(bytes, secondDot: secondDot, payloadPart: payloadPart, signature: signature,
                          candidates: candidates, header: header, typ: fields["typ"])
    }

    private static func finish(_ bytes: UnsafeBufferPointer<UInt8>, secondDot: Int, payloadPart: UnsafeBufferPointer<UInt8>,
                               signature: [UInt8], candidates: [SigningKey], header: JSONValue?, typ: JSONValue?)
        throws(TokenError) -> Signed
    {
        let input = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[0..<secondDot]))
        guard let key = candidates.first(where: { $0.verify(signature, over: input) }) else {
            throw TokenError(.badSignature, "signature verification failed")
        }
        guard let payload = Base64URL.decode(buffer: payloadPart) else {
            throw TokenError(.malformed, "payload is not base64url")
        }
        return Signed(header: header, typ: typ, payload: payload, key: key)
    }

    /// The payload bytes as text; refused unless UTF-8.
    static func payloadText(_ payload: [UInt8]) throws(TokenError) -> String {
        guard let text = String(validating: payload, as: UTF8.self) else {
            throw TokenError(.malformed, "payload is not UTF-8")
        }
        return text
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
