/// Percent-encoding as AWS defines `UriEncode()`: every byte of the UTF-8 text except the unreserved characters
/// `A-Z a-z 0-9 - _ . ~` becomes `%XX` with upper-case hex; a space is `%20`, never `+`.
public enum AWSPercentEncoding {
    /// Encodes `text`. With `keepingSlashes`, `/` stays as is (S3 object keys and paths).
    public static func encode(_ text: some StringProtocol, keepingSlashes: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            appendEncoded(byte, to: &out, keepingSlashes: keepingSlashes)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The path of an S3 object, `/bucket/key` (path-style) or `/key` when `bucket` is nil (virtual-hosted style),
    /// with the key encoded and its slashes kept.
    public static func s3ObjectPath(bucket: String?, key: String) -> String {
        let encodedKey = encode(key, keepingSlashes: true)
        let separator = encodedKey.hasPrefix("/") ? "" : "/"
        guard let bucket else { return separator + encodedKey }
        return "/" + encode(bucket) + separator + encodedKey
    }

    /// A query string in SigV4's canonical form: each name and value encoded, pairs sorted by name then value,
    /// joined with `&`. Sending exactly this string (as the URL's query or a form body) avoids any mismatch.
    public static func queryString(_ parameters: [(name: String, value: String)]) -> String {
        let pairs = parameters.map { (Array(encode($0.name).utf8), Array(encode($0.value).utf8)) }
        return SigV4Canonical.joinSortedPairs(pairs)
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2D, 0x2E, 0x5F, 0x7E: true
        default: false
        }
    }

    @inline(__always)
    static func appendEncoded(_ byte: UInt8, to out: inout [UInt8], keepingSlashes: Bool) {
        if isUnreserved(byte) || (keepingSlashes && byte == 0x2F) {
            out.append(byte)
        } else {
            out.append(0x25)
            out.append(ASCII.hexDigitsUpper[Int(byte >> 4)])
            out.append(ASCII.hexDigitsUpper[Int(byte & 0x0F)])
        }
    }
}
