import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// POSTs each batch to a URL (async-http-client; TLS with the system trust roots).
///
/// Headers: `Content-Type`, `Idempotency-Key` (``ShipBatch/idempotencyKey``), `X-Agent-Safe-First-Seq`,
/// `X-Agent-Safe-Last-Seq`, `X-Agent-Safe-Signature: sha256=<hex HMAC-SHA256 of the body>` when a secret is
/// configured, `Authorization: Splunk <token>` when a Splunk token is configured, and the configured extra
/// headers. A 2xx answer acknowledges the batch; anything else, a transport error or the timeout is a failure
/// that the runner retries.
public struct WebhookShipper: AuditShipper {
    public let name: String
    public let format: WebhookShipperSpec.Format
    private let url: String
    /// The URL without user info and query, for messages.
    private let displayURL: String
    private let timeout: TimeAmount
    private let extraHeaders: [(String, String)]
    private let secret: [UInt8]?
    private let splunkToken: String?
    private let client: HTTPClient
    private let logger: Logger

    /// Reads the secret and token files now, so a missing file fails at start-up.
    /// - Parameters:
    ///   - baseDirectory: Relative `secret_file` / `splunk_token_file` paths are resolved against it (the
    ///     configuration file's directory).
    ///   - httpClient: The client to use (its owner shuts it down); by default ``ShippingHTTPClient/shared``,
    ///     which never follows redirects.
    public init(
        name: String, spec: WebhookShipperSpec, baseDirectory: String? = nil, httpClient: HTTPClient = ShippingHTTPClient.shared,
        logger: Logger = Logger(label: "agent-safe.shipping.webhook")
    ) throws(ShippingError) {
        if let problem = AuditShippingConfig.urlProblem(spec.url) {
            throw ShippingError(.invalidConfiguration, "shipper '\(name)': url \(problem)")
        }
        self.name = name
        self.format = spec.format
        self.url = spec.url
        self.displayURL = Self.redacted(spec.url)
        self.timeout = .milliseconds(Int64(max(1, spec.timeoutSeconds * 1000)))
        self.extraHeaders = spec.headers.sorted { $0.key < $1.key }.filter {
            !AuditShippingConfig.reservedWebhookHeaders.contains($0.key.lowercased())
        }
        self.secret = try spec.secretFile.map { path throws(ShippingError) in
            try SecretFile.read(PathText.resolve(path, relativeTo: baseDirectory), what: "webhook secret")
        }
        self.splunkToken = try spec.splunkTokenFile.map { path throws(ShippingError) in
            let token = try SecretFile.read(PathText.resolve(path, relativeTo: baseDirectory), what: "Splunk token")
            guard token.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw ShippingError(.invalidConfiguration, "the Splunk token file '\(path)' holds invalid characters")
            }
            return String(decoding: token, as: UTF8.self)
        }
        self.client = httpClient
        var logger = logger
        logger[metadataKey: "shipper"] = "\(name)"
        self.logger = logger
    }

    public func ship(_ batch: ShipBatch) async throws {
        let (body, contentType) = WebhookBody.encode(batch, format: format)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in extraHeaders { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Content-Type", value: contentType)
        request.headers.replaceOrAdd(name: "Idempotency-Key", value: batch.idempotencyKey)
        request.headers.replaceOrAdd(name: "X-Agent-Safe-First-Seq", value: String(batch.firstSeq))
        request.headers.replaceOrAdd(name: "X-Agent-Safe-Last-Seq", value: String(batch.lastSeq))
        if let secret {
            request.headers.replaceOrAdd(
                name: "X-Agent-Safe-Signature", value: WebhookBody.signature(body: body, key: secret))
        }
        if let splunkToken { request.headers.replaceOrAdd(name: "Authorization", value: "Splunk \(splunkToken)") }
        request.body = .bytes(ByteBuffer(bytes: body))

        let status: UInt
        do {
            let response = try await client.execute(request, timeout: timeout, logger: logger)
            status = response.status.code
            for try await _ in response.body {}  // drain, so the connection can be reused
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw ShippingError(.timeout, "POST \(displayURL) timed out after \(timeout.nanoseconds / 1_000_000) ms")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ShippingError(.transport, "POST \(displayURL) failed: \(error)")
        }
        guard (200..<300).contains(status) else {
            throw ShippingError(.rejected, "POST \(displayURL) answered HTTP \(status)")
        }
        logger.debug(
            "batch delivered",
            metadata: ["first_seq": "\(batch.firstSeq)", "last_seq": "\(batch.lastSeq)", "status": "\(status)"])
    }

    /// `scheme://host[:port]/path`: no user info (may hold a password), no query (may hold a token).
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "<url>" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return components.string ?? "<url>"
    }
}
