/// A cheap lexical pass run before Yams composes a document that defines anchors.
///
/// Yams checks every mapping for duplicate keys by hashing the key nodes. A key that is an alias (or a
/// collection holding aliases) is hashed fully expanded, so `*bomb: x` with a "billion laughs" anchor hangs the
/// composer long before our node budget is consulted. Agent-Safe's formats only ever use scalar keys, so a
/// document that has anchors and also uses an alias, a flow collection or an explicit `?` entry as a key is
/// refused up front with its location.
///
/// The scan understands quoted scalars and comments; text inside block scalars (`|`, `>`) is scanned like any
/// other text, which can only cause a refusal of an unusual document that also defines anchors.
struct AliasKeyGuard {
    struct Finding: Equatable {
        var line: Int
        var column: Int
        var message: String
    }

    static func check(_ text: String) -> Finding? {
        let bytes = Array(text.utf8)
        guard bytes.contains(UInt8(ascii: "&")) else { return nil }
        var sawAnchor = false
        var line = 1
        var lineStart = 0
        var i = 0
        var flowDepth = 0
        var findings: [Finding] = []

        func column(_ index: Int) -> Int {
            var c = 1
            var j = lineStart
            while j < index {
                if bytes[j] & 0xC0 != 0x80 { c += 1 }
                j += 1
            }
            return c
        }
        func isAnchorCharacter(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
        }
        func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        func isFlowIndicator(_ b: UInt8) -> Bool {
            b == UInt8(ascii: ",") || b == UInt8(ascii: "[") || b == UInt8(ascii: "]")
                || b == UInt8(ascii: "{") || b == UInt8(ascii: "}")
        }
        /// Whether a `:` that makes the preceding node a key follows `index` (after spaces on the same line).
        func keyIndicatorFollows(_ index: Int) -> Bool {
            var j = index
            while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
            guard j < bytes.count, bytes[j] == UInt8(ascii: ":") else { return false }
            let next = j + 1 < bytes.count ? bytes[j + 1] : 0x0A
            return isBlank(next) || (flowDepth > 0 && isFlowIndicator(next))
        }
        /// Whether position `index` starts a token (line start, after blank, or after a flow indicator).
        func atTokenStart(_ index: Int) -> Bool {
            guard index > lineStart else { return true }
            let previous = bytes[index - 1]
            return isBlank(previous) || isFlowIndicator(previous)
        }

        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case 0x0A:
                line += 1
                lineStart = i + 1
                i += 1
            case UInt8(ascii: "#") where atTokenStart(i):
                while i < bytes.count, bytes[i] != 0x0A { i += 1 }
            case UInt8(ascii: "'") where atTokenStart(i), UInt8(ascii: "\"") where atTokenStart(i):
                let quote = b
                i += 1
                while i < bytes.count {
                    if bytes[i] == 0x0A {
                        line += 1
                        lineStart = i + 1
                    } else if quote == UInt8(ascii: "\""), bytes[i] == UInt8(ascii: "\\") {
                        i += 1
                    } else if bytes[i] == quote {
                        if quote == UInt8(ascii: "'"), i + 1 < bytes.count, bytes[i + 1] == quote {
                            i += 1
                        } else {
                            break
                        }
                    }
                    i += 1
                }
                i += 1
            case UInt8(ascii: "&") where atTokenStart(i):
                sawAnchor = true
                i += 1
            case UInt8(ascii: "*") where atTokenStart(i):
                let start = i
                i += 1
                // libyaml's anchor names are [0-9A-Za-z_-], so `*a: x` is the alias `a` used as a key.
                while i < bytes.count, isAnchorCharacter(bytes[i]) { i += 1 }
                if keyIndicatorFollows(i) {
                    findings.append(Finding(line: line, column: column(start),
                                            message: "an alias can't be used as a mapping key"))
                }
            case UInt8(ascii: "?") where atTokenStart(i) && (i + 1 >= bytes.count || isBlank(bytes[i + 1])):
                findings.append(Finding(line: line, column: column(i),
                                        message: "explicit mapping keys ('? ') aren't supported in configuration files"))
                i += 1
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                flowDepth += 1
                i += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                flowDepth = max(0, flowDepth - 1)
                i += 1
                if keyIndicatorFollows(i) {
                    findings.append(Finding(line: line, column: column(i - 1),
                                            message: "a collection can't be used as a mapping key"))
                }
            default:
                i += 1
            }
        }
        return sawAnchor ? findings.first : nil
    }
}
