import Crypto
import Foundation

/// Reads keys from files or environment variables.
///
/// A key source is a path, or `env:NAME` for an environment variable. The contents decide the kind:
/// - a PEM block (`-----BEGIN …`): a P-256 private key (SEC 1 or PKCS #8) for ES256, or a public key (verify only);
/// - `hex:…` or `base64:…`: HMAC key bytes so encoded;
/// - anything else: the raw bytes are the HMAC key (one trailing newline ignored).
/// HMAC keys shorter than 32 bytes are refused. Errors name the source, never its contents.
public enum KeyFile {
    public static func load(source: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(KeyError) -> SigningKey
    {
        let contents: [UInt8]
        if source.hasPrefix("env:") {
            let name = String(source.dropFirst(4))
            guard let value = environment[name], !value.isEmpty else {
                throw KeyError("environment variable \(name) is not set")
            }
            contents = Array(value.utf8)
        } else {
            guard let data = FileManager.default.contents(atPath: source) else {
                throw KeyError(FileManager.default.fileExists(atPath: source)
                               ? "cannot read key file \(source)" : "key file \(source) does not exist")
            }
            contents = Array(data)
        }
        return try parse(contents, source: source)
    }

    public static func parse(_ contents: [UInt8], source: String) throws(KeyError) -> SigningKey {
        let text = String(decoding: contents, as: UTF8.self)
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("-----BEGIN") {
            if let key = try? P256.Signing.PrivateKey(pemRepresentation: trimmed) { return .ecPrivate(key) }
            if let key = try? P256.Signing.PublicKey(pemRepresentation: trimmed) { return .ecPublic(key) }
            throw KeyError("\(source): PEM data is not a P-256 (ES256) private or public key")
        }
        let bytes: [UInt8]
        if trimmed.hasPrefix("hex:") {
            guard let b = Hex.decode(String(trimmed.dropFirst(4))) else { throw KeyError("\(source): 'hex:' key is not valid hex") }
            bytes = b
        } else if trimmed.hasPrefix("base64:") {
            var body = String(trimmed.dropFirst(7)).replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
            while body.hasSuffix("=") { body.removeLast() }
            guard let b = Base64URL.decode(body) else { throw KeyError("\(source): 'base64:' key is not valid base64") }
            bytes = b
        } else {
            var raw = contents
            if raw.last == UInt8(ascii: "\n") { raw.removeLast() }
            if raw.last == UInt8(ascii: "\r") { raw.removeLast() }
            bytes = raw
        }
        do {
            return try SigningKey.hmac(bytes)
        } catch {
            throw KeyError("\(source): \(error.description)")
        }
    }

    /// A new key file's contents: a PKCS #8 PEM P-256 private key, or 32 random bytes as `hex:`.
    public static func generate(_ algorithm: JWSAlgorithm) -> (contents: String, key: SigningKey) {
        switch algorithm {
        case .es256:
            let key = P256.Signing.PrivateKey()
            return (key.pemRepresentation + "\n", .ecPrivate(key))
        case .hs256:
            let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
            return ("hex:" + Hex.encode(bytes) + "\n", try! SigningKey.hmac(bytes))
        }
    }
}
