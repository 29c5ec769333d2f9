import AgentSafeCore
import Foundation

/// Runs the catalogue's Kubernetes actions with the `kubectl` binary (docs/executors-kubectl.md).
///
/// - Every action maps to a fixed kubectl argv built only from its params; a param that kubectl could read as a
///   flag or split is refused (`invalid_param`). kubectl is run directly, never through a shell.
/// - Credentials come from the resolved credential only: `--kubeconfig <secret["kubeconfig"]>` and optional
///   `--context <secret["context"]>`. Without one the request is refused (`credential_required`) unless the
///   executor was made with `allowAmbientCredentials: true`: then kubectl's default configuration applies
///   (`KUBECONFIG`, `HOME` and the in-cluster `KUBERNETES_SERVICE_*` variables of this process are passed on).
/// - The child's environment is minimal (`PATH`, and `HOME`/`TMPDIR` set to a private directory made for the
///   run and removed after it), so nothing of this process's environment reaches kubectl.
/// - kubectl runs in its own process group; at the deadline (`request.timeout`, or the action's own shorter
///   one) the whole group gets SIGKILL. Output is bounded (`maxOutputBytes`, then a truncation note).
/// - Prechecks are real reads (`kubectl get … --output=json`) and block when they fail; names it doesn't know are
///   reported as advisory.
public struct KubectlExecutor: Executor {
    public let name = "kubectl"
    /// A path, or a name looked up in `searchPath`.
    public var kubectlPath: String
    public var allowAmbientCredentials: Bool
    public var maxOutputBytes: Int
    /// The child's `PATH` (kubectl itself and any exec credential plugin are looked up there).
    public var searchPath: String
    /// Where each run's private directory is made.
    public var temporaryDirectory: String
    /// Bound on each precheck and state read (and never above the request's timeout).
    public var readTimeout: Duration
    /// The variables passed on in ambient mode (read once, when the executor is made).
    let ambientEnvironment: [String: String]

