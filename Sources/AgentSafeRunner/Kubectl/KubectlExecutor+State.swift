import AgentSafeCore

extension KubectlExecutor {
    /// The action's `state_fields`, flat and snake_case as the action names them (rollback params read
    /// `before_state.<field>`). A missing object yields no fields (e.g. a namespace before create-namespace);
    /// a field that can't be read (a best-effort count the credential may not allow) is omitted.
    public func state(_ request: ExecutionRequest) async throws -> [String: JSONValue] {
        let wanted = Set(request.action.stateFields.map(\.name))
        guard !wanted.isEmpty, KubectlActions.builders[request.action.name] != nil else { return [:] }
        _ = try globalArguments(request, timeout: request.timeout, planning: false)
        let p = KubectlParams(request)
        let reader = KubectlReader(executor: self, request: request)
        let fields = try await fields(request.action.name, p, reader, wanted)
        return fields.filter { wanted.contains($0.key) }
    }

    /// Reads the action's object and any extra counts it declares.
    private func fields(_ action: String, _ p: KubectlParams, _ reader: KubectlReader, _ wanted: Set<String>)
        async throws(ExecutorError) -> [String: JSONValue]
    {
        func read(_ namespace: String?, _ resource: String) async throws(ExecutorError) -> JSONValue? {
            switch await reader.get(namespace: namespace, [resource]) {
            case .found(let value): return value
            case .notFound: return nil
            case .forbidden(let message), .failed(let message): throw ExecutorError("api_error", message)
            }
        }
        func count(_ namespace: String?, _ arguments: [String]) async -> JSONValue? {
            guard case .found(let list) = await reader.get(namespace: namespace, arguments) else { return nil }
            return .integer(Int64(list["items"]?.arrayValue?.count ?? 0))
        }

        switch action {
        case "restart-deployment", "scale-deployment", "update-image", "rollout-undo", "rollout-pause", "rollout-resume":
            guard let dep = try await read(try p.name("namespace"), "deployment/" + (try p.name("deployment"))) else { return [:] }
            return Self.deploymentFields(dep, container: try p.optionalName("container"))
        case "delete-pod", "exec-pod", "port-forward":
            guard let pod = try await read(try p.name("namespace"), "pod/" + (try p.name("pod"))) else { return [:] }
            return Self.podFields(pod)
        case "cordon-node", "uncordon-node", "drain-node":
            let node = try p.name("node")
            guard let value = try await read(nil, "node/" + node) else { return [:] }
            var fields: [String: JSONValue] = [
                "unschedulable": .bool(value.at("spec", "unschedulable")?.boolValue ?? false), "ready": .bool(Self.nodeReady(value)),
            ]
            if wanted.contains("pod_count") {
                fields["pod_count"] = await count(nil, ["pods", "--all-namespaces", "--field-selector=spec.nodeName=" + node])
            }
            return fields
        case "create-namespace", "delete-namespace":
            let ns = try p.name("namespace")
            guard let value = try await read(nil, "namespace/" + ns) else { return [:] }
            var fields: [String: JSONValue] = ["phase": value.at("status", "phase") ?? .null, "uid": value.at("metadata", "uid") ?? .null]
            if wanted.contains("resource_counts"),
               case .found(let list) = await reader.get(namespace: ns, [Self.countedKinds.joined(separator: ",")])
            {
                var counts: [String: JSONValue] = [:]
                for item in list["items"]?.arrayValue ?? [] {
                    let kind = item["kind"]?.stringValue ?? "Unknown"
                    counts[kind] = .integer((counts[kind]?.int64Value ?? 0) + 1)
                }
                fields["resource_counts"] = .object(counts)
            }
            return fields.filter { $0.value != .null }
        case "apply-network-policy", "delete-network-policy":
            let ns = try p.name("namespace")
            var fields: [String: JSONValue] = [:]
            if let policy = try await read(ns, "networkpolicy/" + (try p.name("policy_name"))) { fields["policy"] = policy }
            if wanted.contains("selected_pods") {
                let selector = try p.optionalSelector("pod_selector") ?? ""
                fields["selected_pods"] = await count(ns, selector.isEmpty ? ["pods"] : ["pods", "--selector=" + selector])
            }
            return fields
        case "suspend-cronjob", "resume-cronjob":
            guard let cj = try await read(try p.name("namespace"), "cronjob/" + (try p.name("cronjob"))) else { return [:] }
            var fields: [String: JSONValue] = ["suspend": .bool(cj.at("spec", "suspend")?.boolValue ?? false)]
            fields["last_schedule_time"] = cj.at("status", "lastScheduleTime")
            return fields
        case "scale-hpa", "update-hpa-limits":
            guard let hpa = try await read(try p.name("namespace"), KubectlActions.hpaResource + "/" + (try p.name("hpa"))) else { return [:] }
            return Self.hpaFields(hpa)
        case "update-configmap":
            guard let cm = try await read(try p.name("namespace"), "configmap/" + (try p.name("configmap"))) else { return [:] }
            var fields: [String: JSONValue] = [:]
            fields["previous_value"] = cm.at("data", try p.token("key"))
            fields["resource_version"] = cm.at("metadata", "resourceVersion")
            return fields
        default:
            return [:]
        }
    }

