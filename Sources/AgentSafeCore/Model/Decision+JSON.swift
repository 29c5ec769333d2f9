extension Decision {
    /// The decision as JSON (snake_case keys, as upstream's Decision JSON plus the new fields).
    public var jsonValue: JSONValue {
        var w = JSONObjectWriter(capacity: 512)
        writeMembers(to: &w)
        return .parse(written: w.finish())
    }

    /// The members of ``jsonValue``, written into an answer that may add its own (`/v1/check` adds the ticket).
    public func writeMembers(to w: inout JSONObjectWriter) {
        w.string("result", result.rawValue)
        w.string("reason", reason)
        w.string("code", code.rawValue)
        w.string("action", action)
        w.string("target", target)
        w.bool("target_known", targetKnown)
        w.string("caller", caller)
        w.string("risk_class", riskClass.rawValue)
        w.string("matrix_risk", matrixRisk.rawValue)
        w.string("effective_risk", effectiveRisk.rawValue)
        w.objects("risk_modifiers", modifiers) { m, o in
            o.string("source", m.source.rawValue)
            o.string("reason", m.reason)
            o.integer("raise", Int64(m.raise))
            o.string("from", m.from.rawValue)
            o.string("to", m.to.rawValue)
        }
        w.string("policy_matched", policyMatched)
        w.string("audit_id", auditID)
        w.string("ticket_id", ticketID)
        if let correlationID { w.string("correlation_id", correlationID) }
        if !paramErrors.isEmpty { w.strings("param_errors", paramErrors) }
    }
}

/// Event and decision ids: `evt-` and 32 hex digits (128 random bits; upstream's 48 collide).
public enum EventID {
    public static func random() -> String {
        var rng = SecureRandom()
        return random(using: &rng)
    }

    public static func random(using rng: inout some RandomNumberGenerator) -> String {
        random(prefix: "evt-", hexDigits: 32, using: &rng)
    }

    /// `prefix` and `hexDigits` random lower-case hex digits (`apr-…` approvals, `cred-…` credentials).
    public static func random(prefix: String, hexDigits: Int) -> String {
        var rng = SecureRandom()
        return random(prefix: prefix, hexDigits: hexDigits, using: &rng)
    }

    public static func random(prefix: String, hexDigits: Int, using rng: inout some RandomNumberGenerator) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var bytes = Array(prefix.utf8)
        bytes.reserveCapacity(bytes.count + hexDigits)
        var word: UInt64 = 0
        for i in 0..<hexDigits {
            if i % 16 == 0 { word = rng.next() }
            bytes.append(hex[Int(word & 0xF)])
            word >>= 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
