import Testing

@testable import AgentSafeCore

@Suite("SafeRegex: linear-time patterns")
struct SafeRegexTests {
    static let dns1123Label = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
    static let dns1123Subdomain = #"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"#
    static let instanceID = "^i-[0-9a-f]{8}([0-9a-f]{9})?$"
    static let policyARN = "^arn:aws(-[a-z]+)?:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]{1,512}$"
    static let upstreamName = "^[a-z][a-z0-9-]{0,62}$"

    /// (pattern, input, wholeMatch, containsMatch)
    static let table: [(String, String, Bool, Bool)] = [
        ("abc", "abc", true, true), ("abc", "xabcx", false, true), ("abc", "ab", false, false),
        ("[a-z]+", "abc", true, true), ("[a-z]+", "abc1", false, true), ("^a", "ba", false, false),
        ("a$", "ab", false, false), ("a$", "ba", false, true), ("a$", "a", true, true), ("^$", "", true, true), ("", "", true, true),
        ("", "x", false, true), ("a.c", "abc", true, true), ("a.c", "a\nc", false, false),
        ("a|b", "b", true, true), ("ab|cd", "cd", true, true), ("(ab|cd)+", "abcdab", true, true),
        ("(?:ab)*", "", true, true), ("a*", "aaaa", true, true), ("a+", "", false, false), ("a?b", "b", true, true),
        ("a{3}", "aaa", true, true), ("a{3}", "aa", false, false), ("a{2,}", "aaaaa", true, true),
        ("a{2,3}", "aaaa", false, true), ("a{,2}", "aa", true, true), ("a{,2}", "aaa", false, true),
        ("a{x}", "a{x}", true, true),  // '{' not followed by a count is a literal
        ("a*?b", "aab", true, true), ("a+?", "aa", true, true),
        (#"\d+"#, "123", true, true), (#"\d+"#, "12a", false, true), (#"\D"#, "a", true, true),
        (#"\w+"#, "a_Z9", true, true), (#"\w"#, "-", false, false), (#"\W"#, "-", true, true),
        (#"\s"#, " ", true, true), (#"\S+"#, "ab", true, true), (#"a\.b"#, "a.b", true, true), (#"a\.b"#, "axb", false, false),
        (#"\(\)\[\]\{\}\|\*\+\?\^\$\\\/\-"#, #"()[]{}|*+?^$\/-"#, true, true),
        ("[]a]", "]", true, true), ("[^]a]", "b", true, true), ("[a-]", "-", true, true), ("[-a]", "-", true, true),
        ("[^a-z]", "A", true, true), ("[^a-z]", "q", false, false), (#"[\d.]+"#, "1.2", true, true),
        (#"[\]]"#, "]", true, true), (#"\Aab\Z"#, "ab", true, true),
        ("(?i)abc", "AbC", true, true), ("(?i)[a-c]+", "ABC", true, true),
        ("(?P<name>a)b", "ab", true, true), ("(?<n>a)b", "ab", true, true),
        // Unicode: one scalar per '.' or class item.
        ("^.$", "é", true, true), ("^[^/]+$", "日本", true, true), ("^[é-ê]$", "ê", true, true), ("^..$", "日本", true, true),
    ]

    @Test("known answers", arguments: table)
    func knownAnswers(_ c: (String, String, Bool, Bool)) throws {
        let r = try SafeRegex(c.0)
        #expect(r.wholeMatch(c.1) == c.2, "wholeMatch \(c.0) on \(c.1)")
        #expect(r.containsMatch(c.1) == c.3, "containsMatch \(c.0) on \(c.1)")
    }

    static let refused: [(String, String, Int)] = [
        ("(abc", "unterminated group", 0), ("abc)", "unbalanced parenthesis", 3), ("[abc", "unterminated character set", 0),
        ("*a", "nothing to repeat", 0), ("a**", "multiple repeat", 2), (#"(a)\1"#, "backreferences", 3),
        ("a(?=b)", "lookahead", 1), ("a(?!b)", "lookahead", 1), ("(?<=a)b", "lookbehind", 0), ("(?<!a)b", "lookbehind", 0),
        (#"\bword\b"#, "word boundaries", 0), ("a(?i)b", "inline flags", 1), ("a++", "possessive", 2),
        ("a{5,2}", "min repeat greater than max", 1), ("a{1001}", "repetition count over 1000", 1),
        ("[z-a]", "bad character range", 1), (#"\q"#, "bad escape", 0), ("[[:alpha:]]", "POSIX classes", 1),
        ("(?#comment)", "unknown group extension", 0), ("a\\", "bad escape (end of pattern)", 1),
    ]

    @Test("refused constructs name their offset", arguments: refused)
    func refusedPatterns(_ c: (String, String, Int)) {
        #expect {
            _ = try SafeRegex(c.0)
        } throws: { error in
            guard let e = error as? RegexSyntaxError else { return false }
            return e.message.contains(c.1) && e.offset == c.2
        }
    }

    @Test func programSizeIsBounded() {
        #expect(throws: RegexSyntaxError.self) { _ = try SafeRegex("((a{1000}){1000})") }
        #expect(throws: Never.self) { _ = try SafeRegex("[a-z]{0,1000}") }
    }

    @Test func pathologicalPatternsStayLinear() throws {
        // These take exponential time in backtracking engines; here they finish in linear time.
        let many = String(repeating: "a", count: 10_000)
        #expect(try SafeRegex("(a+)+$").wholeMatch(many + "!") == false)
        #expect(try SafeRegex("(a|aa)*b").containsMatch(many) == false)
        #expect(try SafeRegex("(x+x+)+y").wholeMatch(String(repeating: "x", count: 10_000)) == false)
        #expect(try SafeRegex("(a*)*b").wholeMatch(many) == false)
        #expect(try SafeRegex("(a+)+$").wholeMatch(many) == true)
    }

    @Test func kubernetesAndAWSPatterns() throws {
        let label = try SafeRegex(Self.dns1123Label)
        for good in ["web", "a", "shop-web-1", "0abc"] { #expect(label.wholeMatch(good), "\(good)") }
        for bad in ["x --all", "-web", "web-", "Web", "../etc", "a.b", "", "web\n"] { #expect(!label.wholeMatch(bad), "\(bad)") }
        let sub = try SafeRegex(Self.dns1123Subdomain)
        #expect(sub.wholeMatch("api.v1.example"))
        #expect(!sub.wholeMatch("api..v1"))
        #expect(!sub.wholeMatch("x --all"))
        let instance = try SafeRegex(Self.instanceID)
        #expect(instance.wholeMatch("i-0123abcd"))
        #expect(instance.wholeMatch("i-0123456789abcdef0"))
        #expect(!instance.wholeMatch("i-0123456789abcdef"))  // 16 hex digits: neither 8 nor 17
        #expect(!instance.wholeMatch("i-0123ABCD"))
        // A quantified group whose body is itself a repeat, e.g. `([0-9a-f]{9})?` or `([0-9]+)?`.
        #expect(try SafeRegex("^a([0-9]+)?$").wholeMatch("a12"))
        #expect(throws: RegexSyntaxError.self) { _ = try SafeRegex("a{2}{3}") }
        let arn = try SafeRegex(Self.policyARN)
        #expect(arn.wholeMatch("arn:aws:iam::aws:policy/ReadOnlyAccess"))
        #expect(arn.wholeMatch("arn:aws:iam::123456789012:policy/team/deploy"))
        #expect(!arn.wholeMatch("arn:aws:iam::12345:policy/x"))
        #expect(!arn.wholeMatch("arn:aws:iam::aws:policy/*  "))
        let name = try SafeRegex(Self.upstreamName)
        #expect(name.wholeMatch("a" + String(repeating: "b", count: 62)))  // 63 characters
        #expect(!name.wholeMatch("a" + String(repeating: "b", count: 63)))  // 64 characters
    }
}
