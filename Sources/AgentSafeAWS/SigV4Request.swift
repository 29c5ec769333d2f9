/// One HTTP header field. Requests keep them in an ordered list, so a name may appear more than once.
public struct SigV4Header: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name): \(value)" }
}

/// What the signer hashes as the request body.
public enum SigV4Payload: Sendable, Hashable {
    /// The body itself; the signer hashes it.
    case bytes([UInt8])
    /// The lowercase hex SHA-256 of the body, computed elsewhere (e.g. while streaming a file).
    case precomputedSHA256(String)
    /// `UNSIGNED-PAYLOAD`: the body is not covered by the signature (S3 over TLS).
    case unsigned

    /// No body.
    public static var empty: SigV4Payload { .bytes([]) }

    /// A UTF-8 text body.
    public static func text(_ text: String) -> SigV4Payload { .bytes(Array(text.utf8)) }

    static let unsignedValue = "UNSIGNED-PAYLOAD"
    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}

/// An HTTP request to sign.
public struct SigV4Request: Sendable, Hashable {
    /// The HTTP method, e.g. `GET`; signed as given (use upper case).
    public var method: String
    /// The request target exactly as it goes on the wire: path and optional `?query`, e.g.
    /// `/my-bucket/logs/2024/01.jsonl?partNumber=1`. Build it with ``AWSPercentEncoding`` so that what is sent and
    /// what is signed agree; characters that are not valid in a URL are encoded while signing.
    public var path: String
    /// The header fields in order; duplicates allowed (their values are joined with commas when signed).
    public var headers: [SigV4Header]
    /// The body, its hash, or `UNSIGNED-PAYLOAD`.
    public var payload: SigV4Payload
    /// The `Host` value to sign and add when `headers` has no `Host` field (include a non-default port).
    public var host: String?

    public init(
        method: String, path: String, host: String? = nil, headers: [SigV4Header] = [],
        payload: SigV4Payload = .empty
    ) {
        self.method = method
        self.path = path
        self.host = host
        self.headers = headers
        self.payload = payload
    }

    /// The path part of ``path`` (before `?`).
    public var pathWithoutQuery: Substring {
        guard let mark = path.firstIndex(of: "?") else { return path[...] }
        return path[..<mark]
    }

    /// The query part of ``path`` (after the first `?`), empty when there is none.
    public var query: Substring {
        guard let mark = path.firstIndex(of: "?") else { return "" }
        return path[path.index(after: mark)...]
    }
}
