import AgentSafeAWS
import AgentSafeCore

/// The call each action makes (every param of the action is used; nothing is silently dropped), and the line
/// that summarises its answer.
extension AWSExecutor {
    func mutatingCall(_ request: ExecutionRequest) throws(ExecutorError) -> AWSCall {
        let name = request.action.name
        switch name {
        case "ec2-stop-instance": return .ec2("StopInstances", [("InstanceId.1", try Self.required(request, "instance_id"))])
        case "ec2-start-instance": return .ec2("StartInstances", [("InstanceId.1", try Self.required(request, "instance_id"))])
        case "ec2-reboot-instance":
            return .ec2("RebootInstances", [("InstanceId.1", try Self.required(request, "instance_id"))])
        case "ec2-terminate-instance":
            return .ec2("TerminateInstances", [("InstanceId.1", try Self.required(request, "instance_id"))])

        case "iam-attach-role-policy", "iam-detach-role-policy":
            let operation = name == "iam-attach-role-policy" ? "AttachRolePolicy" : "DetachRolePolicy"
            return .iam(
                operation,
                [("RoleName", try Self.required(request, "role_name")), ("PolicyArn", try Self.required(request, "policy_arn"))])

        case "ecs-scale-service", "ecs-update-service":
            var body = JSONObjectText()
            body.add("cluster", try Self.required(request, "cluster"))
            body.add("service", try Self.required(request, "service"))
            let count = try Self.integer(request, "desired_count")
            let force = try Self.bool(request, "force_new_deployment") ?? false
            if name == "ecs-scale-service" {
                guard let count else { throw ExecutorError("missing_param", "\(name) needs desired_count") }
                body.add("desiredCount", count)
            } else {
                guard count != nil || force else {
                    throw ExecutorError("missing_param", "\(name) needs desired_count or force_new_deployment: true")
                }
                if let count { body.add("desiredCount", count) }
                if force { body.add("forceNewDeployment", true) }
            }
            return .ecs("UpdateService", body)

        case "ecs-stop-task":
            var body = JSONObjectText()
            body.add("cluster", try Self.required(request, "cluster"))
            body.add("task", try Self.required(request, "task"))
            if let reason = request.string("reason"), !reason.isEmpty { body.add("reason", reason) }
            return .ecs("StopTask", body)

        case "lambda-invoke-function":
            let function = try Self.required(request, "function_name")
            let type = request.string("invocation_type") ?? "RequestResponse"
            guard ["RequestResponse", "Event", "DryRun"].contains(type) else {
                throw ExecutorError("invalid_param", "invocation_type must be RequestResponse, Event or DryRun")
            }
            var headers = [SigV4Header("X-Amz-Invocation-Type", type)]
            var body: [UInt8] = []
            var display: String? = nil
            if let payload = request.string("payload"), !payload.isEmpty {
                body = Array(payload.utf8)
                headers.append(SigV4Header("Content-Type", "application/json"))
                if Self.isSensitive(request, "payload") { display = "<redacted: sensitive param payload, \(body.count) bytes>" }
            }
            let query = request.string("qualifier").map { [("Qualifier", $0)] } ?? []
            return .lambda(
                "Invoke", method: "POST", function: function, suffix: "/invocations", query: query, headers: headers,
                body: body, displayBody: display)

        case "lambda-update-function-config":
            let function = try Self.required(request, "function_name")
            var body = JSONObjectText()
            var display = JSONObjectText()
            if let memory = try Self.integer(request, "memory_size") {
                body.add("MemorySize", memory)
                display.add("MemorySize", memory)
            }
            if let timeout = try Self.integer(request, "timeout") {
                body.add("Timeout", timeout)
                display.add("Timeout", timeout)
            }
            if let text = request.string("environment_variables") {
                let variables = try Self.stringMap(text, param: "environment_variables")
                body.add("Environment", rawJSON: #"{"Variables":"# + variables.canonicalText + "}")
                display.add(
                    "Environment",
                    rawJSON: Self.isSensitive(request, "environment_variables")
                        ? #"{"Variables":"<redacted: sensitive param environment_variables>"}"#
                        : #"{"Variables":"# + variables.canonicalText + "}")
            }
            guard body.text != "{}" else {
                throw ExecutorError("missing_param", "\(name) needs memory_size, timeout or environment_variables")
            }
            return .lambda(
                "UpdateFunctionConfiguration", method: "PUT", function: function, suffix: "/configuration",
                headers: [SigV4Header("Content-Type", "application/json")], body: Array(body.text.utf8),
                displayBody: display.text)

        case "s3-delete-object":
            let bucket = try Self.bucket(request)
            let key = try Self.required(request, "key")
            var path = AWSPercentEncoding.s3ObjectPath(bucket: nil, key: key)
            if let version = request.string("version_id"), !version.isEmpty {
                path += "?versionId=" + AWSPercentEncoding.encode(version)
            }
            return .s3("DeleteObject", method: "DELETE", bucket: bucket, path: path)

        case "s3-put-bucket-policy":
            let bucket = try Self.bucket(request)
            let policy = try Self.required(request, "policy")
            let body = Array(policy.utf8)
            return .s3(
                "PutBucketPolicy", method: "PUT", bucket: bucket, path: "?policy",
                headers: [SigV4Header("Content-Type", "application/json"), SigV4Header("Content-MD5", ContentMD5.of(body))],
                body: body)

        default:
            throw ExecutorError("unsupported_action", "the aws executor has no mapping for \(name)")
        }
    }

    /// A short account of a successful answer (never the raw body of calls whose answer echoes sensitive values,
    /// such as a function's environment); the error body for a failed one.
    func summary(of call: AWSCall, request: ExecutionRequest, response: AWSResponse) -> String {
        guard response.isSuccess else { return response.text }
        switch (call.service, call.operation) {
        case (.ec2, "RebootInstances"):
            return "reboot of \(request.string("instance_id") ?? "?") requested"
        case (.ec2, _):
            let items = AWSXMLElement.parse(response.text)?.first("instancesSet")?.items ?? []
            let lines = items.map { item in
                "\(item.value("instanceId") ?? "?"): \(item.value("previousState", "name") ?? "?") → "
                    + (item.value("currentState", "name") ?? "?")
            }
            return lines.isEmpty ? response.text : lines.joined(separator: "\n")
        case (.iam, let operation):
            let verb = operation == "AttachRolePolicy" ? "attached to" : "detached from"
            return "\(request.string("policy_arn") ?? "?") \(verb) role \(request.string("role_name") ?? "?")"
        case (.ecs, "UpdateService"):
            let service = (try? JSONValue.parse(response.text))?["service"]
            return "service \(request.string("service") ?? "?") in cluster \(request.string("cluster") ?? "?"): "
                + "desiredCount \(Self.describe(service?["desiredCount"])), status \(Self.describe(service?["status"]))"
        case (.ecs, _):
            let task = (try? JSONValue.parse(response.text))?["task"]
            return "task \(Self.describe(task?["taskArn"])): lastStatus \(Self.describe(task?["lastStatus"])), "
                + "desiredStatus \(Self.describe(task?["desiredStatus"]))"
        case (.lambda, "Invoke"):
            switch response.status {
            case 202: return "asynchronous invocation accepted"
            case 204: return "dry run: the caller may invoke \(request.string("function_name") ?? "?")"
            default:
                let version = response.header("X-Amz-Executed-Version").map { " (version \($0))" } ?? ""
                return "invoked\(version): " + response.text + (response.truncated ? "…" : "")
            }
        case (.lambda, _):
            let config = try? JSONValue.parse(response.text)
            return "function \(Self.describe(config?["FunctionName"])): MemorySize \(Self.describe(config?["MemorySize"])), "
                + "Timeout \(Self.describe(config?["Timeout"])), LastUpdateStatus \(Self.describe(config?["LastUpdateStatus"]))"
        case (.s3, "DeleteObject"):
            var line = "deleted s3://\(call.bucket ?? "?")/\(request.string("key") ?? "?")"
            if let version = response.header("x-amz-version-id") { line += " (version \(version))" }
            if response.header("x-amz-delete-marker") == "true" { line += " (delete marker)" }
            return line
        case (.s3, _):
            return "bucket policy of \(call.bucket ?? "?") replaced"
        }
    }

    static func describe(_ value: JSONValue?) -> String {
        switch value {
        case .string(let s)?: s
        case .integer(let i)?: String(i)
        case .bool(let b)?: String(b)
        case .number(let d)?: String(d)
        default: "?"
        }
    }

    // MARK: Params

    static func required(_ request: ExecutionRequest, _ name: String) throws(ExecutorError) -> String {
        guard let value = request.string(name), !value.isEmpty else {
            throw ExecutorError("missing_param", "\(request.action.name) needs the \(name) param")
        }
        return value
    }

    static func integer(_ request: ExecutionRequest, _ name: String) throws(ExecutorError) -> Int64? {
        switch request.params[name] {
        case nil, .null?: return nil
        case .integer(let i)?: return i
        case .number(let d)? where d == d.rounded() && abs(d) < 1e15: return Int64(d)
        case .string(let s)?:
            if let i = Int64(s) { return i }
        default: break
        }
        throw ExecutorError("invalid_param", "\(name) must be an integer")
    }

    static func bool(_ request: ExecutionRequest, _ name: String) throws(ExecutorError) -> Bool? {
        switch request.params[name] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case .string("true")?: return true
        case .string("false")?: return false
        default: throw ExecutorError("invalid_param", "\(name) must be a boolean")
        }
    }

    static func isSensitive(_ request: ExecutionRequest, _ name: String) -> Bool {
        request.action.parameter(named: name)?.sensitive ?? true
    }

    /// The bucket param, checked to be a host label sequence (it goes into the host name).
    static func bucket(_ request: ExecutionRequest) throws(ExecutorError) -> String {
        let bucket = try required(request, "bucket")
        guard (3...63).contains(bucket.utf8.count),
            bucket.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D || $0 == 0x2E })
        else { throw ExecutorError("invalid_param", "bucket '\(bucket)' is not a valid bucket name") }
        return bucket
    }

    /// A JSON object of string values (Lambda environment variables).
    static func stringMap(_ text: String, param: String) throws(ExecutorError) -> JSONValue {
        guard case .object(let object)? = try? JSONValue.parse(text) else {
            throw ExecutorError("invalid_param", "\(param) must be a JSON object")
        }
        guard object.values.allSatisfy({ $0.stringValue != nil }) else {
            throw ExecutorError("invalid_param", "\(param) must map names to string values")
        }
        return .object(object)
    }
}
