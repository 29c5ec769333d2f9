extension JSONValue {
    /// Appends the UTF-8 bytes of ``canonicalText`` to `out`, without building a `String` (byte for byte the same
    /// text: compact, object keys sorted by their UTF-16 code units, the same escapes and number formats).
    public func appendCanonical(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .integer(let i): JSONValue.appendInteger(i, to: &out)
        case .number(let d): out.append(contentsOf: JSONValue.format(d).utf8)
        case .string(let s): JSONValue.appendString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.appendCanonical(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            // The members' positions in key order, in a stack buffer: no array of (key, value) copies. Small objects
            // (the usual: params, audit contexts) are insertion-sorted in place; larger ones sorted.
            withUnsafeTemporaryAllocation(of: Dictionary<String, JSONValue>.Index.self, capacity: object.count) { order in
                order.initialize(repeating: object.startIndex)
                defer { _ = order.deinitialize() }
                let keys = object.keys
                if object.count <= 16 {
                    var n = 0
                    for index in object.indices {
                        var j = n
                        while j > 0, JSONValue.keyPrecedes(keys[index], keys[order[j - 1]]) {
                            order[j] = order[j - 1]
                            j -= 1
                        }
                        order[j] = index
                        n += 1
                    }
                } else {
                    for (i, index) in object.indices.sorted(by: { JSONValue.keyPrecedes(keys[$0], keys[$1]) }).enumerated() {
                        order[i] = index
                    }
                }
                for (i, index) in order.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    JSONValue.appendString(keys[index], to: &out)
                    out.append(UInt8(ascii: ":"))
                    object.values[index].appendCanonical(to: &out)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The canonical order of object keys: by UTF-16 code units. Compared as UTF-8 bytes (code point order, a
    /// memcmp on native strings) whenever that is the same order, that is unless a key holds a character at or above
    /// U+E000 (lead byte 0xEE or more), where UTF-16 puts surrogate pairs before U+E000…U+FFFF.
    @inlinable
    public static func keyPrecedes(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        let fast = a.withUTF8 { x in
            b.withUTF8 { y -> Bool? in
                for byte in x where byte >= 0xEE { return nil }
                for byte in y where byte >= 0xEE { return nil }
                let n = min(x.count, y.count)
                for i in 0..<n where x[i] != y[i] { return x[i] < y[i] }
                return x.count < y.count
            }
        }
        return fast ?? a.utf16.lexicographicallyPrecedes(b.utf16)
    }

    /// Decimal digits of `i`, as `String(i)` writes them.
    public static func appendInteger(_ i: Int64, to out: inout [UInt8]) {
        if i < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = i.magnitude
        let start = out.count
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        out[start...].reverse()
    }

    /// `s` as a JSON string literal, escaped as ``canonicalText`` escapes it.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let utf8 = s.utf8
        // Fast path: nothing to escape (the usual case), append the bytes whole.
        var plain = utf8.withContiguousStorageIfAvailable { bytes in
            for b in bytes where b < 0x20 || b == 0x22 || b == 0x5C { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if plain == nil {
            plain = !utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C })
            if plain == true { out.append(contentsOf: utf8) }
        }
        if plain == false {
            // Every character that is escaped is ASCII, so escaping byte by byte is escaping scalar by scalar.
            let hex = Array("0123456789abcdef".utf8)
            for b in utf8 {
                switch b {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])  // \"
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])  // \\
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                case ..<0x20:
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                            hex[Int(b >> 4)], hex[Int(b & 0x0F)]])
                default: out.append(b)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
