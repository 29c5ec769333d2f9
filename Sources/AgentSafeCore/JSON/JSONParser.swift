/// A strict RFC 8259 JSON parser.
///
/// Stricter than most: duplicate object keys are refused (two parsers reading one request differently is how
/// ticket bindings get confused), nesting is bounded, and numbers keep their lexical kind.
public struct JSONParser: Sendable {
    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        /// What is wrong, e.g. `expected ',' or '}' after an object member`.
        public let message: String
        /// 0-based byte offset into the input.
        public let offset: Int
        public var description: String { "\(message) at offset \(offset)" }
    }

    public var maxDepth: Int

    public init(maxDepth: Int = 64) {
        self.maxDepth = maxDepth
    }

    public func parse(_ text: String) throws(Error) -> JSONValue {
        var copy = text
        let result = copy.withUTF8 { buffer in
            Result { () throws(Error) -> JSONValue in
                var reader = Reader(bytes: buffer, maxDepth: maxDepth)
                reader.skipWhitespace()
                let value = try reader.parseValue(depth: 0)
                reader.skipWhitespace()
                guard reader.index == buffer.count else {
                    throw reader.error("unexpected data after the JSON value")
                }
                return value
            }
        }
        return try result.get()
    }
}

/// The member names ``JSONParser/parseMembers(_:names:)`` keeps, each by its index. At most 64.
public struct JSONMemberNames: Sendable {
    public let names: [String]
    /// The names' UTF-8, one after the other, and where each starts (`offsets[i]..<offsets[i + 1]`).
    let bytes: [UInt8]
    let offsets: [Int]
    /// For each byte length up to 31, a bit per name of that length.
    let byLength: [UInt64]
    let asciiNames: Bool

    public init(_ names: [String]) {
        precondition(names.count <= 64, "at most 64 member names")
        precondition(Set(names).count == names.count, "member names must differ")
        self.names = names
        var bytes: [UInt8] = []
        var offsets = [0]
        var byLength = [UInt64](repeating: 0, count: 32)
        for (i, name) in names.enumerated() {
            bytes += name.utf8
            offsets.append(bytes.count)
            if name.utf8.count < 32 { byLength[name.utf8.count] |= 1 << UInt64(i) }
        }
        self.bytes = bytes
        self.offsets = offsets
        self.byLength = byLength
        asciiNames = bytes.allSatisfy { $0 < 0x80 }
    }

    /// The index of the name `key` (UTF-8) is equal to as a Swift `String` (so as a dictionary key), if any.
    func index(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        var ascii = true
        for b in key where b >= 0x80 {
            ascii = false
            break
        }
        if ascii && asciiNames {
            // Swift compares strings by canonical equivalence; two ASCII strings are equivalent only when their
            // bytes are equal.
            if key.count < 32 {
                var candidates = byLength[key.count]
                while candidates != 0 {
                    let i = candidates.trailingZeroBitCount
                    candidates &= candidates - 1
                    let start = offsets[i]
                    var j = 0
                    while j < key.count, bytes[start + j] == key[j] { j += 1 }
                    if j == key.count { return i }
                }
                return nil
            }
            for i in names.indices where offsets[i + 1] - offsets[i] == key.count {
                if bytes[offsets[i]..<offsets[i + 1]].elementsEqual(key) { return i }
            }
            return nil
        }
        // Rare: non-ASCII (e.g. U+212A KELVIN SIGN equals "K" as a String). Compare as a dictionary would.
        let text = String(decoding: key, as: UTF8.self)
        return names.firstIndex(of: text)
    }
}

extension JSONParser {
    /// Parses `bytes` (UTF-8 JSON text) exactly as strictly as ``parse(_:)``, but when it is an object, without
    /// building a dictionary for its top level: a member whose name (escapes decoded) is one of `names` has its
    /// value stored at that name's index of the result; any other member's value is parsed (so checked) and
    /// dropped. Duplicate member names are refused as ``parse(_:)`` refuses them (names compared as `String`s).
    ///
    /// Returns `nil` when the text is valid JSON but not an object, and throws the error ``parse(_:)`` would throw
    /// (same message and offset) when it is not valid JSON.
    public func parseMembers(_ bytes: UnsafeBufferPointer<UInt8>, names: JSONMemberNames) throws(Error) -> [JSONValue?]? {
        var reader = Reader(bytes: bytes, maxDepth: maxDepth)
        reader.skipWhitespace()
        guard reader.peek == UInt8(ascii: "{") else {
            // Not an object: the general parser gives the same verdict (and error) as parse(_:).
            _ = try reader.parseValue(depth: 0)
            reader.skipWhitespace()
            guard reader.index == bytes.count else { throw reader.error("unexpected data after the JSON value") }
            return nil
        }
        let values = try reader.parseTopLevelObject(names: names)
        reader.skipWhitespace()
        guard reader.index == bytes.count else { throw reader.error("unexpected data after the JSON value") }
        return values
    }
}

