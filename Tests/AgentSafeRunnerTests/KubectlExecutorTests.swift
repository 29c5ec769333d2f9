import AgentSafeConfig
import AgentSafeCore
import Foundation
import Testing

@testable import AgentSafeRunner

/// The kubectl executor, mostly with the real kubectl binary against a fake API server (FakeKubeAPI).
@Suite("Runner: kubectl executor")
struct KubectlExecutorTests {
    // MARK: Argv for the whole catalogue (no kubectl needed)

    @Test func everyKubernetesActionInTheCatalogueMapsToItsArgv() throws {
        let actions = try Kube.catalogue()
        #expect(actions.count == 27)
        #expect(Set(actions.map(\.name)) == Set(Kube.expectedArgv.keys))
        #expect(KubectlActions.names == Set(Kube.expectedArgv.keys))
        let executor = KubectlExecutor(kubectlPath: "/usr/bin/kubectl")
        for action in actions {
            #expect(executor.supports(action), "\(action.name)")
            let calls = try executor.plan(Kube.request(action.name, credential: Kube.credential("/k/config", context: "prod")))
            let prefix = ["/usr/bin/kubectl", "--kubeconfig", "/k/config", "--context", "prod"]
            let expected = Kube.expectedArgv[action.name] ?? []
            #expect(calls.count == expected.count, "\(action.name)")
            for (call, tail) in zip(calls, expected) {
                guard case .argv(let argv) = call else {
                    Issue.record("\(action.name): not an argv")
                    continue
                }
                #expect(Array(argv.prefix(5)) == prefix, "\(action.name)")
                #expect(argv[5].hasPrefix("--request-timeout="), "\(action.name)")
                #expect(Array(argv.dropFirst(6)) == tail, "\(action.name)")
            }
        }
        // AWS actions are not ours.
        let aws = try #require(try Kube.allActions().first { $0.name == "ec2-stop-instance" })
        #expect(!executor.supports(aws))
    }

    @Test func everyDeclaredParamReachesTheArgv() throws {
        let executor = KubectlExecutor()
        for action in try Kube.catalogue() {
            let sample = try #require(Kube.samples[action.name])
            #expect(Set(sample.keys) == Set(action.parameters.map(\.name)), "\(action.name): the sample covers every param")
            // A request timeout above every action's own (port-forward's duration shows in --request-timeout).
            let base = try executor.plan(Kube.request(action.name, credential: Kube.credential("/k"), timeout: .seconds(3600)))
            for parameter in action.parameters where !parameter.sensitive {
                var params = sample
                params[parameter.name] = Kube.alternative(parameter.name, sample[parameter.name]!)
                let changed = try executor.plan(Kube.request(action.name, params: params, credential: Kube.credential("/k"), timeout: .seconds(3600)))
                #expect(changed != base, "\(action.name): '\(parameter.name)' changes nothing")
            }
        }
    }

    @Test func aSensitiveValueGoesThroughAPrivateFileAndPlansRedactIt() throws {
        let request = Kube.request("update-configmap", ["value": "s3cr3t-value"], credential: Kube.credential("/k"))
        let plan = try KubectlExecutor().plan(request).map(\.description).joined()
        #expect(!plan.contains("s3cr3t"))
        #expect(plan.contains("<redacted>"))
        let operation = try KubectlActions.operation(for: request)
        #expect(operation.commands[0].files.first?.content == #"{"data":{"mode":"s3cr3t-value"}}"#)
    }

    static let injections: [(String, [String: JSONValue])] = [
        ("delete-pod", ["pod": "x --all"]),
        ("delete-pod", ["namespace": "-n"]),
        ("delete-pod", ["pod": "--all"]),
        ("delete-pod", ["pod": "web\n1"]),
        ("delete-pod", ["pod": "a/b"]),
        ("cordon-node", ["node": "node-1,node-2"]),
        ("update-image", ["image": "-registry/x:1"]),
        ("update-image", ["container": "web=evil"]),
        ("list-pods", ["label_selector": "app=web --all-namespaces"]),
        ("get-secret", ["key": "a\"}}{{.metadata"]),
        ("exec-pod", ["command": .array([.string("sh"), .string("-c"), .string("echo \u{0}")])]),
        ("scale-deployment", ["replicas": "3 --all"]),
    ]

