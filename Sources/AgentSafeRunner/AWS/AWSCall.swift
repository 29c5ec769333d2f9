import AgentSafeCore
import AgentSafeAWS
import Crypto
import Foundation

/// The AWS services the executor talks to, with their signing names and API styles.
public enum AWSService: String, Sendable, Hashable, CaseIterable {
    case ec2, iam, ecs, lambda, s3

    /// The SigV4 signing name.
    var signingName: String { rawValue }
}

/// One AWS API request, before it is signed.
struct AWSCall: Sendable, Hashable {
    var service: AWSService
    /// The API operation, for messages: `StopInstances`, `UpdateService`, `Invoke`, …
    var operation: String
    var method: String
    /// The wire path with its query, already percent-encoded, relative to the service (for S3, relative to the
    /// bucket: `/key` or `?policy`; the bucket goes in the host or the path depending on the addressing).
    var path: String
    var headers: [SigV4Header]
    var body: [UInt8]
    /// The body as shown in plans and outputs, when it differs from the body (sensitive params redacted).
    var displayBody: String?
    /// S3 only: the bucket addressed.
    var bucket: String?

    init(
        _ service: AWSService, _ operation: String, method: String = "POST", path: String = "/",
        headers: [SigV4Header] = [], body: [UInt8] = [], displayBody: String? = nil, bucket: String? = nil
    ) {
        self.service = service
        self.operation = operation
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.displayBody = displayBody
        self.bucket = bucket
    }

    /// An EC2 or IAM query-API call: a form-encoded POST of `Action=…&Version=…&…`.
    static func query(_ service: AWSService, _ action: String, version: String, _ parameters: [(String, String)])
        -> AWSCall
    {
        let all = [("Action", action)] + parameters + [("Version", version)]
        let body = AWSPercentEncoding.queryString(all.map { (name: $0.0, value: $0.1) })
        return AWSCall(
            service, action, method: "POST", path: "/",
            headers: [SigV4Header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            body: Array(body.utf8))
    }

    static func ec2(_ action: String, _ parameters: [(String, String)]) -> AWSCall {
        query(.ec2, action, version: "2016-11-15", parameters)
    }

    static func iam(_ action: String, _ parameters: [(String, String)]) -> AWSCall {
        query(.iam, action, version: "2010-05-08", parameters)
    }

    /// An ECS JSON 1.1 call: `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<operation>`.
    static func ecs(_ operation: String, _ body: JSONObjectText) -> AWSCall {
        AWSCall(
            .ecs, operation, method: "POST", path: "/",
            headers: [
                SigV4Header("Content-Type", "application/x-amz-json-1.1"),
                SigV4Header("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.\(operation)"),
            ],
            body: Array(body.text.utf8))
    }

    /// A Lambda REST call under `/2015-03-31/functions/<name>`.
    static func lambda(
        _ operation: String, method: String, function: String, suffix: String, query: [(String, String)] = [],
        headers: [SigV4Header] = [], body: [UInt8] = [], displayBody: String? = nil
    ) -> AWSCall {
        var path = "/2015-03-31/functions/" + AWSPercentEncoding.encode(function) + suffix
        if !query.isEmpty { path += "?" + AWSPercentEncoding.queryString(query.map { (name: $0.0, value: $0.1) }) }
        return AWSCall(
            .lambda, operation, method: method, path: path, headers: headers, body: body, displayBody: displayBody)
    }

    /// An S3 REST call on `bucket`; `path` is `/key…` or `?subresource` (relative to the bucket).
    static func s3(
        _ operation: String, method: String, bucket: String, path: String, headers: [SigV4Header] = [],
        body: [UInt8] = []
    ) -> AWSCall {
        AWSCall(.s3, operation, method: method, path: path, headers: headers, body: body, bucket: bucket)
    }
}

/// A JSON object written field by field (keys in the order given), for request bodies.
struct JSONObjectText: Sendable {
    private(set) var text = "{}"
    private var fields: [String] = []

    init() {}

