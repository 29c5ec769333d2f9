import AgentSafeAWS
import AgentSafeCore
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// Runs the 13 AWS actions (`ec2-*`, `ecs-*`, `iam-*`, `lambda-*`, `s3-*`) as SigV4-signed HTTPS calls
/// (docs/executors-aws.md).
///
/// - Credentials come from the request's resolved credential only (`access_key_id`, `secret_access_key`, optional
///   `session_token`). Without one the executor refuses with `credential_required`, unless it was created with
///   `allowAmbientCredentials: true`: then `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` of
///   `environment` are used (never the shared credentials file or instance metadata). Meant for local tools and
///   tests; a sidecar that gates credentials must leave it off.
/// - Every call is bounded by `request.timeout` (one deadline per `execute`, `prechecks` or `state`), and every
///   answer by `maxResponseBytes`.
/// - Secrets never appear in plans, outputs or errors: `Authorization` and `X-Amz-Security-Token` are shown as
///   `<redacted>`, any occurrence of the secret key or session token in an answer is replaced, and sensitive
///   params (`payload`, `environment_variables`) are redacted in planned bodies.
public struct AWSExecutor: Executor {
    public let name = "aws"

    let overrides: [AWSService: AWSEndpoint.Override]
    let allowAmbientCredentials: Bool
    let environment: [String: String]
    let client: HTTPClient
    let now: @Sendable () -> SigV4Timestamp
    let maxResponseBytes: Int
    let maxOutputBytes: Int
    /// The managed-policy attachment quota the `attachment-quota` precheck compares with (AWS default: 10).
    let iamAttachedPolicyQuota: Int

    /// - Parameters:
    ///   - endpoint: Sends every service's calls here instead of AWS (S3 path-style), e.g. a moto server.
    ///   - endpoints: Per-service overrides, taking precedence over `endpoint`.
    ///   - allowAmbientCredentials: Use `AWS_*` variables of `environment` when the request has no credential.
    ///   - environment: Where ambient credentials are read (the process environment by default).
    ///   - httpClient: Defaults to a shared client that follows no redirects (a signed request is never resent to
    ///     another host).
    ///   - maxResponseBytes: Bytes of an answer kept for parsing; the rest is dropped.
    ///   - maxOutputBytes: Bytes of an answer kept in `ExecutionOutput.output`.
    public init(
        endpoint: URL? = nil, endpoints: [AWSService: URL] = [:], allowAmbientCredentials: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        httpClient: HTTPClient = AWSExecutor.sharedHTTPClient,
        now: @escaping @Sendable () -> SigV4Timestamp = { SigV4Timestamp.now() },
        maxResponseBytes: Int = 1 << 20, maxOutputBytes: Int = 16 << 10, iamAttachedPolicyQuota: Int = 10
    ) {
        var overrides: [AWSService: AWSEndpoint.Override] = [:]
        for service in AWSService.allCases {
            if let url = endpoints[service] ?? endpoint, let override = AWSEndpoint.Override(url) {
                overrides[service] = override
            }
        }
        self.overrides = overrides
        self.allowAmbientCredentials = allowAmbientCredentials
        self.environment = environment
        self.client = httpClient
        self.now = now
        self.maxResponseBytes = max(1024, maxResponseBytes)
        self.maxOutputBytes = max(256, maxOutputBytes)
        self.iamAttachedPolicyQuota = iamAttachedPolicyQuota
    }

