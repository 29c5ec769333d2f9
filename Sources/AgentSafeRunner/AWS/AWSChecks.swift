import AgentSafeAWS
import AgentSafeCore

/// Prechecks and state: each answered by a Describe/Get call that the action's own credential scope allows
/// (or by the params alone); a precheck whose call fails, or that can't be asked for lack of a credential,
/// fails and blocks. Prechecks this executor can't answer are advisory (reported, never blocking).
extension AWSExecutor {
    /// The prechecks evaluated for real, per action (docs/executors-aws.md). Anything else is advisory.
    static let realPrechecks: [String: Set<String>] = [
        "ec2-stop-instance": ["instance-running", "not-in-autoscaling-group", "no-instance-store-volumes"],
        "ec2-start-instance": ["instance-stopped"],
        "ec2-reboot-instance": ["instance-running", "status-checks-known"],
        "ec2-terminate-instance": ["instance-exists", "termination-protection-off"],
        "ecs-scale-service": ["service-active"],
        "ecs-update-service": ["service-active", "no-deployment-in-progress", "change-requested"],
        "ecs-stop-task": ["task-running", "task-owned-by-service"],
        "iam-attach-role-policy": ["role-exists", "policy-exists", "attachment-quota", "not-already-attached"],
        "iam-detach-role-policy": ["role-exists", "policy-attached", "role-keeps-access"],
        "lambda-invoke-function": ["function-exists"],
        "lambda-update-function-config": ["function-exists", "no-update-in-progress", "change-requested"],
        "s3-delete-object": ["object-exists", "no-object-lock"],
        "s3-put-bucket-policy": ["bucket-exists", "policy-valid", "public-access-block-on"],
    ]

    /// Why the advisory ones are not evaluated.
    static let advisoryReasons: [String: String] = [
        "volumes-snapshotted": "needs DescribeVolumes/DescribeSnapshots, outside the action's credential scope",
        "no-autoscaling-conflict": "needs Application Auto Scaling, outside the action's credential scope",
        "concurrency-available": "reserved concurrency in use is not readable from the Lambda API",
    ]

    func evaluate(
        _ name: String, _ request: ExecutionRequest, context: Context?, contextError: String?, reads: inout Reads
    ) async -> PrecheckOutcome {
        let action = request.action.name
        guard Self.realPrechecks[action]?.contains(name) == true else {
            let reason = Self.advisoryReasons[name] ?? "not a check the aws executor knows for \(action)"
            return PrecheckOutcome(name: name, passed: false, message: "not checked: \(reason)", advisory: true)
        }
        // Checks on the params alone.
        switch name {
        case "change-requested": return changeRequested(request)
        case "policy-valid": return policyValid(request)
        default: break
        }
        guard let context else {
            return PrecheckOutcome(name: name, passed: false, message: "cannot check: \(contextError ?? "no context")")
        }
        do {
            return try await check(name, context, &reads)
        } catch {
            if name == "public-access-block-on", error.message.contains("(403 ") {
                return PrecheckOutcome(
                    name: name, passed: false,
                    message: "not checked: the credential may not read the bucket's Block Public Access settings (\(error.message))",
                    advisory: true)
            }
            return PrecheckOutcome(name: name, passed: false, message: "cannot check: \(error.description)")
        }
    }

