import AgentSafeCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension KubectlExecutor {
    /// `--kubeconfig <path> [--context <name>] --request-timeout=<n>s`, from the credential only. In a plan
    /// without a credential, the kubeconfig is shown as a placeholder.
    func globalArguments(_ request: ExecutionRequest, timeout: Duration, planning: Bool) throws(ExecutorError) -> [String] {
        var argv: [String] = []
        if let credential = request.credential {
            guard credential.type == "kubernetes" else {
                throw ExecutorError("credential_required", "a '\(credential.type)' credential can't run kubectl")
            }
            if !planning && credential.expiresAt <= Int64(Date().timeIntervalSince1970) {
                throw ExecutorError("credential_required", "credential \(credential.id) has expired")
            }
            guard let kubeconfig = credential.secret["kubeconfig"], !kubeconfig.isEmpty else {
                throw ExecutorError("credential_required", "credential \(credential.id) has no kubeconfig path")
            }
            guard kubeconfig.hasPrefix("/"), !kubeconfig.unicodeScalars.contains(where: KubectlParams.isControl) else {
                throw ExecutorError("credential_required", "the credential's kubeconfig must be an absolute path")
            }
            argv += ["--kubeconfig", kubeconfig]
            if let context = credential.secret["context"], !context.isEmpty {
                do throws(ExecutorError) { try KubectlParams.checkToken(context, "context") } catch {
                    throw ExecutorError("credential_required", "the credential's context is not usable: \(error.message)")
                }
                argv += ["--context", context]
            }
        } else if !allowAmbientCredentials {
            guard planning else {
                throw ExecutorError("credential_required", "'\(request.action.name)' needs a resolved kubernetes credential")
            }
            argv += ["--kubeconfig", "<kubeconfig of the resolved credential>"]
        }
        argv.append("--request-timeout=\(Self.seconds(timeout))s")
        return argv
    }

    /// The child's whole environment.
    func childEnvironment(_ request: ExecutionRequest, home: String) -> [String: String] {
        var environment = ["PATH": searchPath, "HOME": home, "TMPDIR": home]
        if request.credential == nil && allowAmbientCredentials {
            environment.merge(ambientEnvironment) { _, ambient in ambient }
        }
        return environment
    }

    /// Runs one command in a private directory (its HOME and TMPDIR, holding any input files), removed after.
    func run(_ command: KubectlCommand, _ request: ExecutionRequest, timeout: Duration) async throws(ExecutorError) -> KubectlRun {
        let global = try globalArguments(request, timeout: timeout, planning: false)
        let directory = try Self.makePrivateDirectory(in: temporaryDirectory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var paths: [String: String] = [:]
        for file in command.files {
            let path = directory + "/" + file.name
            try Self.writePrivateFile(path, file.content)
            paths[file.name] = path
        }
        let argv = global + command.render { name, _ in paths[name] ?? name }
        return try await KubectlProcess.run(
            executable: kubectlPath, arguments: argv, environment: childEnvironment(request, home: directory),
            workingDirectory: directory, timeout: timeout, maxOutputBytes: maxOutputBytes)
    }

    /// A new directory, mode 0700.
    static func makePrivateDirectory(in parent: String) throws(ExecutorError) -> String {
        var template = Array((parent.hasSuffix("/") ? parent : parent + "/").utf8CString.dropLast()) + Array("agent-safe-kubectl-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard made else { throw ExecutorError("io", "could not make a private directory in \(parent): errno \(errno)") }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A new file, mode 0600, refused if anything is already there.
    static func writePrivateFile(_ path: String, _ content: String) throws(ExecutorError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw ExecutorError("io", "could not create \(path): errno \(errno)") }
        defer { close(fd) }
        var bytes = Array(content.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ExecutorError("io", "could not write \(path): errno \(errno)")
            }
            bytes = bytes.dropFirst(written)
        }
    }
}
