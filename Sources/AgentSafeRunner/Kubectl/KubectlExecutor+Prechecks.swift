import AgentSafeCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension KubectlExecutor {
    /// The precheck names evaluated against the cluster (or the params); any other name is advisory.
    public static let realPrechecks: Set<String> = [
        "deployment-exists", "rollout-not-in-progress", "enough-available-replicas", "no-hpa-managing-deployment",
        "container-exists", "revision-in-history", "not-already-paused", "is-paused",
        "pod-exists", "pod-running", "pod-has-controller", "port-declared", "local-port-free",
        "node-exists", "node-schedulable", "node-ready", "no-bare-pods",
        "namespace-exists", "namespace-absent", "not-system-namespace", "no-persistent-volume-claims",
        "policy-name-unused", "policy-exists",
        "configmap-exists", "configmap-not-immutable", "secret-exists", "not-service-account-token",
        "cronjob-exists", "not-suspended", "is-suspended", "missed-runs-bounded",
        "hpa-exists", "min-not-above-max", "target-given", "metric-present",
    ]

    /// Evaluates each of the action's prechecks. A failed one blocks; a read the credential is not scoped for
    /// (`Forbidden` on a resource outside the action's `credentials.fields.resources`) is reported advisory.
    public func prechecks(_ request: ExecutionRequest) async -> [PrecheckOutcome] {
        let reader = KubectlReader(executor: self, request: request)
        var outcomes: [PrecheckOutcome] = []
        for check in request.action.prechecks {
            guard Self.realPrechecks.contains(check.name) else {
                outcomes.append(PrecheckOutcome(name: check.name, passed: true,
                                                message: "not evaluated by the kubectl executor", advisory: true))
                continue
            }
            do {
                _ = try globalArguments(request, timeout: request.timeout, planning: false)
                outcomes.append(try await evaluate(check.name, KubectlParams(request), reader))
            } catch {
                outcomes.append(PrecheckOutcome(name: check.name, passed: false, message: error.description))
            }
        }
        return outcomes
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private func evaluate(_ name: String, _ p: KubectlParams, _ reader: KubectlReader) async throws(ExecutorError) -> PrecheckOutcome {
        func pass(_ message: String) -> PrecheckOutcome { PrecheckOutcome(name: name, passed: true, message: message) }
        func fail(_ message: String) -> PrecheckOutcome { PrecheckOutcome(name: name, passed: false, message: message) }

        /// The object, or the outcome that ends the check (missing, refused, unreadable).
        func object(_ namespace: String?, _ resource: String, _ what: String) async -> Result<JSONValue, Outcome> {
            switch await reader.get(namespace: namespace, [resource]) {
            case .found(let value): .success(value)
            case .notFound: .failure(Outcome(fail("\(what) does not exist")))
            case .forbidden(let message): .failure(Outcome(forbidden(resource, message)))
            case .failed(let message): .failure(Outcome(fail("could not read \(what): \(message)")))
            }
        }
        func list(_ namespace: String?, _ arguments: [String], _ what: String) async -> Result<[JSONValue], Outcome> {
            switch await reader.get(namespace: namespace, arguments) {
            case .found(let value): .success(value["items"]?.arrayValue ?? [])
            case .notFound: .success([])
            case .forbidden(let message): .failure(Outcome(forbidden(arguments[0], message)))
            case .failed(let message): .failure(Outcome(fail("could not list \(what): \(message)")))
            }
        }
        /// Forbidden on a resource the action's credential isn't scoped for: the check can't be evaluated.
        func forbidden(_ resource: String, _ message: String) -> PrecheckOutcome {
            let plural = Self.plural(of: resource)
            let scoped = request(p).action.credentials?.fields["resources"]?.arrayValue?.contains(.string(plural)) ?? false
            if scoped { return fail("the credential may not read \(plural): \(message)") }
            return PrecheckOutcome(name: name, passed: true,
                                   message: "not evaluated: the action's credential is not scoped to read \(plural)", advisory: true)
        }
        func request(_ p: KubectlParams) -> ExecutionRequest { p.request }

        let action = p.request.action.name
        switch name {
        // Deployments
        case "deployment-exists", "rollout-not-in-progress", "enough-available-replicas", "not-already-paused", "is-paused":
            let ns = try p.name("namespace"), d = try p.name("deployment")
            let what = "deployment \(ns)/\(d)"
            switch await object(ns, "deployment/" + d, what) {
            case .failure(let o): return o.outcome
            case .success(let dep):
                switch name {
                case "deployment-exists": return pass("\(what) exists")
                case "rollout-not-in-progress":
                    let generation = dep.at("metadata", "generation")?.int64Value ?? 0
                    let observed = dep.at("status", "observedGeneration")?.int64Value ?? 0
                    return observed >= generation
                        ? pass("observedGeneration \(observed) = generation \(generation)")
                        : fail("a rollout is in progress (observedGeneration \(observed) < generation \(generation))")
                case "enough-available-replicas":
                    let available = dep.at("status", "availableReplicas")?.int64Value ?? 0
                    return available >= 1 ? pass("\(available) replicas available") : fail("no replica is available")
                case "not-already-paused":
                    return dep.at("spec", "paused")?.boolValue == true ? fail("\(what) is already paused") : pass("\(what) is not paused")
                default:
                    return dep.at("spec", "paused")?.boolValue == true ? pass("\(what) is paused") : fail("\(what) is not paused")
                }
            }
        case "no-hpa-managing-deployment":
            let ns = try p.name("namespace"), d = try p.name("deployment")
            switch await list(ns, [KubectlActions.hpaResource], "HPAs") {
            case .failure(let o): return o.outcome
            case .success(let hpas):
                let managing = hpas.filter {
                    $0.at("spec", "scaleTargetRef", "kind")?.stringValue == "Deployment" && $0.at("spec", "scaleTargetRef", "name")?.stringValue == d
                }.compactMap { $0.at("metadata", "name")?.stringValue }
                return managing.isEmpty ? pass("no HPA targets deployment \(d)") : fail("HPA \(managing.joined(separator: ", ")) manages deployment \(d)")
            }
        case "revision-in-history":
            let ns = try p.name("namespace"), d = try p.name("deployment")
            let dep: JSONValue
            switch await object(ns, "deployment/" + d, "deployment \(ns)/\(d)") {
            case .failure(let o): return o.outcome
            case .success(let value): dep = value
            }
            let uid = dep.at("metadata", "uid")?.stringValue
            let current = dep.at("metadata", "annotations", "deployment.kubernetes.io/revision")?.int64Value
            switch await list(ns, ["replicasets"], "replica sets") {
            case .failure(let o): return o.outcome
            case .success(let sets):
                let revisions = Set(sets.filter { rs in
                    rs.at("metadata", "ownerReferences")?.arrayValue?.contains { $0["uid"]?.stringValue == uid && uid != nil } ?? false
                }.compactMap { $0.at("metadata", "annotations", "deployment.kubernetes.io/revision")?.int64Value })
                if let wanted = try p.optionalInt("revision") {
                    return revisions.contains(wanted) ? pass("revision \(wanted) is in the history")
                        : fail("revision \(wanted) is not in the history (have \(revisions.sorted().map(String.init).joined(separator: ", ")))")
                }
                return revisions.contains { $0 != current } ? pass("a previous revision is in the history")
                    : fail("no revision other than the current one is in the history")
            }

        // Pods (and container-exists for Deployments)
        case "container-exists" where p.request.action.parameter(named: "deployment") != nil:
            let ns = try p.name("namespace"), d = try p.name("deployment"), c = try p.name("container")
            switch await object(ns, "deployment/" + d, "deployment \(ns)/\(d)") {
            case .failure(let o): return o.outcome
            case .success(let dep):
                let names = dep.at("spec", "template", "spec", "containers")?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
                return names.contains(c) ? pass("the pod template has container \(c)")
                    : fail("the pod template has no container \(c) (has \(names.joined(separator: ", ")))")
            }
        case "pod-exists", "pod-running", "pod-has-controller", "port-declared", "container-exists":
            let ns = try p.name("namespace"), pod = try p.name("pod")
            let what = "pod \(ns)/\(pod)"
            switch await object(ns, "pod/" + pod, what) {
            case .failure(let o): return o.outcome
            case .success(let value):
                switch name {
                case "pod-exists": return pass("\(what) exists")
                case "pod-running":
                    let phase = value.at("status", "phase")?.stringValue ?? "Unknown"
                    return phase == "Running" ? pass("\(what) is Running") : fail("\(what) is \(phase), not Running")
                case "pod-has-controller":
                    let owner = value.at("metadata", "ownerReferences")?.arrayValue?.first { $0["controller"]?.boolValue == true }
                    return owner.map { pass("\(what) is controlled by \($0["kind"]?.stringValue ?? "?") \($0["name"]?.stringValue ?? "?")") }
                        ?? fail("\(what) has no controller: deleting it loses it for good")
                case "port-declared":
                    let port = try p.int("remote_port")
                    let ports = value.at("spec", "containers")?.arrayValue?.flatMap { $0["ports"]?.arrayValue ?? [] }
                        .compactMap { $0["containerPort"]?.int64Value } ?? []
                    return ports.contains(port) ? pass("a container declares port \(port)") : fail("no container of \(what) declares port \(port)")
                default:
                    guard let c = try p.optionalName("container") else { return pass("no container named") }
                    let names = value.at("spec", "containers")?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
                    guard names.contains(c) else { return fail("\(what) has no container \(c) (has \(names.joined(separator: ", ")))") }
                    if action == "exec-pod" {
                        let status = value.at("status", "containerStatuses")?.arrayValue?.first { $0["name"]?.stringValue == c }
                        guard status?.at("state", "running") != nil else { return fail("container \(c) of \(what) is not running") }
                        return pass("container \(c) is running")
                    }
                    return pass("\(what) has container \(c)")
                }
            }
        case "local-port-free":
            let port = try p.int("local_port")
            return Self.localPortFree(port) ? pass("127.0.0.1:\(port) is free") : fail("127.0.0.1:\(port) is in use")

        // Nodes
        case "node-exists", "node-schedulable", "node-ready":
            let node = try p.name("node")
            switch await object(nil, "node/" + node, "node \(node)") {
            case .failure(let o): return o.outcome
            case .success(let value):
                switch name {
                case "node-exists": return pass("node \(node) exists")
                case "node-schedulable":
                    return value.at("spec", "unschedulable")?.boolValue == true ? fail("node \(node) is already cordoned") : pass("node \(node) is schedulable")
                default:
                    return Self.nodeReady(value) ? pass("node \(node) is Ready") : fail("node \(node) is not Ready")
                }
            }
        case "no-bare-pods":
            let node = try p.name("node")
            switch await list(nil, ["pods", "--all-namespaces", "--field-selector=spec.nodeName=" + node], "pods on node \(node)") {
            case .failure(let o): return o.outcome
            case .success(let pods):
                let bare = pods.filter { pod in
                    let phase = pod.at("status", "phase")?.stringValue
                    let finished = phase == "Succeeded" || phase == "Failed"
                    let mirror = pod.at("metadata", "annotations", "kubernetes.io/config.mirror") != nil
                    let controlled = pod.at("metadata", "ownerReferences")?.arrayValue?.contains { $0["controller"]?.boolValue == true } ?? false
                    return !finished && !mirror && !controlled
                }.map { "\($0.at("metadata", "namespace")?.stringValue ?? "?")/\($0.at("metadata", "name")?.stringValue ?? "?")" }
                return bare.isEmpty ? pass("every pod on node \(node) has a controller")
                    : fail("pods without a controller: \(bare.prefix(10).joined(separator: ", "))")
            }

        // Namespaces
        case "namespace-exists":
            let ns = try p.name("namespace")
            switch await object(nil, "namespace/" + ns, "namespace \(ns)") {
            case .failure(let o): return o.outcome
            case .success(let value):
                let phase = value.at("status", "phase")?.stringValue ?? "Active"
                return phase == "Active" ? pass("namespace \(ns) is Active") : fail("namespace \(ns) is \(phase)")
            }
        case "namespace-absent":
            let ns = try p.name("namespace")
            switch await reader.get(namespace: nil, ["namespace/" + ns]) {
            case .notFound: return pass("namespace \(ns) does not exist")
            case .found: return fail("namespace \(ns) already exists")
            case .forbidden(let message): return forbidden("namespace", message)
            case .failed(let message): return fail("could not read namespace \(ns): \(message)")
            }
        case "not-system-namespace":
            let ns = try p.name("namespace")
            return ns == "default" || ns.hasPrefix("kube-") ? fail("\(ns) is a system namespace") : pass("\(ns) is not a system namespace")
        case "no-persistent-volume-claims":
            let ns = try p.name("namespace")
            switch await list(ns, ["persistentvolumeclaims"], "persistent volume claims") {
            case .failure(let o): return o.outcome
            case .success(let claims):
                var deleting: [String] = []
                for claim in claims {
                    guard let volume = claim.at("spec", "volumeName")?.stringValue, !volume.isEmpty else { continue }
                    switch await object(nil, "persistentvolume/" + volume, "persistent volume \(volume)") {
                    case .failure(let o): return o.outcome
                    case .success(let pv):
                        if pv.at("spec", "persistentVolumeReclaimPolicy")?.stringValue == "Delete" {
                            deleting.append(claim.at("metadata", "name")?.stringValue ?? volume)
                        }
                    }
                }
                return deleting.isEmpty ? pass("no claim in \(ns) is bound to a volume with a Delete reclaim policy")
                    : fail("deleting \(ns) deletes the volumes of claims \(deleting.joined(separator: ", "))")
            }

        // Network policies
        case "policy-name-unused", "policy-exists":
            let ns = try p.name("namespace"), policy = try p.name("policy_name")
            let what = "network policy \(ns)/\(policy)"
            switch await reader.get(namespace: ns, ["networkpolicy/" + policy]) {
            case .notFound: return name == "policy-exists" ? fail("\(what) does not exist") : pass("\(what) does not exist")
            case .found: return name == "policy-exists" ? pass("\(what) exists") : fail("\(what) already exists")
            case .forbidden(let message): return forbidden("networkpolicy", message)
            case .failed(let message): return fail("could not read \(what): \(message)")
            }

        // ConfigMaps and Secrets
        case "configmap-exists", "configmap-not-immutable":
            let ns = try p.name("namespace"), cm = try p.name("configmap")
            switch await object(ns, "configmap/" + cm, "configmap \(ns)/\(cm)") {
            case .failure(let o): return o.outcome
            case .success(let value):
                if name == "configmap-exists" { return pass("configmap \(ns)/\(cm) exists") }
                return value["immutable"]?.boolValue == true ? fail("configmap \(ns)/\(cm) is immutable") : pass("configmap \(ns)/\(cm) is mutable")
            }
        case "secret-exists", "not-service-account-token":
            let ns = try p.name("namespace"), secret = try p.name("secret")
            switch await object(ns, "secret/" + secret, "secret \(ns)/\(secret)") {
            case .failure(let o): return o.outcome
            case .success(let value):
                if name == "secret-exists" { return pass("secret \(ns)/\(secret) exists") }
                let type = value["type"]?.stringValue ?? "Opaque"
                return type == "kubernetes.io/service-account-token" ? fail("secret \(ns)/\(secret) is a service account token")
                    : pass("secret \(ns)/\(secret) is of type \(type)")
            }

        // CronJobs
        case "cronjob-exists", "not-suspended", "is-suspended", "missed-runs-bounded":
            let ns = try p.name("namespace"), cj = try p.name("cronjob")
            let what = "cronjob \(ns)/\(cj)"
            switch await object(ns, "cronjob/" + cj, what) {
            case .failure(let o): return o.outcome
            case .success(let value):
                let suspended = value.at("spec", "suspend")?.boolValue == true
                switch name {
                case "cronjob-exists": return pass("\(what) exists")
                case "not-suspended": return suspended ? fail("\(what) is already suspended") : pass("\(what) is not suspended")
                case "is-suspended": return suspended ? pass("\(what) is suspended") : fail("\(what) is not suspended")
                default:
                    return value.at("spec", "startingDeadlineSeconds")?.int64Value != nil ? pass("startingDeadlineSeconds is set")
                        : fail("startingDeadlineSeconds is not set: resuming may start missed runs")
                }
            }

        // HPAs
        case "hpa-exists", "metric-present":
            let ns = try p.name("namespace"), hpa = try p.name("hpa")
            switch await object(ns, KubectlActions.hpaResource + "/" + hpa, "HPA \(ns)/\(hpa)") {
            case .failure(let o): return o.outcome
            case .success(let value):
                if name == "hpa-exists" { return pass("HPA \(ns)/\(hpa) exists") }
                var missing: [String] = []
                for (resource, param) in [("cpu", "target_cpu_percent"), ("memory", "target_memory_percent")] where try p.optionalInt(param) != nil {
                    let metric = KubectlActions.metricIndex(value, resource).flatMap { value.at("spec", "metrics")?.arrayValue?[$0] }
                    if metric?.at("resource", "target", "type")?.stringValue != "Utilization" { missing.append(resource) }
                }
                return missing.isEmpty ? pass("the HPA has a Utilization metric for each target")
                    : fail("the HPA has no Resource Utilization metric for \(missing.joined(separator: ", "))")
            }
        case "min-not-above-max":
            let low = try p.int("min_replicas"), high = try p.int("max_replicas")
            return low <= high ? pass("min_replicas \(low) <= max_replicas \(high)") : fail("min_replicas \(low) > max_replicas \(high)")
        case "target-given":
            let cpu = try p.optionalInt("target_cpu_percent"), memory = try p.optionalInt("target_memory_percent")
            return cpu != nil || memory != nil ? pass("a target is given") : fail("neither target_cpu_percent nor target_memory_percent is given")
        default:
            return PrecheckOutcome(name: name, passed: true, message: "not evaluated by the kubectl executor", advisory: true)
        }
    }

    /// `deployment/x` → `deployments`, `horizontalpodautoscalers.v2.autoscaling` → `horizontalpodautoscalers`.
    static func plural(of resource: String) -> String {
        let type = String(resource.split(separator: "/").first ?? "")
        let base = String(type.split(separator: ".").first ?? "")
        if base.hasSuffix("s") { return base }
        if base.hasSuffix("y") { return base.dropLast() + "ies" }
        return base + "s"
    }

    static func nodeReady(_ node: JSONValue) -> Bool {
        node.at("status", "conditions")?.arrayValue?.contains { $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True" } ?? false
    }

    /// Whether 127.0.0.1:port can be bound now.
    static func localPortFree(_ port: Int64) -> Bool {
        guard (1...65535).contains(port) else { return false }
        #if canImport(Glibc) || canImport(Musl)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0
    }
}

/// A precheck's final outcome, carried through `Result`'s failure side.
struct Outcome: Error {
    let outcome: PrecheckOutcome
    init(_ outcome: PrecheckOutcome) { self.outcome = outcome }
}
