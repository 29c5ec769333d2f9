import AgentSafeAWS
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Puts each batch as one NDJSON object (``S3ObjectKey``), signed with SigV4 (`AgentSafeAWS`, S3 rules, the
/// real payload hash in `x-amz-content-sha256`), optionally with server-side encryption.
///
/// Addressing: with an `endpoint` (S3-compatible stores, moto) requests are path-style,
/// `<endpoint>/<bucket>/<key>`; without, virtual-hosted AWS, `https://<bucket>.s3.<region>.amazonaws.com/<key>`
/// (path-style on `s3.<region>.amazonaws.com` for bucket names with dots, which TLS cannot cover).
/// Credentials are loaded for every batch (a rotated credentials file is picked up) and never logged.
public struct S3Shipper: AuditShipper {
    public let name: String
    public let spec: S3ShipperSpec
    private let location: Location
    private let loadCredentials: @Sendable () throws -> AWSCredentials
    private let now: @Sendable () -> SigV4Timestamp
    private let timeout: TimeAmount
    private let client: HTTPClient
    private let logger: Logger

    struct Location: Sendable {
        /// `http://127.0.0.1:9000` or `https://bucket.s3.us-east-1.amazonaws.com`.
        var origin: String
        /// The `Host` value (port included when not the scheme's default).
        var host: String
        /// Prefix of every path: `/bucket` (path-style), `` (virtual-hosted) or an endpoint's base path.
        var basePath: String
        /// Whether the bucket goes in the path.
        var pathStyle: Bool
    }

    /// Loads the credentials once now, so missing credentials fail at start-up.
    /// - Parameters:
    ///   - environment: Where `AWS_*` variables are read (the process environment).
    ///   - baseDirectory: Relative `credentials_file` paths are resolved against it.
    ///   - timeoutSeconds: For each PutObject.
    ///   - now: The signing clock (tests inject one).
    public init(
        name: String, spec: S3ShipperSpec, environment: [String: String], baseDirectory: String? = nil,
        timeoutSeconds: Double = 30, httpClient: HTTPClient = ShippingHTTPClient.shared,
        now: @escaping @Sendable () -> SigV4Timestamp = { SigV4Timestamp.now() },
        logger: Logger = Logger(label: "agent-safe.shipping.s3")
    ) throws(ShippingError) {
        self.name = name
        self.spec = spec
        self.location = try Self.location(for: spec)
        let credentialsFile = spec.credentialsFile.map { PathText.resolve($0, relativeTo: baseDirectory) }
        let loader: @Sendable () throws -> AWSCredentials = {
            if let file = credentialsFile ?? (spec.profile == nil ? nil : AWSCredentials.sharedCredentialsFilePath(environment: environment)) {
                return try AWSCredentials(
                    sharedCredentialsFile: file,
                    profile: spec.profile ?? AWSCredentials.profileName(environment: environment))
            }
            return try AWSCredentials(environment: environment)
        }
        do {
            _ = try loader()
        } catch {
            throw ShippingError(.credentials, "shipper '\(name)': \(error)")
        }
        self.loadCredentials = loader
        self.now = now
        self.timeout = .milliseconds(Int64(max(1, timeoutSeconds * 1000)))
        self.client = httpClient
        var logger = logger
        logger[metadataKey: "shipper"] = "\(name)"
        self.logger = logger
    }

    public func ship(_ batch: ShipBatch) async throws {
        let key = S3ObjectKey.key(prefix: spec.prefix, batch: batch)
        let body = batch.ndjson
        var headers = [SigV4Header("Content-Type", "application/x-ndjson")]
        if let sse = spec.sse {
            headers.append(SigV4Header("x-amz-server-side-encryption", sse.rawValue))
            if sse == .kms, let keyId = spec.kmsKeyId {
                headers.append(SigV4Header("x-amz-server-side-encryption-aws-kms-key-id", keyId))
            }
        }
        headers.append(SigV4Header("x-amz-meta-agent-safe-idempotency-key", batch.idempotencyKey))
        let path = objectPath(key: key)
        let response = try await send(method: "PUT", path: path, headers: headers, body: body)
        guard (200..<300).contains(response.status) else {
            throw ShippingError(
                .rejected,
                "PUT \(spec.bucket)/\(key) answered HTTP \(response.status)\(Self.errorCode(response.body))")
        }
        logger.debug(
            "object stored", metadata: ["key": "\(key)", "first_seq": "\(batch.firstSeq)", "last_seq": "\(batch.lastSeq)"])
    }

    /// An answer of ``send(method:path:headers:body:)``.
    public struct Response: Sendable {
        public var status: UInt
        public var headers: [SigV4Header]
        /// Up to 1 MiB of the body.
        public var body: [UInt8]

        /// The first header called `name` (any case).
        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    /// Sends one signed request to the bucket's host (`path` starts with ``bucketPath`` for the bucket's objects)
    /// and returns the answer. Also used by tests and tools to list and read objects back.
    public func send(method: String, path: String, headers: [SigV4Header] = [], body: [UInt8] = []) async throws
        -> Response
    {
        let credentials: AWSCredentials
        do {
            credentials = try loadCredentials()
        } catch {
            throw ShippingError(.credentials, "shipper '\(name)': \(error)")
        }
        let signer = SigV4Signer(credentials: credentials, region: spec.region, service: "s3")
        let unsigned = SigV4Request(
            method: method, path: path, host: location.host, headers: headers, payload: .bytes(body))
        let signed: SigV4Signature
        do {
            signed = try signer.sign(unsigned, at: now())
        } catch {
            throw ShippingError(.signing, "shipper '\(name)': \(error)")
        }
        var request = HTTPClientRequest(url: location.origin + path)
        request.method = HTTPMethod(rawValue: method)
        for header in signed.applied(to: headers) { request.headers.add(name: header.name, value: header.value) }
        if !body.isEmpty { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await client.execute(request, timeout: timeout, logger: logger)
            var collected: [UInt8] = []
            for try await part in response.body where collected.count < 1 << 20 {
                collected.append(contentsOf: part.readableBytesView)
            }
            return Response(
                status: response.status.code, headers: response.headers.map { SigV4Header($0.name, $0.value) },
                body: collected)
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw ShippingError(.timeout, "\(method) \(location.origin)\(path) timed out")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ShippingError(.transport, "\(method) \(location.origin)\(path) failed: \(error)")
        }
    }

    /// The path of the bucket itself: `/bucket` path-style, empty virtual-hosted (list with `bucketPath + "/?…"`).
    public var bucketPath: String { location.pathStyle ? location.basePath : "" }

    /// The path of an object of the bucket.
    public func objectPath(key: String) -> String {
        location.basePath + AWSPercentEncoding.s3ObjectPath(bucket: nil, key: key)
    }

    static func location(for spec: S3ShipperSpec) throws(ShippingError) -> Location {
        let bucketPath = "/" + AWSPercentEncoding.encode(spec.bucket)
        guard let endpoint = spec.endpoint else {
            if spec.bucket.contains(".") {
                let host = "s3.\(spec.region).amazonaws.com"
                return Location(origin: "https://" + host, host: host, basePath: bucketPath, pathStyle: true)
            }
            let host = "\(spec.bucket).s3.\(spec.region).amazonaws.com"
            return Location(origin: "https://" + host, host: host, basePath: "", pathStyle: false)
        }
        guard let override = AWSEndpointOverride(string: endpoint) else {
            throw ShippingError(.invalidConfiguration, "S3 endpoint must be an http:// or https:// URL")
        }
        return Location(origin: override.origin, host: override.host, basePath: override.basePath + bucketPath,
                        pathStyle: true)
    }

    /// ` (NoSuchBucket)`: the `<Code>` of an S3 XML error, nothing else of the body (which may echo the
    /// canonical request, session token included).
    static func errorCode(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        guard let start = text.range(of: "<Code>"), let end = text.range(of: "</Code>", range: start.upperBound..<text.endIndex)
        else { return "" }
        let code = text[start.upperBound..<end.lowerBound]
        guard code.count <= 64, code.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." }) else { return "" }
        return " (\(code))"
    }
}