    func check(_ name: String, _ context: Context, _ reads: inout Reads) async throws(ExecutorError) -> PrecheckOutcome {
        let request = context.request
        func outcome(_ passed: Bool, _ message: String, advisory: Bool = false) -> PrecheckOutcome {
            PrecheckOutcome(name: name, passed: passed, message: message, advisory: advisory)
        }
        switch name {
        // EC2
        case "instance-running", "instance-stopped", "instance-exists", "not-in-autoscaling-group",
            "no-instance-store-volumes":
            let id = request.string("instance_id") ?? "?"
            guard let instance = try await ec2Instance(context, &reads) else {
                return outcome(false, "instance \(id) not found in \(context.region)")
            }
            let state = instance.state ?? "unknown"
            switch name {
            case "instance-running": return outcome(state == "running", "instance \(id) is \(state)")
            case "instance-stopped": return outcome(state == "stopped", "instance \(id) is \(state)")
            case "instance-exists":
                let gone = state == "terminated" || state == "shutting-down"
                return outcome(!gone, "instance \(id) is \(state)")
            case "not-in-autoscaling-group":
                if let group = instance.tags["aws:autoscaling:groupName"] {
                    return outcome(false, "instance \(id) belongs to Auto Scaling group \(group), which would replace it")
                }
                return outcome(true, "instance \(id) has no aws:autoscaling:groupName tag")
            default:
                if instance.rootDeviceType == "instance-store" {
                    return outcome(false, "instance \(id) has an instance-store root device")
                }
                return outcome(
                    true,
                    "root device is \(instance.rootDeviceType ?? "unknown"); instance-store volumes of the instance type itself are not checked",
                    advisory: true)
            }
        case "status-checks-known":
            let id = request.string("instance_id") ?? "?"
            guard let status = try await ec2Status(context, &reads) else {
                return outcome(false, "no status for instance \(id) in \(context.region)")
            }
            let known: Set<String> = ["ok", "impaired", "initializing"]
            let system = status.system ?? "absent"
            let instanceStatus = status.instance ?? "absent"
            return outcome(
                known.contains(system) && known.contains(instanceStatus),
                "system status \(system), instance status \(instanceStatus)")
        case "termination-protection-off":
            let id = request.string("instance_id") ?? "?"
            guard let protected = try await ec2TerminationProtection(context, &reads) else {
                return outcome(false, "instance \(id) not found in \(context.region)")
            }
            return outcome(!protected, protected ? "termination protection is on for \(id)" : "termination protection is off")

        // ECS
        case "service-active", "no-deployment-in-progress":
            let label = "service \(request.string("service") ?? "?") in cluster \(request.string("cluster") ?? "?")"
            guard let service = try await ecsService(context, &reads) else { return outcome(false, "\(label) not found") }
            if name == "service-active" {
                return outcome(service.status == "ACTIVE", "\(label) is \(service.status ?? "unknown")")
            }
            let statuses = service.deployments.map { $0.status ?? "?" }
            return outcome(
                statuses == ["PRIMARY"],
                "\(label) has \(statuses.count) deployment(s): \(statuses.joined(separator: ", "))")
        case "task-running", "task-owned-by-service":
            let label = "task \(request.string("task") ?? "?")"
            guard let task = try await ecsTask(context, &reads) else { return outcome(false, "\(label) not found") }
            if name == "task-running" {
                return outcome(task.lastStatus == "RUNNING", "\(label) is \(task.lastStatus ?? "unknown")")
            }
            let group = task.group ?? ""
            return outcome(group.hasPrefix("service:"), "\(label) group is '\(group)'")

        // IAM
        case "role-exists", "attachment-quota", "not-already-attached", "policy-attached", "role-keeps-access":
            let role = request.string("role_name") ?? "?"
            let arn = request.string("policy_arn") ?? "?"
            guard let attached = try await iamAttached(context, &reads) else {
                return outcome(false, "role \(role) not found")
            }
            switch name {
            case "role-exists": return outcome(true, "role \(role) exists (\(attached.count) managed policies attached)")
            case "attachment-quota":
                return outcome(
                    attached.count < iamAttachedPolicyQuota,
                    "\(attached.count) of \(iamAttachedPolicyQuota) managed policies attached to \(role)")
            case "not-already-attached":
                return outcome(!attached.contains(arn), attached.contains(arn) ? "\(arn) is already attached" : "\(arn) is not attached")
            case "policy-attached":
                return outcome(attached.contains(arn), attached.contains(arn) ? "\(arn) is attached" : "\(arn) is not attached to \(role)")
            default:
                let remaining = attached.filter { $0 != arn }.count
                return outcome(
                    remaining > 0,
                    remaining > 0
                        ? "\(remaining) other managed policies stay attached"
                        : "detaching would leave \(role) without managed policies (inline policies are not counted)")
            }
        case "policy-exists":
            let arn = request.string("policy_arn") ?? "?"
            guard let policy = try await iamPolicy(context, &reads) else { return outcome(false, "policy \(arn) not found") }
            let attachable = policy.isAttachable ?? true
            return outcome(attachable, attachable ? "policy \(arn) exists" : "policy \(arn) is not attachable")

        // Lambda
        case "function-exists", "no-update-in-progress":
            let function = request.string("function_name") ?? "?"
            guard let config = try await lambdaConfig(context, &reads) else {
                return outcome(false, "function \(function) not found in \(context.region)")
            }
            if name == "function-exists" {
                let state = config.state ?? "Active"
                return outcome(state == "Active", "function \(function) is \(config.state ?? "present (no State reported)")")
            }
            return outcome(
                config.lastUpdateStatus != "InProgress", "LastUpdateStatus is \(config.lastUpdateStatus ?? "not reported")")

        // S3
        case "object-exists", "no-object-lock":
            let key = "s3://\(request.string("bucket") ?? "?")/\(request.string("key") ?? "?")"
            guard let object = try await s3Object(context, &reads) else { return outcome(false, "\(key) not found") }
            if name == "object-exists" { return outcome(true, "\(key) exists (\(object.contentLength ?? 0) bytes)") }
            if object.legalHold?.uppercased() == "ON" { return outcome(false, "\(key) is under legal hold") }
            if let mode = object.lockMode {
                let until = object.retainUntil ?? "?"
                if let date = Self.timestamp(until), date < SigV4Timestamp.now() {
                    return outcome(true, "\(key) retention (\(mode)) ended \(until)")
                }
                return outcome(false, "\(key) is retained (\(mode)) until \(until)")
            }
            return outcome(true, "no retention or legal hold reported by HeadObject")
        case "bucket-exists":
            let bucket = request.string("bucket") ?? "?"
            switch try await s3Policy(context, &reads) {
            case .noBucket: return outcome(false, "bucket \(bucket) not found")
            case .none: return outcome(true, "bucket \(bucket) exists (no policy yet)")
            case .policy: return outcome(true, "bucket \(bucket) exists (has a policy)")
            }
        case "public-access-block-on":
            let bucket = request.string("bucket") ?? "?"
            guard let block = try await s3PublicAccessBlock(context, &reads) else {
                return outcome(false, "bucket \(bucket) has no Block Public Access configuration")
            }
            let off = block.flags.filter { !$0.value }.keys.sorted()
            return outcome(block.allOn, off.isEmpty ? "all four Block Public Access settings are on" : "off: \(off.joined(separator: ", "))")
        default:
            return outcome(false, "not checked: unknown precheck", advisory: true)
        }
    }

