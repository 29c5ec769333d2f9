import AgentSafeCore
import Foundation

/// The result of one `kubectl get … --output=json`.
enum KubectlRead: Sendable {
    case found(JSONValue)
    case notFound
    /// The API refused the credential (`Forbidden`).
    case forbidden(String)
    case failed(String)
}

/// Reads objects for prechecks and state, each distinct read once per reader.
final class KubectlReader {
    let executor: KubectlExecutor
    let request: ExecutionRequest
    private var cache: [[String]: KubectlRead] = [:]

    init(executor: KubectlExecutor, request: ExecutionRequest) {
        self.executor = executor
        self.request = request
    }

    var timeout: Duration { min(executor.readTimeout, request.timeout) }

    /// `kubectl [-n namespace] get <arguments> --output=json`.
    func get(namespace: String?, _ arguments: [String]) async -> KubectlRead {
        let key = [namespace ?? ""] + arguments
        if let cached = cache[key] { return cached }
        let result = await read(KubectlCommand(namespace: namespace, ["get"] + arguments + ["--output=json"]))
        cache[key] = result
        return result
    }

    private func read(_ command: KubectlCommand) async -> KubectlRead {
        let run: KubectlRun
        do {
            run = try await executor.run(command, request, timeout: timeout)
        } catch {
            return .failed(error.description)
        }
        if run.timedOut { return .failed("kubectl get timed out after \(KubectlExecutor.seconds(timeout))s") }
        let stderr = run.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        guard run.exitCode == 0 else {
            if stderr.contains("(NotFound)") { return .notFound }
            if stderr.contains("(Forbidden)") { return .forbidden(stderr) }
            return .failed(stderr.isEmpty ? "kubectl get failed" : stderr)
        }
        do {
            return .found(try JSONValue.parse(run.stdout))
        } catch {
            return .failed("kubectl get did not print JSON: \(error)")
        }
    }
}
