import Testing

@testable import AgentSafeCore

@Suite("JSONObjectWriter writes what JSONValue would")
struct JSONObjectWriterTests {
    @Test func membersNestingEscapesAndNumbers() throws {
        var w = JSONObjectWriter(capacity: 8)
        w.string("s", "a \"quoted\" \\ line\nbreak \u{1}é")
        w.string("none", nil as String?)
        w.bool("yes", true)
        w.integer("n", -42)
        w.number("x", 2.5)
        w.number("whole", 3)
        w.strings("list", ["a", "b\"c"])
        w.strings("empty", [])
        w.object("nested") { o in
            o.string("k", "v")
            o.object("deeper") { _ in }
        }
        w.objects("rows", [1, 2]) { i, o in o.integer("i", Int64(i)) }
        w.objects("no_rows", [Int]()) { _, _ in }
        w.value("tree", ["b": [1, nil], "a": "x"])
        let bytes = w.finish()
        let expected: JSONValue = [
            "s": "a \"quoted\" \\ line\nbreak \u{1}é", "none": nil, "yes": true, "n": -42, "x": 2.5, "whole": 3,
            "list": ["a", "b\"c"], "empty": [], "nested": ["k": "v", "deeper": [:]], "rows": [["i": 1], ["i": 2]],
            "no_rows": [], "tree": ["a": "x", "b": [1, nil]],
        ]
        #expect(try JSONValue.parse(String(decoding: bytes, as: UTF8.self)) == expected)
        // Compact, in the order written, strings and numbers as the canonical writer writes them.
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"s":"a \"quoted\" \\ line\nbreak \u0001é","none":null,"yes":true,"n":-42,"x":2.5,"whole":3,"#))
        #expect(text.contains(#""nested":{"k":"v","deeper":{}},"rows":[{"i":1},{"i":2}],"no_rows":[]"#))
        #expect(text.hasSuffix(#","tree":{"a":"x","b":[1,null]}}"#))
        #expect(JSONObjectWriter().finish() == Array("{}".utf8))
    }

    @Test func decisionMembers() {
        let d = Decision(
            result: .deny, reason: "Invalid parameters", code: .invalidParams, action: "scale-deployment",
            target: nil, targetKnown: false, caller: "bot", riskClass: .medium, matrixRisk: .high, effectiveRisk: .critical,
            modifiers: [AppliedModifier(source: .offHours, reason: "off hours", raise: 1, from: .high, to: .critical)],
            auditID: "evt-1", correlationID: "c-9", paramErrors: ["replicas: must be at most 50"])
        let expected: JSONValue = [
            "result": "deny", "reason": "Invalid parameters", "code": "invalid_params", "action": "scale-deployment",
            "target": nil, "target_known": false, "caller": "bot", "risk_class": "medium", "matrix_risk": "high",
            "effective_risk": "critical",
            "risk_modifiers": [["source": "off_hours", "reason": "off hours", "raise": 1, "from": "high", "to": "critical"]],
            "policy_matched": nil, "audit_id": "evt-1", "ticket_id": nil, "correlation_id": "c-9",
            "param_errors": ["replicas: must be at most 50"],
        ]
        #expect(d.jsonValue == expected)
        var plain = d
        plain.correlationID = nil
        plain.paramErrors = []
        guard case .object(let o) = plain.jsonValue else { Issue.record("not an object"); return }
        #expect(o["correlation_id"] == nil && o["param_errors"] == nil && o.count == 14)
    }

    /// The fast key order (UTF-8 bytes where that agrees) against the definition (UTF-16 code units).
    @Test func keyOrderIsUTF16Order() {
        let alphabet: [String] = ["a", "b", "_", "Z", "é", "\u{7FF}", "\u{D7FF}", "\u{E000}", "\u{FF5E}", "\u{FFFF}",
                                  "\u{10000}", "😀", "\u{10FFFF}", ""]
        var rng = SplitMix64(seed: 11)
        var keys: [String] = alphabet
        for _ in 0..<400 {
            let n = Int(rng.next() % 4)
            keys.append((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined())
        }
        for a in keys {
            for b in keys.prefix(60) {
                #expect(JSONValue.keyPrecedes(a, b) == a.utf16.lexicographicallyPrecedes(b.utf16), "\(a.unicodeScalars.map(\.value)) vs \(b.unicodeScalars.map(\.value))")
            }
        }
        // The case where code point order and UTF-16 order differ.
        #expect(JSONValue.keyPrecedes("😀", "\u{FF5E}"))
        #expect(!JSONValue.keyPrecedes("\u{FF5E}", "😀"))
    }
}
