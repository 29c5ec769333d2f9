import AgentSafeConfig
import AgentSafeCore
import ArgumentParser

struct ListActionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-actions", abstract: "List the action catalogue.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only actions with this tag.")
    var tag: String?

    @Option(help: "Only actions of this risk class (low, medium, high, critical).")
    var risk: String?

    @Option(name: [.customShort("o"), .long], help: "text or json.")
    var output: OutputFormat = .text

    func validate() throws {
        if let risk, RiskClass(rawValue: risk) == nil {
            throw ValidationError("--risk must be one of low, medium, high, critical")
        }
    }

    func run() throws {
        let snapshot = try global.loadSnapshot()
        let actions = snapshot.actions.filter { a in
            (tag.map { a.tags.contains($0) } ?? true) && (risk.map { a.riskClass.rawValue == $0 } ?? true)
        }
        if output == .json {
            print(JSONValue.array(actions.map { a in
                .object([
                    "name": .string(a.name), "version": .string(a.version), "description": .string(a.description),
                    "risk_class": .string(a.riskClass.rawValue), "target_types": .array(a.targetTypes.map(JSONValue.string)),
                    "tags": .array(a.tags.map(JSONValue.string)), "reversible": .bool(a.reversible),
                    "rollback_action": a.rollbackAction.map(JSONValue.string) ?? .null,
                    "parameters": .array(a.parameters.map { p in
                        .object(["name": .string(p.name), "type": .string(p.type.rawValue), "required": .bool(p.required),
                                 "sensitive": .bool(p.sensitive), "description": .string(p.description)])
                    }),
                ])
            }).prettyText)
            return
        }
        if actions.isEmpty {
            print("No actions found.")
            return
        }
        for a in actions {
            print("  \(a.name.rightPad(30)) \("[\(a.riskClass.rawValue)]".rightPad(10)) v\(a.version)  \(a.targetTypes.joined(separator: ","))")
        }
        print("\n\(actions.count) action(s) registered.")
    }
}
