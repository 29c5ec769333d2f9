import AgentSafeAWS
import AgentSafeCore

/// The Describe/Get calls behind prechecks and state, each made at most once per `prechecks` or `state` call.
/// "Not found" answers are values (`nil`), not errors; anything else that is not a success is an `api_error`.
struct Reads: Sendable {
    var ec2Instance: Result<EC2Instance?, ExecutorError>?
    var ec2Status: Result<EC2Status?, ExecutorError>?
    var ec2TerminationProtection: Result<Bool?, ExecutorError>?
    var ecsService: Result<ECSServiceInfo?, ExecutorError>?
    var ecsTask: Result<ECSTaskInfo?, ExecutorError>?
    var iamAttached: Result<[String]?, ExecutorError>?
    var iamPolicy: Result<IAMPolicyInfo?, ExecutorError>?
    var lambda: Result<LambdaConfig?, ExecutorError>?
    var s3Object: Result<S3ObjectInfo?, ExecutorError>?
    var s3Policy: Result<S3BucketPolicy, ExecutorError>?
    var s3PolicyStatus: Result<Bool?, ExecutorError>?
    var s3PublicAccessBlock: Result<S3PublicAccessBlock?, ExecutorError>?
}

struct EC2Instance: Sendable, Hashable {
    var state: String?
    var instanceType: String?
    var publicIP: String?
    var rootDeviceType: String?
    var tags: [String: String]
    var volumes: [EC2Volume]
}

struct EC2Volume: Sendable, Hashable {
    var deviceName: String?
    var volumeID: String
    var deleteOnTermination: Bool?
}

struct EC2Status: Sendable, Hashable {
    var system: String?
    var instance: String?
}

struct ECSServiceInfo: Sendable, Hashable {
    var status: String?
    var desiredCount: Int64?
    var runningCount: Int64?
    var pendingCount: Int64?
    var taskDefinition: String?
    var deployments: [ECSDeployment]
}

struct ECSDeployment: Sendable, Hashable {
    var id: String?
    var status: String?
}

struct ECSTaskInfo: Sendable, Hashable {
    var lastStatus: String?
    var group: String?
    var stoppedReason: String?
}

struct IAMPolicyInfo: Sendable, Hashable {
    var isAttachable: Bool?
}

struct LambdaConfig: Sendable, Hashable {
    var state: String?
    var version: String?
    var lastUpdateStatus: String?
    var memorySize: Int64?
    var timeout: Int64?
    /// `Environment.Variables`, when the function has any.
    var variables: JSONValue?
}

struct S3ObjectInfo: Sendable, Hashable {
    var contentLength: Int64?
    var contentType: String?
    var etag: String?
    var versionID: String?
    var lockMode: String?
    var retainUntil: String?
    var legalHold: String?
}

enum S3BucketPolicy: Sendable, Hashable {
    case policy(String)
    case none
    case noBucket
}

struct S3PublicAccessBlock: Sendable, Hashable {
    var flags: [String: Bool]
    var allOn: Bool { flags.count == 4 && flags.values.allSatisfy { $0 } }
}

extension AWSExecutor {
    /// Returns the memoised value of `slot`, fetching it the first time.
    func memo<T: Sendable>(
        _ slot: inout Result<T, ExecutorError>?, _ fetch: () async throws(ExecutorError) -> T
    ) async throws(ExecutorError) -> T {
        if let slot { return try slot.get() }
        do {
            let value = try await fetch()
            slot = .success(value)
            return value
        } catch {
            slot = .failure(error)
            throw error
        }
    }

    /// Sends a read; a non-success answer whose code is in `notFound` gives nil, any other an `api_error`.
    func read(_ call: AWSCall, _ context: Context, notFound: Set<String> = []) async throws(ExecutorError) -> AWSResponse? {
        let (response, _) = try await send(call, context)
        if response.isSuccess { return response }
        let (code, _) = AWSErrorText.parse(response)
        if notFound.contains(code) { return nil }
        throw ExecutorError("api_error", context.scrub(AWSErrorText.describe(call, response)))
    }

    // MARK: EC2

