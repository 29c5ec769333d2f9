import Crypto

/// Signs HTTP requests with AWS Signature Version 4 (`Authorization` header, `AWS4-HMAC-SHA256`).
///
/// ```swift
/// let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
/// let request = SigV4Request(method: "PUT", path: AWSPercentEncoding.s3ObjectPath(bucket: "audit", key: key),
///                            host: "s3.us-east-1.amazonaws.com", payload: .bytes(body))
/// let signed = try signer.sign(request, at: .now())
/// let headers = signed.applied(to: request.headers)   // send these
/// ```
///
/// The derived signing key is cached per (date, region, service), shared by copies of the signer.
public struct SigV4Signer: Sendable {
    /// How the canonical request is formed; the defaults suit every service but S3 (``Options/s3``).
    public struct Options: Sendable, Hashable {
        /// Encode the (already encoded) wire path once more, `%` included. True for every service except S3.
        public var uriEncodeTwice: Bool
        /// Remove `.`, `..` and empty path segments before signing. True for every service except S3, whose
        /// object keys may contain them.
        public var normalizePath: Bool
        /// Add and sign `X-Amz-Content-SHA256` with the payload hash (S3 requires it).
        public var signedBodyHeader: Bool
        /// Sign `X-Amz-Security-Token`. When false it is still added, after signing (a few services want that).
        public var signSessionToken: Bool
        /// Lower-case names of headers never signed because proxies and clients change them. `Authorization` is
        /// never signed whatever this says.
        public var unsignedHeaders: Set<String>

        /// Headers the AWS SDKs leave unsigned.
        public static let defaultUnsignedHeaders: Set<String> = [
            "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding", "connection",
        ]

        public init(
            uriEncodeTwice: Bool = true, normalizePath: Bool = true, signedBodyHeader: Bool = false,
            signSessionToken: Bool = true, unsignedHeaders: Set<String> = Options.defaultUnsignedHeaders
        ) {
            self.uriEncodeTwice = uriEncodeTwice
            self.normalizePath = normalizePath
            self.signedBodyHeader = signedBodyHeader
            self.signSessionToken = signSessionToken
            self.unsignedHeaders = unsignedHeaders
        }

        /// Every service but S3: normalised, double-encoded path; no body header.
        public static let standard = Options()
        /// S3: path as sent (no normalisation, single encoding); `X-Amz-Content-SHA256` signed.
        public static let s3 = Options(uriEncodeTwice: false, normalizePath: false, signedBodyHeader: true)

        /// ``s3`` for the S3 signing names (`s3`, `s3-object-lambda`, `s3-outposts`), ``standard`` otherwise.
        public static func forService(_ service: String) -> Options {
            ["s3", "s3-object-lambda", "s3-outposts"].contains(service) ? .s3 : .standard
        }
    }

    static let algorithm = "AWS4-HMAC-SHA256"

    public let credentials: AWSCredentials
    public let region: String
    public let service: String
    public let options: Options
    private let keyCache = SigningKeyCache()

    /// - Parameters:
    ///   - region: The signing region, e.g. `us-east-1`.
    ///   - service: The signing name, e.g. `s3`, `ec2`, `ecs`, `lambda`, `iam`.
    ///   - options: Defaults to ``Options/forService(_:)``.
    public init(credentials: AWSCredentials, region: String, service: String, options: Options? = nil) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.options = options ?? .forService(service)
    }

    /// Signs `request` as of `time`.
    public func sign(_ request: SigV4Request, at time: SigV4Timestamp) throws(SigV4Error) -> SigV4Signature {
        let prepared = try prepare(request, at: time)
        let stringToSign = stringToSign(canonicalRequest: prepared.canonicalRequest, scope: prepared.scope, time: time)
        let signature = sign(stringToSign: stringToSign, date: time.dateStamp)
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyId)/\(prepared.scope), "
            + "SignedHeaders=\(prepared.signedHeaders), Signature=\(signature)"
        return SigV4Signature(
            canonicalRequest: prepared.canonicalRequest,
            stringToSign: stringToSign,
            signature: signature,
            signedHeaders: prepared.signedHeaders,
            credentialScope: prepared.scope,
            authorization: authorization,
            headersToAdd: prepared.headersToAdd + [SigV4Header("Authorization", authorization)]
        )
    }

    /// Task 1 alone: the canonical request of `request` as of `time`.
    public func canonicalRequest(for request: SigV4Request, at time: SigV4Timestamp) throws(SigV4Error) -> String {
        try prepare(request, at: time).canonicalRequest
    }

    /// Task 2 alone: the string to sign.
    public func stringToSign(for request: SigV4Request, at time: SigV4Timestamp) throws(SigV4Error) -> String {
        let prepared = try prepare(request, at: time)
        return stringToSign(canonicalRequest: prepared.canonicalRequest, scope: prepared.scope, time: time)
    }

    /// Task 3 alone: the signature, lowercase hex.
    public func signature(for request: SigV4Request, at time: SigV4Timestamp) throws(SigV4Error) -> String {
        try sign(request, at: time).signature
    }

    /// The number of signing keys currently cached (for tests).
    var cachedKeyCount: Int { keyCache.count }
}

extension SigV4Signer {
    struct Prepared {
        var canonicalRequest: String
        var signedHeaders: String
        var scope: String
        var headersToAdd: [SigV4Header]
    }