    @Test(arguments: Self.injections)
    func injectionIsRefused(action: String, params: [String: JSONValue]) async throws {
        let request = Kube.request(action, params, credential: Kube.credential("/nonexistent/kubeconfig"))
        #expect(throws: ExecutorError.self) { try KubectlExecutor().plan(request) }
        let output = await KubectlExecutor(kubectlPath: "/nonexistent/kubectl").execute(request)
        #expect(output.status == .refused)
        #expect(output.error?.hasPrefix("invalid_param") == true, "\(output.error ?? "")")
    }

    @Test func aMissingCredentialIsRefused() async throws {
        let executor = KubectlExecutor(kubectlPath: "/nonexistent/kubectl")
        let request = Kube.request("restart-deployment")
        let output = await executor.execute(request)
        #expect(output.status == .refused)
        #expect(output.error?.hasPrefix("credential_required") == true)
        let prechecks = await executor.prechecks(request)
        #expect(prechecks.filter { !$0.advisory }.allSatisfy { !$0.passed && $0.message.hasPrefix("credential_required") })
        await #expect(throws: ExecutorError.self) { try await executor.state(request) }
        // A plan without a credential shows where the kubeconfig will come from.
        #expect(try executor.plan(request).first?.description.contains("<kubeconfig of the resolved credential>") == true)
        // A credential of another type, or an expired one, is refused too.
        var aws = Kube.credential("/k")
        aws.type = "aws"
        #expect(await executor.execute(Kube.request("restart-deployment", credential: aws)).error?.hasPrefix("credential_required") == true)
        var expired = Kube.credential("/k")
        expired.expiresAt = 1
        #expect(await executor.execute(Kube.request("restart-deployment", credential: expired)).error?.hasPrefix("credential_required") == true)
        // Ambient mode is explicit: no --kubeconfig at all.
        let ambient = KubectlExecutor(kubectlPath: "kubectl", allowAmbientCredentials: true)
        let argv = try ambient.plan(request).first?.description ?? ""
        #expect(!argv.contains("--kubeconfig"))
    }

    // MARK: Against the fake API server

