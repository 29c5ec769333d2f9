import AgentSafeCore

/// The catalogue's Kubernetes actions, each mapped to kubectl commands built only from the action's params.
enum KubectlActions {
    typealias Builder = @Sendable (KubectlParams) throws(ExecutorError) -> KubectlOperation

    /// Resource arguments kubectl resolves through discovery; HPAs are pinned to autoscaling/v2 (the version with
    /// the `metrics` list that update-hpa-limits edits).
    static let hpaResource = "horizontalpodautoscalers.v2.autoscaling"

    static func operation(for request: ExecutionRequest) throws(ExecutorError) -> KubectlOperation {
        guard let builder = builders[request.action.name] else {
            throw ExecutorError("unsupported_action", "no kubectl mapping for action '\(request.action.name)'")
        }
        return try builder(KubectlParams(request))
    }

    static var names: Set<String> { Set(builders.keys) }

    static let builders: [String: Builder] = [
        // Deployments
        "restart-deployment": { p throws(ExecutorError) in
            .init([KubectlCommand(namespace: try p.name("namespace"), ["rollout", "restart", "deployment/" + (try p.name("deployment"))])])
        },
        "scale-deployment": { p throws(ExecutorError) in
            let replicas = try p.int("replicas")
            return .init([KubectlCommand(namespace: try p.name("namespace"),
                                         ["scale", "deployment/" + (try p.name("deployment")), "--replicas=\(replicas)"])])
        },
        "update-image": { p throws(ExecutorError) in
            let container = try p.name("container")
            let image = try p.token("image")
            return .init([KubectlCommand(namespace: try p.name("namespace"),
                                         ["set", "image", "deployment/" + (try p.name("deployment")), container + "=" + image])])
        },
        "rollout-undo": { p throws(ExecutorError) in
            var argv = ["rollout", "undo", "deployment/" + (try p.name("deployment"))]
            if let revision = try p.optionalInt("revision") { argv.append("--to-revision=\(revision)") }
            return .init([KubectlCommand(namespace: try p.name("namespace"), argv)])
        },
        "rollout-status": { p throws(ExecutorError) in
            let timeout = try p.int("timeout")
            return .init([KubectlCommand(namespace: try p.name("namespace"),
                                         ["rollout", "status", "deployment/" + (try p.name("deployment")), "--watch=true",
                                          "--timeout=\(timeout)s"])])
        },
        "rollout-pause": { p throws(ExecutorError) in
            .init([KubectlCommand(namespace: try p.name("namespace"), ["rollout", "pause", "deployment/" + (try p.name("deployment"))])])
        },
        "rollout-resume": { p throws(ExecutorError) in
            .init([KubectlCommand(namespace: try p.name("namespace"), ["rollout", "resume", "deployment/" + (try p.name("deployment"))])])
        },
        "get-deployment": { p throws(ExecutorError) in
            .init([KubectlCommand(namespace: try p.name("namespace"), ["get", "deployment/" + (try p.name("deployment")), "--output=json"])])
        },

        // Pods
        "delete-pod": { p throws(ExecutorError) in
            let grace = try p.int("grace_period")
            var argv = ["delete", "pod/" + (try p.name("pod")), "--grace-period=\(grace)", "--wait=false"]
            // Without --force, kubectl silently turns --grace-period=0 into 1; the action promises an immediate kill.
            if grace == 0 { argv.append("--force") }
            return .init([KubectlCommand(namespace: try p.name("namespace"), argv)])
        },
        "get-pod-logs": { p throws(ExecutorError) in
            var argv = ["logs", "pod/" + (try p.name("pod"))]
            if let container = try p.optionalName("container") { argv.append("--container=" + container) }
            argv.append("--tail=\(try p.int("tail_lines"))")
            if let since = try p.optionalInt("since_seconds") { argv.append("--since=\(since)s") }
            if try p.bool("previous", default: false) { argv.append("--previous=true") }
            return .init([KubectlCommand(namespace: try p.name("namespace"), argv)])
        },
        "list-pods": { p throws(ExecutorError) in
            // `kubectl get` has no limit flag (--chunk-size pages through everything), so the list is read raw with
            // the API's own `limit` and `labelSelector` query parameters.
            let namespace = try p.name("namespace")
            var path = "/api/v1/namespaces/\(namespace)/pods?limit=\(try p.int("limit"))"
            if let selector = try p.optionalSelector("label_selector"), !selector.isEmpty {
                path += "&labelSelector=" + percentEncode(selector)
            }
            return .init([KubectlCommand(["get", "--raw", path])])
        },
        "exec-pod": { p throws(ExecutorError) in
            var argv = ["exec", "pod/" + (try p.name("pod"))]
            if let container = try p.optionalName("container") { argv.append("--container=" + container) }
            // No -i, no -t: no stdin, no TTY. Everything after `--` is the container's argv, one element each.
            argv.append("--")
            argv += try p.commandItems("command")
            let seconds = try p.int("timeout")
            return .init(.plain, [KubectlCommand(namespace: try p.name("namespace"), argv)], ownTimeout: .seconds(seconds))
        },
        "port-forward": { p throws(ExecutorError) in
            let local = try p.int("local_port")
            let remote = try p.int("remote_port")
            let seconds = try p.int("duration_seconds")
            return .init(.tunnel(seconds: seconds),
                         [KubectlCommand(namespace: try p.name("namespace"),
                                         ["port-forward", "pod/" + (try p.name("pod")), "--address=127.0.0.1", "\(local):\(remote)"])],
                         ownTimeout: .seconds(seconds))
        },

        // Config
        "get-configmap": { p throws(ExecutorError) in
            .init([KubectlCommand(namespace: try p.name("namespace"), ["get", "configmap/" + (try p.name("configmap")), "--output=json"])])
        },
        "update-configmap": { p throws(ExecutorError) in
            let key = try p.token("key")
            try checkDataKey(key, "key")
            let value = try p.text("value")
            // A value may be up to 1 MiB, far above what one argv element may hold, and it is sensitive: it goes
            // through a 0600 file, and plans show it redacted.
            let patch: JSONValue = ["data": .object([key: .string(value)])]
            let shown: JSONValue = ["data": .object([key: "<redacted>"])]
            return .init([KubectlCommand(namespace: try p.name("namespace"), [
                .plain("patch"), .plain("configmap/" + (try p.name("configmap"))), .plain("--type=merge"),
                .file(flag: "--patch-file", name: "configmap-patch.json", content: patch.canonicalText, shown: shown.canonicalText),
            ])])
        },
        "get-secret": { p throws(ExecutorError) in
            let key = try p.optionalToken("key")
            if let key { try checkDataKey(key, "key") }
            // With a key, kubectl prints only that (base64) value; checkDataKey keeps the key inside the quotes.
            let output = key.map { "--output=go-template={{index .data \"\($0)\"}}" } ?? "--output=json"
            return .init(.secret(key: key),
                         [KubectlCommand(namespace: try p.name("namespace"), ["get", "secret/" + (try p.name("secret")), output])])
        },

        // Namespaces
        "create-namespace": { p throws(ExecutorError) in
            // A raw POST of a JSON document (`kubectl create namespace` would send protobuf built by kubectl).
            let namespace: JSONValue = ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(try p.name("namespace"))]]
            return .init([KubectlCommand([
                .plain("create"), .plain("--raw"), .plain("/api/v1/namespaces?fieldValidation=Strict"),
                .file(flag: "--filename", name: "namespace.json", content: namespace.canonicalText, shown: namespace.canonicalText),
            ])])
        },
        "delete-namespace": { p throws(ExecutorError) in
            .init([KubectlCommand(["delete", "namespace/" + (try p.name("namespace")), "--wait=false"])])
        },

        // Nodes
        "cordon-node": { p throws(ExecutorError) in .init([KubectlCommand(["cordon", try p.name("node")])]) },
        "uncordon-node": { p throws(ExecutorError) in .init([KubectlCommand(["uncordon", try p.name("node")])]) },
        "drain-node": { p throws(ExecutorError) in
            // No --force: a pod without a controller makes the drain fail instead of being deleted for good.
            var argv = ["drain", try p.name("node"),
                        "--ignore-daemonsets=\(try p.bool("ignore_daemonsets", default: true))",
                        "--delete-emptydir-data=\(try p.bool("delete_emptydir_data", default: false))",
                        "--timeout=\(try p.int("timeout"))s"]
            if let grace = try p.optionalInt("grace_period") { argv.append("--grace-period=\(grace)") }
            return .init([KubectlCommand(argv)])
        },

        // Network policies
        "apply-network-policy": { p throws(ExecutorError) in
            let namespace = try p.name("namespace")
            let policy = try networkPolicy(
                namespace: namespace, name: try p.name("policy_name"), selector: try p.optionalSelector("pod_selector") ?? "",
                types: try p.token("policy_types"))
            // A create (POST), not an apply: an existing policy of that name is an error, never silently replaced.
            // Raw, so kubectl neither needs the OpenAPI document nor rewrites the object; the API server validates
            // it strictly (unknown fields are an error).
            return .init([KubectlCommand([
                .plain("create"), .plain("--raw"),
                .plain("/apis/networking.k8s.io/v1/namespaces/\(namespace)/networkpolicies?fieldValidation=Strict"),
                .file(flag: "--filename", name: "network-policy.json", content: policy.canonicalText, shown: policy.canonicalText),
            ])])
        },
        "delete-network-policy": { p throws(ExecutorError) in
            .init([KubectlCommand(namespace: try p.name("namespace"),
                                  ["delete", "networkpolicy/" + (try p.name("policy_name")), "--wait=false"])])
        },

        // Autoscaling
        "scale-hpa": { p throws(ExecutorError) in
            let patch: JSONValue = ["spec": ["minReplicas": .integer(try p.int("min_replicas")),
                                             "maxReplicas": .integer(try p.int("max_replicas"))]]
            return .init([KubectlCommand(namespace: try p.name("namespace"),
                                         ["patch", hpaResource + "/" + (try p.name("hpa")), "--type=merge", "--patch=" + patch.canonicalText])])
        },
        "update-hpa-limits": { p throws(ExecutorError) in
            let namespace = try p.name("namespace")
            let hpa = try p.name("hpa")
            let cpu = try p.optionalInt("target_cpu_percent")
            let memory = try p.optionalInt("target_memory_percent")
            if cpu == nil && memory == nil {
                throw ExecutorError("missing_param", "one of 'target_cpu_percent' and 'target_memory_percent' is required")
            }
            let patch = hpaTargetPatch(cpu: cpu, memory: memory) { "<index of the \($0) metric>" }
            return .init(.hpaTargets(namespace: namespace, hpa: hpa, cpu: cpu, memory: memory), [
                KubectlCommand(namespace: namespace, ["get", hpaResource + "/" + hpa, "--output=json"]),
                KubectlCommand(namespace: namespace, ["patch", hpaResource + "/" + hpa, "--type=json", "--patch=" + patch.canonicalText]),
            ])
        },

        // CronJobs
        "suspend-cronjob": { p throws(ExecutorError) in
            .init([KubectlCommand(namespace: try p.name("namespace"),
                                  ["patch", "cronjob/" + (try p.name("cronjob")), "--type=merge", #"--patch={"spec":{"suspend":true}}"#])])
        },
        "resume-cronjob": { p throws(ExecutorError) in
            .init([KubectlCommand(namespace: try p.name("namespace"),
                                  ["patch", "cronjob/" + (try p.name("cronjob")), "--type=merge", #"--patch={"spec":{"suspend":false}}"#])])
        },
    ]

    /// A JSON patch for the HPA's Resource metrics: for each target, `test` that the metric at the index is the
    /// Resource metric of that name with a Utilization target (so a concurrent edit fails the patch instead of
    /// changing another metric), then `replace` its averageUtilization.
    static func hpaTargetPatch(cpu: Int64?, memory: Int64?, index: (String) -> String) -> JSONValue {
        var ops: [JSONValue] = []
        for (resource, value) in [("cpu", cpu), ("memory", memory)] {
            guard let value else { continue }
            let base = "/spec/metrics/\(index(resource))"
            ops += [
                ["op": "test", "path": .string(base + "/type"), "value": "Resource"],
                ["op": "test", "path": .string(base + "/resource/name"), "value": .string(resource)],
                ["op": "test", "path": .string(base + "/resource/target/type"), "value": "Utilization"],
                ["op": "replace", "path": .string(base + "/resource/target/averageUtilization"), "value": .integer(value)],
            ]
        }
        return .array(ops)
    }

    /// The index of the Resource metric named `resource` in an autoscaling/v2 HPA.
    static func metricIndex(_ hpa: JSONValue, _ resource: String) -> Int? {
        hpa.at("spec", "metrics")?.arrayValue?.firstIndex {
            $0["type"]?.stringValue == "Resource" && $0.at("resource", "name")?.stringValue == resource
        }
    }

    /// A NetworkPolicy selecting the pods of an equality selector (`a=b,c==d`; empty = every pod) and allowing no
    /// traffic of the given types.
    static func networkPolicy(namespace: String, name: String, selector: String, types: String) throws(ExecutorError) -> JSONValue {
        var labels: [String: JSONValue] = [:]
        if !selector.isEmpty {
            for term in selector.split(separator: ",", omittingEmptySubsequences: false) {
                let parts = term.replacing("==", with: "=").split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].contains("=") else {
                    throw ExecutorError("invalid_param", "'pod_selector' must be equality terms like app=web")
                }
                let key = String(parts[0])
                if let existing = labels[key], existing != .string(String(parts[1])) {
                    throw ExecutorError("invalid_param", "'pod_selector' gives '\(key)' two values")
                }
                labels[key] = .string(String(parts[1]))
            }
        }
        let policyTypes = types.split(separator: ",").map { JSONValue.string(String($0)) }
        guard !policyTypes.isEmpty, policyTypes.allSatisfy({ $0 == "Ingress" || $0 == "Egress" }) else {
            throw ExecutorError("invalid_param", "'policy_types' must be Ingress, Egress or Ingress,Egress")
        }
        return [
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": ["name": .string(name), "namespace": .string(namespace),
                         "labels": ["app.kubernetes.io/managed-by": "agent-safe"]],
            "spec": ["podSelector": labels.isEmpty ? [:] : ["matchLabels": .object(labels)], "policyTypes": .array(policyTypes)],
        ]
    }

    /// ConfigMap and Secret data keys: letters, digits, `-`, `_`, `.` (not `.` or `..`).
    static func checkDataKey(_ key: String, _ param: String) throws(ExecutorError) {
        let ok = !key.isEmpty && key != "." && key != ".."
            && key.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }
        if !ok { throw ExecutorError("invalid_param", "'\(param)' must be letters, digits, '-', '_' or '.'") }
    }

    /// Percent-encodes everything but unreserved characters (RFC 3986).
    static func percentEncode(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80 && (c.isLetter || c.isNumber || "-._~".contains(c)) {
                out.append(c)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension JSONValue {
    /// The value at a path of object keys.
    func at(_ keys: String...) -> JSONValue? {
        var current: JSONValue? = self
        for key in keys { current = current?[key] }
        return current
    }

    var int64Value: Int64? {
        switch self {
        case .integer(let i): i
        case .number(let d) where d.rounded() == d: Int64(exactly: d)
        case .string(let s): Int64(s)
        default: nil
        }
    }

    var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
}
