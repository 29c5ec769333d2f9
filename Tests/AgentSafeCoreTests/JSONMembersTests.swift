import Testing

@testable import AgentSafeCore

/// `parseMembers` (top level into slots) against `parse` (a dictionary), and `appendCanonical` (bytes) against
/// `canonicalText`: the fast forms must accept, refuse and write exactly what the general ones do.
@Suite("JSON fast paths agree with the general parser and writer")
struct JSONMembersTests {
    static let names = JSONMemberNames(["type", "action", "params", "exp", "K", "é"])

    /// The verdict of both parsers on `text`: equal values per name, or the same error (message and offset).
    func agree(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let general = Result { () throws(JSONParser.Error) -> JSONValue in try JSONParser(maxDepth: 8).parse(text) }
        var copy = text
        let fast = copy.withUTF8 { bytes in
            Result { () throws(JSONParser.Error) -> [JSONValue?]? in
                try JSONParser(maxDepth: 8).parseMembers(bytes, names: Self.names)
            }
        }
        switch (general, fast) {
        case (.success(let value), .success(let slots)):
            if case .object(let object) = value {
                #expect(slots != nil, "\(text)", sourceLocation: sourceLocation)
                for (i, name) in Self.names.names.enumerated() {
                    #expect(slots?[i] == object[name], "\(text): \(name)", sourceLocation: sourceLocation)
                }
            } else {
                #expect(slots == nil, "\(text)", sourceLocation: sourceLocation)
            }
        case (.failure(let e1), .failure(let e2)):
            #expect(e1 == e2, "\(text)", sourceLocation: sourceLocation)
        default:
            Issue.record("verdicts differ on \(text): \(general) vs \(fast)", sourceLocation: sourceLocation)
        }
    }

    @Test func handPickedInputs() {
        let inputs = [
            "{}", " { } ", "[]", "1", "\"x\"", "null", "", " ", "{", "}", "{\"type\"", "{\"type\":", "{\"type\":1",
            #"{"type":1}"#, #"{"type":1,}"#, #"{"type":1 "exp":2}"#, #"{"type":1}x"#, #"{"type":1} "#,
            // duplicates: slotted, unslotted, slotted through an escape, and mixed
            #"{"type":1,"type":2}"#, #"{"other":1,"other":2}"#, #"{"type":1,"\u0074ype":2}"#, #"{"\u0074ype":"t"}"#,
            #"{"action":"a","\u0061ction":"b"}"#, #"{"a\"b":1,"a\"b":2}"#, #"{"a\"b":1}"#,
            // canonical equivalence: U+212A KELVIN SIGN is "K" as a String, "e\u0301" is "é"
            #"{"\u212a":1}"#, #"{"K":1,"\u212a":2}"#, #"{"e\u0301":1}"#, #"{"é":1,"e\u0301":2}"#, "{\"\u{212A}\":1}",
            #"{"x\u212a":1,"xK":2}"#,
            // values: nesting, numbers, strings
            #"{"params":{"a":{"b":[1,2,{"c":null}]}},"exp":1.5}"#, #"{"params":{"a":1,"a":2}}"#,
            #"{"exp":99999999999999999999}"#, #"{"exp":1e400}"#, #"{"exp":-0}"#, #"{"exp":01}"#, #"{"exp":1.}"#,
            #"{"exp":-9223372036854775808}"#, #"{"exp":9223372036854775807}"#, #"{"exp":9223372036854775808}"#,
            #"{"type":"\ud800"}"#, #"{"type":"\ud83d\ude00"}"#, #"{"type":"a\u0000b"}"#, "{\"type\":\"a\u{01}\"}",
            #"{"type":"\x"}"#, #"{"type":tru}"#, #"{"type":true,"exp":false,"action":null}"#,
            "{\"type\" : 1 ,\n\t\"exp\"\r: 2 }",
            #"{"params":"# + String(repeating: "[", count: 10) + String(repeating: "]", count: 10) + "}",
            #"{"params":"# + String(repeating: "[", count: 7) + String(repeating: "]", count: 7) + "}",
            #"{"params":"# + String(repeating: "[", count: 6) + String(repeating: "]", count: 6) + "}",
            String(repeating: "[", count: 9) + String(repeating: "]", count: 9),
        ]
        for text in inputs { agree(text) }
    }