    @Test func restartDeploymentPatchesTheRestartAnnotation() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let request = kube.request("restart-deployment")
            let checks = await kube.executor.prechecks(request)
            #expect(checks.map(\.passed) == [true, true, true], "\(checks)")
            #expect(checks.allSatisfy { !$0.advisory })
            let before = try await kube.executor.state(request)
            #expect(before == ["generation": 4, "observed_generation": 4, "available_replicas": 2])
            let started = ContinuousClock.now
            let output = await kube.executor.execute(request)
            // A figure for docs/performance.md, printed, never asserted.
            print("kubectl round trip (restart-deployment against the fake API server): \(ContinuousClock.now - started)")
            #expect(output.status == .success, "\(output.error ?? "")")
            #expect(output.output.contains("restarted"))
            let patches = fake.calls.filter { $0.method == "PATCH" && $0.path == FakeKubeAPI.deploymentPath }
            #expect(patches.count == 1)
            #expect(patches.first?.body.contains("kubectl.kubernetes.io/restartedAt") == true)
            let after = try await kube.executor.state(request)
            #expect(after["restarted_at"]?.stringValue?.isEmpty == false)
            #expect(after["generation"] == 5)
            #expect(fake.unknown.isEmpty, "\(fake.unknown)")
        }
    }

    @Test func scaleDeploymentPatchesTheScaleSubresource() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let request = kube.request("scale-deployment", ["replicas": 3])
            #expect(try await kube.executor.state(request)["replicas"] == 2)
            let output = await kube.executor.execute(request)
            #expect(output.status == .success, "\(output.error ?? "")")
            let patch = try #require(fake.calls.first { $0.method == "PATCH" })
            #expect(patch.path == FakeKubeAPI.deploymentPath + "/scale")
            #expect(try JSONValue.parse(patch.body) == ["spec": ["replicas": 3]])
            #expect(try await kube.executor.state(request) == ["replicas": 3, "ready_replicas": 2, "available_replicas": 2])
            // The HPA in the fixture targets this deployment: the precheck says so and blocks.
            let checks = await kube.executor.prechecks(request)
            #expect(checks.first { $0.name == "no-hpa-managing-deployment" }?.passed == false)
            #expect(checks.first { $0.name == "quota-allows-replicas" }?.advisory == true)
        }
    }

    @Test func updateImageSetsTheNamedContainer() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let request = kube.request("update-image")
            #expect(try await kube.executor.state(request) == ["image": "registry.example.com/shop/web:1.4.1", "generation": 4, "revision": 3])
            let output = await kube.executor.execute(request)
            #expect(output.status == .success, "\(output.error ?? "")")
            let patch = try #require(fake.calls.first { $0.method == "PATCH" })
            #expect(patch.path == FakeKubeAPI.deploymentPath)
            #expect(patch.body.contains("registry.example.com/shop/web:1.4.2"))
            #expect(try await kube.executor.state(request)["image"] == "registry.example.com/shop/web:1.4.2")
            // container-exists is real.
            let checks = await kube.executor.prechecks(kube.request("update-image", ["container": "sidecar"]))
            #expect(checks.first { $0.name == "container-exists" }?.passed == false)
            #expect(checks.first { $0.name == "image-pullable" }?.advisory == true)
        }
    }

    @Test func deletePodSendsTheGracePeriod() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let request = kube.request("delete-pod", ["grace_period": 10])
            let checks = await kube.executor.prechecks(request)
            #expect(checks.first { $0.name == "pod-exists" }?.passed == true)
            #expect(checks.first { $0.name == "pod-has-controller" }?.passed == true)
            #expect(try await kube.executor.state(request) == ["phase": "Running", "node_name": "node-1", "owner_kind": "ReplicaSet", "restart_count": 2])
            let output = await kube.executor.execute(request)
            #expect(output.status == .success, "\(output.error ?? "")")
            let delete = try #require(fake.calls.first { $0.method == "DELETE" })
            #expect(delete.path == FakeKubeAPI.podPath)
            #expect(try JSONValue.parse(delete.body)["gracePeriodSeconds"] == 10)
            #expect(try await kube.executor.state(request) == [:])
        }
    }

    @Test func getPodLogsPassesTailContainerSinceAndPrevious() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let output = await kube.executor.execute(kube.request("get-pod-logs"))
            #expect(output.status == .success, "\(output.error ?? "")")
            #expect(output.output == "line 1\nline 2\n")
            let logs = try #require(fake.calls.first { $0.path == FakeKubeAPI.podPath + "/log" })
            let query = FakeKubeAPI.queryItems(logs.query)
            #expect(query["tailLines"] == "50")
            #expect(query["container"] == "web")
            #expect(query["sinceSeconds"] == "600")
            #expect(query["previous"] == "true")
        }
    }

    @Test func cordonAndUncordonPatchTheNode() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let cordon = kube.request("cordon-node")
            #expect(try await kube.executor.state(cordon) == ["unschedulable": false, "ready": true])
            let checks = await kube.executor.prechecks(cordon)
            #expect(checks.map(\.name) == ["node-exists", "node-schedulable", "capacity-remains"])
            #expect(checks.map(\.passed) == [true, true, true])
            #expect(checks.map(\.advisory) == [false, false, true])
            let output = await kube.executor.execute(cordon)
            #expect(output.status == .success, "\(output.error ?? "")")
            let patch = try #require(fake.calls.first { $0.method == "PATCH" })
            #expect(patch.path == FakeKubeAPI.nodePath)
            #expect(try JSONValue.parse(patch.body) == ["spec": ["unschedulable": true]])
            #expect(try await kube.executor.state(cordon)["unschedulable"] == true)
            // Cordoning again: the precheck now fails.
            #expect(await kube.executor.prechecks(cordon).first { $0.name == "node-schedulable" }?.passed == false)
            #expect(await kube.executor.execute(kube.request("uncordon-node")).status == .success)
            #expect(try await kube.executor.state(cordon)["unschedulable"] == false)
        }
    }

    @Test func drainNodeCordonsAndEvicts() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let request = kube.request("drain-node")
            let checks = await kube.executor.prechecks(request)
            #expect(checks.first { $0.name == "no-bare-pods" }?.passed == true, "\(checks)")
            #expect(try await kube.executor.state(request) == ["unschedulable": false, "pod_count": 1])
            let output = await kube.executor.execute(request)
            #expect(output.status == .success, "\(output.error ?? "") \(fake.calls)")
            #expect(fake.calls.contains { $0.method == "PATCH" && $0.path == FakeKubeAPI.nodePath && $0.body.contains("unschedulable") })
            let listing = try #require(fake.calls.first { $0.method == "GET" && $0.path == "/api/v1/pods" })
            #expect(FakeKubeAPI.queryItems(listing.query)["fieldSelector"] == "spec.nodeName=node-1")
            let eviction = try #require(fake.calls.first { $0.method == "POST" && $0.path == FakeKubeAPI.podPath + "/eviction" })
            #expect(try JSONValue.parse(eviction.body)["deleteOptions"]?["gracePeriodSeconds"] == 20)
            #expect(try await kube.executor.state(request) == ["unschedulable": true, "pod_count": 0])
        }
    }

    @Test func drainRefusesBarePods() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        var pod = try #require(fake.object(FakeKubeAPI.podPath)?.objectValue)
        var meta = pod["metadata"]?.objectValue ?? [:]
        meta["ownerReferences"] = nil
        pod["metadata"] = .object(meta)
        fake.setObject(FakeKubeAPI.podPath, .object(pod))
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let request = kube.request("drain-node")
            let check = await kube.executor.prechecks(request).first { $0.name == "no-bare-pods" }
            #expect(check?.passed == false)
            #expect(check?.message.contains("web/web-1") == true)
            // And kubectl itself (no --force) refuses to delete it.
            let output = await kube.executor.execute(request)
            #expect(output.status == .failure)
            #expect(!fake.calls.contains { $0.path.hasSuffix("/eviction") || $0.method == "DELETE" })
        }
    }

    @Test func rolloutUndoGoesToTheRequestedRevision() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let request = kube.request("rollout-undo", ["revision": 2])
            #expect(await kube.executor.prechecks(request).allSatisfy(\.passed))
            #expect(await kube.executor.prechecks(kube.request("rollout-undo", ["revision": 9])).first { $0.name == "revision-in-history" }?.passed == false)
            #expect(try await kube.executor.state(request) == ["revision": 3, "image": "registry.example.com/shop/web:1.4.1", "generation": 4])
            let output = await kube.executor.execute(request)
            #expect(output.status == .success, "\(output.error ?? "") \(fake.calls)")
            let patch = try #require(fake.calls.first { $0.method == "PATCH" })
            #expect(patch.path == FakeKubeAPI.deploymentPath)
            #expect(patch.body.contains("registry.example.com/shop/web:1.4.0"))
            #expect(try await kube.executor.state(request)["image"] == "registry.example.com/shop/web:1.4.0")
        }
    }

    @Test func updateConfigMapPatchesOneKeyThroughATemporaryFile() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let request = kube.request("update-configmap", ["value": "green"])
            #expect(await kube.executor.prechecks(request).map(\.passed) == [true, true])
            #expect(try await kube.executor.state(request) == ["previous_value": "blue", "resource_version": "7"])
            let output = await kube.executor.execute(request)
            #expect(output.status == .success, "\(output.error ?? "")")
            let patch = try #require(fake.calls.first { $0.method == "PATCH" })
            #expect(patch.path == FakeKubeAPI.configMapPath)
            #expect(patch.contentType.contains("merge-patch"))
            #expect(try JSONValue.parse(patch.body) == ["data": ["mode": "green"]])
            #expect(!output.calls.description.contains("green"))
            #expect(try await kube.executor.state(request)["previous_value"] == "green")
            // The private directory (and the patch file in it) is gone.
            #expect(try FileManager.default.contentsOfDirectory(atPath: kube.runs).isEmpty)
        }
    }

    @Test func suspendAndResumeCronJob() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let suspend = kube.request("suspend-cronjob")
            #expect(await kube.executor.prechecks(suspend).map(\.passed) == [true, true])
            #expect(try await kube.executor.state(suspend) == ["suspend": false, "last_schedule_time": "2025-01-01T10:00:00Z"])
            #expect(await kube.executor.execute(suspend).status == .success)
            let patch = try #require(fake.calls.first { $0.method == "PATCH" })
            #expect(patch.path == FakeKubeAPI.cronJobPath)
            #expect(try JSONValue.parse(patch.body) == ["spec": ["suspend": true]])
            #expect(try await kube.executor.state(suspend)["suspend"] == true)
            let resume = kube.request("resume-cronjob")
            let checks = await kube.executor.prechecks(resume)
            #expect(checks.first { $0.name == "is-suspended" }?.passed == true)
            #expect(checks.first { $0.name == "missed-runs-bounded" }?.passed == false)
        }
    }

    @Test func hpaBoundsAndTargets() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let scale = kube.request("scale-hpa")
            #expect(try await kube.executor.state(scale) == ["min_replicas": 2, "max_replicas": 10, "current_replicas": 2])
            #expect(await kube.executor.execute(scale).status == .success)
            let boundsPatch = try #require(fake.calls.first { $0.method == "PATCH" })
            #expect(boundsPatch.path == FakeKubeAPI.hpaPath)
            #expect(try JSONValue.parse(boundsPatch.body) == ["spec": ["minReplicas": 3, "maxReplicas": 12]])
            #expect(await kube.executor.prechecks(kube.request("scale-hpa", ["min_replicas": 20])).first { $0.name == "min-not-above-max" }?.passed == false)

            let limits = kube.request("update-hpa-limits", ["target_memory_percent": nil])
            #expect(await kube.executor.prechecks(limits).map(\.passed) == [true, true, true])
            #expect(try await kube.executor.state(limits) == ["target_cpu_percent": 70, "target_memory_percent": 80])
            let output = await kube.executor.execute(limits)
            #expect(output.status == .success, "\(output.error ?? "")")
            #expect(output.calls.count == 2)
            let jsonPatch = try #require(fake.calls.last { $0.method == "PATCH" })
            #expect(jsonPatch.contentType.contains("json-patch"))
            #expect(jsonPatch.body.contains("/spec/metrics/1/resource/target/averageUtilization"))
            #expect(try await kube.executor.state(limits) == ["target_cpu_percent": 60, "target_memory_percent": 80])
        }
    }

    @Test func secretsNamespacesAndNetworkPolicies() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let one = await kube.executor.execute(kube.request("get-secret"))
            #expect(one.status == .success, "\(one.error ?? "")")
            #expect(one.output == "hunter2")
            let whole = await kube.executor.execute(kube.request("get-secret", ["key": nil]))
            #expect(try JSONValue.parse(whole.output)["data"] == ["password": "hunter2", "user": "app"])
            #expect(await kube.executor.execute(kube.request("get-secret", ["key": "nope"])).status == .failure)

            let create = kube.request("create-namespace")
            #expect(await kube.executor.prechecks(create).first?.passed == true)
            #expect(try await kube.executor.state(create) == [:])
            let created = await kube.executor.execute(create)
            #expect(created.status == .success, "\(created.error ?? "") \(fake.calls.filter { $0.method == "POST" }.map { "\($0.contentType) \($0.body.utf8.count) \($0.body)" })")
            #expect(fake.calls.contains { $0.method == "POST" && $0.path == "/api/v1/namespaces" && $0.body.contains("scratch") })
            #expect(try await kube.executor.state(create) == ["phase": "Active", "uid": "uid-scratch"])
            #expect(await kube.executor.prechecks(create).first?.passed == false)
            let delete = kube.request("delete-namespace", ["namespace": "kube-system"])
            #expect(await kube.executor.prechecks(delete).first { $0.name == "not-system-namespace" }?.passed == false)

            let policy = kube.request("apply-network-policy")
            #expect(await kube.executor.prechecks(policy).first { $0.name == "policy-name-unused" }?.passed == true)
            let applied = await kube.executor.execute(policy)
            #expect(applied.status == .success, "\(applied.error ?? "")")
            let post = try #require(fake.calls.first { $0.method == "POST" && $0.path == "/apis/networking.k8s.io/v1/namespaces/web/networkpolicies" })
            #expect(FakeKubeAPI.queryItems(post.query)["fieldValidation"] == "Strict")
            let body = try JSONValue.parse(post.body)
            #expect(body["spec"] == ["podSelector": ["matchLabels": ["app": "web"]], "policyTypes": ["Ingress"]])
            let state = try await kube.executor.state(policy)
            #expect(state["selected_pods"] == 1)
            #expect(state["policy"]?.at("metadata", "name") == "quarantine")
            #expect(await kube.executor.prechecks(policy).first { $0.name == "policy-name-unused" }?.passed == false)
            #expect(await kube.executor.execute(kube.request("delete-network-policy")).status == .success)
            #expect(fake.calls.contains { $0.method == "DELETE" && $0.path == "/apis/networking.k8s.io/v1/namespaces/web/networkpolicies/quarantine" })
        }
    }

    @Test func prechecksFailWhenTheDeploymentIsMissing() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            let request = kube.request("restart-deployment", ["deployment": "ghost"])
            let checks = await kube.executor.prechecks(request)
            #expect(checks.count == 3)
            #expect(checks.allSatisfy { !$0.passed && !$0.advisory }, "\(checks)")
            #expect(checks[0].message.contains("does not exist"))
            // One read for the three checks.
            #expect(fake.calls.filter { $0.path.hasSuffix("/deployments/ghost") }.count == 1)
            #expect(try await kube.executor.state(request) == [:])
            // A rollout in progress blocks a restart.
            var dep = try #require(fake.object(FakeKubeAPI.deploymentPath))
            dep = FakeKubeAPI.merge(dep, ["status": ["observedGeneration": 3, "availableReplicas": 0]])
            fake.setObject(FakeKubeAPI.deploymentPath, dep)
            let busy = await kube.executor.prechecks(kube.request("restart-deployment"))
            #expect(busy.map(\.passed) == [true, false, false])
        }
    }

    @Test func outputIsBounded() async throws {
        guard Kube.kubectlAvailable() else { return }
        let fake = FakeKubeAPI()
        fake.setLog(String(repeating: "0123456789abcdef\n", count: 20_000))
        try await fake.run { port in
            let kube = try Kube(port: port, maxOutputBytes: 4096)
            defer { kube.remove() }
            let output = await kube.executor.execute(kube.request("get-pod-logs"))
            #expect(output.status == .success, "\(output.error ?? "")")
            #expect(output.output.utf8.count < 4096 + 100)
            #expect(output.output.hasSuffix("[output truncated: \(340_000 - 4096) more bytes not shown]"))
        }
    }

    @Test func theAmbientEnvironmentNeverReachesKubectl() async throws {
        guard Kube.kubectlAvailable() else { return }
        // A bogus KUBECONFIG and a canary in this process. kubectl is held on a request the fake server doesn't
        // answer yet, while its environment is read from /proc.
        setenv("KUBECONFIG", "/nonexistent/bogus-kubeconfig", 1)
        setenv("AGENT_SAFE_CANARY", "leaked", 1)
        let fake = FakeKubeAPI()
        fake.hang(FakeKubeAPI.deploymentPath)
        try await fake.run { port in
            let kube = try Kube(port: port)
            defer { kube.remove() }
            async let output = kube.executor.execute(kube.request("get-deployment"))
            var environment: [String: String] = [:]
            for _ in 0..<200 where environment.isEmpty {
                try await Task.sleep(for: .milliseconds(50))
                if let pid = Kube.processes(containing: kube.kubeconfig, wait: false).first { environment = Kube.environment(of: pid) }
            }
            fake.release(FakeKubeAPI.deploymentPath)
            let result = await output
            #expect(result.status == .success, "\(result.error ?? "")")
            // The answer came from the fake server, which only the credential's kubeconfig names.
            #expect(fake.calls.contains { $0.method == "GET" && $0.path == FakeKubeAPI.deploymentPath })
            #expect(Set(environment.keys) == ["PATH", "HOME", "TMPDIR"], "\(environment)")
            #expect(environment["PATH"] == "/usr/local/bin:/usr/bin:/bin")
            #expect(environment["HOME"]?.hasPrefix(kube.runs + "/agent-safe-kubectl-") == true)
            #expect(environment["TMPDIR"] == environment["HOME"])
        }
    }

    @Test func aTimeoutKillsAHangingKubectl() async throws {
        guard Kube.kubectlAvailable() else { return }
        let kube = try Kube(port: 9)
        defer { kube.remove() }
        // A kubeconfig that is a FIFO nobody writes to: kubectl blocks opening it, beyond any request timeout.
        let fifo = kube.directory + "/fifo-kubeconfig"
        #expect(mkfifo(fifo, 0o600) == 0)
        var request = Kube.request("get-deployment", credential: Kube.credential(fifo))
        request.timeout = .seconds(2)
        let clock = ContinuousClock()
        let start = clock.now
        let output = await kube.executor.execute(request)
        let elapsed = clock.now - start
        #expect(output.status == .timeout, "\(output)")
        #expect(output.error?.contains("process group was killed") == true)
        #expect(elapsed >= .seconds(2))  // not before the deadline (no upper bound: a loaded machine is slow)
        #expect(Kube.processes(containing: fifo).isEmpty, "kubectl outlived the timeout")
        #expect(try FileManager.default.contentsOfDirectory(atPath: kube.runs).isEmpty)
    }

    @Test func theDeadlineKillsTheWholeProcessGroup() async throws {
        // What kubectl may start (an exec credential plugin) is in its process group; the deadline kills all of it.
        let marker = "4242.\(Int.random(in: 100_000...999_999))"
        let run = try await KubectlProcess.run(
            executable: "/bin/sh", arguments: ["-c", "sleep \(marker) & sleep \(marker)1; wait"], environment: ["PATH": "/usr/bin:/bin"],
            workingDirectory: "/", timeout: .milliseconds(500), maxOutputBytes: 100)
        #expect(run.timedOut)
        #expect(run.exitCode == nil)
        #expect(Kube.processes(containing: marker).isEmpty, "a child outlived the deadline")
    }
}
