import Testing

@testable import AgentSafeCore

@Suite("SafeRegex: linear-time patterns")
struct SafeRegexTests {
    static let dns1123Label = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
    static let dns1123Subdomain = #"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"#
    static let instanceID = "^i-[0-9a-f]{8,17}$"
    static let policyARN = "^arn:aws:iam::[0-9]{12}:policy/[A-Za-z0-9+=,.@_/-]{1,512}$"
    static let upstreamName = "^[a-z][a-z0-9-]{0,62}$"

    /// (pattern, input, wholeMatch = Python `re.fullmatch`, containsMatch = Python `re.search`). The first block
    /// was generated with CPython 3.11 `re` (flag `re.ASCII`, which our `\d \w \s \b` and `(?i)` follow).
    static let table: [(String, String, Bool, Bool)] = [
        ("abc", "abc", true, true),
        ("abc", "xabcx", false, true),
        ("abc", "ab", false, false),
        ("abc", "", false, false),
        ("", "", true, true),
        ("", "x", false, true),
        ("a.c", "abc", true, true),
        ("a.c", "a\nc", false, false),
        ("a.c", "a-c", true, true),
        ("...", "日本語", true, true),
        ("[a-z]+", "abc", true, true),
        ("[a-z]+", "abc1", false, true),
        ("[a-z]+", "ABC", false, false),
        ("[abc]", "b", true, true),
        ("[abc]", "d", false, false),
        ("[^abc]", "d", true, true),
        ("[^abc]", "a", false, false),
        ("[]a]", "]", true, true),
        ("[]a]+", "a]a", true, true),
        ("[^]a]", "b", true, true),
        ("[^]a]", "]", false, false),
        ("[a-]", "-", true, true),
        ("[-a]", "-", true, true),
        ("[a-]", "b", false, false),
        ("[+--]", "+", true, true),
        ("[+--]", ",", true, true),
        ("[+--]", "-", true, true),
        ("[+--]", ".", false, false),
        ("[\\]]", "]", true, true),
        ("[\\\\]", "\\", true, true),
        ("[\\-a]", "-", true, true),
        ("[a\\-z]", "m", false, false),
        ("[\\d.]+", "1.2", true, true),
        ("[\\w-]+", "a_b-c", true, true),
        ("[^\\d]", "a", true, true),
        ("[^\\d]", "5", false, false),
        ("[\\s]", "\t", true, true),
        ("[\\t\\n]", "\n", true, true),
        ("[.]", ".", true, true),
        ("[.]", "a", false, false),
        ("[*+?{}()|^$]", "{", true, true),
        ("[a^]", "^", true, true),
        ("[\\^a]", "^", true, true),
        ("[\\b]", "\u{8}", true, true),
        ("[\\x41-\\x43]", "B", true, true),
        ("[\\u00e9]", "é", true, true),
        ("\\d+", "123", true, true),
        ("\\d+", "12a", false, true),
        ("\\d", "٣", false, false),
        ("\\D", "a", true, true),
        ("\\D", "1", false, false),
        ("\\w+", "a_Z9", true, true),
        ("\\w", "-", false, false),
        ("\\w", "é", false, false),
        ("\\W", "-", true, true),
        ("\\W", "é", true, true),
        ("\\s", " ", true, true),
        ("\\s", "\u{b}", true, true),
        ("\\s", "\u{a0}", false, false),
        ("\\S+", "ab", true, true),
        ("\\S", " ", false, false),
        ("a\\.b", "a.b", true, true),
        ("a\\.b", "axb", false, false),
        ("\\(\\)\\[\\]\\{\\}\\|\\*\\+\\?\\^\\$\\\\\\/\\-", "()[]{}|*+?^$\\/-", true, true),
        ("\\n", "\n", true, true),
        ("\\t", "\t", true, true),
        ("\\r", "\r", true, true),
        ("\\f", "\u{c}", true, true),
        ("\\v", "\u{b}", true, true),
        ("\\a", "\u{7}", true, true),
        ("\\x41", "A", true, true),
        ("\\u00e9", "é", true, true),
        ("\\U0001F600", "😀", true, true),
        ("\\@\\#\\ \\!", "@# !", true, true),
        ("\\é", "é", true, true),
        ("^a", "ba", false, false),
        ("^a", "ab", false, true),
        ("a$", "ab", false, false),
        ("a$", "ba", false, true),
        ("a$", "a", true, true),
        ("^$", "", true, true),
        ("^$", "x", false, false),
        ("^abc$", "abc", true, true),
        ("\\Aab\\Z", "ab", true, true),
        ("\\Aab\\Z", "xab", false, false),
        ("a\\Z", "ba", false, true),
        ("a^b", "ab", false, false),
        ("a$b", "ab", false, false),
        ("(^a|b)+", "ab", true, true),
        ("(^a|b)+", "bab", false, true),
        ("x|^y", "zy", false, false),
        ("x|^y", "yz", false, true),
        ("(?:^)*a", "a", true, true),
        ("\\bcat\\b", "cat", true, true),
        ("\\bcat\\b", "a cat!", false, true),
        ("\\bcat\\b", "concat", false, false),
        ("\\bcat\\b", "cats", false, false),
        ("\\Bat\\b", "cat", false, true),
        ("\\Bat", "at", false, false),
        ("\\b", "x", false, true),
        ("\\b", "", false, false),
        ("\\b", " ", false, false),
        ("a\\b-", "a-", true, true),
        ("a\\Bb", "ab", true, true),
        ("\\bé", "é", false, false),
        ("a|b", "b", true, true),
        ("a|b", "c", false, false),
        ("ab|cd", "cd", true, true),
        ("ab|cd", "abd", false, true),
        ("(ab|cd)+", "abcdab", true, true),
        ("(ab|cd)+", "abc", false, true),
        ("(?:ab)*", "", true, true),
        ("(?:ab)*", "aba", false, true),
        ("a(|b)c", "ac", true, true),
        ("a(|b)c", "abc", true, true),
        ("(a|)+b", "b", true, true),
        ("()", "", true, true),
        ("a||b", "", true, true),
        ("(?P<name>a)b", "ab", true, true),
        ("((((a))))", "a", true, true),
        ("a*", "aaaa", true, true),
        ("a*", "", true, true),
        ("a+", "", false, false),
        ("a+", "aa", true, true),
        ("a?b", "b", true, true),
        ("a?b", "aab", false, true),
        ("a{3}", "aaa", true, true),
        ("a{3}", "aa", false, false),
        ("a{3}", "aaaa", false, true),
        ("a{2,}", "aaaaa", true, true),
        ("a{2,}", "a", false, false),
        ("a{2,3}", "aaaa", false, true),
        ("a{2,3}", "aa", true, true),
        ("a{,2}", "aa", true, true),
        ("a{,2}", "aaa", false, true),
        ("a{,2}", "", true, true),
        ("a{0}", "", true, true),
        ("a{0}", "a", false, true),
        ("a{0,0}b", "b", true, true),
        ("a{,}", "aaa", true, true),
        ("a{1,1}", "a", true, true),
        ("(ab){2}", "abab", true, true),
        ("(ab){2}", "ab", false, false),
        ("(?:a|bc){2,3}", "abca", true, true),
        ("a{x}", "a{x}", true, true),
        ("a{", "a{", true, true),
        ("a{}", "a{}", true, true),
        ("a{1", "a{1", true, true),
        ("a{1,2", "a{1,2", true, true),
        ("{", "{", true, true),
        ("}", "}", true, true),
        ("]", "]", true, true),
        ("a{ 1}", "a{ 1}", true, true),
        ("a*?b", "aab", true, true),
        ("a+?", "aa", true, true),
        ("a??b", "ab", true, true),
        ("a{2,3}?", "aaa", true, true),
        ("(a|b)*?c", "abc", true, true),
        ("(a*)*", "aaa", true, true),
        ("(a*)+b", "b", true, true),
        ("(a?){3}a{3}", "aaa", true, true),
        ("(a|b)*a(a|b){3}", "babbb", true, true),
        ("(a|b)*a(a|b){3}", "bbabb", false, false),
        ("(?i)abc", "AbC", true, true),
        ("(?i)[a-c]+", "ABC", true, true),
        ("(?i)[^a-z]", "A", false, false),
        ("(?i)[^a-z]", "1", true, true),
        ("(?i)\\w", "K", true, true),
        ("(?i)[A-Z]+", "xyz", true, true),
        ("(?i)é", "É", false, false),
        ("(?i)a|b", "B", true, true),
        ("(?i)\\x41", "a", true, true),
        ("^.$", "é", true, true),
        ("^.$", "e\u{301}", false, false),
        ("^..$", "e\u{301}", true, true),
        ("^[^/]+$", "日本", true, true),
        ("^[^/]+$", "日/本", false, false),
        ("^[é-ê]$", "ê", true, true),
        ("^[é-ê]$", "e", false, false),
        ("^..$", "日本", true, true),
        ("😀+", "😀😀", true, true),
        ("^[\\u0100-\\u017f]+$", "ĀžŁ", true, true),
        ("[^a]", "😀", true, true),
        ("a.b", "a😀b", true, true),
        ("^\\W$", "日", true, true),
        // Not in CPython 3.11, or answered differently on purpose (docs/regex.md):
        ("(?<n>a)b", "ab", true, true),  // (?<name>...) accepted as a plain group
        ("(?P<x>a)|(?<y>b)", "b", true, true),
        (#"\B"#, "", true, true),  // as RE2 and Python 3.14; older Pythons never match \B on ""
        // `$` is the end of the value only; Python's search also matches before a final \n.
        ("a$", "a\n", false, false),
        (#"^[a-z]+$"#, "abc\n", false, false),
        (#"a\z"#, "a", true, true),
        (#"a$\n"#, "a\n", false, false),  // Python: true for both
        (#"\bcafé\b"#, "café", false, false),  // é is not an (ASCII) word character: no boundary after it
        (#"\bcafé"#, "un café", false, true),
    ]

    @Test("known answers (DFA and NFA simulation agree)", arguments: table)
    func knownAnswers(_ c: (String, String, Bool, Bool)) throws {
        let r = try SafeRegex(c.0)
        #expect(r.wholeMatch(c.1) == c.2, "wholeMatch \(c.0) on \(c.1)")
        #expect(r.containsMatch(c.1) == c.3, "containsMatch \(c.0) on \(c.1)")
        #expect(r.simulatedMatch(c.1, search: false) == c.2, "NFA wholeMatch \(c.0) on \(c.1)")
        #expect(r.simulatedMatch(c.1, search: true) == c.3, "NFA containsMatch \(c.0) on \(c.1)")
        if let alphabet = r.compiled.alphabet, let whole = r.compiled.whole, let search = r.compiled.search {
            #expect(whole.run(c.1.unicodeScalars, alphabet) == c.2, "scalar path \(c.0) on \(c.1)")
            #expect(search.run(c.1.unicodeScalars, alphabet) == c.3, "scalar path \(c.0) on \(c.1)")
        }
    }

    /// (pattern, part of the message, offset in Unicode scalars)
    static let refused: [(String, String, Int)] = [
        ("(abc", "missing ), unterminated subpattern", 0), ("abc)", "unbalanced parenthesis", 3),
        ("é(", "missing ), unterminated subpattern", 1), ("日本)", "unbalanced parenthesis", 2),
        ("[abc", "unterminated character set", 0), ("[]", "unterminated character set", 0),
        ("*a", "nothing to repeat", 0), ("a|*", "nothing to repeat", 2), ("(*)", "nothing to repeat", 1),
        ("^*", "nothing to repeat", 1), (#"\b+"#, "nothing to repeat", 2), ("{1}", "nothing to repeat", 0),
        ("a**", "multiple repeat", 2), ("x{2}{3}", "multiple repeat", 4), ("a*?*", "multiple repeat", 3),
        (#"(a)\1"#, "backreferences are not supported (linear-time engine)", 3),
        ("(?P<n>a)(?P=n)", "backreferences are not supported", 8),
        ("a(?=b)", "lookahead is not supported (linear-time engine)", 1), ("a(?!b)", "lookahead", 1),
        ("(?<=a)b", "lookbehind is not supported (linear-time engine)", 0), ("(?<!a)b", "lookbehind", 0),
        ("(?>a)", "atomic groups are not supported", 0), ("(?(1)a|b)", "conditional groups are not supported", 0),
        ("a++", "possessive quantifiers are not supported", 2), ("a*+", "possessive", 2), ("a?+", "possessive", 2),
        ("a{2}+", "possessive", 4),
        ("a(?i)b", "inline flags are not supported, except (?i) at the very start", 1),
        ("(?i)(?i)a", "inline flags", 4), ("(?s)a", "inline flags", 0), ("(?i:a)", "inline flags", 0),
        ("(?m)^a$", "inline flags", 0), ("(?#comment)", "comments (?#...) are not supported", 0),
        ("(?Z)", "unknown extension (?Z", 0), ("(?", "unexpected end of pattern", 2),
        ("(?P", "unexpected end of pattern", 3),
        ("a{5,2}", "min repeat greater than max repeat", 1), ("a{1001}", "repetition count over 1000", 1),
        ("a{1,1001}", "repetition count over 1000", 1), ("a{99999999999999999999}", "repetition count over 1000", 1),
        ("[z-a]", "bad character range z-a", 1), (#"[\d-z]"#, #"bad character range: \d cannot bound a range"#, 1),
        (#"[a-\w]"#, #"bad character range: \w cannot bound a range"#, 1),
        (#"\q"#, #"bad escape \q"#, 0), (#"x\G"#, #"bad escape \G"#, 1), (#"[\A]"#, #"bad escape \A"#, 1),
        (#"[\Z]"#, #"bad escape \Z"#, 1), ("a\\", "bad escape (end of pattern)", 1),
        ("[[:alpha:]]", "POSIX classes like [:alpha:] are not supported", 1),
        (#"\p{L}"#, "Unicode property classes", 0), (#"\N{DASH}"#, "named character escapes", 0),
        (#"\0"#, "octal escapes are not supported", 0), (#"[\1]"#, "octal escapes are not supported", 1),
        (#"\x4"#, #"incomplete escape \x4"#, 0), (#"a\u12"#, #"incomplete escape \u12"#, 1),
        (#"\ud800"#, "not a Unicode scalar value", 0), (#"\U00110000"#, "not a Unicode scalar value", 0),
        ("(?P<1a>x)", "bad character in group name", 4), ("(?P<>x)", "missing group name", 4),
        ("(?P<n", "missing >, unterminated name", 4), ("(?P<n>a)(?<n>b)", "redefinition of group name 'n'", 11),
        ("((a{1000}){1000})", "pattern too large (over 10000 instructions", 10),
        (String(repeating: "(", count: 101) + String(repeating: ")", count: 101), "groups nested too deeply", 100),
    ]

    @Test("refused constructs name their offset", arguments: refused)
    func refusedPatterns(_ c: (String, String, Int)) {
        let error = #expect(throws: RegexSyntaxError.self, "\(c.0)") { try SafeRegex(c.0) }
        #expect(error?.message.contains(c.1) == true, "\(c.0): \(error?.message ?? "")")
        #expect(error?.offset == c.2, "\(c.0): offset \(error?.offset ?? -1)")
    }

    @Test func errorDescriptionAndEquality() throws {
        let error = #expect(throws: RegexSyntaxError.self) { try SafeRegex("abc)") }
        #expect(error?.description == "unbalanced parenthesis at position 3")
        #expect(error == RegexSyntaxError(message: "unbalanced parenthesis", offset: 3))
        let a = try SafeRegex("^a+$")
        #expect(a == (try SafeRegex("^a+$")))
        #expect(a != (try SafeRegex("^a*$")))
        #expect(Set([a, try SafeRegex("^a+$"), try SafeRegex("b")]).count == 2)
        #expect(a.description == "^a+$" && a.pattern == "^a+$")
    }

    @Test func programSizeIsBounded() throws {
        #expect(throws: Never.self) { try SafeRegex("[a-z]{0,1000}") }
        #expect(throws: Never.self) { try SafeRegex("(?:[a-z]{0,1000}){4}") }  // 8,001 instructions
        #expect(throws: RegexSyntaxError.self) { try SafeRegex("(?:[a-z]{0,1000}){5}") }  // 10,001
        #expect(throws: RegexSyntaxError.self) { try SafeRegex("(?:a{100}){100}") }
        let wide = Array(repeating: "a{0,1000}", count: 6).joined(separator: "|")
        let error = #expect(throws: RegexSyntaxError.self) { try SafeRegex(wide) }
        #expect(error?.offset == 39)  // the "|" before the fifth branch
    }

    @Test func pathologicalPatternsStayLinear() throws {
        // Exponential for backtracking engines; linear here (that these finish is the point).
        let a = String(repeating: "a", count: 10_000)
        let x = String(repeating: "x", count: 10_000)
        let r1 = try SafeRegex("(a+)+$")
        #expect(!r1.wholeMatch(a + "!") && !r1.containsMatch(a + "!"))
        #expect(r1.wholeMatch(a) && r1.containsMatch("!" + a))
        #expect(!r1.simulatedMatch(a + "!", search: false) && !r1.simulatedMatch(a + "!", search: true))
        let r2 = try SafeRegex("(a|aa)*b")
        #expect(!r2.wholeMatch(a) && !r2.containsMatch(a))
        #expect(r2.wholeMatch(a + "b") && r2.simulatedMatch(a + "b", search: false))
        #expect(!r2.simulatedMatch(a, search: true))
        let r3 = try SafeRegex("(x+x+)+y")
        #expect(!r3.wholeMatch(x) && !r3.containsMatch(x))
        #expect(r3.containsMatch(x + "y") && !r3.simulatedMatch(x, search: true))
        #expect(try !SafeRegex("(a*)*b").containsMatch(a))
        #expect(try SafeRegex("(.*a){20}").wholeMatch(a))
        #expect(try !SafeRegex("(.*a){20}").wholeMatch(a + "b"))
        #expect(try !SafeRegex(#"^(\w+\s?)*$"#).wholeMatch(String(repeating: "ab ", count: 3_000) + "!"))
        #expect(try !SafeRegex(#"^(\d+)*[a-z]$"#).containsMatch(String(repeating: "1", count: 10_000) + "!"))
    }

    @Test func patternsTooBigForTheDFAUseTheNFASimulation() throws {
        // 2^21 DFA states: over the budget, so matching falls back to the (still linear) NFA simulation.
        let r = try SafeRegex("(a|b)*a(a|b){20}")
        #expect(!r.usesDFA)
        #expect(r.wholeMatch("a" + String(repeating: "b", count: 20)))
        #expect(!r.wholeMatch(String(repeating: "b", count: 21)))
        let long = String(repeating: "ab", count: 5_000)
        #expect(r.containsMatch(long) && !r.wholeMatch(long + "bbbbbbbbbbbbbbbbbbbb"))
        #expect(try SafeRegex(Self.policyARN).usesDFA)
        let wide = try SafeRegex(String(repeating: "(?:a|b|c|d|e)?", count: 600) + "z")
        #expect(!wide.usesDFA)
        #expect(!wide.wholeMatch(String(repeating: "abcde", count: 2_000)))
        #expect(wide.wholeMatch(String(repeating: "abcde", count: 120) + "z"))
    }

    @Test func kubernetesAndAWSPatterns() throws {
        let label = try SafeRegex(Self.dns1123Label)
        for good in ["web", "a", "shop-web-1", "0abc", "my-deployment-7f9c8d6b5", String(repeating: "a", count: 63)] {
            #expect(label.wholeMatch(good), "\(good)")
        }
        let badLabels = ["x --all", "../etc", "-web", "web-", "Web", "a.b", "", "web\n", "\nweb", "wéb", "a b", "$(id)"]
        for bad in badLabels {
            #expect(!label.wholeMatch(bad), "\(bad)")
            #expect(!label.containsMatch(bad), "\(bad)")
        }
        // Without anchors, search finds "x" in "x --all"; wholeMatch (the rule for `pattern:`) still refuses it.
        let unanchored = try SafeRegex("[a-z0-9]([-a-z0-9]*[a-z0-9])?")
        #expect(unanchored.containsMatch("x --all") && !unanchored.wholeMatch("x --all"))
        #expect(unanchored.containsMatch("../etc") && !unanchored.wholeMatch("../etc"))

        let sub = try SafeRegex(Self.dns1123Subdomain)
        #expect(sub.wholeMatch("api.v1.example") && sub.wholeMatch("kube-system"))
        for bad in ["api..v1", "x --all", "../etc", ".api", "api.", "API.example"] {
            #expect(!sub.wholeMatch(bad), "\(bad)")
        }

        let instance = try SafeRegex(Self.instanceID)
        #expect(instance.wholeMatch("i-0123abcd"))  // 8 hex digits
        #expect(instance.wholeMatch("i-0123456789abcdef0"))  // 17
        let badIDs = ["i-0123abc", "i-0123456789abcdef01", "i-0123ABCD", "i-0123abcd; rm -rf /", "i-0123abcd\n", "x-1"]
        for bad in badIDs {
            #expect(!instance.wholeMatch(bad), "\(bad)")
        }

        let arn = try SafeRegex(Self.policyARN)
        let prefix = "arn:aws:iam::123456789012:policy/"
        #expect(arn.wholeMatch(prefix + "team/deploy"))
        #expect(arn.wholeMatch(prefix + "Read+Only=,.@_-x"))
        #expect(arn.wholeMatch(prefix + String(repeating: "p", count: 512)))
        #expect(!arn.wholeMatch(prefix + String(repeating: "p", count: 513)))
        let badARNs = [
            prefix, prefix + "a b", prefix + "*", prefix + "é",
            "arn:aws:iam::12345:policy/x", "arn:aws:iam::aws:policy/x",
        ]
        for bad in badARNs {
            #expect(!arn.wholeMatch(bad), "\(bad)")
        }

        let name = try SafeRegex(Self.upstreamName)
        #expect(name.wholeMatch("a" + String(repeating: "b", count: 62)))  // 63 characters
        #expect(!name.wholeMatch("a" + String(repeating: "b", count: 63)))  // 64 characters
        #expect(name.wholeMatch("a") && name.wholeMatch("restart-deployment"))
        #expect(!name.wholeMatch("1abc") && !name.wholeMatch("") && !name.wholeMatch("Abc"))
    }

    @Test func sharedAcrossTasks() async throws {
        let label = try SafeRegex(Self.dns1123Label)
        let all = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<4 {
                group.addTask {
                    (0..<500).allSatisfy { j in label.wholeMatch("pod-\(i)-\(j)") && !label.wholeMatch("-\(j)") }
                }
            }
            var all = true
            for await ok in group { all = all && ok }
            return all
        }
        #expect(all)
    }

    /// Random patterns from the whole dialect against short random inputs: the DFA, the NFA simulation and a
    /// naive backtracking matcher over the syntax tree (independent of the compiler) must agree.
    @Test func randomPatternsAgreeWithAReferenceMatcher() throws {
        var rng = SplitMix64(seed: 2024)
        let alphabet: [Unicode.Scalar] = ["a", "b", "é", "1", "-", " ", ".", "ê", "A", "\n", "😀"]
        var checked = 0
        for _ in 0..<400 {
            var pattern = Self.randomPattern(&rng, depth: 0)
            if rng.next() % 10 == 0 { pattern = "(?i)" + pattern }
            var parser = RegexParser(pattern)
            guard let tree = try? parser.parse(), let regex = try? SafeRegex(pattern) else { continue }
            for _ in 0..<12 {
                var input = ""
                for _ in 0..<(rng.next() % 7) {
                    input.unicodeScalars.append(alphabet[Int(rng.next() % UInt64(alphabet.count))])
                }
                let reference = Reference(input)
                let whole = reference.matches(tree.node, search: false)
                let search = reference.matches(tree.node, search: true)
                #expect(regex.wholeMatch(input) == whole, "wholeMatch \(pattern) on \(input)")
                #expect(regex.containsMatch(input) == search, "containsMatch \(pattern) on \(input)")
                #expect(regex.simulatedMatch(input, search: false) == whole, "NFA wholeMatch \(pattern) on \(input)")
                #expect(regex.simulatedMatch(input, search: true) == search, "NFA containsMatch \(pattern) on \(input)")
                checked += 1
            }
        }
        #expect(checked > 3_000)
    }

    static func randomPattern(_ rng: inout SplitMix64, depth: Int) -> String {
        let atoms = [
            "a", "b", "é", "-", ".", "[ab]", "[^a]", "[a-c]", #"\w"#, #"\W"#, #"\d"#, #"\s"#, #"\S"#, "[é-ê]",
            #"\."#, "[-a]", "[]a]", #"[\d.]"#, "1", " ", #"\x41"#, "😀", "[^😀]",
        ]
        let assertions = ["^", "$", #"\b"#, #"\B"#, #"\A"#, #"\Z"#]
        let quantifiers = ["*", "+", "?", "{2}", "{1,3}", "{,2}", "{2,}", "*?", "+?", "??", "{0,1}", "{,}"]
        func pick(_ xs: [String]) -> String { xs[Int(rng.next() % UInt64(xs.count))] }
        let roll = rng.next() % 100
        var s: String
        if depth > 3 || roll < 35 {
            s = rng.next() % 100 < 12 ? pick(assertions) : pick(atoms)
        } else if roll < 55 {
            s = randomPattern(&rng, depth: depth + 1) + randomPattern(&rng, depth: depth + 1)
        } else if roll < 70 {
            s = randomPattern(&rng, depth: depth + 1) + "|" + randomPattern(&rng, depth: depth + 1)
        } else {
            s = pick(["(", "(?:"]) + randomPattern(&rng, depth: depth + 1) + ")"
        }
        if rng.next() % 100 < 30, !s.hasSuffix("*"), !s.hasSuffix("+"), !s.hasSuffix("?"), !s.hasSuffix("}") {
            s += pick(quantifiers)
        }
        return s
    }
}


/// A naive backtracking matcher over the syntax tree, with the documented semantics (ASCII `\b`, `$` = end).
/// Exponential in general: only for the few-character inputs of the random test.
struct Reference {
    let s: [UInt32]

    init(_ input: String) { s = input.unicodeScalars.map(\.value) }

    func matches(_ node: RegexNode, search: Bool) -> Bool {
        if !search { return match(node, 0) { $0 == s.count } }
        return (0...s.count).contains { start in match(node, start) { _ in true } }
    }

    private func isWord(_ i: Int) -> Bool { i >= 0 && i < s.count && CharSet.word.contains(s[i]) }

    private func match(_ node: RegexNode, _ i: Int, _ k: (Int) -> Bool) -> Bool {
        switch node {
        case .empty:
            return k(i)
        case .set(let set):
            return i < s.count && set.contains(s[i]) && k(i + 1)
        case .assertion(let a):
            let holds =
                switch a {
                case .start: i == 0
                case .end: i == s.count
                case .wordBoundary: isWord(i - 1) != isWord(i)
                case .notWordBoundary: isWord(i - 1) == isWord(i)
                }
            return holds && k(i)
        case .concat(let items):
            return sequence(items[...], i, k)
        case .alternate(let branches):
            return branches.contains { match($0, i, k) }
        case .repetition(let body, let min, let max):
            return repetition(body, min, max, 0, i, k)
        }
    }

    private func sequence(_ items: ArraySlice<RegexNode>, _ i: Int, _ k: (Int) -> Bool) -> Bool {
        guard let first = items.first else { return k(i) }
        return match(first, i) { j in sequence(items.dropFirst(), j, k) }
    }

    /// Iterations past `min` must consume something (an empty one changes nothing), which bounds the recursion.
    private func repetition(
        _ body: RegexNode, _ min: Int, _ max: Int?, _ done: Int, _ i: Int, _ k: (Int) -> Bool
    ) -> Bool {
        if done >= min, k(i) { return true }
        if let max, done >= max { return false }
        return match(body, i) { j in (done < min || j > i) && repetition(body, min, max, done + 1, j, k) }
    }
}
