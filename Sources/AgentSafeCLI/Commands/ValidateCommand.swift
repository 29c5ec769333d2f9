import AgentSafeConfig
import AgentSafeCore
import ArgumentParser
import Foundation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Load every configuration file and list every error (exit 1 on any).")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("o"), .long], help: "text or json.")
    var output: OutputFormat = .text

    func run() throws {
        let cwd = FileManager.default.currentDirectoryPath
        let loaded = Result(catching: { () throws(ConfigLoadError) in
            let snapshot = try CatalogueLoader.load(global.loadOptions)
            _ = try TokenSetup.load(snapshot.config)  // keys named by the config must load too
            return snapshot
        })
        switch loaded {
        case .success(let s):
            if output == .json {
                print(JSONValue.object([
                    "valid": true,
                    "config": s.paths.config.map { .string(CatalogueLoader.display($0, cwd: cwd)) } ?? .null,
                    "actions": .integer(Int64(s.actions.count)),
                    "targets": .integer(Int64(s.inventory.targets.count)),
                    "rules": .integer(Int64(s.engine.policy.rules.count)),
                    "digest": .string(s.digest),
                    "warnings": .array(s.warnings.map { Self.json($0) }),
                ]).prettyText)
                return
            }
            let show = { (p: String) in CatalogueLoader.display(p, cwd: cwd) }
            print("OK  config:    \(s.paths.config.map(show) ?? "(none found; using defaults)")")
            print("OK  actions:   \(s.actions.count) action(s) from \(show(s.paths.registry))")
            print("OK  inventory: \(s.inventory.targets.count) target(s)\(s.paths.inventory.map { " from \(show($0))" } ?? "")")
            let policyFiles = s.files.filter { $0.role == .policy }.count
            print("OK  policies:  \(s.engine.policy.rules.count) rule(s)\(s.chains.isEmpty ? "" : ", \(s.chains.count) chain(s)") from \(policyFiles) file(s) in \(show(s.paths.policies))")
            for w in s.warnings { print(w.description) }
            print("All configuration valid (\(s.files.count) file(s), digest \(s.digest.prefix(12))).")
        case .failure(let error):
            if output == .json {
                print(JSONValue.object([
                    "valid": false, "errors": .array(error.diagnostics.map { Self.json($0) }),
                ]).prettyText)
            } else {
                for d in error.diagnostics { print(d.description) }
                let n = error.errors.count
                print("\(n) error\(n == 1 ? "" : "s") found.")
            }
            throw ExitCode(1)
        }
    }

    static func json(_ d: ConfigDiagnostic) -> JSONValue {
        .object([
            "severity": .string(d.severity.rawValue), "code": .string(d.code.rawValue), "file": .string(d.file),
            "line": .integer(Int64(d.line)), "column": .integer(Int64(d.column)), "field": .string(d.fieldPath),
            "message": .string(d.message),
        ])
    }
}
