import AgentSafeConfig
import AgentSafeCore
import AgentSafeRunner
import Foundation
import Testing

/// A per-test directory with a kubeconfig for the fake API server, and the catalogue's sample params.
struct Kube {
    let directory: String
    /// The executor's temporary directory (each run makes and removes its private directory here).
    let runs: String
    let kubeconfig: String
    let port: Int
    let executor: KubectlExecutor

    init(port: Int, maxOutputBytes: Int = 1 << 20) throws {
        self.port = port
        directory = NSTemporaryDirectory() + "kubectl-test-" + UUID().uuidString
        runs = directory + "/runs"
        try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        kubeconfig = directory + "/kubeconfig"
        executor = KubectlExecutor(kubectlPath: Kube.kubectl, maxOutputBytes: maxOutputBytes, temporaryDirectory: runs)
        _ = try writeKubeconfig(name: "kubeconfig", user: ["token": "fake-token"])
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// A kubeconfig (JSON is YAML) for the fake server over plain HTTP.
    func writeKubeconfig(name: String, user: JSONValue) throws -> String {
        let config: JSONValue = [
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [["name": "fake", "cluster": ["server": .string("http://127.0.0.1:\(port)"), "insecure-skip-tls-verify": true]]],
            "users": [["name": "agent", "user": user]],
            "contexts": [["name": "fake", "context": ["cluster": "fake", "user": "agent"]]],
        ]
        let path = directory + "/" + name
        try config.prettyText.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func request(_ action: String, _ overrides: [String: JSONValue] = [:]) -> ExecutionRequest {
        Kube.request(action, overrides, credential: Kube.credential(kubeconfig, context: "fake"))
    }

    // MARK: kubectl

    static let kubectl = "/usr/bin/kubectl"

    /// Whether the real kubectl is here; without it the test is skipped with a note, or fails when CI=true.
    static func kubectlAvailable() -> Bool {
        if FileManager.default.isExecutableFile(atPath: kubectl) { return true }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("\(kubectl) is missing and CI=true: the kubectl executor tests need the real binary")
        } else {
            print("skipped: \(kubectl) is not installed, so the kubectl executor is not run against the fake API server")
        }
        return false
    }

    /// Pids of processes whose command line contains `text` (waiting up to 3 s for them to go, unless `wait` is
    /// false).
    static func processes(containing text: String, wait: Bool = true) -> [Int32] {
        let deadline = Date().addingTimeInterval(3)
        var found: [Int32] = []
        repeat {
            found = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
                guard let pid = Int32(entry), pid != getpid(),
                      let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
                let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
                return line.contains(text) ? pid : nil
            }
            if found.isEmpty || !wait { return found }
            usleep(100_000)
        } while Date() < deadline
        return found
    }

