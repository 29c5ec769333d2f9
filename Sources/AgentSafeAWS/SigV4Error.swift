/// A request could not be signed. Messages never contain credentials.
public struct SigV4Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable codes, so callers can tell problems apart without parsing messages.
    public enum Code: String, Sendable, Hashable {
        /// The request has no `Host` header and no `host` was given.
        case missingHost = "missing_host"
        /// The method is empty or contains characters other than letters.
        case invalidMethod = "invalid_method"
        /// A header name is empty or contains a colon, whitespace or control characters, which would make the
        /// canonical request ambiguous.
        case invalidHeaderName = "invalid_header_name"
        /// A precomputed payload hash is not 64 lowercase hex digits.
        case invalidPayloadHash = "invalid_payload_hash"
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
