import AgentSafeCore
import Crypto
import Foundation  // DataProtocol for raw buffers

/// The JWS algorithms Agent-Safe signs and verifies. `none` and everything else are refused.
public enum JWSAlgorithm: String, Sendable, Hashable, CaseIterable {
    case hs256 = "HS256"
    case es256 = "ES256"
}

/// One key of a ``KeyRing``: an HMAC secret, or a P-256 key pair (or only its public half, to verify).
///
/// The algorithm is pinned to the key: an HMAC key only ever computes HS256, an EC key only ES256, whatever a
/// token's header says. `description` never shows key material.
public struct SigningKey: Sendable, CustomStringConvertible {
    public enum Material: Sendable {
        case hmac(SymmetricKey)
        case ecPrivate(P256.Signing.PrivateKey)
        case ecPublic(P256.Signing.PublicKey)
    }

    /// Minimum HMAC key length in bytes (RFC 7518 §3.2: a key at least as long as the hash output).
    public static let minimumHMACKeyBytes = 32

    public let kid: String
    public let material: Material
    /// HMAC state keyed once (inner and outer pads absorbed), copied for each message.
    let preparedHMAC: PreparedHMACSHA256?

    public var algorithm: JWSAlgorithm {
        if case .hmac = material { return .hs256 }
        return .es256
    }

    public var canSign: Bool {
        if case .ecPublic = material { return false }
        return true
    }

    public var description: String { "SigningKey(\(algorithm.rawValue), kid: \(kid))" }

    /// An HMAC key from raw bytes (at least 32). `kid` defaults to a digest-derived id that reveals nothing usable.
    public static func hmac(_ bytes: some Collection<UInt8>, kid: String? = nil) throws(KeyError) -> SigningKey {
        guard bytes.count >= minimumHMACKeyBytes else {
            throw KeyError("an HMAC key needs at least \(minimumHMACKeyBytes) bytes, got \(bytes.count)")
        }
        let key = SymmetricKey(data: Array(bytes))
        let id = kid ?? "hs-" + Hex.encode(SHA256.hash(data: Array("agent-safe kid".utf8) + Array(bytes)).prefix(8))
        return SigningKey(kid: id, material: .hmac(key), preparedHMAC: PreparedHMACSHA256(key: key))
    }

    public static func ecPrivate(_ key: P256.Signing.PrivateKey, kid: String? = nil) -> SigningKey {
        SigningKey(kid: kid ?? JWK.thumbprint(key.publicKey), material: .ecPrivate(key), preparedHMAC: nil)
    }

    public static func ecPublic(_ key: P256.Signing.PublicKey, kid: String? = nil) -> SigningKey {
        SigningKey(kid: kid ?? JWK.thumbprint(key), material: .ecPublic(key), preparedHMAC: nil)
    }

    /// The same key without its private half (what an executor needs to verify).
    public var publicOnly: SigningKey? {
        switch material {
        case .hmac: nil
        case .ecPrivate(let key): SigningKey(kid: kid, material: .ecPublic(key.publicKey), preparedHMAC: nil)
        case .ecPublic: self
        }
    }

    /// Bytes of a signature by this key (HS256: 32, ES256: 64, R || S).
    var signatureByteCount: Int { algorithm == .hs256 ? SHA256.byteCount : 64 }

    func sign(_ input: UnsafeRawBufferPointer) throws(KeyError) -> [UInt8] {
        switch material {
        case .hmac:
            return preparedHMAC!.authenticationCode(for: input)
        case .ecPrivate(let key):
            do {
                return Array(try key.signature(for: input).rawRepresentation)
            } catch {
                throw KeyError("ES256 signing failed")
            }
        case .ecPublic:
            throw KeyError("key '\(kid)' is a public key and can't sign")
        }
    }

    func verify(_ signature: [UInt8], over input: [UInt8]) -> Bool {
        input.withUnsafeBytes { verify(signature, over: $0) }
    }