extension JSONValue {
    /// Parses JSON text strictly (see ``JSONParser``).
    public static func parse(_ text: String) throws(JSONParser.Error) -> JSONValue {
        try JSONParser().parse(text)
    }
}

private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func error(_ message: String) -> JSONParser.Error {
        JSONParser.Error(message: message, offset: index)
    }

    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func expect(_ literal: StaticString, value: JSONValue) throws(JSONParser.Error) -> JSONValue {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("invalid literal") }
        let lit = literal.utf8Start
        for i in 0..<count where bytes[index + i] != lit[i] {
            throw error("invalid literal")
        }
        index += count
        return value
    }

    mutating func parseValue(depth: Int) throws(JSONParser.Error) -> JSONValue {
        guard let byte = peek else { throw error("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try expect("true", value: .bool(true))
        case UInt8(ascii: "f"): return try expect("false", value: .bool(false))
        case UInt8(ascii: "n"): return try expect("null", value: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character '\(Character(Unicode.Scalar(byte)))'")
        }
    }

    mutating func parseObject(depth: Int) throws(JSONParser.Error) -> JSONValue {
        guard depth <= maxDepth else { throw error("JSON nested deeper than \(maxDepth) levels") }
        index += 1
        var object: [String: JSONValue] = [:]
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            index += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyOffset = index
            let key = try parseString()
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { throw error("expected ':' after an object key") }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            if object.updateValue(value, forKey: key) != nil {
                throw JSONParser.Error(message: "duplicate key \"\(key)\"", offset: keyOffset)
            }
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(object)
            default: throw error("expected ',' or '}' after an object member")
            }
        }
    }

    /// ``parseObject(depth:)`` at depth 1 (the top level), members stored by slot instead of in a dictionary.
    /// Checks in the same order as ``parseObject(depth:)`` so that the first error is the same one.
    mutating func parseTopLevelObject(names: JSONMemberNames) throws(JSONParser.Error) -> [JSONValue?] {
        let depth = 1
        guard depth <= maxDepth else { throw error("JSON nested deeper than \(maxDepth) levels") }
        index += 1
        var values = [JSONValue?](repeating: nil, count: names.names.count)
        var seen: UInt64 = 0
        var others: Set<String> = []
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            index += 1
            return values
        }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyOffset = index
            // The key's bytes: straight from the input when it has no escape, else decoded.
            var keyStart = index + 1
            var keyEnd = keyStart
            while keyEnd < bytes.count, bytes[keyEnd] != UInt8(ascii: "\""), bytes[keyEnd] != UInt8(ascii: "\\"),
                bytes[keyEnd] >= 0x20
            {
                keyEnd += 1
            }
            var decodedKey: String?
            if keyEnd < bytes.count, bytes[keyEnd] == UInt8(ascii: "\"") {
                index = keyEnd + 1
            } else {
                decodedKey = try parseString()
                keyStart = 0
                keyEnd = 0
            }
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { throw error("expected ':' after an object key") }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            var keySlot: Int?
            if var decodedKey {
                keySlot = decodedKey.withUTF8 { names.index(of: $0) }
            } else {
                keySlot = names.index(of: UnsafeBufferPointer(rebasing: bytes[keyStart..<keyEnd]))
            }
            if let s = keySlot {
                let bit: UInt64 = 1 << UInt64(s)
                if seen & bit != 0 {
                    let key = decodedKey ?? String(decoding: UnsafeBufferPointer(rebasing: bytes[keyStart..<keyEnd]), as: UTF8.self)
                    throw JSONParser.Error(message: "duplicate key \"\(key)\"", offset: keyOffset)
                }
                seen |= bit
                values[s] = value
            } else {
                let key = decodedKey ?? String(decoding: UnsafeBufferPointer(rebasing: bytes[keyStart..<keyEnd]), as: UTF8.self)
                if !others.insert(key).inserted {
                    throw JSONParser.Error(message: "duplicate key \"\(key)\"", offset: keyOffset)
                }
            }
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return values
            default: throw error("expected ',' or '}' after an object member")
            }
        }
    }

    mutating func parseArray(depth: Int) throws(JSONParser.Error) -> JSONValue {
        guard depth <= maxDepth else { throw error("JSON nested deeper than \(maxDepth) levels") }
        index += 1
        var array: [JSONValue] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") {
            index += 1
            return .array(array)
        }
        while true {
            skipWhitespace()
            array.append(try parseValue(depth: depth))
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(array)
            default: throw error("expected ',' or ']' after an array element")
            }
        }
    }

    mutating func parseNumber() throws(JSONParser.Error) -> JSONValue {
        let start = index
        var isInteger = true
        if peek == UInt8(ascii: "-") { index += 1 }
        guard let first = peek, first >= 0x30, first <= 0x39 else { throw error("invalid number") }
        if first == 0x30 {
            index += 1
            if let next = peek, next >= 0x30, next <= 0x39 { throw error("leading zeros are not allowed") }
        } else {
            while let d = peek, d >= 0x30, d <= 0x39 { index += 1 }
        }
        if peek == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard let d = peek, d >= 0x30, d <= 0x39 else { throw error("expected a digit after '.'") }
            while let d = peek, d >= 0x30, d <= 0x39 { index += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard let d = peek, d >= 0x30, d <= 0x39 else { throw error("expected a digit in the exponent") }
            while let d = peek, d >= 0x30, d <= 0x39 { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger {
            guard let value = Int64(text) else {
                throw JSONParser.Error(message: "integer out of range", offset: start)
            }
            return .integer(value)
        }
        guard let value = Double(text), value.isFinite else {
            throw JSONParser.Error(message: "number out of range", offset: start)
        }
        return .number(value)
    }

    mutating func parseString() throws(JSONParser.Error) -> String {
        index += 1  // opening quote
        // Fast path: no escape before the closing quote (the usual case) → one decode of the bytes.
        var scan = index
        while scan < bytes.count {
            let b = bytes[scan]
            if b == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<scan]), as: UTF8.self)
                index = scan + 1
                return text
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { break }
            scan += 1
        }
        var scalars = String.UnicodeScalarView()
        var runStart = index
        func flushRun(_ reader: Reader, to end: Int, into out: inout String.UnicodeScalarView) {
            if end > runStart {
                let run = String(decoding: UnsafeBufferPointer(rebasing: reader.bytes[runStart..<end]), as: UTF8.self)
                out.append(contentsOf: run.unicodeScalars)
            }
        }
        while true {
            guard let byte = peek else { throw error("unterminated string") }
            if byte == UInt8(ascii: "\"") {
                flushRun(self, to: index, into: &scalars)
                index += 1
                return String(scalars)
            }
            if byte < 0x20 { throw error("control character in string") }
            if byte == UInt8(ascii: "\\") {
                flushRun(self, to: index, into: &scalars)
                index += 1
                guard let esc = peek else { throw error("unterminated escape") }
                index += 1
                switch esc {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    let unit = try parseHex4()
                    if (0xD800...0xDBFF).contains(unit) {
                        guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired surrogate in \\u escape") }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                        let value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                        scalars.append(Unicode.Scalar(value)!)
                    } else if (0xDC00...0xDFFF).contains(unit) {
                        throw error("unpaired surrogate in \\u escape")
                    } else {
                        scalars.append(Unicode.Scalar(unit)!)
                    }
                default: throw error("invalid escape sequence")
                }
                runStart = index
                continue
            }
            index += 1
        }
    }

    mutating func parseHex4() throws(JSONParser.Error) -> UInt16 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt16
            switch b {
            case 0x30...0x39: digit = UInt16(b - 0x30)
            case 0x41...0x46: digit = UInt16(b - 0x41 + 10)
            case 0x61...0x66: digit = UInt16(b - 0x61 + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}