    /// A process's environment, from /proc.
    static func environment(of pid: Int32) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [:] }
        var out: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let eq = text.firstIndex(of: "=") else { continue }
            out[String(text[..<eq])] = String(text[text.index(after: eq)...])
        }
        return out
    }

    // MARK: Catalogue

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func allActions() throws -> [ActionDefinition] {
        try CatalogueLoader.load(LoadOptions(configPath: root + "/agent-safe.yaml", workingDirectory: root)).actions
    }

    static func catalogue() throws -> [ActionDefinition] {
        try allActions().filter { $0.tags.contains("kubernetes") || $0.credentials?.type == "kubernetes" }
    }

    static let actions: [String: ActionDefinition] = {
        let loaded = (try? catalogue()) ?? []
        return Dictionary(loaded.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }()

    static func credential(_ kubeconfig: String, context: String? = nil) -> Credential {
        var secret = ["kubeconfig": kubeconfig]
        if let context { secret["context"] = context }
        return Credential(id: "cred-0123456789abcdef01234567", type: "kubernetes", scope: [:], secret: secret,
                          expiresAt: Int64(Date().timeIntervalSince1970) + 3600)
    }

    /// The action's sample params with `overrides` applied (`null` removes a param).
    static func request(_ name: String, _ overrides: [String: JSONValue] = [:], params: [String: JSONValue]? = nil,
                        credential: Credential? = nil, timeout: Duration = .seconds(60)) -> ExecutionRequest {
        var merged = params ?? samples[name] ?? [:]
        for (key, value) in overrides { merged[key] = value == .null ? nil : value }
        let action = actions[name] ?? ActionDefinition(name: name, riskClass: .low, targetTypes: [])
        return ExecutionRequest(action: action, target: "test", params: merged, credential: credential, timeout: timeout)
    }

    /// Another valid value for a param (to see it change the argv).
    static func alternative(_ name: String, _ value: JSONValue) -> JSONValue {
        switch (name, value) {
        case ("policy_types", _): "Ingress,Egress"
        case ("pod_selector", _), ("label_selector", _): "app=api"
        case ("image", _): "registry.example.com/shop/web:2.0.0"
        case (_, .string(let s)): .string(s + "x")
        case (_, .integer(let i)): .integer(i + 1)
        case (_, .bool(let b)): .bool(!b)
        case (_, .array(let a)): .array(a + ["x"])
        default: value
        }
    }

    static let samples: [String: [String: JSONValue]] = [
        "apply-network-policy": ["namespace": "web", "policy_name": "quarantine", "pod_selector": "app=web", "policy_types": "Ingress"],
        "cordon-node": ["node": "node-1"],
        "create-namespace": ["namespace": "scratch"],
        "delete-namespace": ["namespace": "scratch"],
        "delete-network-policy": ["namespace": "web", "policy_name": "quarantine"],
        "delete-pod": ["namespace": "web", "pod": "web-1", "grace_period": 10],
        "drain-node": ["node": "node-1", "timeout": 60, "grace_period": 20, "ignore_daemonsets": true, "delete_emptydir_data": false],
        "exec-pod": ["namespace": "web", "pod": "web-1", "container": "web", "command": ["cat", "/etc/os-release"], "timeout": 10],
        "get-configmap": ["namespace": "web", "configmap": "settings"],
        "get-deployment": ["namespace": "web", "deployment": "web"],
        "get-pod-logs": ["namespace": "web", "pod": "web-1", "container": "web", "tail_lines": 50, "since_seconds": 600, "previous": true],
        "get-secret": ["namespace": "web", "secret": "db", "key": "password"],
        "list-pods": ["namespace": "web", "label_selector": "app=web,tier=frontend", "limit": 20],
        "port-forward": ["namespace": "web", "pod": "web-1", "local_port": 18080, "remote_port": 8080, "duration_seconds": 60],
        "restart-deployment": ["namespace": "web", "deployment": "web"],
        "resume-cronjob": ["namespace": "web", "cronjob": "report"],
        "rollout-pause": ["namespace": "web", "deployment": "web"],
        "rollout-resume": ["namespace": "web", "deployment": "web"],
        "rollout-status": ["namespace": "web", "deployment": "web", "timeout": 30],
        "rollout-undo": ["namespace": "web", "deployment": "web", "revision": 2],
        "scale-deployment": ["namespace": "web", "deployment": "web", "replicas": 3],
        "scale-hpa": ["namespace": "web", "hpa": "web", "min_replicas": 3, "max_replicas": 12],
        "suspend-cronjob": ["namespace": "web", "cronjob": "report"],
        "uncordon-node": ["node": "node-1"],
        "update-configmap": ["namespace": "web", "configmap": "settings", "key": "mode", "value": "green"],
        "update-hpa-limits": ["namespace": "web", "hpa": "web", "target_cpu_percent": 60, "target_memory_percent": 75],
        "update-image": ["namespace": "web", "deployment": "web", "container": "web", "image": "registry.example.com/shop/web:1.4.2"],
    ]

    static let hpa = "horizontalpodautoscalers.v2.autoscaling/web"

    static func hpaTargetPatch() -> String {
        func ops(_ r: String, _ v: Int) -> String {
            let base = "/spec/metrics/<index of the \(r) metric>"
            return #"{"op":"test","path":"\#(base)/type","value":"Resource"},{"op":"test","path":"\#(base)/resource/name","value":"\#(r)"},"#
                + #"{"op":"test","path":"\#(base)/resource/target/type","value":"Utilization"},{"op":"replace","path":"\#(base)/resource/target/averageUtilization","value":\#(v)}"#
        }
        return "--patch=[" + ops("cpu", 60) + "," + ops("memory", 75) + "]"
    }

    /// The argv after `kubectl --kubeconfig <path> --context <name> --request-timeout=<n>s`, one list per call.
    static let expectedArgv: [String: [[String]]] = [
        "restart-deployment": [["-n", "web", "rollout", "restart", "deployment/web"]],
        "scale-deployment": [["-n", "web", "scale", "deployment/web", "--replicas=3"]],
        "update-image": [["-n", "web", "set", "image", "deployment/web", "web=registry.example.com/shop/web:1.4.2"]],
        "rollout-undo": [["-n", "web", "rollout", "undo", "deployment/web", "--to-revision=2"]],
        "rollout-status": [["-n", "web", "rollout", "status", "deployment/web", "--watch=true", "--timeout=30s"]],
        "rollout-pause": [["-n", "web", "rollout", "pause", "deployment/web"]],
        "rollout-resume": [["-n", "web", "rollout", "resume", "deployment/web"]],
        "get-deployment": [["-n", "web", "get", "deployment/web", "--output=json"]],
        "delete-pod": [["-n", "web", "delete", "pod/web-1", "--grace-period=10", "--wait=false"]],
        "get-pod-logs": [["-n", "web", "logs", "pod/web-1", "--container=web", "--tail=50", "--since=600s", "--previous=true"]],
        "list-pods": [["get", "--raw", "/api/v1/namespaces/web/pods?limit=20&labelSelector=app%3Dweb%2Ctier%3Dfrontend"]],
        "exec-pod": [["-n", "web", "exec", "pod/web-1", "--container=web", "--", "cat", "/etc/os-release"]],
        "port-forward": [["-n", "web", "port-forward", "pod/web-1", "--address=127.0.0.1", "18080:8080"]],
        "get-configmap": [["-n", "web", "get", "configmap/settings", "--output=json"]],
        "update-configmap": [["-n", "web", "patch", "configmap/settings", "--type=merge",
                              #"--patch-file=<file configmap-patch.json: {"data":{"mode":"<redacted>"}}>"#]],
        "get-secret": [["-n", "web", "get", "secret/db", #"--output=go-template={{index .data "password"}}"#]],
        "create-namespace": [["create", "--raw", "/api/v1/namespaces?fieldValidation=Strict",
                              #"--filename=<file namespace.json: {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"scratch"}}>"#]],
        "delete-namespace": [["delete", "namespace/scratch", "--wait=false"]],
        "cordon-node": [["cordon", "node-1"]],
        "uncordon-node": [["uncordon", "node-1"]],
        "drain-node": [["drain", "node-1", "--ignore-daemonsets=true", "--delete-emptydir-data=false", "--timeout=60s", "--grace-period=20"]],
        "apply-network-policy": [["create", "--raw", "/apis/networking.k8s.io/v1/namespaces/web/networkpolicies?fieldValidation=Strict",
                                  #"--filename=<file network-policy.json: {"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"labels":{"app.kubernetes.io/managed-by":"agent-safe"},"name":"quarantine","namespace":"web"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"]}}>"#]],
        "delete-network-policy": [["-n", "web", "delete", "networkpolicy/quarantine", "--wait=false"]],
        "scale-hpa": [["-n", "web", "patch", hpa, "--type=merge", #"--patch={"spec":{"maxReplicas":12,"minReplicas":3}}"#]],
        "update-hpa-limits": [["-n", "web", "get", hpa, "--output=json"], ["-n", "web", "patch", hpa, "--type=json", hpaTargetPatch()]],
        "suspend-cronjob": [["-n", "web", "patch", "cronjob/report", "--type=merge", #"--patch={"spec":{"suspend":true}}"#]],
        "resume-cronjob": [["-n", "web", "patch", "cronjob/report", "--type=merge", #"--patch={"spec":{"suspend":false}}"#]],
    ]
}
