import AgentSafeConfig
import ArgumentParser
import Foundation

/// Where the configuration comes from (as upstream's global flags).
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "agent-safe.yaml to use (default: found in this directory or a parent).")
    var config: String?

    @Option(name: .long, help: "Directory of action definitions (default: from agent-safe.yaml, else ./actions).")
    var registry: String?

    @Option(name: .long, help: "Directory (or file) of policies (default: from agent-safe.yaml, else ./policies).")
    var policies: String?

    @Option(name: .long, help: "Target inventory file (default: from agent-safe.yaml, else ./inventory.yaml).")
    var inventory: String?

    var loadOptions: LoadOptions {
        LoadOptions(configPath: config, registry: registry, policies: policies, inventory: inventory)
    }

    /// Loads everything, or prints every problem to stderr and exits 1.
    func loadSnapshot() throws -> Snapshot {
        let result = Result { () throws(ConfigLoadError) in try CatalogueLoader.load(loadOptions) }
        switch result {
        case .success(let snapshot):
            for warning in snapshot.warnings { Console.error(warning.description) }
            return snapshot
        case .failure(let error):
            for diagnostic in error.diagnostics { Console.error(diagnostic.description) }
            let count = error.errors.count
            Console.error("error: configuration not loaded: \(count) error\(count == 1 ? "" : "s")")
            throw ExitCode(1)
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

enum Console {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Colour only on a terminal, and never when NO_COLOR is set.
    static let useColor: Bool = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    /// Prints `error: message` to stderr and returns the exit code for a bad value (1).
    static func fail(_ message: String) -> ExitCode {
        error("error: " + message)
        return ExitCode(1)
    }

    static func paint(_ text: String, _ code: String) -> String {
        useColor ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}
