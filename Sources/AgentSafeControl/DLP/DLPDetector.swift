/// The kinds of secret the DLP scanner looks for in a request's `params`.
///
/// The raw values are the names used in `agent-safe.yaml` (`dlp.detectors`, `dlp.overrides`), in decision
/// reasons and in the `[redacted:<detector>]` marker. See `docs/dlp.md` for what each one matches.
public enum DLPDetector: String, CaseIterable, Sendable, Hashable {
    /// AWS access key ids (`AKIA`, `ASIA`, `AGPA`, `AIDA`, `AROA`, `ANPA`, `ANVA`, `AIPA` + 16 `[A-Z0-9]`), and
    /// 40-character secret access keys assigned to an `aws_secret_access_key`-like name.
    case awsAccessKey = "aws_access_key"
    /// `-----BEGIN … PRIVATE KEY-----` blocks (RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP, plain PKCS#8).
    case privateKey = "private_key"
    /// JSON Web Tokens (JWS, and JWE with five segments) whose header and payload are JSON objects.
    case jwt
    /// GitHub tokens: `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` + 36 or more base62, `github_pat_` + 22 or more.
    case githubToken = "github_token"
    /// Slack tokens (`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xapp-`) and incoming-webhook URLs.
    case slackToken = "slack_token"
    /// `scheme://user:password@host` URLs with a non-empty password (the range is the password).
    case credentialURL = "credential_url"
    /// `Password=`, `Pwd=`, `Passwd=` assignments in key=value text (ADO/ODBC connection strings, query
    /// strings, `--password=` flags); the range is the value.
    case connectionString = "connection_string"
    /// Long tokens with high Shannon entropy (see `docs/dlp.md` for the rule and its exclusions).
    case highEntropy = "high_entropy"

    /// Lower is more specific; when two detectors match overlapping bytes the more specific one is kept.
    var specificity: Int {
        switch self {
        case .privateKey: 0
        case .jwt: 1
        case .awsAccessKey: 2
        case .githubToken: 3
        case .slackToken: 4
        case .credentialURL: 5
        case .connectionString: 6
        case .highEntropy: 7
        }
    }

    var bit: UInt16 { 1 << UInt16(specificity) }
}

/// One secret found in `params`.
///
/// There is deliberately no field holding the secret's text: a finding can be logged, put in a decision
/// reason or written to the audit log as it is. ``path`` never holds secret text either: an object key in
/// which a secret was found is shown in the path with that secret replaced by `[redacted:<detector>]`.
public struct DLPFinding: Sendable, Hashable, CustomStringConvertible {
    public var detector: DLPDetector
    /// Where in `params`: object keys joined with `.`, array indexes as `[i]` (`env.DB_URL`, `args[2]`,
    /// `jobs[0].env[1]`). A key that is not made only of `[A-Za-z0-9_-]` is written `["the key"]` with JSON
    /// string escapes (`labels["app.kubernetes.io/name"]`), so paths are unambiguous and hold no control
    /// characters.
    public var path: String
    /// The secret's bytes in that string (UTF-8 offsets): the string value at ``path``, or the key itself
    /// when ``inKey`` is true.
    public var utf8Range: Range<Int>
    /// True when the secret is in the object key named by the last component of ``path`` rather than in the
    /// value at ``path``.
    public var inKey: Bool

    public init(detector: DLPDetector, path: String, utf8Range: Range<Int>, inKey: Bool = false) {
        self.detector = detector
        self.path = path
        self.utf8Range = utf8Range
        self.inKey = inKey
    }

    public var description: String {
        "\(detector.rawValue) in \(inKey ? "key " : "")\(path.isEmpty ? "<root>" : path) at bytes \(utf8Range.lowerBound)..<\(utf8Range.upperBound)"
    }
}
