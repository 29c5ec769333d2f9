/// An AWS access key pair, optionally with the session token of temporary (STS) credentials.
///
/// The secret access key and the session token never appear in `description`, `debugDescription`, `dump` or
/// mirrors: they print as `<redacted>`. The access key id is an identifier (AWS writes it to CloudTrail) and is
/// shown, so logs can tell which key was used.
public struct AWSCredentials: Sendable, Hashable {
    /// The access key id, e.g. `AKIAIOSFODNN7EXAMPLE`.
    public let accessKeyId: String
    /// The secret access key. Never printed.
    public let secretAccessKey: String
    /// The session token of temporary credentials; signed as `X-Amz-Security-Token`. Never printed.
    public let sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

extension AWSCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    static let redacted = "<redacted>"

    public var description: String {
        let token = sessionToken == nil ? "nil" : Self.redacted
        return "AWSCredentials(accessKeyId: \(accessKeyId), secretAccessKey: \(Self.redacted), sessionToken: \(token))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyId": accessKeyId,
                "secretAccessKey": Self.redacted,
                "sessionToken": sessionToken == nil ? "nil" : Self.redacted,
            ],
            displayStyle: .struct
        )
    }
}
