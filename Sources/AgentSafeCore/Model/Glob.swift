/// A shell-style glob as Python's `fnmatch.fnmatchcase` reads it: `*` any run (including `-` and `/`), `?` one
/// character, `[seq]` / `[!seq]` a character set with ranges. Case-sensitive. An unclosed `[` is a literal.
public struct Glob: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let tokens: [Token]

    enum Token: Sendable, Hashable {
        case literal(Unicode.Scalar)
        case any  // ?
        case star  // *
        case set(negated: Bool, items: [ClosedRange<UInt32>])
    }

    public init(_ pattern: String) {
        self.pattern = pattern
        self.tokens = Glob.tokenize(Array(pattern.unicodeScalars))
    }

    public var description: String { pattern }

    /// `true` when the pattern has no metacharacters (it names exactly one string).
    public var isLiteral: Bool {
        tokens.allSatisfy { if case .literal = $0 { true } else { false } }
    }

    /// `true` when the pattern is `*` (or `**`…): it matches every name.
    public var matchesEverything: Bool {
        !tokens.isEmpty && tokens.allSatisfy { $0 == .star }
    }

    public func matches(_ name: String) -> Bool {
        matches(scalars: Array(name.unicodeScalars))
    }

    /// `matches(_:)` on a name already split into scalars, for callers that test one name against many globs.
    func matches(scalars s: [Unicode.Scalar]) -> Bool {
        // Iterative wildcard matching with single-star backtracking: linear for practical patterns.
        var p = 0
        var i = 0
        var starP = -1
        var starI = 0
        while i < s.count {
            if p < tokens.count {
                switch tokens[p] {
                case .star:
                    starP = p
                    starI = i
                    p += 1
                    continue
                case .any:
                    p += 1
                    i += 1
                    continue
                case .literal(let c) where c == s[i]:
                    p += 1
                    i += 1
                    continue
                case .set(let negated, let items):
                    let inSet = items.contains { $0.contains(s[i].value) }
                    if inSet != negated {
                        p += 1
                        i += 1
                        continue
                    }
                default:
                    break
                }
            }
            if starP >= 0 {
                p = starP + 1
                starI += 1
                i = starI
                continue
            }
            return false
        }
        while p < tokens.count, tokens[p] == .star { p += 1 }
        return p == tokens.count
    }

    private static func tokenize(_ p: [Unicode.Scalar]) -> [Token] {
        var tokens: [Token] = []
        var i = 0
        while i < p.count {
            let c = p[i]
            switch c {
            case "*":
                if tokens.last != .star { tokens.append(.star) }
                i += 1
            case "?":
                tokens.append(.any)
                i += 1
            case "[":
                // Find the closing bracket as fnmatch does: `]` right after `[` or `[!` is literal.
                var j = i + 1
                if j < p.count, p[j] == "!" { j += 1 }
                if j < p.count, p[j] == "]" { j += 1 }
                while j < p.count, p[j] != "]" { j += 1 }
                if j >= p.count {
                    tokens.append(.literal("["))
                    i += 1
                    continue
                }
                var k = i + 1
                var negated = false
                if p[k] == "!" {
                    negated = true
                    k += 1
                }
                var items: [ClosedRange<UInt32>] = []
                var first = true
                while k < j || (first && k == j && false) {
                    let lo = p[k]
                    if k + 2 < j, p[k + 1] == "-" {
                        let hi = p[k + 2]
                        if lo.value <= hi.value { items.append(lo.value...hi.value) }
                        k += 3
                    } else {
                        items.append(lo.value...lo.value)
                        k += 1
                    }
                    first = false
                }
                tokens.append(.set(negated: negated, items: items))
                i = j + 1
            default:
                tokens.append(.literal(c))
                i += 1
            }
        }
        return tokens
    }
}