    func prepare(_ request: SigV4Request, at time: SigV4Timestamp) throws(SigV4Error) -> Prepared {
        guard !request.method.isEmpty, request.method.utf8.allSatisfy(Self.isTokenByte) else {
            throw SigV4Error(code: .invalidMethod, message: "the HTTP method must be a non-empty token")
        }
        let payloadHash = try Self.payloadHash(request.payload)
        let token = credentials.sessionToken

        // Names this signer sets itself; any value the caller gave is replaced.
        var replaced: Set<[UInt8]> = [Array("authorization".utf8), Array("x-amz-date".utf8)]
        if token != nil { replaced.insert(Array("x-amz-security-token".utf8)) }
        if options.signedBodyHeader { replaced.insert(Array("x-amz-content-sha256".utf8)) }
        let unsigned = Set(options.unsignedHeaders.map { Array($0.lowercasedASCII().utf8) })

        var values: [[UInt8]: [[UInt8]]] = [:]
        for header in request.headers {
            let name = SigV4Canonical.headerName(header.name)
            guard !name.isEmpty, name.allSatisfy(Self.isTokenByte) else {
                throw SigV4Error(
                    code: .invalidHeaderName,
                    message: "header name '\(String(decoding: name, as: UTF8.self))' is not a valid token")
            }
            if replaced.contains(name) || unsigned.contains(name) { continue }
            values[name, default: []].append(SigV4Canonical.headerValue(header.value))
        }

        var headersToAdd: [SigV4Header] = []
        func add(_ name: String, _ value: String, signed: Bool = true) {
            headersToAdd.append(SigV4Header(name, value))
            if signed { values[Array(name.lowercasedASCII().utf8)] = [SigV4Canonical.headerValue(value)] }
        }
        if values[Array("host".utf8)] == nil {
            guard let host = request.host, !host.isEmpty else {
                throw SigV4Error(code: .missingHost, message: "the request has no Host header and no host was given")
            }
            add("Host", host)
        }
        add("X-Amz-Date", time.amzDate)
        if let token { add("X-Amz-Security-Token", token, signed: options.signSessionToken) }
        if options.signedBodyHeader { add("X-Amz-Content-SHA256", payloadHash) }

        let names = values.keys.sorted { $0.lexicographicallyPrecedes($1) }
        var canonical: [UInt8] = []
        canonical.reserveCapacity(512)
        canonical.append(contentsOf: request.method.utf8)
        canonical.append(0x0A)
        canonical.append(
            contentsOf: SigV4Canonical.uri(
                path: request.pathWithoutQuery, normalize: options.normalizePath,
                encodeTwice: options.uriEncodeTwice
            ).utf8)
        canonical.append(0x0A)
        canonical.append(contentsOf: SigV4Canonical.query(request.query).utf8)
        canonical.append(0x0A)
        var signedHeaders: [UInt8] = []
        for (position, name) in names.enumerated() {
            canonical.append(contentsOf: name)
            canonical.append(0x3A)
            for (index, value) in values[name, default: []].enumerated() {
                if index > 0 { canonical.append(0x2C) }
                canonical.append(contentsOf: value)
            }
            canonical.append(0x0A)
            if position > 0 { signedHeaders.append(0x3B) }
            signedHeaders.append(contentsOf: name)
        }
        canonical.append(0x0A)
        canonical.append(contentsOf: signedHeaders)
        canonical.append(0x0A)
        canonical.append(contentsOf: payloadHash.utf8)

        return Prepared(
            canonicalRequest: String(decoding: canonical, as: UTF8.self),
            signedHeaders: String(decoding: signedHeaders, as: UTF8.self),
            scope: "\(time.dateStamp)/\(region)/\(service)/aws4_request",
            headersToAdd: headersToAdd
        )
    }

    func stringToSign(canonicalRequest: String, scope: String, time: SigV4Timestamp) -> String {
        let hash = ASCII.hex(SHA256.hash(data: Array(canonicalRequest.utf8)))
        return "\(Self.algorithm)\n\(time.amzDate)\n\(scope)\n\(hash)"
    }

    func sign(stringToSign: String, date: String) -> String {
        let scope = SigningKeyCache.Scope(date: date, region: region, service: service)
        let key = keyCache.key(for: scope) { scope in
            var key = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
            for part in [scope.date, scope.region, scope.service, "aws4_request"] {
                key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
            }
            return key
        }
        return ASCII.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    static func payloadHash(_ payload: SigV4Payload) throws(SigV4Error) -> String {
        switch payload {
        case .bytes(let bytes):
            return bytes.isEmpty ? SigV4Payload.emptySHA256 : ASCII.hex(SHA256.hash(data: bytes))
        case .unsigned:
            return SigV4Payload.unsignedValue
        case .precomputedSHA256(let hash):
            let lower = hash.lowercasedASCII()
            guard lower.utf8.count == 64, lower.utf8.allSatisfy({ ASCII.hexValue($0) != nil }) else {
                throw SigV4Error(code: .invalidPayloadHash, message: "payload hash must be 64 hex digits")
            }
            return lower
        }
    }

    /// RFC 9110 `tchar`: what a method or header name may contain.
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
}

extension SigV4Signer: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Region, service and access key id; never the secret, the token or a derived key.
    public var description: String {
        "SigV4Signer(accessKeyId: \(credentials.accessKeyId), region: \(region), service: \(service))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: ["credentials": credentials, "region": region, "service": service, "options": options],
            displayStyle: .struct)
    }
}
