import Foundation
import Testing

/// Runs the built `agent-safe` binary and captures what it prints.
struct CLIRunner {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The package root (three levels above this file).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `../shared/compat/agent-safe` next to the package, when present.
    static let compatRoot = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/compat/agent-safe")
    static var compatPresent: Bool { FileManager.default.fileExists(atPath: compatRoot.path) }

    /// The binary sits next to the test bundle in the build products directory.
    static let binary: URL = {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = testBinary.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("agent-safe")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug/agent-safe")
    }()

    /// Runs the binary on a thread of its own, so that waiting for it never blocks Swift concurrency's
    /// cooperative threads (other tests' async work keeps running meanwhile).
    static func run(_ arguments: [String], in directory: URL = packageRoot, stdin: String? = nil) async throws -> Output {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Output, any Error>) in
            let thread = Thread {
                continuation.resume(with: Result { try runBlocking(arguments, in: directory, stdin: stdin) })
            }
            thread.start()
        }
    }

    static func runBlocking(_ arguments: [String], in directory: URL, stdin: String?) throws -> Output {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes before waiting, so a chatty process can't block on a full pipe.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("agent-safe-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Whether tests that read ../shared must run: it is missing only on a user's clone, never in CI.
    static func requireCompat() -> Bool {
        if compatPresent { return true }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("../shared/compat/agent-safe is missing, and CI=true requires it")
        } else {
            print("skipped: ../shared/compat/agent-safe is not present next to this clone")
        }
        return false
    }
}
