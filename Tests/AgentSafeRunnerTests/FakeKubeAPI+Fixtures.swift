import AgentSafeCore
import Foundation

extension FakeKubeAPI {
    static func resource(_ name: String, _ kind: String, namespaced: Bool = true, verbs: [JSONValue] = ["get", "list", "patch", "delete", "create", "update", "watch"],
                         group: String? = nil, version: String? = nil, shortNames: [JSONValue] = []) -> JSONValue {
        var r: [String: JSONValue] = [
            "name": .string(name), "singularName": .string(name.contains("/") ? "" : kind.lowercased()), "namespaced": .bool(namespaced),
            "kind": .string(kind), "verbs": .array(verbs),
        ]
        if let group { r["group"] = .string(group) }
        if let version { r["version"] = .string(version) }
        if !shortNames.isEmpty { r["shortNames"] = .array(shortNames) }
        return .object(r)
    }

    static func resourceList(_ groupVersion: String, _ resources: [JSONValue]) -> JSONValue {
        ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(groupVersion), "resources": .array(resources)]
    }

    static func group(_ name: String, _ versions: [String]) -> JSONValue {
        let vs = versions.map { JSONValue.object(["groupVersion": .string("\(name)/\($0)"), "version": .string($0)]) }
        return ["name": .string(name), "versions": .array(vs), "preferredVersion": vs[0]]
    }

    static let discovery: [String: JSONValue] = [
        "/version": ["major": "1", "minor": "32", "gitVersion": "v1.32.0", "platform": "linux/amd64"],
        "/api": ["kind": "APIVersions", "versions": ["v1"],
                 "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"]]],
        "/apis": ["kind": "APIGroupList", "apiVersion": "v1", "groups": [
            group("apps", ["v1"]), group("batch", ["v1"]), group("autoscaling", ["v2", "v1"]),
            group("networking.k8s.io", ["v1"]), group("policy", ["v1"]),
        ]],
        "/api/v1": resourceList("v1", [
            resource("pods", "Pod", shortNames: ["po"]),
            resource("pods/log", "Pod", verbs: ["get"]),
            resource("pods/exec", "PodExecOptions", verbs: ["create", "get"]),
            resource("pods/portforward", "PodPortForwardOptions", verbs: ["create", "get"]),
            resource("pods/eviction", "Eviction", verbs: ["create"], group: "policy", version: "v1"),
            resource("nodes", "Node", namespaced: false, shortNames: ["no"]),
            resource("namespaces", "Namespace", namespaced: false, shortNames: ["ns"]),
            resource("configmaps", "ConfigMap", shortNames: ["cm"]),
            resource("secrets", "Secret"),
            resource("services", "Service", shortNames: ["svc"]),
            resource("serviceaccounts", "ServiceAccount", shortNames: ["sa"]),
            resource("persistentvolumeclaims", "PersistentVolumeClaim", shortNames: ["pvc"]),
            resource("persistentvolumes", "PersistentVolume", namespaced: false, shortNames: ["pv"]),
        ]),
        "/apis/apps/v1": resourceList("apps/v1", [
            resource("deployments", "Deployment", shortNames: ["deploy"]),
            resource("deployments/scale", "Scale", verbs: ["get", "patch", "update"], group: "autoscaling", version: "v1"),
            resource("replicasets", "ReplicaSet", shortNames: ["rs"]),
            resource("statefulsets", "StatefulSet", shortNames: ["sts"]),
            resource("daemonsets", "DaemonSet", shortNames: ["ds"]),
        ]),
        "/apis/batch/v1": resourceList("batch/v1", [
            resource("cronjobs", "CronJob", shortNames: ["cj"]), resource("jobs", "Job"),
        ]),
        "/apis/autoscaling/v2": resourceList("autoscaling/v2", [resource("horizontalpodautoscalers", "HorizontalPodAutoscaler", shortNames: ["hpa"])]),
        "/apis/autoscaling/v1": resourceList("autoscaling/v1", [resource("horizontalpodautoscalers", "HorizontalPodAutoscaler", shortNames: ["hpa"])]),
        "/apis/networking.k8s.io/v1": resourceList("networking.k8s.io/v1", [resource("networkpolicies", "NetworkPolicy", shortNames: ["netpol"])]),
        "/apis/policy/v1": resourceList("policy/v1", [resource("poddisruptionbudgets", "PodDisruptionBudget", shortNames: ["pdb"])]),
    ]

    static let deploymentPath = "/apis/apps/v1/namespaces/web/deployments/web"
    static let podPath = "/api/v1/namespaces/web/pods/web-1"
    static let nodePath = "/api/v1/nodes/node-1"
    static let configMapPath = "/api/v1/namespaces/web/configmaps/settings"
    static let cronJobPath = "/apis/batch/v1/namespaces/web/cronjobs/report"
    static let hpaPath = "/apis/autoscaling/v2/namespaces/web/horizontalpodautoscalers/web"

    static func template(_ image: String) -> JSONValue {
        ["metadata": ["labels": ["app": "web"]], "spec": ["containers": [["name": "web", "image": .string(image), "ports": [["containerPort": 8080]]]]]]
    }

    static func replicaSet(_ revision: Int, image: String) -> JSONValue {
        ["apiVersion": "apps/v1", "kind": "ReplicaSet",
         "metadata": ["name": .string("web-\(revision)"), "namespace": "web", "uid": .string("rs-uid-\(revision)"),
                      "labels": ["app": "web", "pod-template-hash": .string("h\(revision)")],
                      "annotations": ["deployment.kubernetes.io/revision": .string(String(revision))],
                      "ownerReferences": [["apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "dep-uid-1", "controller": true]]],
         "spec": ["replicas": 0, "selector": ["matchLabels": ["app": "web", "pod-template-hash": .string("h\(revision)")]],
                  "template": template(image)],
         "status": ["replicas": 0]]
    }

    static func seedObjects() -> [String: JSONValue] {
        [
            "/api/v1/namespaces/web": ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "web", "uid": "ns-uid-web"], "status": ["phase": "Active"]],
            deploymentPath: [
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": ["name": "web", "namespace": "web", "uid": "dep-uid-1", "generation": 4, "resourceVersion": "100",
                             "labels": ["app": "web"], "annotations": ["deployment.kubernetes.io/revision": "3"]],
                "spec": ["replicas": 2, "selector": ["matchLabels": ["app": "web"]], "template": template("registry.example.com/shop/web:1.4.1"),
                         "strategy": ["type": "RollingUpdate"]],
                "status": ["observedGeneration": 4, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
                           "conditions": [["type": "Available", "status": "True"],
                                          ["type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"]]],
            ],
            "/apis/apps/v1/namespaces/web/replicasets/web-2": replicaSet(2, image: "registry.example.com/shop/web:1.4.0"),
            "/apis/apps/v1/namespaces/web/replicasets/web-3": replicaSet(3, image: "registry.example.com/shop/web:1.4.1"),
            podPath: [
                "apiVersion": "v1", "kind": "Pod",
                "metadata": ["name": "web-1", "namespace": "web", "uid": "pod-uid-1", "labels": ["app": "web"],
                             "ownerReferences": [["apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-3", "uid": "rs-uid-3", "controller": true]]],
                "spec": ["nodeName": "node-1", "containers": [["name": "web", "image": "registry.example.com/shop/web:1.4.1", "ports": [["containerPort": 8080]]]]],
                "status": ["phase": "Running", "podIP": "10.0.0.7",
                           "containerStatuses": [["name": "web", "restartCount": 2, "ready": true, "state": ["running": ["startedAt": "2025-01-01T00:00:00Z"]]]]],
            ],
            nodePath: [
                "apiVersion": "v1", "kind": "Node", "metadata": ["name": "node-1", "uid": "node-uid-1"], "spec": [:],
                "status": ["conditions": [["type": "Ready", "status": "True"]]],
            ],
            configMapPath: [
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "settings", "namespace": "web", "resourceVersion": "7"],
                "data": ["mode": "blue"],
            ],
            "/api/v1/namespaces/web/secrets/db": [
                "apiVersion": "v1", "kind": "Secret", "metadata": ["name": "db", "namespace": "web"], "type": "Opaque",
                "data": ["password": .string(Data("hunter2".utf8).base64EncodedString()), "user": .string(Data("app".utf8).base64EncodedString())],
            ],
            cronJobPath: [
                "apiVersion": "batch/v1", "kind": "CronJob", "metadata": ["name": "report", "namespace": "web"],
                "spec": ["schedule": "0 * * * *", "suspend": false, "jobTemplate": ["spec": [:]]],
                "status": ["lastScheduleTime": "2025-01-01T10:00:00Z"],
            ],
            hpaPath: [
                "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": ["name": "web", "namespace": "web"],
                "spec": ["minReplicas": 2, "maxReplicas": 10,
                         "scaleTargetRef": ["apiVersion": "apps/v1", "kind": "Deployment", "name": "web"],
                         "metrics": [
                            ["type": "Resource", "resource": ["name": "memory", "target": ["type": "Utilization", "averageUtilization": 80]]],
                            ["type": "Resource", "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": 70]]],
                         ]],
                "status": ["currentReplicas": 2, "desiredReplicas": 2],
            ],
        ]
    }
}
