import ArgumentParser
import Foundation

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a working starter project: agent-safe.yaml, actions, policies, inventory and policy tests.",
        discussion: "Existing files are never overwritten. Afterwards: cd DIR && agent-safe validate && agent-safe test policies/tests")

    @Argument(help: "Directory to create the project in.")
    var directory: String = "."

    func run() throws {
        let fm = FileManager.default
        let root = URL(fileURLWithPath: directory)
        var created: [String] = []
        var skipped: [String] = []
        for (relative, content) in StarterProject.files {
            let url = root.appendingPathComponent(relative)
            if fm.fileExists(atPath: url.path) {
                skipped.append(relative)
                continue
            }
            do {
                try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(content.utf8).write(to: url, options: .withoutOverwriting)
            } catch {
                Console.error("error: \(url.path): cannot write: \(error.localizedDescription)")
                throw ExitCode(1)
            }
            created.append(relative)
        }
        if !created.isEmpty {
            print("Created:")
            for c in created { print("  + \(c)") }
        }
        for s in skipped { print("  skip  \(s) (already exists)") }
        print("""

            Next steps:
              cd \(directory)
              agent-safe validate
              agent-safe test policies/tests
              agent-safe check restart-deployment --target dev/web --caller my-agent --params '{"namespace":"web","deployment":"web"}'
            """)
    }
}