    func changeRequested(_ request: ExecutionRequest) -> PrecheckOutcome {
        let names =
            request.action.name == "ecs-update-service"
            ? ["desired_count", "force_new_deployment"] : ["memory_size", "timeout", "environment_variables"]
        let set = names.filter { name in
            switch request.params[name] {
            case nil, .null?, .bool(false)?: false
            default: true
            }
        }
        return PrecheckOutcome(
            name: "change-requested", passed: !set.isEmpty,
            message: set.isEmpty ? "none of \(names.joined(separator: ", ")) is set" : "set: \(set.joined(separator: ", "))")
    }

    /// The policy document's structure as IAM requires it for a bucket policy (checked locally; IAM Access
    /// Analyzer is not consulted).
    func policyValid(_ request: ExecutionRequest) -> PrecheckOutcome {
        func outcome(_ passed: Bool, _ message: String) -> PrecheckOutcome {
            PrecheckOutcome(name: "policy-valid", passed: passed, message: message)
        }
        guard let text = request.string("policy") else { return outcome(false, "no policy param") }
        let document: JSONValue
        do {
            document = try JSONValue.parse(text)
        } catch {
            return outcome(false, "the policy is not JSON: \(error)")
        }
        guard case .object(let object) = document else { return outcome(false, "the policy is not a JSON object") }
        if let version = object["Version"], version != "2012-10-17", version != "2008-10-17" {
            return outcome(false, "Version must be 2012-10-17 or 2008-10-17")
        }
        let statements: [JSONValue]
        switch object["Statement"] {
        case .array(let items)? where !items.isEmpty: statements = items
        case .object?: statements = [object["Statement"]!]
        default: return outcome(false, "Statement must be a statement or a non-empty list of statements")
        }
        let allowedKeys: Set<String> = [
            "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition",
        ]
        func isStrings(_ value: JSONValue?) -> Bool {
            switch value {
            case .string?: true
            case .array(let items)?: !items.isEmpty && items.allSatisfy { $0.stringValue != nil }
            default: false
            }
        }
        for (index, statement) in statements.enumerated() {
            guard case .object(let s) = statement else { return outcome(false, "statement \(index) is not an object") }
            if let unknown = s.keys.sorted().first(where: { !allowedKeys.contains($0) }) {
                return outcome(false, "statement \(index) has an unknown element \(unknown)")
            }
            guard s["Effect"] == "Allow" || s["Effect"] == "Deny" else {
                return outcome(false, "statement \(index): Effect must be Allow or Deny")
            }
            guard (s["Principal"] != nil) != (s["NotPrincipal"] != nil) else {
                return outcome(false, "statement \(index): a bucket policy needs exactly one of Principal and NotPrincipal")
            }
            guard isStrings(s["Action"]) != isStrings(s["NotAction"]) else {
                return outcome(false, "statement \(index): needs exactly one of Action and NotAction (strings)")
            }
            guard isStrings(s["Resource"]) != isStrings(s["NotResource"]) else {
                return outcome(false, "statement \(index): needs exactly one of Resource and NotResource (strings)")
            }
            if let condition = s["Condition"], condition.objectValue == nil {
                return outcome(false, "statement \(index): Condition must be an object")
            }
        }
        return outcome(true, "\(statements.count) statement(s), structure valid (IAM Access Analyzer not consulted)")
    }