    func ec2Instance(_ context: Context, _ reads: inout Reads) async throws(ExecutorError) -> EC2Instance? {
        let id = try Self.required(context.request, "instance_id")
        return try await memo(&reads.ec2Instance) { () async throws(ExecutorError) -> EC2Instance? in
            guard
                let response = try await read(
                    .ec2("DescribeInstances", [("InstanceId.1", id)]), context, notFound: ["InvalidInstanceID.NotFound"]),
                let item = AWSXMLElement.parse(response.text)?.first("instancesSet")?.items.first
            else { return nil }
            var tags: [String: String] = [:]
            for tag in item.child("tagSet")?.items ?? [] {
                if let key = tag.value("key") { tags[key] = tag.value("value") ?? "" }
            }
            let volumes = (item.child("blockDeviceMapping")?.items ?? []).compactMap { mapping -> EC2Volume? in
                guard let volume = mapping.value("ebs", "volumeId") else { return nil }
                return EC2Volume(
                    deviceName: mapping.value("deviceName"), volumeID: volume,
                    deleteOnTermination: mapping.value("ebs", "deleteOnTermination").map { $0 == "true" })
            }
            return EC2Instance(
                state: item.value("instanceState", "name"), instanceType: item.value("instanceType"),
                publicIP: item.value("ipAddress"), rootDeviceType: item.value("rootDeviceType"), tags: tags,
                volumes: volumes)
        }
    }

    func ec2Status(_ context: Context, _ reads: inout Reads) async throws(ExecutorError) -> EC2Status? {
        let id = try Self.required(context.request, "instance_id")
        return try await memo(&reads.ec2Status) { () async throws(ExecutorError) -> EC2Status? in
            guard
                let response = try await read(
                    .ec2("DescribeInstanceStatus", [("InstanceId.1", id), ("IncludeAllInstances", "true")]), context,
                    notFound: ["InvalidInstanceID.NotFound"]),
                let item = AWSXMLElement.parse(response.text)?.first("instanceStatusSet")?.items.first
            else { return nil }
            return EC2Status(system: item.value("systemStatus", "status"), instance: item.value("instanceStatus", "status"))
        }
    }

    func ec2TerminationProtection(_ context: Context, _ reads: inout Reads) async throws(ExecutorError) -> Bool? {
        let id = try Self.required(context.request, "instance_id")
        return try await memo(&reads.ec2TerminationProtection) { () async throws(ExecutorError) -> Bool? in
            guard
                let response = try await read(
                    .ec2("DescribeInstanceAttribute", [("InstanceId", id), ("Attribute", "disableApiTermination")]),
                    context, notFound: ["InvalidInstanceID.NotFound"]),
                let value = AWSXMLElement.parse(response.text)?.first("disableApiTermination")?.value("value")
            else { return nil }
            return value == "true"
        }
    }

    // MARK: ECS

    func ecsService(_ context: Context, _ reads: inout Reads) async throws(ExecutorError) -> ECSServiceInfo? {
        var body = JSONObjectText()
        body.add("cluster", try Self.required(context.request, "cluster"))
        body.add("services", strings: [try Self.required(context.request, "service")])
        return try await memo(&reads.ecsService) { () async throws(ExecutorError) -> ECSServiceInfo? in
            guard
                let response = try await read(
                    .ecs("DescribeServices", body), context, notFound: ["ClusterNotFoundException"]),
                let service = (try? JSONValue.parse(response.text))?["services"]?.arrayValue?.first
            else { return nil }
            let deployments = (service["deployments"]?.arrayValue ?? []).map {
                ECSDeployment(id: $0["id"]?.stringValue, status: $0["status"]?.stringValue)
            }
            return ECSServiceInfo(
                status: service["status"]?.stringValue, desiredCount: Self.int(service["desiredCount"]),
                runningCount: Self.int(service["runningCount"]), pendingCount: Self.int(service["pendingCount"]),
                taskDefinition: service["taskDefinition"]?.stringValue, deployments: deployments)
        }
    }

