import AgentSafeCore
import AgentSafeTickets
import Crypto
import Foundation

/// Replaces parameters marked `sensitive: true` in their action by `hmac-sha256:<hex>` under a key only the
/// sidecar holds (as Vault's audit devices do): equal values give equal digests, so logs can be correlated, but
/// the value can't be read back or guessed offline without the key.
public struct AuditRedactor: Sendable {
    /// Keyed once: every approval's fingerprint and every chain-rule parameter goes through ``digest(_:)``.
    let mac: PreparedHMACSHA256

    public init(key: [UInt8]) {
        mac = PreparedHMACSHA256(key: SymmetricKey(data: key))
    }

    /// The redaction key from `path`, created (32 random bytes, mode 0600) on first use.
    public static func loadOrCreate(path: String) throws -> AuditRedactor {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count >= 32 else { throw AuditError("\(path): the audit redaction key must be at least 32 bytes") }
            return AuditRedactor(key: Array(data))
        }
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
            throw AuditError("cannot create the audit redaction key \(path)")
        }
        return AuditRedactor(key: bytes)
    }

    public func digest(_ value: JSONValue) -> String {
        var bytes: [UInt8] = []
        value.appendCanonical(to: &bytes)  // the canonical text's bytes, without the String
        return "hmac-sha256:" + bytes.withUnsafeBytes { mac.authenticationCode(for: $0) }.withUnsafeBytes(Hex.encode(raw:))
    }

    /// `params` with every sensitive parameter of `action` replaced by its digest.
    public func redact(_ params: [String: JSONValue], action: ActionDefinition?) -> [String: JSONValue] {
        guard let action else { return params }
        var out = params
        for p in action.parameters where p.sensitive {
            if let value = params[p.name] { out[p.name] = .string(digest(value)) }
        }
        return out
    }
}
