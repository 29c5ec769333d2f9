extension StringProtocol {
    /// The text without leading and trailing spaces, tabs, carriage returns and line feeds.
    func trimmingASCIIWhitespace() -> String {
        let utf8 = Substring(self).utf8
        guard let start = utf8.firstIndex(where: { !ASCII.isWhitespace($0) }) else { return "" }
        let end = utf8.lastIndex(where: { !ASCII.isWhitespace($0) })!
        return String(decoding: utf8[start...end], as: UTF8.self)
    }

    /// The text with A-Z turned into a-z; other characters, including non-ASCII ones, unchanged.
    func lowercasedASCII() -> String {
        String(decoding: utf8.map(ASCII.lowercased), as: UTF8.self)
    }
}

enum ASCII {
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
    }

    static let hexDigitsLower: [UInt8] = Array("0123456789abcdef".utf8)
    static let hexDigitsUpper: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// The value of one hex digit, or nil.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    /// Lowercase hex of `bytes`, as SigV4 writes hashes and signatures.
    static func hex<S: Sequence<UInt8>>(_ bytes: S) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(hexDigitsLower[Int(byte >> 4)])
            out.append(hexDigitsLower[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
