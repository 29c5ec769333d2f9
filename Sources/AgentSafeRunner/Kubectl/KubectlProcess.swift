import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How one kubectl process ended.
struct KubectlRun: Sendable {
    /// The exit code; `nil` when the process died of a signal.
    var exitCode: Int32?
    var stdout: String
    var stderr: String
    /// The deadline passed and the process group was killed.
    var timedOut: Bool
}

/// Runs kubectl directly (argv, never a shell) in its own process group, with a minimal environment, bounded
/// output capture and a deadline after which the whole group (kubectl and anything it started, such as an exec
/// credential plugin) gets SIGKILL.
enum KubectlProcess {
    /// At most this much of stderr is kept.
    static let maxErrorBytes = 64 * 1024

    static func run(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String,
        timeout: Duration, maxOutputBytes: Int
    ) async throws(ExecutorError) -> KubectlRun {
        var options = PlatformOptions()
        // setpgid(0, 0): kubectl leads a new process group whose id is its pid.
        options.processGroupID = 0
        let exe: Executable = executable.contains("/") ? .path(FilePath(executable)) : .name(executable)
        var env: [Environment.Key: String] = [:]
        for (key, value) in environment {
            if let key = Environment.Key(rawValue: key) { env[key] = value }
        }
        do {
            let result = try await Subprocess.run(
                exe, arguments: Arguments(arguments), environment: .custom(env),
                workingDirectory: FilePath(workingDirectory), platformOptions: options,
                input: .none, output: .sequence, error: .sequence
            ) { execution in
                try await collect(execution, timeout: timeout, maxOutputBytes: maxOutputBytes)
            }
            var run = result.closureResult
            switch result.terminationStatus {
            case .exited(let code): run.exitCode = code
            default: run.exitCode = nil
            }
            return run
        } catch let error as SubprocessError {
            throw ExecutorError("io", "could not run \(executable): \(error)")
        } catch {
            throw ExecutorError("io", "kubectl: \(error)")
        }
    }

    private enum Piece: Sendable {
        case stdout(Capture)
        case stderr(Capture)
        case deadline
    }

    private static func collect(
        _ execution: Execution<NoInput, SequenceOutput, SequenceOutput>, timeout: Duration, maxOutputBytes: Int
    ) async throws -> KubectlRun {
        let group = execution.processIdentifier.value
        let stdout = execution.standardOutput
        let stderr = execution.standardError
        return try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Piece.self) { tasks in
                tasks.addTask { .stdout(try await Capture.read(stdout, limit: maxOutputBytes)) }
                tasks.addTask { .stderr(try await Capture.read(stderr, limit: maxErrorBytes)) }
                tasks.addTask {
                    try await Task.sleep(for: timeout)
                    return .deadline
                }
                var out: Capture?
                var err: Capture?
                var timedOut = false
                while out == nil || err == nil, let piece = try await tasks.next() {
                    switch piece {
                    case .stdout(let c): out = c
                    case .stderr(let c): err = c
                    case .deadline:
                        // The pipes close once every process of the group is gone, which ends both reads.
                        timedOut = true
                        kill(-group, SIGKILL)
                    }
                }
                tasks.cancelAll()
                return KubectlRun(exitCode: nil, stdout: out?.text ?? "", stderr: err?.text ?? "", timedOut: timedOut)
            }
        } onCancel: {
            kill(-group, SIGKILL)
        }
    }
}

/// Bytes read from a pipe, up to a limit; the rest is drained (so the writer never blocks) and counted.
struct Capture: Sendable {
    var bytes: [UInt8] = []
    var dropped = 0

    static func read(_ sequence: SubprocessOutputSequence, limit: Int) async throws -> Capture {
        var capture = Capture()
        for try await buffer in sequence {
            buffer.withUnsafeBytes { raw in
                let room = max(0, limit - capture.bytes.count)
                capture.bytes.append(contentsOf: raw.prefix(room))
                capture.dropped += max(0, raw.count - room)
            }
        }
        return capture
    }

    var text: String {
        let body = String(decoding: bytes, as: UTF8.self)
        return dropped == 0 ? body : body + "\n[output truncated: \(dropped) more bytes not shown]"
    }
}
