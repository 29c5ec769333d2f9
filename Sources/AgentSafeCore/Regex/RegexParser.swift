/// Parses the linear-time pattern dialect (docs/regex.md) into a small syntax tree.
struct RegexParser {
    indirect enum Node {
        case empty
        case set(CharSet)
        case concat([Node])
        case alternate([Node])
        case repeatNode(Node, min: Int, max: Int?)
        case lineStart
        case lineEnd
    }

    static let maxCount = 1_000

    let scalars: [Unicode.Scalar]
    var index = 0
    var caseInsensitive = false

    init(_ pattern: String) {
        scalars = Array(pattern.unicodeScalars)
    }

    func fail(_ message: String, at offset: Int? = nil) -> RegexSyntaxError {
        RegexSyntaxError(message: message, offset: offset ?? index)
    }

    var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    mutating func parse() throws(RegexSyntaxError) -> Node {
        if scalars.starts(with: Array("(?i)".unicodeScalars)) {
            caseInsensitive = true
            index = 4
        }
        let node = try parseAlternation(depth: 0)
        if index < scalars.count {
            throw fail(scalars[index] == ")" ? "unbalanced parenthesis" : "unexpected '\(scalars[index])'")
        }
        return node
    }

    mutating func parseAlternation(depth: Int) throws(RegexSyntaxError) -> Node {
        guard depth < 100 else { throw fail("groups nested too deeply") }
        var branches = [try parseConcat(depth: depth)]
        while peek == "|" {
            index += 1
            branches.append(try parseConcat(depth: depth))
        }
        return branches.count == 1 ? branches[0] : .alternate(branches)
    }

    mutating func parseConcat(depth: Int) throws(RegexSyntaxError) -> Node {
        var items: [Node] = []
        while let c = peek, c != "|", c != ")" {
            let atomStart = index
            var atom = try parseAtom(depth: depth)
            var quantified = false
            while let q = peek, q == "*" || q == "+" || q == "?" || (q == "{" && isCountedQuantifier()) {
                if case .lineStart = atom { throw fail("nothing to repeat", at: atomStart) }
                if case .lineEnd = atom { throw fail("nothing to repeat", at: atomStart) }
                let qStart = index
                // `a**` is an error in Python ("multiple repeat"); `(a*)*` is fine.
                if quantified { throw fail("multiple repeat", at: qStart) }
                let (lo, hi) = try parseQuantifier()
                if peek == "?" {
                    index += 1  // lazy: same answer for a yes/no match
                } else if peek == "+" {
                    throw fail("possessive quantifiers are not supported (linear-time engine)")
                }
                atom = .repeatNode(atom, min: lo, max: hi)
                quantified = true
            }
            items.append(atom)
        }
        if items.isEmpty { return .empty }
        return items.count == 1 ? items[0] : .concat(items)
    }

    /// `{` starts a counted quantifier only when it reads `{n}`, `{n,}`, `{,m}` or `{n,m}`; otherwise it is a literal.
    func isCountedQuantifier() -> Bool {
        var i = index + 1
        var digits = 0
        while i < scalars.count, ("0"..."9").contains(scalars[i]) {
            i += 1
            digits += 1
        }
        if i < scalars.count, scalars[i] == "}" { return digits > 0 }
        guard i < scalars.count, scalars[i] == "," else { return false }
        i += 1
        var digits2 = 0
        while i < scalars.count, ("0"..."9").contains(scalars[i]) {
            i += 1
            digits2 += 1
        }
        return i < scalars.count && scalars[i] == "}" && (digits > 0 || digits2 > 0)
    }

    mutating func parseQuantifier() throws(RegexSyntaxError) -> (Int, Int?) {
        let c = scalars[index]
        index += 1
        switch c {
        case "*": return (0, nil)
        case "+": return (1, nil)
        case "?": return (0, 1)
        default:
            let start = index - 1
            let lo = readNumber()
            var hi: Int? = lo
            if peek == "," {
                index += 1
                hi = readNumber()
            }
            index += 1  // '}'
            let low = lo ?? 0
            if low > Self.maxCount || (hi ?? 0) > Self.maxCount {
                throw fail("repetition count over \(Self.maxCount)", at: start)
            }
            if let hi, hi < low { throw fail("min repeat greater than max repeat", at: start) }
            return (low, hi)
        }
    }

    mutating func readNumber() -> Int? {
        var value: Int?
        while let c = peek, ("0"..."9").contains(c) {
            value = min(100_000, (value ?? 0) * 10 + Int(c.value - 48))
            index += 1
        }
        return value
    }