    /// Process-wide, never shut down, no redirects, no decompression, 10 s connect timeout.
    public static let sharedHTTPClient = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: HTTPClient.Configuration.Timeout(connect: .seconds(10)),
            decompression: .disabled))

    /// The actions this executor maps.
    public static let actionNames: Set<String> = [
        "ec2-stop-instance", "ec2-start-instance", "ec2-reboot-instance", "ec2-terminate-instance",
        "ecs-scale-service", "ecs-update-service", "ecs-stop-task",
        "iam-attach-role-policy", "iam-detach-role-policy",
        "lambda-invoke-function", "lambda-update-function-config",
        "s3-delete-object", "s3-put-bucket-policy",
    ]

    public func supports(_ action: ActionDefinition) -> Bool { Self.actionNames.contains(action.name) }

    public func plan(_ request: ExecutionRequest) throws -> [PlannedCall] {
        let call = try mutatingCall(request)
        let region = try region(request)
        let hasToken = !(request.credential?.secret["session_token"] ?? "").isEmpty
        return [planned(call, region: region, sessionToken: hasToken)]
    }

    public func execute(_ request: ExecutionRequest) async -> ExecutionOutput {
        let call: AWSCall
        let context: Context
        do {
            call = try mutatingCall(request)
            context = try makeContext(request)
        } catch {
            return ExecutionOutput(status: .refused, error: scrub(error.description, request))
        }
        let response: AWSResponse
        let made: PlannedCall
        do {
            let sent = try await send(call, context)
            response = sent.0
            made = sent.1
        } catch {
            return ExecutionOutput(
                status: error.code == "timeout" ? .timeout : .failure, error: context.scrub(error.description),
                calls: [planned(call, region: context.region, sessionToken: context.credentials.sessionToken != nil)])
        }
        let output = context.scrub(bounded(summary(of: call, request: request, response: response)))
        guard response.isSuccess else {
            return ExecutionOutput(
                status: .failure, output: output, error: context.scrub(AWSErrorText.describe(call, response)),
                httpStatus: response.status, calls: [made])
        }
        if call.service == .lambda, call.operation == "Invoke", let functionError = response.header("X-Amz-Function-Error") {
            let excerpt = String(response.text.prefix(500))
            return ExecutionOutput(
                status: .failure, output: output,
                error: context.scrub("lambda Invoke: the function returned an error (\(functionError)): \(excerpt)"),
                httpStatus: response.status, calls: [made])
        }
        return ExecutionOutput(status: .success, output: output, httpStatus: response.status, calls: [made])
    }

    public func prechecks(_ request: ExecutionRequest) async -> [PrecheckOutcome] {
        let context: Context?
        let contextError: String?
        do {
            context = try makeContext(request)
            contextError = nil
        } catch {
            context = nil
            contextError = scrub(error.description, request)
        }
        var reads = Reads()
        var outcomes: [PrecheckOutcome] = []
        for precheck in request.action.prechecks {
            outcomes.append(
                await evaluate(precheck.name, request, context: context, contextError: contextError, reads: &reads))
        }
        return outcomes
    }

    public func state(_ request: ExecutionRequest) async throws -> [String: JSONValue] {
        let context = try makeContext(request)
        var reads = Reads()
        let all = try await readState(request, context, &reads)
        var state: [String: JSONValue] = [:]
        for field in request.action.stateFields {
            if let value = all[field.name] { state[field.name] = value }
        }
        return state
    }
}

// MARK: Credentials, context, transport

extension AWSExecutor {
    /// What one `execute`, `prechecks` or `state` works with.
    struct Context: Sendable {
        var request: ExecutionRequest
        var region: String
        var credentials: AWSCredentials
        var deadline: NIODeadline

        /// `text` with the secret key and the session token (and any other secret of the credential) replaced.
        func scrub(_ text: String) -> String {
            var secrets = [credentials.secretAccessKey, credentials.sessionToken ?? ""]
            secrets += request.credential.map { Array($0.secret.filter { $0.key != "access_key_id" }.values) } ?? []
            return AWSExecutor.scrub(text, secrets: secrets)
        }
    }

    func makeContext(_ request: ExecutionRequest) throws(ExecutorError) -> Context {
        guard supports(request.action) else {
            throw ExecutorError("unsupported_action", "the aws executor has no mapping for \(request.action.name)")
        }
        let region = try region(request)
        let credentials = try credentials(request)
        return Context(
            request: request, region: region, credentials: credentials,
            deadline: NIODeadline.now() + Self.timeAmount(request.timeout))
    }

    /// The credential's keys, or the environment's when allowed; `credential_required` otherwise.
    func credentials(_ request: ExecutionRequest) throws(ExecutorError) -> AWSCredentials {
        let action = request.action.name
        guard let credential = request.credential else {
            guard allowAmbientCredentials else {
                throw ExecutorError(
                    "credential_required",
                    "\(action) needs a resolved aws credential and the request has none (ambient credentials are off)")
            }
            do {
                return try AWSCredentials(environment: environment)
            } catch {
                throw ExecutorError("credential_required", "\(action): no credential and no ambient credentials: \(error)")
            }
        }
        guard credential.type == "aws" else {
            throw ExecutorError(
                "credential_required", "\(action) needs an aws credential, \(credential.id) is of type \(credential.type)")
        }
        if credential.expiresAt > 0, credential.expiresAt <= SigV4Timestamp.now().secondsSince1970 {
            throw ExecutorError("credential_required", "credential \(credential.id) expired at \(credential.expiresAt)")
        }
        guard let keyID = credential.secret["access_key_id"], !keyID.isEmpty,
            let secret = credential.secret["secret_access_key"], !secret.isEmpty
        else {
            throw ExecutorError(
                "credential_required", "credential \(credential.id) has no access_key_id and secret_access_key")
        }
        let token = credential.secret["session_token"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyId: keyID, secretAccessKey: secret, sessionToken: token)
    }

