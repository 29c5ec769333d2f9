/// Zero-width assertions of the dialect.
enum RegexAssertion: UInt8, Sendable, Hashable {
    case start  // ^ \A
    case end  // $ \Z \z
    case wordBoundary  // \b
    case notWordBoundary  // \B
}

/// The syntax tree of a pattern. Groups leave no trace: only match / no match is answered.
indirect enum RegexNode: Sendable, Hashable {
    case empty
    case set(CharSet)
    case concat([RegexNode])
    case alternate([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?)
    case assertion(RegexAssertion)
}

/// Parses the dialect of docs/regex.md (an RE2-like subset of Python `re`), refusing everything else with the
/// 0-based scalar offset of the problem. It also counts the instructions the compiled program will need, so a
/// pattern like `((a{1000}){1000})` is refused before anything is expanded.
struct RegexParser {
    static let maxRepeat = 1_000
    static let maxInstructions = 10_000
    static let maxDepth = 100

    struct Parsed {
        var node: RegexNode
        /// Instructions the compiler emits for `node` (see `RegexCompiler`).
        var size: Int
    }

    let scalars: [Unicode.Scalar]
    var index = 0
    var caseInsensitive = false
    var usesWordBoundary = false
    private var groupNames: Set<String> = []

    init(_ pattern: String) {
        scalars = Array(pattern.unicodeScalars)
    }

    var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    func scalar(at i: Int) -> Unicode.Scalar? { i < scalars.count ? scalars[i] : nil }

    func text(_ range: Range<Int>) -> String {
        var s = ""
        s.unicodeScalars.append(contentsOf: scalars[range])
        return s
    }

    func fail(_ message: String, at offset: Int? = nil) -> RegexSyntaxError {
        RegexSyntaxError(message: message, offset: offset ?? index)
    }

    private func checkSize(_ size: Int, at offset: Int) throws(RegexSyntaxError) {
        // +1 for the final `match` instruction.
        if size + 1 > Self.maxInstructions {
            throw fail(
                "pattern too large (over \(Self.maxInstructions) instructions once counted repetitions are expanded)",
                at: offset)
        }
    }

    mutating func parse() throws(RegexSyntaxError) -> Parsed {
        if scalars.starts(with: "(?i)".unicodeScalars) {
            caseInsensitive = true
            index = 4
        }
        let result = try parseAlternation(depth: 0)
        if index < scalars.count {
            // parseAlternation stops only at the end or at a ')' it does not own.
            throw fail("unbalanced parenthesis")
        }
        return result
    }

    private mutating func parseAlternation(depth: Int) throws(RegexSyntaxError) -> Parsed {
        var branches = [try parseConcat(depth: depth)]
        var size = branches[0].size
        while peek == "|" {
            let bar = index
            index += 1
            let branch = try parseConcat(depth: depth)
            branches.append(branch)
            size += branch.size + 2  // a split before each branch but the last, a jump after it
            try checkSize(size, at: bar)
        }
        if branches.count == 1 { return branches[0] }
        return Parsed(node: .alternate(branches.map(\.node)), size: size)
    }

    private mutating func parseConcat(depth: Int) throws(RegexSyntaxError) -> Parsed {
        var items: [RegexNode] = []
        var size = 0
        while let c = peek, c != "|", c != ")" {
            let itemStart = index
            var (atom, repeatable) = try parseAtom(depth: depth)
            if let q = peek, isQuantifierStart(q) {
                let quantifierStart = index
                guard repeatable else { throw fail("nothing to repeat") }
                let (lo, hi) = try parseQuantifier()
                if peek == "?" {
                    index += 1  // lazy: the same yes/no answer
                } else if peek == "+" {
                    throw fail(
                        "possessive quantifiers are not supported (linear-time engine); use the plain quantifier")
                }
                if let q2 = peek, isQuantifierStart(q2) {
                    throw fail("multiple repeat; group the repeated part first, e.g. (?:a{2}){3}")
                }
                let body = atom.size
                let repeated =
                    if let hi { lo * body + (hi - lo) * (body + 1) } else if lo == 0 { body + 2 } else { lo * body + 1 }
                try checkSize(repeated, at: quantifierStart)
                atom = Parsed(node: .repetition(atom.node, min: lo, max: hi), size: repeated)
            }
            items.append(atom.node)
            size += atom.size
            try checkSize(size, at: itemStart)
        }
        switch items.count {
        case 0: return Parsed(node: .empty, size: 0)
        case 1: return Parsed(node: items[0], size: size)
        default: return Parsed(node: .concat(items), size: size)
        }
    }

    private func isQuantifierStart(_ c: Unicode.Scalar) -> Bool {
        c == "*" || c == "+" || c == "?" || (c == "{" && countedQuantifierEnd(from: index) != nil)
    }

    /// `{` starts a counted quantifier only when it reads `{n}`, `{n,}`, `{,m}`, `{n,m}` or `{,}` (as Python);
    /// anything else is a literal `{`. Returns the index of the closing `}`.
    private func countedQuantifierEnd(from start: Int) -> Int? {
        var i = start + 1
        var digits = 0
        while let c = scalar(at: i), asciiDigit(c) != nil {
            i += 1
            digits += 1
        }
        if scalar(at: i) == "}" { return digits > 0 ? i : nil }
        guard scalar(at: i) == "," else { return nil }
        i += 1
        while let c = scalar(at: i), asciiDigit(c) != nil { i += 1 }
        return scalar(at: i) == "}" ? i : nil
    }

    private mutating func parseQuantifier() throws(RegexSyntaxError) -> (Int, Int?) {
        let start = index
        let c = scalars[index]
        index += 1
        switch c {
        case "*": return (0, nil)
        case "+": return (1, nil)
        case "?": return (0, 1)
        default:
            let lo = readNumber()
            var hi: Int? = lo
            if peek == "," {
                index += 1
                hi = readNumber()
            }
            index += 1  // '}', checked by countedQuantifierEnd
            let low = lo ?? 0
            if low > Self.maxRepeat || (hi ?? 0) > Self.maxRepeat {
                throw fail("repetition count over \(Self.maxRepeat)", at: start)
            }
            if let hi, hi < low { throw fail("min repeat greater than max repeat", at: start) }
            return (low, hi)
        }
    }

    private mutating func readNumber() -> Int? {
        var value: Int?
        while let c = peek, let d = asciiDigit(c) {
            value = min(1_000_000, (value ?? 0) * 10 + d)
            index += 1
        }
        return value
    }

    func asciiDigit(_ c: Unicode.Scalar) -> Int? {
        (48...57).contains(c.value) ? Int(c.value - 48) : nil
    }

    /// One atom and whether a quantifier may follow it (not after a bare assertion, as in Python).
    private mutating func parseAtom(depth: Int) throws(RegexSyntaxError) -> (Parsed, Bool) {
        let c = scalars[index]
        switch c {
        case "(":
            return (try parseGroup(depth: depth), true)
        case "[":
            return (Parsed(node: .set(try parseClass()), size: 1), true)
        case ".":
            index += 1
            return (Parsed(node: .set(.anyButNewline), size: 1), true)
        case "^":
            index += 1
            return (Parsed(node: .assertion(.start), size: 1), false)
        case "$":
            index += 1
            return (Parsed(node: .assertion(.end), size: 1), false)
        case "*", "+", "?":
            throw fail("nothing to repeat")
        case "{" where countedQuantifierEnd(from: index) != nil:
            throw fail("nothing to repeat")
        case "\\":
            switch try parseEscape(inClass: false) {
            case .assertion(let a): return (Parsed(node: .assertion(a), size: 1), false)
            case .set(let s): return (Parsed(node: .set(s), size: 1), true)
            case .scalar(let s): return (Parsed(node: .set(literal(s)), size: 1), true)
            }
        default:
            index += 1
            return (Parsed(node: .set(literal(c)), size: 1), true)
        }
    }

    private mutating func parseGroup(depth: Int) throws(RegexSyntaxError) -> Parsed {
        let start = index
        guard depth < Self.maxDepth else { throw fail("groups nested too deeply (over \(Self.maxDepth))") }
        index += 1
        if peek == "?" {
            index += 1
            guard let kind = peek else { throw fail("unexpected end of pattern") }
            switch kind {
            case ":":
                index += 1
            case "P" where scalar(at: index + 1) == nil:
                throw fail("unexpected end of pattern", at: index + 1)
            case "P" where scalar(at: index + 1) == "<":
                index += 2
                try parseGroupName()
            case "P" where scalar(at: index + 1) == "=":
                throw fail("backreferences are not supported (linear-time engine)", at: start)
            case "<" where scalar(at: index + 1) == "=" || scalar(at: index + 1) == "!":
                throw fail("lookbehind is not supported (linear-time engine)", at: start)
            case "<":
                index += 1
                try parseGroupName()
            case "=", "!":
                throw fail("lookahead is not supported (linear-time engine)", at: start)
            case ">":
                throw fail("atomic groups are not supported (linear-time engine)", at: start)
            case "(":
                throw fail("conditional groups are not supported (linear-time engine)", at: start)
            case "#":
                throw fail("comments (?#...) are not supported", at: start)
            case "a", "i", "L", "m", "s", "u", "x", "-":
                throw fail("inline flags are not supported, except (?i) at the very start of the pattern", at: start)
            default:
                throw fail("unknown extension (?\(kind)", at: start)
            }
        }
        let inner = try parseAlternation(depth: depth + 1)
        guard peek == ")" else { throw fail("missing ), unterminated subpattern", at: start) }
        index += 1
        return inner
    }

    /// After `(?P<` or `(?<`: an identifier and `>`. Names are checked, then ignored.
    private mutating func parseGroupName() throws(RegexSyntaxError) {
        let nameStart = index
        var name = ""
        while let c = peek, c != ">" {
            let ok = c == "_" || (name.isEmpty ? c.properties.isXIDStart : c.properties.isXIDContinue)
            guard ok else { throw fail("bad character in group name") }
            name.unicodeScalars.append(c)
            index += 1
        }
        guard peek == ">" else { throw fail("missing >, unterminated name", at: nameStart) }
        guard !name.isEmpty else { throw fail("missing group name") }
        guard groupNames.insert(name).inserted else {
            throw fail("redefinition of group name '\(name)'", at: nameStart)
        }
        index += 1
    }

    func literal(_ c: Unicode.Scalar) -> CharSet {
        let ranges = [c.value...c.value]
        return CharSet(ranges: caseInsensitive ? CharSet.caseFolded(ranges) : ranges)
    }
}