    mutating func parseAtom(depth: Int) throws(RegexSyntaxError) -> Node {
        let c = scalars[index]
        switch c {
        case "(":
            let start = index
            index += 1
            if peek == "?" {
                index += 1
                guard let kind = peek else { throw fail("unterminated group", at: start) }
                switch kind {
                case ":":
                    index += 1
                case "P", "<":
                    if kind == "P" { index += 1 }
                    guard peek == "<" else { throw fail("unknown group extension", at: start) }
                    if index + 1 < scalars.count, scalars[index + 1] == "=" || scalars[index + 1] == "!" {
                        throw fail("lookbehind is not supported (linear-time engine)", at: start)
                    }
                    index += 1
                    while let n = peek, n != ">" {
                        guard n == "_" || n.properties.isAlphabetic || ("0"..."9").contains(n) else {
                            throw fail("bad character in group name")
                        }
                        index += 1
                    }
                    guard peek == ">" else { throw fail("unterminated group name", at: start) }
                    index += 1
                case "=", "!":
                    throw fail("lookahead is not supported (linear-time engine)", at: start)
                case "i":
                    throw fail("inline flags are only supported as (?i) at the very start", at: start)
                case "(":
                    throw fail("conditional groups are not supported", at: start)
                default:
                    throw fail("unknown group extension (?\(kind)", at: start)
                }
            }
            let inner = try parseAlternation(depth: depth + 1)
            guard peek == ")" else { throw fail("missing ), unterminated group", at: start) }
            index += 1
            return inner
        case ")":
            throw fail("unbalanced parenthesis")
        case "[":
            return .set(try parseClass())
        case ".":
            index += 1
            return .set(CharSet(ranges: [0...9, 11...0x10FFFF], negated: false))
        case "^":
            index += 1
            return .lineStart
        case "$":
            index += 1
            return .lineEnd
        case "*", "+", "?":
            throw fail("nothing to repeat")
        case "\\":
            return try parseEscape(inClass: false).node
        default:
            index += 1
            return .set(literal(c))
        }
    }

    func literal(_ c: Unicode.Scalar) -> CharSet {
        var ranges: [ClosedRange<UInt32>] = [c.value...c.value]
        if caseInsensitive, let folded = CharSet.otherCase(c) { ranges.append(folded...folded) }
        return CharSet(ranges: ranges, negated: false)
    }

    enum EscapeResult {
        case node(Node)
        case set(CharSet)
        case scalar(Unicode.Scalar)

        var node: Node {
            switch self {
            case .node(let n): n
            case .set(let s): .set(s)
            case .scalar(let c): .set(CharSet(ranges: [c.value...c.value], negated: false))
            }
        }
    }

    mutating func parseEscape(inClass: Bool) throws(RegexSyntaxError) -> EscapeResult {
        let start = index
        index += 1
        guard let e = peek else { throw fail("bad escape (end of pattern)", at: start) }
        index += 1
        switch e {
        case "d": return .set(CharSet.digit)
        case "D": return .set(CharSet.digit.inverted)
        case "w": return .set(CharSet.word)
        case "W": return .set(CharSet.word.inverted)
        case "s": return .set(CharSet.space)
        case "S": return .set(CharSet.space.inverted)
        case "n": return .scalar("\n")
        case "t": return .scalar("\t")
        case "r": return .scalar("\r")
        case "f": return .scalar("\u{0C}")
        case "v": return .scalar("\u{0B}")
        case "A" where !inClass: return .node(.lineStart)
        case "Z" where !inClass, "z" where !inClass: return .node(.lineEnd)
        case "b", "B":
            if inClass, e == "b" { return .scalar("\u{08}") }
            throw fail("word boundaries (\\\(e)) are not supported", at: start)
        case "1"..."9":
            throw fail("backreferences are not supported (linear-time engine)", at: start)
        default:
            if e.properties.isAlphabetic || ("0"..."9").contains(e) {
                throw fail("bad escape \\\(e)", at: start)
            }
            if inClass { return .scalar(e) }
            return .set(literal(e))
        }
    }

    mutating func parseClass() throws(RegexSyntaxError) -> CharSet {
        let start = index
        index += 1
        var negated = false
        if peek == "^" {
            negated = true
            index += 1
        }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard let c = peek else { throw fail("unterminated character set", at: start) }
            if c == "]", !first {
                index += 1
                break
            }
            first = false
            let itemStart = index
            var low: Unicode.Scalar
            if c == "\\" {
                switch try parseEscape(inClass: true) {
                case .set(let s):
                    ranges.append(contentsOf: s.expandedRanges)
                    continue
                case .scalar(let s): low = s
                case .node: throw fail("bad escape in character set")
                }
            } else if c == "[", index + 1 < scalars.count, scalars[index + 1] == ":" {
                throw fail("POSIX classes like [:alpha:] are not supported", at: index)
            } else {
                low = c
                index += 1
            }
            // A range `a-z` (a '-' before ']' is a literal).
            if peek == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
                index += 1
                var high: Unicode.Scalar
                if peek == "\\" {
                    let escStart = index
                    guard case .scalar(let s) = try parseEscape(inClass: true) else {
                        throw fail("bad character range", at: escStart)
                    }
                    high = s
                } else {
                    high = scalars[index]
                    index += 1
                }
                guard low.value <= high.value else { throw fail("bad character range \(low)-\(high)", at: itemStart) }
                ranges.append(low.value...high.value)
            } else {
                ranges.append(low.value...low.value)
            }
        }
        var set = CharSet(ranges: ranges, negated: negated)
        if caseInsensitive { set = set.caseFolded }
        return set
    }
}
