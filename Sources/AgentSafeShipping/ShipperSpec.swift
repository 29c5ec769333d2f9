/// The `audit:` settings that shipping uses, mirroring `agent-safe.yaml` one to one (docs/shipping.md):
///
/// ```yaml
/// audit:
///   path: ./audit.jsonl
///   shippers:
///     - {name: archive, type: file, path: /mnt/audit/agent-safe.jsonl}
///   batch: {max_events: 500, max_bytes: 1048576, linger_ms: 200}
///   retry: {base_ms: 200, max_ms: 30000}
/// ```
public struct AuditShippingConfig: Sendable, Hashable {
    /// `audit.path`: the active log file.
    public var path: String
    /// `audit.shippers`.
    public var shippers: [ShipperSpec]
    /// `audit.batch`: defaults for every shipper.
    public var batch: BatchSpec
    /// `audit.retry`: defaults for every shipper.
    public var retry: RetrySpec

    public init(path: String, shippers: [ShipperSpec], batch: BatchSpec = BatchSpec(), retry: RetrySpec = RetrySpec()) {
        self.path = path
        self.shippers = shippers
        self.batch = batch
        self.retry = retry
    }
}

/// One entry of `audit.shippers`.
public struct ShipperSpec: Sendable, Hashable {
    /// `type:` and the keys that go with it.
    public enum Destination: Sendable, Hashable {
        /// `type: file`.
        case file(FileShipperSpec)
        /// `type: webhook`.
        case webhook(WebhookShipperSpec)
        /// `type: s3`.
        case s3(S3ShipperSpec)

        /// The `type:` value.
        public var typeName: String {
            switch self {
            case .file: "file"
            case .webhook: "webhook"
            case .s3: "s3"
            }
        }
    }

    /// `name`: unique; keys the durable cursor, so renaming a shipper starts it from the beginning.
    public var name: String
    public var destination: Destination
    /// Optional per-shipper `batch:`, overriding `audit.batch`.
    public var batch: BatchSpec?
    /// Optional per-shipper `retry:`, overriding `audit.retry`.
    public var retry: RetrySpec?

    public init(name: String, destination: Destination, batch: BatchSpec? = nil, retry: RetrySpec? = nil) {
        self.name = name
        self.destination = destination
        self.batch = batch
        self.retry = retry
    }
}

/// `type: file`.
public struct FileShipperSpec: Sendable, Hashable {
    /// `path`: the file appended to; its directories are created.
    public var path: String

    public init(path: String) {
        self.path = path
    }
}

/// `type: webhook`.
public struct WebhookShipperSpec: Sendable, Hashable {
    /// `format`.
    public enum Format: String, Sendable, Hashable, CaseIterable {
        /// One line per event, `application/x-ndjson` (the default).
        case ndjson
        /// A JSON array of the events, `application/json`.
        case json
        /// Splunk HTTP Event Collector: `{"event": …, "time": …, "sourcetype": "agent-safe"}` per event.
        case splunkHEC = "splunk_hec"
    }

    /// `url`: `http` or `https`.
    public var url: String
    /// `secret_file`: HMAC-SHA256 key for `X-Agent-Safe-Signature` (file contents, surrounding whitespace
    /// trimmed); no signature when nil.
    public var secretFile: String?
    /// `format` (`ndjson`).
    public var format: Format
    /// `timeout_seconds` (10): for the whole request, connecting included.
    public var timeoutSeconds: Double
    /// `headers`: extra request headers (they cannot replace the ones the shipper sets).
    public var headers: [String: String]
    /// `splunk_token_file`: HEC token sent as `Authorization: Splunk <token>`.
    public var splunkTokenFile: String?

    public init(
        url: String, secretFile: String? = nil, format: Format = .ndjson, timeoutSeconds: Double = 10,
        headers: [String: String] = [:], splunkTokenFile: String? = nil
    ) {
        self.url = url
        self.secretFile = secretFile
        self.format = format
        self.timeoutSeconds = timeoutSeconds
        self.headers = headers
        self.splunkTokenFile = splunkTokenFile
    }
}

/// `type: s3`.
public struct S3ShipperSpec: Sendable, Hashable {
    /// `sse`.
    public enum ServerSideEncryption: String, Sendable, Hashable, CaseIterable {
        case aes256 = "AES256"
        case kms = "aws:kms"
    }

    /// `bucket`.
    public var bucket: String
    /// `prefix` (empty): object keys are `<prefix>YYYY/MM/DD/<first seq>-<last seq>.jsonl`; a `/` is added when
    /// the prefix does not end with one.
    public var prefix: String
    /// `region` (`us-east-1`).
    public var region: String
    /// `endpoint`: S3-compatible store or test server, e.g. `http://127.0.0.1:9000` (path-style requests);
    /// nil for AWS (`https://<bucket>.s3.<region>.amazonaws.com`).
    public var endpoint: String?
    /// `sse`: sends `x-amz-server-side-encryption`.
    public var sse: ServerSideEncryption?
    /// `kms_key_id`: with `sse: aws:kms`, sends `x-amz-server-side-encryption-aws-kms-key-id`.
    public var kmsKeyId: String?
    /// `credentials_file`: a shared-credentials file; nil reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
    /// and `AWS_SESSION_TOKEN`.
    public var credentialsFile: String?
    /// `profile`: the section of the credentials file (`AWS_PROFILE`, else `default`). Given without
    /// `credentials_file`, the standard file (`AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`) is read.
    public var profile: String?

    public init(
        bucket: String, prefix: String = "", region: String = "us-east-1", endpoint: String? = nil,
        sse: ServerSideEncryption? = nil, kmsKeyId: String? = nil, credentialsFile: String? = nil,
        profile: String? = nil
    ) {
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.endpoint = endpoint
        self.sse = sse
        self.kmsKeyId = kmsKeyId
        self.credentialsFile = credentialsFile
        self.profile = profile
    }
}

/// `batch:`: a batch is sent when it holds `max_events` lines or `max_bytes` bytes, or `linger_ms` after its
/// first line was read, whichever comes first.
public struct BatchSpec: Sendable, Hashable {
    /// `max_events` (500).
    public var maxEvents: Int
    /// `max_bytes` (1 MiB), counting each line with its `\n`. A single longer line is sent alone.
    public var maxBytes: Int
    /// `linger_ms` (200).
    public var lingerMs: Int

    public init(maxEvents: Int = 500, maxBytes: Int = 1_048_576, lingerMs: Int = 200) {
        self.maxEvents = maxEvents
        self.maxBytes = maxBytes
        self.lingerMs = lingerMs
    }
}

/// `retry:`: exponential backoff with full jitter; the n-th consecutive failure waits a random time in
/// `[0, min(max_ms, base_ms × 2^(n-1))]`. Retries never stop: a batch is never dropped.
public struct RetrySpec: Sendable, Hashable {
    /// `base_ms` (200).
    public var baseMs: Int
    /// `max_ms` (30000).
    public var maxMs: Int

    public init(baseMs: Int = 200, maxMs: Int = 30_000) {
        self.baseMs = baseMs
        self.maxMs = maxMs
    }
}
