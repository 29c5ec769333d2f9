import AgentSafeCore
import AgentSafeTickets

/// Signed checkpoints: a `checkpoint` event whose context carries a JWS over `{"seq":N,"hash":H}` — the seq and
/// entry_hash of the event just before it — made with a key only the sidecar holds. Whoever rewrites the chain, or
/// cuts its tail and its last checkpoint, can't make a new valid signature.
public enum Checkpoint {
    public static let typ = "agent-safe-checkpoint+jwt"

    static func event(throughSeq: Int64, hash: String, key: SigningKey) -> AuditEvent {
        let payload = #"{"seq":"# + String(throughSeq) + #","hash":""# + hash + #""}"#
        let signature = (try? JWS.sign(payload: payload, typ: typ, with: key)) ?? ""
        return AuditEvent(
            timestamp: AuditLog.now(), eventType: .checkpoint, reason: "signed checkpoint through seq \(throughSeq)",
            context: .object(["through_seq": .integer(throughSeq), "last_hash": .string(hash),
                              "kid": .string(key.kid), "alg": .string(key.algorithm.rawValue),
                              "signature": .string(signature)]))
    }

    /// Checks a checkpoint line's signature against `ring`: `nil` when valid, else why not.
    static func problem(context: JSONValue?, prevSeq: Int64, prevHash: String, ring: KeyRing) -> String? {
        guard let context, case .string(let signature)? = context["signature"] else { return "checkpoint has no signature" }
        let verified: JWS.Verified
        do {
            verified = try JWS.verify(signature, ring: ring)
        } catch {
            return "checkpoint signature refused (\(error.code.rawValue): \(error.message))"
        }
        guard case .string(typ)? = verified.header["typ"] else { return "checkpoint signature has the wrong typ" }
        guard verified.payload["seq"] == .integer(prevSeq), verified.payload["hash"] == .string(prevHash) else {
            return "checkpoint signature covers another position (seq \(verified.payload["seq"]?.canonicalText ?? "?"))"
        }
        return nil
    }
}
