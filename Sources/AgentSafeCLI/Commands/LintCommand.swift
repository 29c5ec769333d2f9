import AgentSafeConfig
import AgentSafeCore
import ArgumentParser

struct LintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Find shadowed and unreachable rules, duplicate names and rules naming unknown actions.",
        discussion: """
            Reasons over the loaded catalogue and inventory: a rule is shadowed when, for every action and target \
            it could see, one higher-priority rule matches all of its callers, times and tickets. Exit 0 unless \
            --strict is given and something was found (then 1).
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Exit 1 when anything is found.")
    var strict = false

    @Option(name: [.customShort("o"), .long], help: "text or json.")
    var output: OutputFormat = .text

    func run() throws {
        let snapshot = try global.loadSnapshot()
        let findings = PolicyLinter.lint(snapshot.engine)
        if output == .json {
            print(JSONValue.array(findings.map { f in
                .object([
                    "kind": .string(f.kind.rawValue), "rule": .string(f.rule),
                    "source": f.source.map { .string($0.description) } ?? .null, "message": .string(f.message),
                    "shadowed_by": .array(f.shadowedBy.map(JSONValue.string)),
                ])
            }).prettyText)
        } else {
            for f in findings {
                let at = f.source.map { "\($0): " } ?? ""
                print("\(at)warning: [\(f.kind.rawValue)] rule '\(f.rule)' \(f.message)")
            }
            let n = snapshot.engine.policy.rules.count
            print(findings.isEmpty ? "No problems found in \(n) rule(s)."
                  : "\(findings.count) problem(s) found in \(n) rule(s).")
        }
        if strict, !findings.isEmpty { throw ExitCode(1) }
    }
}