    /// The kinds counted for delete-namespace's `resource_counts` (one `kubectl get a,b,c` call).
    static let countedKinds = [
        "pods", "services", "deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch", "cronjobs.batch",
        "configmaps", "secrets", "persistentvolumeclaims",
    ]

    static func deploymentFields(_ dep: JSONValue, container: String?) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [:]
        fields["generation"] = dep.at("metadata", "generation")
        fields["observed_generation"] = dep.at("status", "observedGeneration")
        // The API leaves zero counts out.
        fields["replicas"] = dep.at("spec", "replicas") ?? .integer(1)
        fields["available_replicas"] = dep.at("status", "availableReplicas") ?? .integer(0)
        fields["ready_replicas"] = dep.at("status", "readyReplicas") ?? .integer(0)
        fields["paused"] = .bool(dep.at("spec", "paused")?.boolValue ?? false)
        fields["restarted_at"] = dep.at("spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt")
        fields["revision"] = dep.at("metadata", "annotations", "deployment.kubernetes.io/revision")?.int64Value.map(JSONValue.integer)
        let containers = dep.at("spec", "template", "spec", "containers")?.arrayValue ?? []
        let chosen = container.map { name in containers.first { $0["name"]?.stringValue == name } } ?? containers.first
        fields["image"] = chosen?["image"]
        return fields
    }

    static func podFields(_ pod: JSONValue) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [:]
        fields["phase"] = pod.at("status", "phase")
        fields["node_name"] = pod.at("spec", "nodeName")
        fields["pod_ip"] = pod.at("status", "podIP")
        let owner = pod.at("metadata", "ownerReferences")?.arrayValue?.first { $0["controller"]?.boolValue == true }
        fields["owner_kind"] = owner?["kind"] ?? .string("")
        let restarts = (pod.at("status", "containerStatuses")?.arrayValue ?? []).compactMap { $0["restartCount"]?.int64Value }
        fields["restart_count"] = .integer(restarts.reduce(0, +))
        return fields
    }

    static func hpaFields(_ hpa: JSONValue) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [:]
        fields["min_replicas"] = hpa.at("spec", "minReplicas") ?? .integer(1)
        fields["max_replicas"] = hpa.at("spec", "maxReplicas")
        fields["current_replicas"] = hpa.at("status", "currentReplicas") ?? .integer(0)
        let metrics = hpa.at("spec", "metrics")?.arrayValue ?? []
        for (resource, field) in [("cpu", "target_cpu_percent"), ("memory", "target_memory_percent")] {
            if let index = KubectlActions.metricIndex(hpa, resource) {
                fields[field] = metrics[index].at("resource", "target", "averageUtilization")
            }
        }
        return fields
    }
}
