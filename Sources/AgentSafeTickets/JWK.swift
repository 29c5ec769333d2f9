import AgentSafeCore
import Crypto

/// JSON Web Keys for the public halves of ES256 keys (RFC 7517/7518), and RFC 7638 thumbprints as key ids.
public enum JWK {
    /// `{"crv":"P-256","kty":"EC","x":…,"y":…}` members of a P-256 public key.
    static func coordinates(_ key: P256.Signing.PublicKey) -> (x: String, y: String) {
        let raw = Array(key.rawRepresentation)  // X || Y, 32 bytes each
        return (Base64URL.encode(raw[0..<32]), Base64URL.encode(raw[32..<64]))
    }

    /// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, base64url.
    public static func thumbprint(_ key: P256.Signing.PublicKey) -> String {
        let (x, y) = coordinates(key)
        let text = #"{"crv":"P-256","kty":"EC","x":""# + x + #"","y":""# + y + #""}"#
        return Base64URL.encode(Array(SHA256.hash(data: Array(text.utf8))))
    }

    public static func json(_ key: P256.Signing.PublicKey, kid: String) -> JSONValue {
        let (x, y) = coordinates(key)
        return .object(["kty": "EC", "crv": "P-256", "x": .string(x), "y": .string(y), "kid": .string(kid),
                        "alg": "ES256", "use": "sig"])
    }

    /// A JWKS document with every EC key of the ring (HMAC keys are secrets and never exported).
    public static func set(_ ring: KeyRing) -> JSONValue {
        var keys: [JSONValue] = []
        for key in ring.keys {
            switch key.material {
            case .ecPrivate(let k): keys.append(json(k.publicKey, kid: key.kid))
            case .ecPublic(let k): keys.append(json(k, kid: key.kid))
            case .hmac: continue
            }
        }
        return .object(["keys": .array(keys)])
    }

    /// Reads a JWKS document: EC P-256 keys with `kid`. Other key types are skipped; malformed EC keys are errors.
    public static func parseSet(_ text: String) throws(KeyError) -> KeyRing {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            throw KeyError("JWKS is not valid JSON (\(error.message))")
        }
        guard let keys = value["keys"]?.arrayValue else { throw KeyError("JWKS has no 'keys' list") }
        var out: [SigningKey] = []
        for (i, entry) in keys.enumerated() {
            guard entry["kty"]?.stringValue == "EC" else { continue }
            guard entry["crv"]?.stringValue == "P-256", let x = entry["x"]?.stringValue.flatMap(Base64URL.decode),
                let y = entry["y"]?.stringValue.flatMap(Base64URL.decode), x.count == 32, y.count == 32
            else { throw KeyError("JWKS key \(i): expected a P-256 key with 32-byte x and y") }
            if let alg = entry["alg"]?.stringValue, alg != "ES256" {
                throw KeyError("JWKS key \(i): alg '\(alg)' is not ES256")
            }
            guard let key = try? P256.Signing.PublicKey(rawRepresentation: x + y) else {
                throw KeyError("JWKS key \(i): the point is not on the P-256 curve")
            }
            out.append(.ecPublic(key, kid: entry["kid"]?.stringValue))
        }
        return try KeyRing(out)
    }
}
