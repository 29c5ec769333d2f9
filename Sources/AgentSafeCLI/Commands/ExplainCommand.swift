import AgentSafeConfig
import AgentSafeCore
import ArgumentParser

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show how a request is decided: every rule in order, matched or not, and why.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var request: RequestOptions

    @Argument(help: "The action, e.g. restart-deployment.")
    var action: String

    @Option(name: [.customShort("o"), .long], help: "text or json.")
    var output: OutputFormat = .text

    func run() throws {
        let snapshot = try global.loadSnapshot()
        let explanation = snapshot.engine.explain(try request.request(action: action, tokens: try TokenContext.load(snapshot.config)))
        if output == .json {
            print(json(explanation).prettyText)
        } else {
            print(text(explanation, engine: snapshot.engine))
        }
    }

    func text(_ e: Explanation, engine: PolicyEngine) -> String {
        var lines = [DecisionText.render(e.decision), ""]
        if let step = e.preRuleStep {
            lines.append("Decided before the rules: \(step)")
            lines.append("")
        }
        let d = e.decision
        let targetNote: String
        if let t = d.target.flatMap({ engine.inventory[$0] }) {
            targetNote = "\(t.id): \(t.type), \(t.environment.rawValue), \(t.sensitivity.rawValue)"
        } else {
            targetNote = "\(d.target ?? "(none)"): not in the inventory (sensitivity critical)"
        }
        lines.append("Target:  \(targetNote)")
        lines.append("Risk:    action \(d.riskClass.rawValue) × target → \(d.matrixRisk.rawValue)")
        for m in d.modifiers {
            lines.append("         +\(m.raise) (\(m.source.rawValue)) \(m.reason): \(m.from.rawValue) → \(m.to.rawValue)")
        }
        lines.append("")
        lines.append("Rules in evaluation order (priority high to low, first match wins):")
        if e.rules.isEmpty { lines.append("  (no rules loaded: everything is denied)") }
        for trace in e.rules {
            let r = trace.rule
            let head = "  \(String(trace.position).leftPad(3)). \(r.name) [p\(r.priority), \(r.decision.rawValue)]"
                + (r.source.map { "  \($0)" } ?? "")
            lines.append(head)
            switch trace.outcome {
            case .decided: lines.append("       MATCHED: decided \(r.decision.rawValue)")
            case .matchedButNotReached: lines.append("       matches, but the decision was already made")
            case .notMatched(let why): lines.append("       no: \(why)")
            }
        }
        if d.code == .noMatchingPolicy { lines.append("\nNo rule matched: default deny.") }
        return lines.joined(separator: "\n")
    }

    func json(_ e: Explanation) -> JSONValue {
        var o: [String: JSONValue] = ["decision": e.decision.jsonValue]
        o["pre_rule_step"] = e.preRuleStep.map(JSONValue.string) ?? .null
        o["rules"] = .array(e.rules.map { t in
            var r: [String: JSONValue] = [
                "position": .integer(Int64(t.position)), "name": .string(t.rule.name),
                "priority": .integer(Int64(t.rule.priority)), "decision": .string(t.rule.decision.rawValue),
                "source": t.rule.source.map { .string($0.description) } ?? .null,
            ]
            switch t.outcome {
            case .decided: r["outcome"] = "decided"
            case .matchedButNotReached: r["outcome"] = "matched_not_reached"
            case .notMatched(let why):
                r["outcome"] = "not_matched"
                r["why"] = .string(why)
            }
            return .object(r)
        })
        return .object(o)
    }
}

extension String {
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }

    func rightPad(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