    public init(
        kubectlPath: String = "kubectl", allowAmbientCredentials: Bool = false, maxOutputBytes: Int = 1 << 20,
        searchPath: String = "/usr/local/bin:/usr/bin:/bin", temporaryDirectory: String? = nil,
        readTimeout: Duration = .seconds(30)
    ) {
        self.kubectlPath = kubectlPath
        self.allowAmbientCredentials = allowAmbientCredentials
        self.maxOutputBytes = maxOutputBytes
        self.searchPath = searchPath
        self.temporaryDirectory = temporaryDirectory ?? NSTemporaryDirectory()
        self.readTimeout = readTimeout
        let environment = ProcessInfo.processInfo.environment
        self.ambientEnvironment = allowAmbientCredentials
            ? environment.filter { ["KUBECONFIG", "HOME", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"].contains($0.key) }
            : [:]
    }

    public func supports(_ action: ActionDefinition) -> Bool {
        KubectlActions.builders[action.name] != nil
            && (action.credentials?.type == "kubernetes" || action.tags.contains("kubernetes"))
    }

    public func plan(_ request: ExecutionRequest) throws -> [PlannedCall] {
        let operation = try KubectlActions.operation(for: request)
        let global = try globalArguments(request, timeout: effectiveTimeout(request, operation), planning: true)
        return operation.commands.map { .argv([kubectlPath] + global + $0.planned) }
    }

    public func execute(_ request: ExecutionRequest) async -> ExecutionOutput {
        do {
            let operation = try KubectlActions.operation(for: request)
            let timeout = effectiveTimeout(request, operation)
            let global = try globalArguments(request, timeout: timeout, planning: false)
            let calls = operation.commands.map { PlannedCall.argv([kubectlPath] + global + $0.planned) }
            switch operation.kind {
            case .plain:
                let run = try await run(operation.commands[0], request, timeout: timeout)
                return output(run, calls: calls, timeout: timeout)
            case .secret(let key):
                let run = try await run(operation.commands[0], request, timeout: timeout)
                var result = output(run, calls: calls, timeout: timeout)
                if result.status == .success { result = Self.decodeSecret(run.stdout, key: key, result) }
                return result
            case .tunnel(let seconds):
                let run = try await run(operation.commands[0], request, timeout: timeout)
                var result = output(run, calls: calls, timeout: timeout)
                if run.timedOut && timeout >= .seconds(seconds) {
                    result.status = .success
                    result.error = nil
                    result.output += (result.output.isEmpty ? "" : "\n") + "tunnel closed after \(seconds)s"
                }
                return result
            case .hpaTargets(_, _, let cpu, let memory):
                return try await updateHPATargets(operation, request, calls: calls, cpu: cpu, memory: memory, timeout: timeout)
            }
        } catch {
            return ExecutionOutput(status: Self.refusalCodes.contains(error.code) ? .refused : .failure, error: error.description)
        }
    }

    /// Errors that mean nothing was attempted.
    static let refusalCodes: Set<String> = ["unsupported_action", "missing_param", "invalid_param", "credential_required"]

    func effectiveTimeout(_ request: ExecutionRequest, _ operation: KubectlOperation) -> Duration {
        guard let own = operation.ownTimeout else { return request.timeout }
        return min(own, request.timeout)
    }

    // MARK: Outcome

    func output(_ run: KubectlRun, calls: [PlannedCall], timeout: Duration) -> ExecutionOutput {
        let stderr = run.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if run.timedOut {
            return ExecutionOutput(status: .timeout, output: run.stdout,
                                   error: "kubectl timed out after \(Self.seconds(timeout))s; its process group was killed",
                                   exitCode: run.exitCode, calls: calls)
        }
        if run.exitCode == 0 {
            return ExecutionOutput(status: .success, output: run.stdout, exitCode: 0, calls: calls)
        }
        return ExecutionOutput(status: .failure, output: run.stdout,
                               error: stderr.isEmpty ? "kubectl failed with exit code \(run.exitCode.map(String.init) ?? "none")" : stderr,
                               exitCode: run.exitCode, calls: calls)
    }

    static func seconds(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return max(1, s + (atto > 0 ? 1 : 0))
    }

    /// get-secret's output: the decoded value of `key`, or the Secret with its data decoded (values that aren't
    /// UTF-8 stay base64, under `binary_data`).
    static func decodeSecret(_ stdout: String, key: String?, _ result: ExecutionOutput) -> ExecutionOutput {
        var result = result
        result.output = ""
        if let key {
            let encoded = stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            guard encoded != "<no value>", let data = Data(base64Encoded: encoded) else {
                result.status = .failure
                result.error = "the Secret has no key '\(key)'"
                return result
            }
            result.output = String(data: data, encoding: .utf8) ?? encoded
            return result
        }
        guard let secret = try? JSONValue.parse(stdout) else {
            result.status = .failure
            result.error = "kubectl did not print a JSON Secret"
            return result
        }
        var text: [String: JSONValue] = [:]
        var binary: [String: JSONValue] = [:]
        for (name, value) in secret["data"]?.objectValue ?? [:] {
            guard let encoded = value.stringValue, let data = Data(base64Encoded: encoded) else { continue }
            if let decoded = String(data: data, encoding: .utf8) { text[name] = .string(decoded) } else { binary[name] = value }
        }
        var shown: [String: JSONValue] = [
            "name": secret.at("metadata", "name") ?? .null, "namespace": secret.at("metadata", "namespace") ?? .null,
            "type": secret["type"] ?? .null, "data": .object(text),
        ]
        if !binary.isEmpty { shown["binary_data"] = .object(binary) }
        result.output = JSONValue.object(shown).prettyText
        return result
    }

    // MARK: update-hpa-limits

    func updateHPATargets(
        _ operation: KubectlOperation, _ request: ExecutionRequest, calls: [PlannedCall], cpu: Int64?, memory: Int64?,
        timeout: Duration
    ) async throws(ExecutorError) -> ExecutionOutput {
        let clock = ContinuousClock()
        let start = clock.now
        let read = try await run(operation.commands[0], request, timeout: timeout)
        guard read.exitCode == 0, !read.timedOut else { return output(read, calls: Array(calls.prefix(1)), timeout: timeout) }
        guard let hpa = try? JSONValue.parse(read.stdout) else {
            return ExecutionOutput(status: .failure, error: "kubectl did not print a JSON HorizontalPodAutoscaler", calls: Array(calls.prefix(1)))
        }
        var indices: [String: Int] = [:]
        for (resource, value) in [("cpu", cpu), ("memory", memory)] where value != nil {
            guard let index = KubectlActions.metricIndex(hpa, resource) else {
                return ExecutionOutput(status: .failure, error: "the HPA has no Resource metric for \(resource)", calls: Array(calls.prefix(1)))
            }
            indices[resource] = index
        }
        let patch = KubectlActions.hpaTargetPatch(cpu: cpu, memory: memory) { String(indices[$0] ?? -1) }
        var command = operation.commands[1]
        command.arguments[command.arguments.count - 1] = .plain("--patch=" + patch.canonicalText)
        let global = try globalArguments(request, timeout: timeout, planning: false)
        let actualCalls = [calls[0], PlannedCall.argv([kubectlPath] + global + command.planned)]
        let remaining = timeout - (clock.now - start)
        guard remaining > .zero else {
            return ExecutionOutput(status: .timeout, error: "the deadline passed before the patch", calls: actualCalls)
        }
        return output(try await run(command, request, timeout: remaining), calls: actualCalls, timeout: timeout)
    }
}
