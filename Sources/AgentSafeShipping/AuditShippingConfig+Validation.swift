import Foundation

/// One problem in the shipping configuration, located by its field path (`audit.shippers[1].url`), so the
/// YAML loader can map it to a file, line and column.
public struct ShippingConfigIssue: Sendable, Hashable, CustomStringConvertible {
    public var fieldPath: String
    public var message: String

    public init(fieldPath: String, message: String) {
        self.fieldPath = fieldPath
        self.message = message
    }

    public var description: String { "\(fieldPath): \(message)" }
}

extension AuditShippingConfig {
    /// Headers a webhook shipper sets itself; `headers:` may not name them.
    static let reservedWebhookHeaders: Set<String> = [
        "content-type", "content-length", "host", "idempotency-key", "x-agent-safe-signature", "authorization",
        "x-agent-safe-first-seq", "x-agent-safe-last-seq", "transfer-encoding", "connection",
    ]

    /// Every problem found, empty when the configuration is valid. Checks values only; files named by the
    /// configuration are read when the shippers are built.
    public func validationIssues() -> [ShippingConfigIssue] {
        var issues: [ShippingConfigIssue] = []
        func issue(_ path: String, _ message: String) {
            issues.append(ShippingConfigIssue(fieldPath: path, message: message))
        }
        if path.isEmpty { issue("audit.path", "must not be empty") }
        Self.check(batch, at: "audit.batch", issue)
        Self.check(retry, at: "audit.retry", issue)
        var seen: Set<String> = []
        for (index, shipper) in shippers.enumerated() {
            let at = "audit.shippers[\(index)]"
            if shipper.name.isEmpty || !shipper.name.utf8.allSatisfy(Self.isNameByte) {
                issue("\(at).name", "must be non-empty and use only letters, digits, '-', '_' and '.'")
            } else if !seen.insert(shipper.name).inserted {
                issue("\(at).name", "'\(shipper.name)' is used by another shipper")
            }
            if let batch = shipper.batch { Self.check(batch, at: "\(at).batch", issue) }
            if let retry = shipper.retry { Self.check(retry, at: "\(at).retry", issue) }
            switch shipper.destination {
            case .file(let spec):
                if spec.path.isEmpty { issue("\(at).path", "must not be empty") }
                if spec.path == path { issue("\(at).path", "must not be the audit log itself") }
            case .webhook(let spec):
                if let problem = Self.urlProblem(spec.url) { issue("\(at).url", problem) }
                if !(spec.timeoutSeconds > 0 && spec.timeoutSeconds <= 3600) {
                    issue("\(at).timeout_seconds", "must be more than 0 and at most 3600")
                }
                for (name, value) in spec.headers.sorted(by: { $0.key < $1.key }) {
                    if name.isEmpty || !name.utf8.allSatisfy(Self.isTokenByte) {
                        issue("\(at).headers.\(name)", "is not a valid header name")
                    } else if Self.reservedWebhookHeaders.contains(name.lowercased()) {
                        issue("\(at).headers.\(name)", "is set by the shipper and cannot be overridden")
                    }
                    if value.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0x00 }) {
                        issue("\(at).headers.\(name)", "value must not contain line breaks")
                    }
                }
                if spec.secretFile?.isEmpty == true { issue("\(at).secret_file", "must not be empty") }
                if spec.splunkTokenFile?.isEmpty == true { issue("\(at).splunk_token_file", "must not be empty") }
            case .s3(let spec):
                if !Self.isBucketName(spec.bucket) {
                    issue("\(at).bucket", "must be 3-63 lower-case letters, digits, '.' and '-'")
                }
                if spec.region.isEmpty || !spec.region.utf8.allSatisfy(Self.isNameByte) {
                    issue("\(at).region", "must be a region name such as us-east-1")
                }
                if let endpoint = spec.endpoint, let problem = Self.urlProblem(endpoint) {
                    issue("\(at).endpoint", problem)
                }
                if spec.kmsKeyId != nil, spec.sse != .kms { issue("\(at).kms_key_id", "needs sse: aws:kms") }
                if spec.prefix.hasPrefix("/") { issue("\(at).prefix", "must not start with '/'") }
                if spec.credentialsFile?.isEmpty == true { issue("\(at).credentials_file", "must not be empty") }
                if spec.profile?.isEmpty == true { issue("\(at).profile", "must not be empty") }
            }
        }
        return issues
    }

    private static func check(_ batch: BatchSpec, at path: String, _ issue: (String, String) -> Void) {
        if !(1...100_000).contains(batch.maxEvents) { issue("\(path).max_events", "must be 1 to 100000") }
        if !(1024...(256 << 20)).contains(batch.maxBytes) { issue("\(path).max_bytes", "must be 1024 to 268435456") }
        if !(0...60_000).contains(batch.lingerMs) { issue("\(path).linger_ms", "must be 0 to 60000") }
    }

    private static func check(_ retry: RetrySpec, at path: String, _ issue: (String, String) -> Void) {
        if !(1...3_600_000).contains(retry.baseMs) { issue("\(path).base_ms", "must be 1 to 3600000") }
        if !(retry.baseMs...3_600_000).contains(retry.maxMs) {
            issue("\(path).max_ms", "must be at least base_ms and at most 3600000")
        }
    }

    static func urlProblem(_ text: String) -> String? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https"
        else { return "must be an http:// or https:// URL" }
        guard let host = url.host, !host.isEmpty else { return "has no host" }
        return nil
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F: true
        default: false
        }
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    static func isBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count), let first = bytes.first, let last = bytes.last else { return false }
        func alnum(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x61...0x7A).contains(b) }
        return alnum(first) && alnum(last) && bytes.allSatisfy { alnum($0) || $0 == 0x2E || $0 == 0x2D }
    }
}
