extension Decision {
    /// The decision as JSON (snake_case keys, as upstream's Decision JSON plus the new fields).
    public var jsonValue: JSONValue {
        var o: [String: JSONValue] = [
            "result": .string(result.rawValue),
            "reason": .string(reason),
            "code": .string(code.rawValue),
            "action": .string(action),
            "target": target.map(JSONValue.string) ?? .null,
            "target_known": .bool(targetKnown),
            "caller": .string(caller),
            "risk_class": .string(riskClass.rawValue),
            "matrix_risk": .string(matrixRisk.rawValue),
            "effective_risk": .string(effectiveRisk.rawValue),
            "risk_modifiers": .array(modifiers.map { m in
                .object([
                    "source": .string(m.source.rawValue), "reason": .string(m.reason),
                    "raise": .integer(Int64(m.raise)), "from": .string(m.from.rawValue), "to": .string(m.to.rawValue),
                ])
            }),
            "policy_matched": policyMatched.map(JSONValue.string) ?? .null,
            "audit_id": .string(auditID),
            "ticket_id": ticketID.map(JSONValue.string) ?? .null,
        ]
        if let correlationID { o["correlation_id"] = .string(correlationID) }
        if !paramErrors.isEmpty { o["param_errors"] = .array(paramErrors.map(JSONValue.string)) }
        return .object(o)
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