    func ecsTask(_ context: Context, _ reads: inout Reads) async throws(ExecutorError) -> ECSTaskInfo? {
        var body = JSONObjectText()
        body.add("cluster", try Self.required(context.request, "cluster"))
        body.add("tasks", strings: [try Self.required(context.request, "task")])
        return try await memo(&reads.ecsTask) { () async throws(ExecutorError) -> ECSTaskInfo? in
            guard
                let response = try await read(.ecs("DescribeTasks", body), context, notFound: ["ClusterNotFoundException"]),
                let task = (try? JSONValue.parse(response.text))?["tasks"]?.arrayValue?.first
            else { return nil }
            return ECSTaskInfo(
                lastStatus: task["lastStatus"]?.stringValue, group: task["group"]?.stringValue,
                stoppedReason: task["stoppedReason"]?.stringValue)
        }
    }

    // MARK: IAM

    /// The ARNs of the managed policies attached to `role_name` (all pages); nil when the role doesn't exist.
    func iamAttached(_ context: Context, _ reads: inout Reads) async throws(ExecutorError) -> [String]? {
        let role = try Self.required(context.request, "role_name")
        return try await memo(&reads.iamAttached) { () async throws(ExecutorError) -> [String]? in
            var arns: [String] = []
            var marker: String? = nil
            for _ in 0..<20 {
                var parameters = [("RoleName", role), ("MaxItems", "1000")]
                if let marker { parameters.append(("Marker", marker)) }
                guard
                    let response = try await read(
                        .iam("ListAttachedRolePolicies", parameters), context, notFound: ["NoSuchEntity"])
                else { return nil }
                let result = AWSXMLElement.parse(response.text)?.first("ListAttachedRolePoliciesResult")
                arns += (result?.child("AttachedPolicies")?.items ?? []).compactMap { $0.value("PolicyArn") }
                guard result?.value("IsTruncated") == "true", let next = result?.value("Marker") else { return arns }
                marker = next
            }
            throw ExecutorError("api_error", "iam ListAttachedRolePolicies: more than 20 pages for role \(role)")
        }
    }

    func iamPolicy(_ context: Context, _ reads: inout Reads) async throws(ExecutorError) -> IAMPolicyInfo? {
        let arn = try Self.required(context.request, "policy_arn")
        return try await memo(&reads.iamPolicy) { () async throws(ExecutorError) -> IAMPolicyInfo? in
            guard let response = try await read(.iam("GetPolicy", [("PolicyArn", arn)]), context, notFound: ["NoSuchEntity"])
            else { return nil }
            let policy = AWSXMLElement.parse(response.text)?.first("Policy")
            return IAMPolicyInfo(isAttachable: policy?.value("IsAttachable").map { $0 == "true" })
        }
    }

    // MARK: Lambda

    /// GetFunction (with the qualifier, when given) for the invoke action, GetFunctionConfiguration otherwise:
    /// each action's credential scope allows exactly that one.
    func lambdaConfig(_ context: Context, _ reads: inout Reads) async throws(ExecutorError) -> LambdaConfig? {
        let function = try Self.required(context.request, "function_name")
        let invoke = context.request.action.name == "lambda-invoke-function"
        let qualifier = context.request.string("qualifier").map { [("Qualifier", $0)] } ?? []
        let call: AWSCall =
            invoke
            ? .lambda("GetFunction", method: "GET", function: function, suffix: "", query: qualifier)
            : .lambda("GetFunctionConfiguration", method: "GET", function: function, suffix: "/configuration")
        return try await memo(&reads.lambda) { () async throws(ExecutorError) -> LambdaConfig? in
            guard let response = try await read(call, context, notFound: ["ResourceNotFoundException"]),
                let json = try? JSONValue.parse(response.text)
            else { return nil }
            let found: JSONValue? = invoke ? json["Configuration"] : json
            guard let config = found else { return nil }
            var variables = config["Environment"]?["Variables"]
            if case .object(let object)? = variables, object.isEmpty { variables = nil }
            return LambdaConfig(
                state: config["State"]?.stringValue, version: config["Version"]?.stringValue,
                lastUpdateStatus: config["LastUpdateStatus"]?.stringValue, memorySize: Self.int(config["MemorySize"]),
                timeout: Self.int(config["Timeout"]), variables: variables)
        }
    }

