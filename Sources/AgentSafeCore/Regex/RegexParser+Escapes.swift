/// Escapes and character classes of the dialect (docs/regex.md).
extension RegexParser {
    enum Escape {
        case set(CharSet)
        case scalar(Unicode.Scalar)
        case assertion(RegexAssertion)
    }

    mutating func parseEscape(inClass: Bool) throws(RegexSyntaxError) -> Escape {
        let start = index
        index += 1
        guard let e = peek else { throw fail("bad escape (end of pattern)", at: start) }
        index += 1
        switch e {
        case "d": return .set(.digit)
        case "D": return .set(CharSet.digit.inverted)
        case "w": return .set(.word)
        case "W": return .set(CharSet.word.inverted)
        case "s": return .set(.space)
        case "S": return .set(CharSet.space.inverted)
        case "n": return .scalar("\n")
        case "t": return .scalar("\t")
        case "r": return .scalar("\r")
        case "f": return .scalar("\u{0C}")
        case "v": return .scalar("\u{0B}")
        case "a": return .scalar("\u{07}")
        case "x": return .scalar(try hexEscape(digits: 2, start: start))
        case "u": return .scalar(try hexEscape(digits: 4, start: start))
        case "U": return .scalar(try hexEscape(digits: 8, start: start))
        case "b" where inClass: return .scalar("\u{08}")  // backspace, as in Python
        case "A" where !inClass: return .assertion(.start)
        case "Z" where !inClass, "z" where !inClass: return .assertion(.end)
        case "b" where !inClass, "B" where !inClass:
            usesWordBoundary = true
            return .assertion(e == "b" ? .wordBoundary : .notWordBoundary)
        case "0":
            throw fail("octal escapes are not supported; write \\xHH", at: start)
        case "1"..."9":
            if inClass { throw fail("octal escapes are not supported; write \\xHH", at: start) }
            throw fail("backreferences are not supported (linear-time engine)", at: start)
        case "p", "P":
            throw fail("Unicode property classes (\\p{...}) are not supported", at: start)
        case "N":
            throw fail("named character escapes (\\N{...}) are not supported; write \\uXXXX", at: start)
        default:
            if e.isASCII, e.properties.isAlphabetic || asciiDigit(e) != nil {
                throw fail("bad escape \\\(e)", at: start)
            }
            return .scalar(e)  // any other escaped character is itself
        }
    }

    private mutating func hexEscape(digits: Int, start: Int) throws(RegexSyntaxError) -> Unicode.Scalar {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let c = peek, c.isASCII, let d = Int(String(c), radix: 16) else {
                throw fail("incomplete escape \(text(start..<index))", at: start)
            }
            value = value * 16 + UInt32(d)
            index += 1
        }
        guard let s = Unicode.Scalar(value) else {
            throw fail("bad escape \(text(start..<index)) (not a Unicode scalar value)", at: start)
        }
        return s
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
            let low: Unicode.Scalar
            if c == "\\" {
                switch try parseEscape(inClass: true) {
                case .scalar(let s):
                    low = s
                case .set(let s):
                    if peek == "-", let next = scalar(at: index + 1), next != "]" {
                        throw fail(
                            "bad character range: \(text(itemStart..<index)) cannot bound a range", at: itemStart)
                    }
                    ranges.append(contentsOf: s.ranges)
                    continue
                case .assertion:
                    throw fail("bad escape in character set", at: itemStart)  // unreachable: refused inClass
                }
            } else if c == "[", let next = scalar(at: index + 1), next == ":" || next == "." || next == "=" {
                throw fail("POSIX classes like [:alpha:] are not supported; write [A-Za-z]", at: index)
            } else {
                low = c
                index += 1
            }
            // A range `a-z`; a '-' just before the closing ']' is a literal.
            guard peek == "-", let next = scalar(at: index + 1), next != "]" else {
                ranges.append(low.value...low.value)
                continue
            }
            index += 1
            let high: Unicode.Scalar
            if next == "\\" {
                let escapeStart = index
                guard case .scalar(let s) = try parseEscape(inClass: true) else {
                    throw fail(
                        "bad character range: \(text(escapeStart..<index)) cannot bound a range", at: itemStart)
                }
                high = s
            } else {
                high = next
                index += 1
            }
            guard low.value <= high.value else {
                throw fail("bad character range \(low)-\(high)", at: itemStart)
            }
            ranges.append(low.value...high.value)
        }
        if caseInsensitive { ranges = CharSet.caseFolded(ranges) }
        return CharSet(ranges: ranges, negated: negated)
    }
}
