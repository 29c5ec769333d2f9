/// The outcome of signing one request: every intermediate string (for debugging and tests) and the headers to
/// send.
public struct SigV4Signature: Sendable, Hashable {
    /// Task 1: the canonical request.
    public let canonicalRequest: String
    /// Task 2: the string to sign.
    public let stringToSign: String
    /// Task 3: the signature, lowercase hex.
    public let signature: String
    /// The signed header names, lower case, `;`-separated (`host;x-amz-date`).
    public let signedHeaders: String
    /// `YYYYMMDD/region/service/aws4_request`.
    public let credentialScope: String
    /// The `Authorization` header value.
    public let authorization: String
    /// The headers to add to the request, `Authorization` last: `Host` (when the request had none), `X-Amz-Date`,
    /// `X-Amz-Security-Token` (temporary credentials), `X-Amz-Content-SHA256` (when the signer's options ask for
    /// it). Contains the session token: do not log it.
    public let headersToAdd: [SigV4Header]

    /// `headers` with every field named in ``headersToAdd`` removed (any case) and ``headersToAdd`` appended:
    /// the header list to send.
    public func applied(to headers: [SigV4Header]) -> [SigV4Header] {
        let replaced = Set(headersToAdd.map { $0.name.lowercasedASCII() })
        return headers.filter { !replaced.contains($0.name.trimmingASCIIWhitespace().lowercasedASCII()) }
            + headersToAdd
    }
}

extension SigV4Signature: CustomStringConvertible {
    /// The signed header names and the signature; not the session token.
    public var description: String {
        "SigV4Signature(scope: \(credentialScope), signedHeaders: \(signedHeaders), signature: \(signature))"
    }
}
