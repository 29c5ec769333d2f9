import Testing

@testable import AgentSafeCore

@Suite("Action globs (fnmatch semantics)")
struct GlobTests {
    static let cases: [(String, String, Bool)] = [
        ("*", "restart-deployment", true),
        ("*", "", true),
        ("restart-*", "restart-deployment", true),
        ("restart-*", "restart", false),
        ("*-deployment", "scale-deployment", true),
        ("*-deployment", "deployment", false),
        ("get-?od-logs", "get-pod-logs", true),
        ("get-?od-logs", "get-pd-logs", false),
        ("ec2-*-instance", "ec2-stop-instance", true),
        ("ec2-*-instance", "ec2-instance", false),
        ("[ab]*", "alpha", true),
        ("[ab]*", "charlie", false),
        ("[!ab]*", "charlie", true),
        ("[!ab]*", "alpha", false),
        ("[a-c]x", "bx", true),
        ("[a-c]x", "dx", false),
        ("a/b*", "a/bc", true),  // * crosses '/' as fnmatch does
        ("*", "ns/with/slash", true),
        ("Restart-*", "restart-deployment", false),  // case-sensitive
        ("[abc", "[abc", true),  // an unclosed '[' is a literal
        ("*a*b*c", "xaybzc", true),
        ("*a*b*c", "xaybz", false),
        ("exact", "exact", true),
        ("exact", "exactly", false),
    ]

    @Test("known answers", arguments: cases)
    func matches(_ c: (String, String, Bool)) {
        #expect(Glob(c.0).matches(c.1) == c.2, "\(c.0) vs \(c.1)")
    }

    @Test func literalAndEverything() {
        #expect(Glob("restart-deployment").isLiteral)
        #expect(!Glob("restart-*").isLiteral)
        #expect(Glob("*").matchesEverything)
        #expect(Glob("**").matchesEverything)
        #expect(!Glob("*x").matchesEverything)
    }
}
