import Testing

@testable import AgentSafeCore

@Suite("Strict JSON parser")
struct JSONParserTests {
    @Test func numbersKeepTheirKind() throws {
        #expect(try JSONValue.parse("5") == .integer(5))
        #expect(try JSONValue.parse("5.0") == .number(5.0))
        #expect(try JSONValue.parse("-1e3") == .number(-1000))
        #expect(try JSONValue.parse("true") == .bool(true))
        #expect(try JSONValue.parse("null") == .null)
    }

    @Test func objectsAndStrings() throws {
        let v = try JSONValue.parse(#"{"a": [1, "x\n\u00e9\ud83d\ude00"], "b": {"c": false}}"#)
        #expect(v["a"] == .array([.integer(1), .string("x\né😀")]))
        #expect(v["b"]?["c"] == .bool(false))
    }

    static let malformed: [(String, String)] = [
        ("", "unexpected end of input"),
        ("{", "expected a string key"),
        (#"{"a":1,}"#, "expected a string key"),
        (#"{"a":1 "b":2}"#, "expected ',' or '}'"),
        (#"{"a":1,"a":2}"#, "duplicate key \"a\""),
        ("[1,]", "unexpected character"),
        ("01", "leading zeros"),
        ("1.", "expected a digit after '.'"),
        ("99999999999999999999", "integer out of range"),
        ("\"abc", "unterminated string"),
        ("\"\u{01}\"", "control character"),
        (#""\x""#, "invalid escape"),
        (#""\ud800""#, "unpaired surrogate"),
        ("tru", "invalid literal"),
        ("{} x", "unexpected data after the JSON value"),
        (String(repeating: "[", count: 100) + String(repeating: "]", count: 100), "nested deeper than 64"),
    ]

    @Test("malformed input is refused with a reason", arguments: malformed)
    func refuses(_ c: (String, String)) {
        #expect {
            _ = try JSONValue.parse(c.0)
        } throws: { error in
            (error as? JSONParser.Error)?.message.contains(c.1) == true
        }
    }

    @Test func canonicalTextSortsKeys() throws {
        let v = try JSONValue.parse(#"{"b":1,"a":[true,null,2.5,"q\""]}"#)
        #expect(v.canonicalText == #"{"a":[true,null,2.5,"q\""],"b":1}"#)
        #expect(JSONValue.number(3.0).canonicalText == "3")
    }
}
