/// A tiny XML reader for AWS query-API and S3 responses (no XML library is available on Linux without Foundation's
/// libxml2 dependency). It builds a tree of elements with their text, ignoring attributes, namespaces prefixes are
/// kept as part of the name. It understands the XML declaration, comments, CDATA, self-closing tags and the
/// predefined and numeric entities (`&amp;` `&lt;` `&gt;` `&quot;` `&apos;` `&#NN;` `&#xHH;`). Malformed input
/// gives a partial tree, never a crash; it is only ever used to read values, not to validate documents.
struct AWSXMLElement: Sendable, Hashable {
    var name: String
    /// The element's own text (entities decoded, concatenated across child elements, not trimmed).
    var text: String
    var children: [AWSXMLElement]

    /// The first direct child called `name`.
    func child(_ name: String) -> AWSXMLElement? { children.first { $0.name == name } }

    /// Every direct child called `name`.
    func children(_ name: String) -> [AWSXMLElement] { children.filter { $0.name == name } }

    /// Follows a path of direct children: `element.path("instanceState", "name")`.
    func path(_ names: String...) -> AWSXMLElement? {
        var current: AWSXMLElement? = self
        for name in names { current = current?.child(name) }
        return current
    }

    /// The trimmed text of the child at `names`, nil when absent or empty.
    func value(_ names: String...) -> String? {
        var current: AWSXMLElement? = self
        for name in names { current = current?.child(name) }
        guard let text = current?.text.trimmingWhitespace(), !text.isEmpty else { return nil }
        return text
    }

    /// The first element called `name` at any depth (depth-first, document order), self included.
    func first(_ name: String) -> AWSXMLElement? {
        if self.name == name { return self }
        for child in children {
            if let found = child.first(name) { return found }
        }
        return nil
    }

    /// The items of an AWS list (`<instancesSet><item>…</item></instancesSet>`, `<member>` for IAM).
    var items: [AWSXMLElement] { children.filter { $0.name == "item" || $0.name == "member" } }

    /// Parses `text`; nil when it has no root element.
    static func parse(_ text: String) -> AWSXMLElement? {
        var parser = AWSXMLParser(bytes: Array(text.utf8))
        return parser.parseDocument()
    }
}

private struct AWSXMLParser {
    let bytes: [UInt8]
    var index = 0
    /// Deep documents are cut off rather than recursing without bound.
    static let maxDepth = 64

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseDocument() -> AWSXMLElement? {
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "<") else {
                index += 1
                continue
            }
            if skipMarkup() { continue }
            return parseElement(depth: 0)
        }
        return nil
    }

    /// Skips `<?…?>`, `<!--…-->` and `<!DOCTYPE…>` at `index`; true when something was skipped.
    mutating func skipMarkup() -> Bool {
        if starts(with: "<?") {
            skip(past: "?>")
            return true
        }
        if starts(with: "<!--") {
            skip(past: "-->")
            return true
        }
        if starts(with: "<!") && !starts(with: "<![CDATA[") {
            skip(past: ">")
            return true
        }
        return false
    }

    /// Parses the element whose `<` is at `index`.
    mutating func parseElement(depth: Int) -> AWSXMLElement? {
        index += 1  // <
        let nameStart = index
        while index < bytes.count, !isNameEnd(bytes[index]) { index += 1 }
        let name = String(decoding: bytes[nameStart..<index], as: UTF8.self)
        // Skip attributes (quoted values may hold '>').
        var quote: UInt8? = nil
        var selfClosing = false
        while index < bytes.count {
            let byte = bytes[index]
            if let q = quote {
                if byte == q { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: ">") {
                selfClosing = index > 0 && bytes[index - 1] == UInt8(ascii: "/")
                index += 1
                break
            }
            index += 1
        }
        var element = AWSXMLElement(name: name, text: "", children: [])
        if selfClosing || name.isEmpty { return element }
        var text: [UInt8] = []
        while index < bytes.count {
            if bytes[index] != UInt8(ascii: "<") {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
                text.append(contentsOf: Self.decodeEntities(bytes[start..<index]))
                continue
            }
            if starts(with: "<![CDATA[") {
                index += 9
                let start = index
                skip(past: "]]>")
                let end = max(start, index - 3)
                text.append(contentsOf: bytes[start..<min(end, bytes.count)])
                continue
            }
            if skipMarkup() { continue }
            if starts(with: "</") {
                skip(past: ">")
                break
            }
            if depth >= Self.maxDepth {
                skip(past: ">")
                continue
            }
            if let child = parseElement(depth: depth + 1) { element.children.append(child) }
        }
        element.text = String(decoding: text, as: UTF8.self)
        return element
    }

    func isNameEnd(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") || byte == 0x20 || byte == 0x09 || byte == 0x0A
            || byte == 0x0D
    }

    func starts(with prefix: String) -> Bool {
        let p = Array(prefix.utf8)
        return index + p.count <= bytes.count && bytes[index..<index + p.count].elementsEqual(p)
    }

    mutating func skip(past terminator: String) {
        let t = Array(terminator.utf8)
        while index < bytes.count {
            if index + t.count <= bytes.count, bytes[index..<index + t.count].elementsEqual(t) {
                index += t.count
                return
            }
            index += 1
        }
    }

    /// Decodes the predefined and numeric character references; anything else stays literal.
    static func decodeEntities(_ slice: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(slice.count)
        var i = slice.startIndex
        while i < slice.endIndex {
            let byte = slice[i]
            guard byte == UInt8(ascii: "&"),
                let semicolon = slice[i..<min(slice.endIndex, i + 12)].firstIndex(of: UInt8(ascii: ";"))
            else {
                out.append(byte)
                i += 1
                continue
            }
            let entity = String(decoding: slice[(i + 1)..<semicolon], as: UTF8.self)
            var replacement: [UInt8]?
            switch entity {
            case "amp": replacement = [UInt8(ascii: "&")]
            case "lt": replacement = [UInt8(ascii: "<")]
            case "gt": replacement = [UInt8(ascii: ">")]
            case "quot": replacement = [UInt8(ascii: "\"")]
            case "apos": replacement = [UInt8(ascii: "'")]
            default:
                if entity.hasPrefix("#x") || entity.hasPrefix("#X"), let code = UInt32(entity.dropFirst(2), radix: 16),
                    let scalar = Unicode.Scalar(code)
                {
                    replacement = Array(String(Character(scalar)).utf8)
                } else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()), let scalar = Unicode.Scalar(code) {
                    replacement = Array(String(Character(scalar)).utf8)
                }
            }
            if let replacement {
                out.append(contentsOf: replacement)
                i = semicolon + 1
            } else {
                out.append(byte)
                i += 1
            }
        }
        return out
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks.
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
