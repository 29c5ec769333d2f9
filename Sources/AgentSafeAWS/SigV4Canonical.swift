/// The canonicalisation steps of SigV4: canonical URI, query string and header values. Pure functions on bytes.
enum SigV4Canonical {
    // MARK: URI

    /// The canonical URI of a wire path (the part of the request target before `?`).
    ///
    /// - `normalize`: remove `.` and `..` segments and empty segments (`//`), keeping a leading and a trailing
    ///   slash (every service but S3).
    /// - `encodeTwice`: the wire path is already encoded once; encode it again, `%` included (every service but
    ///   S3). Otherwise (S3) the wire path is used as sent, with only bytes that cannot appear in a URL path
    ///   encoded and existing `%XX` escapes kept (hex upper-cased).
    static func uri(path: Substring, normalize: Bool, encodeTwice: Bool) -> String {
        var bytes = Array(path.utf8)
        if bytes.isEmpty { bytes = [0x2F] }
        if normalize { bytes = normalized(bytes) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        if encodeTwice {
            for byte in bytes { AWSPercentEncoding.appendEncoded(byte, to: &out, keepingSlashes: true) }
        } else {
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0x25, index + 2 < bytes.count,
                    let high = ASCII.hexValue(bytes[index + 1]), let low = ASCII.hexValue(bytes[index + 2])
                {
                    out.append(0x25)
                    out.append(ASCII.hexDigitsUpper[Int(high)])
                    out.append(ASCII.hexDigitsUpper[Int(low)])
                    index += 3
                    continue
                }
                AWSPercentEncoding.appendEncoded(byte, to: &out, keepingSlashes: true)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 3986 dot-segment removal as the AWS SDKs do it: empty segments dropped, `..` never climbs above the
    /// root, a trailing slash kept when something is left.
    static func normalized(_ path: [UInt8]) -> [UInt8] {
        var segments: [ArraySlice<UInt8>] = []
        for segment in path.split(separator: 0x2F, omittingEmptySubsequences: true) {
            if segment.elementsEqual([0x2E]) { continue }
            if segment.elementsEqual([0x2E, 0x2E]) {
                _ = segments.popLast()
                continue
            }
            segments.append(segment)
        }
        var out: [UInt8] = [0x2F]
        for (position, segment) in segments.enumerated() {
            if position > 0 { out.append(0x2F) }
            out.append(contentsOf: segment)
        }
        if !segments.isEmpty, path.last == 0x2F { out.append(0x2F) }
        return out
    }

    // MARK: Query

    /// The canonical query string of a wire query (after `?`): each `name=value` pair decoded once and encoded
    /// with ``AWSPercentEncoding``, a missing value counted as empty, pairs sorted by encoded name then value.
    /// `+` is a literal plus sign (AWS wants spaces as `%20`).
    static func query(_ query: Substring) -> String {
        guard !query.isEmpty else { return "" }
        var pairs: [([UInt8], [UInt8])] = []
        for item in query.utf8.split(separator: 0x26, omittingEmptySubsequences: true) {
            let name: ArraySlice<UInt8>
            let value: ArraySlice<UInt8>
            let itemBytes = ArraySlice(item)
            if let equals = itemBytes.firstIndex(of: 0x3D) {
                name = itemBytes[..<equals]
                value = itemBytes[(equals + 1)...]
            } else {
                name = itemBytes
                value = []
            }
            pairs.append((reencoded(name), reencoded(value)))
        }
        return joinSortedPairs(pairs)
    }

    static func joinSortedPairs(_ pairs: [([UInt8], [UInt8])]) -> String {
        let sorted = pairs.sorted { lhs, rhs in
            if lhs.0 != rhs.0 { return lhs.0.lexicographicallyPrecedes(rhs.0) }
            return lhs.1.lexicographicallyPrecedes(rhs.1)
        }
        var out: [UInt8] = []
        for (position, pair) in sorted.enumerated() {
            if position > 0 { out.append(0x26) }
            out.append(contentsOf: pair.0)
            out.append(0x3D)
            out.append(contentsOf: pair.1)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-decodes once (invalid escapes stay literal), then encodes with AWS's rules.
    private static func reencoded(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            var byte = bytes[index]
            if byte == 0x25, index + 2 < bytes.endIndex,
                let high = ASCII.hexValue(bytes[index + 1]), let low = ASCII.hexValue(bytes[index + 2])
            {
                byte = high << 4 | low
                index += 2
            }
            AWSPercentEncoding.appendEncoded(byte, to: &out, keepingSlashes: false)
            index += 1
        }
        return out
    }

    // MARK: Headers

    /// A header value as signed: leading and trailing whitespace removed, every run of whitespace inside
    /// (spaces, tabs, and the line breaks of folded multi-line values) turned into one space.
    static func headerValue(_ value: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        var pendingSpace = false
        for byte in value.utf8 {
            if ASCII.isWhitespace(byte) {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                out.append(0x20)
                pendingSpace = false
            }
            out.append(byte)
        }
        return out
    }

    /// A header name as signed: trimmed and lower-cased.
    static func headerName(_ name: String) -> [UInt8] {
        Array(name.trimmingASCIIWhitespace().utf8.map(ASCII.lowercased))
    }
}