    @Test func generatedAndMutatedInputs() {
        var rng = SplitMix64(seed: 0x5EED)
        let pieces = ["{", "}", "[", "]", ",", ":", " ", "\"type\"", "\"action\"", "\"exp\"", "\"other\"", "\"\\u0074ype\"",
                      "\"K\"", "\"\\u212a\"", "1", "-2.5e3", "99999999999999999999", "\"s\"", "\"\\n\"", "null", "true",
                      "\"é\"", "\"e\\u0301\"", "0", "01", "\"\\ud800\""]
        for _ in 0..<4000 {
            // Random token soup, mostly invalid.
            var text = ""
            for _ in 0..<Int.random(in: 1...14, using: &rng) { text += pieces.randomElement(using: &rng)! }
            agree(text)
            // A valid object, then truncated or with one byte changed.
            let value = JSONValue.random(depth: 0, using: &rng, keys: ["type", "action", "params", "exp", "K", "é", "x", "\u{212A}"])
            let object: JSONValue = .object(["type": value, "action": .random(depth: 2, using: &rng, keys: ["a", "b"]),
                                             "exp": .integer(Int64.random(in: -5...5, using: &rng))])
            let valid = object.canonicalText
            agree(valid)
            var bytes = Array(valid.utf8)
            let cut = Int.random(in: 0..<bytes.count, using: &rng)
            agree(String(decoding: bytes[..<cut], as: UTF8.self))
            bytes[cut] = Array("{}[],:\"\\ 0a-.eE".utf8).randomElement(using: &rng)!
            agree(String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func memberNamesFollowStringEquality() {
        let names = JSONMemberNames(["action", "K", "é"])
        func index(_ s: String) -> Int? {
            var s = s
            return s.withUTF8 { names.index(of: $0) }
        }
        #expect(index("action") == 0)
        #expect(index("actio") == nil)
        #expect(index("actionn") == nil)
        #expect(index("Action") == nil)
        #expect(index("K") == 1)
        #expect(index("\u{212A}") == 1)  // KELVIN SIGN == "K" as a String
        #expect(index("é") == 2)
        #expect(index("e\u{301}") == 2)
        #expect(index("") == nil)
        let nonASCII = JSONMemberNames(["\u{212A}"])
        var k = "K"
        #expect(k.withUTF8 { nonASCII.index(of: $0) } == 0)
    }

    @Test func appendCanonicalWritesCanonicalText() {
        var rng = SplitMix64(seed: 42)
        let fixed: [JSONValue] = [
            .string("q\"\\\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F}é😀"), .integer(.min), .integer(.max), .integer(0),
            .integer(-1), .number(3.0), .number(-0.0), .number(2.5), .number(1e300), .number(1e-7), .object([:]),
            .array([]), ["b": 1, "a": ["y": true, "x": "é"], "\u{E000}": 1, "😀": 2, "": 3],
            // Past the small-object path (more than 16 members), and exactly at it.
            .object(Dictionary(uniqueKeysWithValues: (0..<40).map { ("k\($0 * 7 % 40)", JSONValue.integer(Int64($0))) })),
            .object(Dictionary(uniqueKeysWithValues: (0..<16).map { ("\(15 - $0)x", JSONValue.string("\($0)")) })),
        ]
        for value in fixed + (0..<2000).map({ _ in JSONValue.random(depth: 0, using: &rng, keys: ["a", "B", "é", "😀", "\u{E000}", "k\"", ""]) }) {
            var bytes: [UInt8] = []
            value.appendCanonical(to: &bytes)
            #expect(bytes == Array(value.canonicalText.utf8), "\(value)")
        }
    }
}

extension JSONValue {
    static func random(depth: Int, using rng: inout SplitMix64, keys: [String]) -> JSONValue {
        let strings = ["", "x", "a\"b", "back\\slash", "nl\n", "ctl\u{01}", "é", "😀", "\u{212A}", "e\u{301}", "/"]
        switch Int.random(in: 0..<(depth > 3 ? 6 : 8), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .integer(Int64.random(in: Int64.min...Int64.max, using: &rng) >> UInt64.random(in: 0...63, using: &rng))
        case 3: return .number(Double.random(in: -1e6...1e6, using: &rng))
        case 4, 5: return .string(strings.randomElement(using: &rng)!)
        case 6:
            return .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in random(depth: depth + 1, using: &rng, keys: keys) })
        default:
            var o: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &rng) {
                o[keys.randomElement(using: &rng)!] = random(depth: depth + 1, using: &rng, keys: keys)
            }
            return .object(o)
        }
    }
}