    // MARK: S3

    func s3Object(_ context: Context, _ reads: inout Reads) async throws(ExecutorError) -> S3ObjectInfo? {
        let bucket = try Self.bucket(context.request)
        var path = AWSPercentEncoding.s3ObjectPath(bucket: nil, key: try Self.required(context.request, "key"))
        if let version = context.request.string("version_id"), !version.isEmpty {
            path += "?versionId=" + AWSPercentEncoding.encode(version)
        }
        let call = AWSCall.s3("HeadObject", method: "HEAD", bucket: bucket, path: path)
        return try await memo(&reads.s3Object) { () async throws(ExecutorError) -> S3ObjectInfo? in
            guard let response = try await read(call, context, notFound: ["NotFound", "NoSuchKey"]) else { return nil }
            return S3ObjectInfo(
                contentLength: response.header("Content-Length").flatMap { Int64($0) },
                contentType: response.header("Content-Type"), etag: response.header("ETag"),
                versionID: response.header("x-amz-version-id"), lockMode: response.header("x-amz-object-lock-mode"),
                retainUntil: response.header("x-amz-object-lock-retain-until-date"),
                legalHold: response.header("x-amz-object-lock-legal-hold"))
        }
    }

    func s3Policy(_ context: Context, _ reads: inout Reads) async throws(ExecutorError) -> S3BucketPolicy {
        let call = AWSCall.s3("GetBucketPolicy", method: "GET", bucket: try Self.bucket(context.request), path: "?policy")
        return try await memo(&reads.s3Policy) { () async throws(ExecutorError) -> S3BucketPolicy in
            let (response, _) = try await send(call, context)
            if response.isSuccess { return .policy(response.text) }
            switch AWSErrorText.parse(response).code {
            case "NoSuchBucketPolicy": return .none
            case "NoSuchBucket": return .noBucket
            default: throw ExecutorError("api_error", context.scrub(AWSErrorText.describe(call, response)))
            }
        }
    }

    /// Whether S3 evaluates the bucket policy as public; nil when there is no policy.
    func s3PolicyStatus(_ context: Context, _ reads: inout Reads) async throws(ExecutorError) -> Bool? {
        let call = AWSCall.s3(
            "GetBucketPolicyStatus", method: "GET", bucket: try Self.bucket(context.request), path: "?policyStatus")
        return try await memo(&reads.s3PolicyStatus) { () async throws(ExecutorError) -> Bool? in
            guard let response = try await read(call, context, notFound: ["NoSuchBucketPolicy"]),
                let value = AWSXMLElement.parse(response.text)?.first("IsPublic")?.text.trimmingWhitespace(),
                !value.isEmpty
            else { return nil }
            return value.lowercased() == "true"
        }
    }

    /// The bucket's Block Public Access flags; nil when the bucket has no configuration (everything off).
    func s3PublicAccessBlock(_ context: Context, _ reads: inout Reads) async throws(ExecutorError) -> S3PublicAccessBlock? {
        let call = AWSCall.s3(
            "GetPublicAccessBlock", method: "GET", bucket: try Self.bucket(context.request), path: "?publicAccessBlock")
        return try await memo(&reads.s3PublicAccessBlock) { () async throws(ExecutorError) -> S3PublicAccessBlock? in
            guard
                let response = try await read(call, context, notFound: ["NoSuchPublicAccessBlockConfiguration"]),
                let config = AWSXMLElement.parse(response.text)?.first("PublicAccessBlockConfiguration")
            else { return nil }
            var flags: [String: Bool] = [:]
            for name in ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"] {
                flags[name] = config.value(name)?.lowercased() == "true"
            }
            return S3PublicAccessBlock(flags: flags)
        }
    }

    static func int(_ value: JSONValue?) -> Int64? {
        switch value {
        case .integer(let i)?: i
        case .number(let d)?: Int64(exactly: d)
        default: nil
        }
    }
}