    func verify(_ signature: [UInt8], over input: UnsafeRawBufferPointer) -> Bool {
        switch material {
        case .hmac:
            let expected = preparedHMAC!.authenticationCode(for: input)
            return signature.count == SHA256.byteCount && PreparedHMACSHA256.constantTimeEqual(expected, signature)
        case .ecPrivate(let key):
            return Self.verifyEC(key.publicKey, signature, input)
        case .ecPublic(let key):
            return Self.verifyEC(key, signature, input)
        }
    }

    static func verifyEC(_ key: P256.Signing.PublicKey, _ signature: [UInt8], _ input: UnsafeRawBufferPointer) -> Bool {
        // JWS ES256 signatures are the raw 64-byte R || S, never DER.
        guard signature.count == 64, let sig = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else {
            return false
        }
        return key.isValidSignature(sig, for: input)
    }
}

public struct KeyError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Keys for one purpose (tickets, or identity tokens): the first key able to sign signs; every key verifies.
/// Rotation: put the new key first and keep the old one listed until the last token it signed has expired.
public struct KeyRing: Sendable {
    public let keys: [SigningKey]
    let byKID: [String: SigningKey]

    public init(_ keys: [SigningKey]) throws(KeyError) {
        var byKID: [String: SigningKey] = [:]
        for key in keys {
            if byKID[key.kid] != nil { throw KeyError("two keys share the kid '\(key.kid)'") }
            byKID[key.kid] = key
        }
        self.keys = keys
        self.byKID = byKID
    }

    /// The key that signs new tokens.
    public var signer: SigningKey? { keys.first(where: \.canSign) }

    public func key(kid: String) -> SigningKey? { byKID[kid] }

    /// Keys that could have produced a token with this header: the named one, or, without a `kid` (upstream's
    /// tokens), every key of the header's algorithm.
    func candidates(kid: String?, algorithm: JWSAlgorithm) -> [SigningKey] {
        if let kid {
            guard let key = byKID[kid], key.algorithm == algorithm else { return [] }
            return [key]
        }
        return keys.filter { $0.algorithm == algorithm }
    }

    /// The ring an executor needs: public halves of the EC keys (HMAC keys can't be shared this way).
    public var publicRing: KeyRing {
        (try? KeyRing(keys.compactMap(\.publicOnly))) ?? (try! KeyRing([]))
    }
}

/// HMAC-SHA256 (RFC 2104) keyed once: the inner and outer hash states with the padded key absorbed, as
/// `HMAC<SHA256>(key:)` prepares them, copied for each message. It feeds swift-crypto's SHA256 through
/// `update(bufferPointer:)`, which skips the generic `DataProtocol` path `HMAC.update(data:)` takes (about half the
/// cost of a ticket's MAC). Tests check it against `HMAC<SHA256>` for keys shorter and longer than a block.
public struct PreparedHMACSHA256: Sendable {
    private let inner: SHA256
    private let outer: SHA256

    public init(key: SymmetricKey) {
        // K: the key zero-padded to a block, or its digest (padded) when longer than a block.
        var block = [UInt8](repeating: 0, count: SHA256.blockByteCount)
        key.withUnsafeBytes { bytes in
            if bytes.count > SHA256.blockByteCount {
                let digest = SHA256.hash(data: bytes)
                digest.withUnsafeBytes { block.replaceSubrange(0..<$0.count, with: $0) }
            } else {
                block.replaceSubrange(0..<bytes.count, with: bytes)
            }
        }
        var inner = SHA256()
        var outer = SHA256()
        let ipad = block.map { $0 ^ 0x36 }
        let opad = block.map { $0 ^ 0x5C }
        ipad.withUnsafeBytes { inner.update(bufferPointer: $0) }
        opad.withUnsafeBytes { outer.update(bufferPointer: $0) }
        self.inner = inner
        self.outer = outer
    }

    /// HMAC-SHA256 of `message`: 32 bytes.
    public func authenticationCode(for message: UnsafeRawBufferPointer) -> [UInt8] {
        var inner = self.inner
        inner.update(bufferPointer: message)
        let innerDigest = inner.finalize()
        var outer = self.outer
        innerDigest.withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize().withUnsafeBytes { Array($0) }
    }

    /// Whether two MACs are equal, in time that depends only on their lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
