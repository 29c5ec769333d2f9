/// base64url without padding (RFC 4648 §5, as JWS uses it), on bytes: no Foundation, no string replacement.
public enum Base64URL {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// The two characters for each 12-bit value, as the bytes of a `UInt16` in memory order.
    static let pairs: [UInt16] = (0..<4096).map { v in
        UInt16(littleEndian: UInt16(alphabet[v >> 6]) | UInt16(alphabet[v & 0x3F]) << 8)
    }
    static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        encode(bytes, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func encode(_ bytes: some Collection<UInt8>, into out: inout [UInt8]) {
        if let done: Void = bytes.withContiguousStorageIfAvailable({ encode(buffer: $0, into: &out) }) { return done }
        encode(buffer: Array(bytes), into: &out)
    }

    static func encode(buffer bytes: [UInt8], into out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { encode(buffer: $0, into: &out) }
    }

    /// Characters for `count` bytes (no padding).
    static func encodedCount(_ count: Int) -> Int { (count / 3) * 4 + (count % 3 == 0 ? 0 : count % 3 + 1) }

    static func encode(buffer bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        let produced = encodedCount(bytes.count)
        guard produced > 0 else { return }
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: produced))
        out.withUnsafeMutableBufferPointer { o in
            _ = encode(bytes, to: UnsafeMutableBufferPointer(rebasing: o[start...]))
        }
    }

    /// Three bytes to four characters at a time, written at the start of `o` (which must have room for
    /// ``encodedCount(_:)`` characters). Returns the number of characters written.
    static func encode(_ bytes: UnsafeBufferPointer<UInt8>, to o: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let n = bytes.count
        let produced = encodedCount(n)
        precondition(o.count >= produced)
        pairs.withUnsafeBufferPointer { pairTable in
            alphabet.withUnsafeBufferPointer { a in
                // Two characters (12 bits) per table lookup, written as one 16-bit store.
                let p = pairTable.baseAddress!
                let src = bytes.baseAddress
                let dst = UnsafeMutableRawPointer(o.baseAddress!)
                var i = 0
                var j = 0
                while i + 3 <= n {
                    let v = Int(src![i]) << 16 | Int(src![i + 1]) << 8 | Int(src![i + 2])
                    dst.storeBytes(of: p[v >> 12], toByteOffset: j, as: UInt16.self)
                    dst.storeBytes(of: p[v & 0xFFF], toByteOffset: j + 2, as: UInt16.self)
                    i += 3
                    j += 4
                }
                switch n - i {
                case 1:
                    let v = UInt32(bytes[i]) << 16
                    o[j] = a[Int(v >> 18)]
                    o[j + 1] = a[Int(v >> 12 & 0x3F)]
                case 2:
                    let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
                    o[j] = a[Int(v >> 18)]
                    o[j + 1] = a[Int(v >> 12 & 0x3F)]
                    o[j + 2] = a[Int(v >> 6 & 0x3F)]
                default: break
                }
            }
        }
        return produced
    }

    /// Strict decoding: no padding, no whitespace, only the url-safe alphabet, and unused trailing bits zero (so a
    /// value has exactly one encoding). `nil` when the text breaks any of these rules.
    public static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        if let result = text.withContiguousStorageIfAvailable({ decode(buffer: $0) }) { return result }
        return Array(text).withUnsafeBufferPointer { decode(buffer: $0) }
    }

    /// Four characters to three bytes at a time; the same rules as ``decode(_:)``.
    static func decode(buffer text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let n = text.count
        if n % 4 == 1 { return nil }
        let produced = (n / 4) * 3 + max(0, n % 4 - 1)
        var failed = false
        let out = decodeTable.withUnsafeBufferPointer { t in
            [UInt8](unsafeUninitializedCapacity: produced) { o, initialized in
                var i = 0
                var j = 0
                while i + 4 <= n {
                    let c0 = UInt32(t[Int(text[i])]), c1 = UInt32(t[Int(text[i + 1])])
                    let c2 = UInt32(t[Int(text[i + 2])]), c3 = UInt32(t[Int(text[i + 3])])
                    if (c0 | c1 | c2 | c3) & 0xC0 != 0 {  // 0xFF marks a character outside the alphabet
                        failed = true
                        return
                    }
                    let v = c0 << 18 | c1 << 12 | c2 << 6 | c3
                    o[j] = UInt8(truncatingIfNeeded: v >> 16)
                    o[j + 1] = UInt8(truncatingIfNeeded: v >> 8)
                    o[j + 2] = UInt8(truncatingIfNeeded: v)
                    i += 4
                    j += 3
                }
                switch n - i {
                case 2:
                    let c0 = UInt32(t[Int(text[i])]), c1 = UInt32(t[Int(text[i + 1])])
                    // Unused trailing bits (the low 4 of the second character) must be zero.
                    if (c0 | c1) & 0xC0 != 0 || c1 & 0x0F != 0 {
                        failed = true
                        return
                    }
                    o[j] = UInt8(truncatingIfNeeded: c0 << 2 | c1 >> 4)
                case 3:
                    let c0 = UInt32(t[Int(text[i])]), c1 = UInt32(t[Int(text[i + 1])]), c2 = UInt32(t[Int(text[i + 2])])
                    // Unused trailing bits (the low 2 of the third character) must be zero.
                    if (c0 | c1 | c2) & 0xC0 != 0 || c2 & 0x03 != 0 {
                        failed = true
                        return
                    }
                    let v = c0 << 10 | c1 << 4 | c2 >> 2
                    o[j] = UInt8(truncatingIfNeeded: v >> 8)
                    o[j + 1] = UInt8(truncatingIfNeeded: v)
                default: break
                }
                initialized = produced
            }
        }
        return failed ? nil : out
    }

    public static func decode(_ text: String) -> [UInt8]? { decode(Array(text.utf8)) }
}

/// Lower-case hex.
public enum Hex {
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Array(bytes).withUnsafeBytes(encode(raw:))
    }

    /// Bytes in lower-case hex, written straight into the string's storage (for digests and MACs:
    /// `digest.withUnsafeBytes(Hex.encode(raw:))`; iterating a digest as a generic sequence was the slow part of
    /// hashing an audit line).
    public static func encode(raw: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: raw.count * 2) { out in
            var i = 0
            for b in raw {
                out[i] = digits[Int(b >> 4)]
                out[i + 1] = digits[Int(b & 0x0F)]
                i += 2
            }
            return i
        }
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