    /// `2030-01-01T00:00:00.000Z` or without the fraction.
    static func timestamp(_ text: String) -> SigV4Timestamp? {
        var t = text
        if let dot = t.firstIndex(of: "."), t.hasSuffix("Z") { t = String(t[..<dot]) + "Z" }
        return SigV4Timestamp(iso8601: t)
    }

    // MARK: State

    /// Every state field this executor knows for the action (filtered to the action's `state_fields` by `state`).
    func readState(_ request: ExecutionRequest, _ context: Context, _ reads: inout Reads) async throws(ExecutorError)
        -> [String: JSONValue]
    {
        var state: [String: JSONValue] = [:]
        func set(_ key: String, _ value: String?) { if let value { state[key] = .string(value) } }
        func set(_ key: String, _ value: Int64?) { if let value { state[key] = .integer(value) } }
        let action = request.action.name
        switch action {
        case "ec2-stop-instance", "ec2-start-instance", "ec2-reboot-instance", "ec2-terminate-instance":
            guard let instance = try await ec2Instance(context, &reads) else { return [:] }
            set("state", instance.state)
            set("instance_type", instance.instanceType)
            set("public_ip", instance.publicIP)
            state["volumes"] = .array(
                instance.volumes.map { volume in
                    var item: [String: JSONValue] = ["volume_id": .string(volume.volumeID)]
                    if let device = volume.deviceName { item["device_name"] = .string(device) }
                    if let delete = volume.deleteOnTermination { item["delete_on_termination"] = .bool(delete) }
                    return .object(item)
                })
            if action == "ec2-reboot-instance", let status = try await ec2Status(context, &reads) {
                set("system_status", status.system)
                set("instance_status", status.instance)
            }
        case "ecs-scale-service", "ecs-update-service":
            guard let service = try await ecsService(context, &reads) else { return [:] }
            set("desired_count", service.desiredCount)
            set("running_count", service.runningCount)
            set("pending_count", service.pendingCount)
            set("task_definition", service.taskDefinition)
            set("deployment_id", service.deployments.first { $0.status == "PRIMARY" }?.id)
        case "ecs-stop-task":
            guard let task = try await ecsTask(context, &reads) else { return [:] }
            set("last_status", task.lastStatus)
            set("group", task.group)
            set("stopped_reason", task.stoppedReason)
        case "iam-attach-role-policy", "iam-detach-role-policy":
            guard let attached = try await iamAttached(context, &reads) else { return [:] }
            state["attached_policies"] = .array(attached.sorted().map(JSONValue.string))
        case "lambda-invoke-function", "lambda-update-function-config":
            guard let config = try await lambdaConfig(context, &reads) else { return [:] }
            set("state", config.state)
            set("version", config.version)
            set("memory_size", config.memorySize)
            set("timeout", config.timeout)
            set("last_update_status", config.lastUpdateStatus)
            set("environment_variables", config.variables?.canonicalText)
        case "s3-delete-object":
            guard let object = try await s3Object(context, &reads) else { return [:] }
            set("content_length", object.contentLength)
            set("content_type", object.contentType)
            set("etag", object.etag)
            set("version_id", object.versionID)
        case "s3-put-bucket-policy":
            if case .policy(let text) = try await s3Policy(context, &reads) { state["policy"] = .string(text) }
            // GetBucketPolicyStatus is outside the action's scope in AWS: a refusal leaves `public` out.
            if state["policy"] != nil, let isPublic = try? await s3PolicyStatus(context, &reads) {
                state["public"] = .bool(isPublic)
            }
        default:
            throw ExecutorError("unsupported_action", "the aws executor has no mapping for \(action)")
        }
        return state
    }
}