    mutating func add(_ key: String, rawJSON: String) {
        fields.append(Self.quoted(key) + ":" + rawJSON)
        text = "{" + fields.joined(separator: ",") + "}"
    }

    mutating func add(_ key: String, _ value: String) { add(key, rawJSON: Self.quoted(value)) }
    mutating func add(_ key: String, _ value: Int64) { add(key, rawJSON: String(value)) }
    mutating func add(_ key: String, _ value: Bool) { add(key, rawJSON: value ? "true" : "false") }
    mutating func add(_ key: String, strings: [String]) {
        add(key, rawJSON: "[" + strings.map(Self.quoted).joined(separator: ",") + "]")
    }

    /// A JSON string literal (the same escaping as every other JSON this package writes).
    static func quoted(_ s: String) -> String {
        var out = ""
        JSONValue.string(s).appendCompact(to: &out)
        return out
    }
}

/// Where a service's requests go.
struct AWSEndpoint: Sendable, Hashable {
    /// `https://ec2.eu-central-1.amazonaws.com` or an override such as `http://127.0.0.1:5000`.
    var origin: String
    /// The `Host` value (port included when not the scheme's default).
    var host: String
    /// Prefix of every path: an override's base path, plus `/bucket` for path-style S3.
    var basePath: String
    /// The SigV4 signing region.
    var signingRegion: String

    /// The parts of an override URL (AgentSafeAWS, shared with the S3 shipper).
    typealias Override = AWSEndpointOverride

    /// The DNS suffix of a region's partition.
    static func dnsSuffix(region: String) -> String {
        region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
    }

    /// The endpoint of `service` in `region`, or the override (path-style for S3).
    static func resolve(service: AWSService, region: String, bucket: String?, override: Override?) -> AWSEndpoint {
        // IAM is global: one endpoint per partition, signed for the partition's home region.
        var signingRegion = region
        if service == .iam {
            if region.hasPrefix("us-gov-") {
                signingRegion = "us-gov-west-1"
            } else if region.hasPrefix("cn-") {
                signingRegion = "cn-north-1"
            } else {
                signingRegion = "us-east-1"
            }
        }
        let bucketPath = bucket.map { "/" + AWSPercentEncoding.encode($0) } ?? ""
        if let override {
            return AWSEndpoint(
                origin: override.origin, host: override.host, basePath: override.basePath + bucketPath,
                signingRegion: signingRegion)
        }
        let suffix = dnsSuffix(region: region)
        let host: String
        var basePath = ""
        switch service {
        case .iam:
            host =
                region.hasPrefix("us-gov-")
                ? "iam.us-gov.amazonaws.com" : region.hasPrefix("cn-") ? "iam.cn-north-1.\(suffix)" : "iam.\(suffix)"
        case .s3:
            if let bucket, !bucket.contains(".") {
                host = "\(bucket).s3.\(region).\(suffix)"
            } else {
                // Bucket names with dots can't be covered by the wildcard certificate: path-style.
                host = "s3.\(region).\(suffix)"
                basePath = bucketPath
            }
        default:
            host = "\(service.rawValue).\(region).\(suffix)"
        }
        return AWSEndpoint(origin: "https://" + host, host: host, basePath: basePath, signingRegion: signingRegion)
    }

    /// The wire path of `call` at this endpoint.
    func wirePath(_ call: AWSCall) -> String {
        if call.path.hasPrefix("?") { return (basePath.isEmpty ? "/" : basePath) + call.path }
        return basePath + call.path
    }
}

/// An AWS answer, body bounded.
struct AWSResponse: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// Whether the body was longer than what was kept.
    var truncated: Bool

    var text: String { String(decoding: body, as: UTF8.self) }
    var isSuccess: Bool { (200..<300).contains(status) }

    func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }
}

enum ContentMD5 {
    /// Base64 of the MD5 digest of `body` (S3 requires `Content-MD5` on PutBucketPolicy).
    static func of(_ body: [UInt8]) -> String {
        Data(Insecure.MD5.hash(data: body)).base64EncodedString()
    }
}