    /// `params.region`; IAM (global) doesn't need it.
    func region(_ request: ExecutionRequest) throws(ExecutorError) -> String {
        guard let region = request.string("region"), !region.isEmpty else {
            if request.action.name.hasPrefix("iam-") { return "us-east-1" }
            throw ExecutorError("missing_param", "\(request.action.name) needs the region param")
        }
        guard region.utf8.count <= 32, region.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D })
        else { throw ExecutorError("invalid_param", "region '\(region)' is not an AWS region name") }
        return region
    }

    func endpoint(_ call: AWSCall, region: String) -> AWSEndpoint {
        AWSEndpoint.resolve(service: call.service, region: region, bucket: call.bucket, override: overrides[call.service])
    }

    /// Signs and sends `call`; returns the answer (any status) and the call as made, secrets redacted.
    func send(_ call: AWSCall, _ context: Context) async throws(ExecutorError) -> (AWSResponse, PlannedCall) {
        let endpoint = endpoint(call, region: context.region)
        let path = endpoint.wirePath(call)
        let signer = SigV4Signer(
            credentials: context.credentials, region: endpoint.signingRegion, service: call.service.signingName)
        let unsigned = SigV4Request(
            method: call.method, path: path, host: endpoint.host, headers: call.headers, payload: .bytes(call.body))
        let headers: [SigV4Header]
        do {
            headers = try signer.sign(unsigned, at: now()).applied(to: call.headers)
        } catch {
            throw ExecutorError("io", "\(call.service.rawValue) \(call.operation): cannot sign the request: \(error)")
        }
        let made = PlannedCall.http(
            method: call.method, url: endpoint.origin + path, headers: Self.redacted(headers),
            body: call.displayBody ?? (call.body.isEmpty ? nil : String(decoding: call.body, as: UTF8.self)))
        var request = HTTPClientRequest(url: endpoint.origin + path)
        request.method = HTTPMethod(rawValue: call.method)
        for header in headers where header.name.lowercased() != "host" {
            request.headers.add(name: header.name, value: header.value)
        }
        request.headers.replaceOrAdd(name: "Host", value: endpoint.host)
        if !call.body.isEmpty || ["POST", "PUT"].contains(call.method) {
            request.body = .bytes(ByteBuffer(bytes: call.body))
        }
        let what = "\(call.service.rawValue) \(call.operation)"
        do {
            if NIODeadline.now() >= context.deadline {
                throw HTTPClientError.deadlineExceeded
            }
            let response = try await client.execute(request, deadline: context.deadline)
            var collected: [UInt8] = []
            var truncated = false
            if call.method != "HEAD" {
                for try await part in response.body {
                    let room = maxResponseBytes - collected.count
                    if part.readableBytes > room {
                        collected.append(contentsOf: part.readableBytesView.prefix(room))
                        truncated = true
                        break
                    }
                    collected.append(contentsOf: part.readableBytesView)
                }
            }
            return (
                AWSResponse(
                    status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                    body: collected, truncated: truncated),
                made
            )
        } catch let error as HTTPClientError
            where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            throw ExecutorError("timeout", "\(what) timed out after \(context.request.timeout)")
        } catch {
            if NIODeadline.now() >= context.deadline {
                // A connection that keeps failing is retried until the deadline, then fails with the last error.
                throw ExecutorError(
                    "timeout",
                    "\(what) timed out after \(context.request.timeout) (last error: \(context.scrub(String(describing: error))))")
            }
            throw ExecutorError("io", "\(what) to \(endpoint.origin) failed: \(context.scrub(String(describing: error)))")
        }
    }

    /// `call` as `plan` shows it: the headers that will be sent (the date aside), credentials redacted.
    func planned(_ call: AWSCall, region: String, sessionToken: Bool) -> PlannedCall {
        let endpoint = endpoint(call, region: region)
        var headers: [String: String] = ["Host": endpoint.host, "Authorization": "<redacted>"]
        for header in call.headers { headers[header.name] = header.value }
        if sessionToken { headers["X-Amz-Security-Token"] = "<redacted>" }
        if call.service == .s3 {
            headers["X-Amz-Content-SHA256"] = SHA256Hex.of(call.body)
        }
        return .http(
            method: call.method, url: endpoint.origin + endpoint.wirePath(call), headers: headers,
            body: call.displayBody ?? (call.body.isEmpty ? nil : String(decoding: call.body, as: UTF8.self)))
    }

    static func redacted(_ headers: [SigV4Header]) -> [String: String] {
        var out: [String: String] = [:]
        for header in headers {
            switch header.name.lowercased() {
            case "authorization", "x-amz-security-token": out[header.name] = "<redacted>"
            default: out[header.name] = header.value
            }
        }
        return out
    }

    func scrub(_ text: String, _ request: ExecutionRequest) -> String {
        let secrets = request.credential.map { Array($0.secret.filter { $0.key != "access_key_id" }.values) } ?? []
        return Self.scrub(text, secrets: secrets)
    }

    static func scrub(_ text: String, secrets: [String]) -> String {
        var text = text
        for secret in Set(secrets) where secret.count >= 4 && text.contains(secret) {
            text = text.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return text
    }

    func bounded(_ text: String) -> String {
        guard text.utf8.count > maxOutputBytes else { return text }
        let kept = String(decoding: text.utf8.prefix(maxOutputBytes), as: UTF8.self)
        return kept + "… [\(text.utf8.count - maxOutputBytes) more bytes]"
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        let capped = min(max(seconds, 0), 365 * 86_400)
        return .nanoseconds(capped * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

enum SHA256Hex {
    static func of(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in SHA256.hash(data: bytes) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
