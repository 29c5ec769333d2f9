import AgentSafeConfig
import AgentSafeCore
import Foundation
import Testing

/// One broken project: ``Baseline`` with one thing changed, and where the loader must say the problem is.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    var name: String
    var files: [String: FileContent]
    /// The first error's file, as shown (relative to the project directory).
    var file: String
    /// `nil` when the position isn't well-defined (asserted only to be a real position then).
    var line: Int?
    var column: Int?
    var code: ConfigDiagnostic.Code
    var fieldPath: String?
    var message: String

    var testDescription: String { name }
}

private let scale = "actions/scale-deployment.yaml"
private let restart = "actions/restart-deployment.yaml"
private let policy = "policies/10-base.yaml"
private let inventory = "inventory.yaml"

/// One line per case: `c(name, files, file, line, column, code, fieldPath, message)`.
private func c(
    _ name: String, _ files: [String: FileContent], _ file: String, _ line: Int?, _ column: Int?,
    _ code: ConfigDiagnostic.Code, _ fieldPath: String?, _ message: String
) -> MalformedCase {
    MalformedCase(name: name, files: files, file: file, line: line, column: column, code: code, fieldPath: fieldPath,
                  message: message)
}

private func p(_ path: String, _ old: String, _ new: String) -> [String: FileContent] {
    [path: .patch(old, new)]
}

enum MalformedCorpus {
    /// Line 3 of the restart action holds a 0xFF byte at column 17 (`description: caf` is 16 characters).
    static let invalidUTF8: Data = {
        var d = Data("name: restart-deployment\nversion: \"1.0.0\"\ndescription: caf".utf8)
        d.append(0xFF)
        d.append(contentsOf: Data("e\nrisk_class: medium\ntarget_types: [k8s-deployment]\n".utf8))
        return d
    }()

    /// 10 MiB of comment: over the 4 MiB limit, refused before it is parsed.
    static let tenMegabytes = Data(repeating: UInt8(ascii: "#"), count: 10 << 20)

    /// "Billion laughs": 10 levels of 10 aliases each, 10^10 scalars once expanded.
    static let aliasBomb: String = {
        var lines = ["name: bomb", "l0: &l0 [" + Array(repeating: "lol", count: 10).joined(separator: ", ") + "]"]
        for level in 1...9 {
            lines.append("l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    static let deepNesting = "name: deep\nparameters: " + String(repeating: "[", count: 2000) + "\n"

    static let cases: [MalformedCase] = [
        // Syntax and encoding.
        c("tab indentation inside a list item", p(scale, "  - name: namespace\n    type: string", "  - name: namespace\n\ttype: string"),
          scale, 9, 1, .yamlSyntax, "", "tab character"),
        c("tab indentation of a list", p(scale, "  - name: namespace\n", "\t- name: namespace\n"),
          scale, 8, 1, .yamlSyntax, "", "tabs can't indent YAML; use spaces"),
        c("duplicate key in one mapping", p(scale, "description: Scale a deployment\n", "description: Scale a deployment\ndescription: again\n"),
          scale, 3, 1, .duplicateName, "", "duplicate key 'description'"),  // Yams marks the first occurrence
        c("two YAML documents in one file", [restart: .text(Baseline.restart + "---\nname: second\n")],
          restart, 12, 1, .yamlSyntax, "", "single document"),
        c("undefined alias", p(scale, "description: Scale a deployment", "description: *nope"),
          scale, 3, 14, .yamlSyntax, "", "undefined alias"),
        c("merge key with a scalar", p(policy, "  - name: allow-dev\n", "  - <<: 5\n    name: allow-dev\n"),
          policy, 2, 9, .yamlSyntax, "", "merge key"),
        c("invalid UTF-8 on line 3", [restart: .bytes(invalidUTF8)], restart, 3, 17, .invalidEncoding, "", "not valid UTF-8"),
        c("10 MB file", ["actions/huge.yaml": .bytes(tenMegabytes)], "actions/huge.yaml", 1, 1, .fileTooLarge, "",
          "over the 4194304-byte limit"),
        c("billion laughs alias bomb", ["actions/bomb.yaml": .text(aliasBomb)], "actions/bomb.yaml", nil, nil,
          .yamlTooComplex, "", "expands to more than"),
        c("alias bomb used as a mapping key", ["actions/keybomb.yaml": .text(aliasBomb + "*l9: boom\n")],
          "actions/keybomb.yaml", 12, 1, .yamlTooComplex, "", "an alias can't be used as a mapping key"),
        c("flow sequence of aliases as a key", ["actions/flowkey.yaml": .text(aliasBomb + "[*l9, *l8]: boom\n")],
          "actions/flowkey.yaml", 12, 10, .yamlTooComplex, "", "a collection can't be used as a mapping key"),
        c("explicit complex key next to anchors", ["actions/qkey.yaml": .text(aliasBomb + "? - *l9\n: boom\n")],
          "actions/qkey.yaml", 12, 1, .yamlTooComplex, "", "explicit mapping keys"),
        c("2000 nested [", ["actions/deep.yaml": .text(deepNesting)], "actions/deep.yaml", 2, nil, .yamlSyntax, "",
          "nesting level"),

        // Whole-file shapes.
        c("empty action file", [scale: .text("")], scale, 1, 1, .emptyFile, "", "file is empty"),
        c("action file of only comments", [scale: .text("# nothing here\n\n# at all\n")], scale, 1, 1, .emptyFile, "",
          "file is empty"),
        c("empty policy file", [policy: .text("")], policy, 1, 1, .emptyFile, "", "expected a 'rules' list"),
        c("list at top level", [inventory: .text("- id: dev/app\n  type: k8s-deployment\n")], inventory, 1, 1, .wrongType,
          "", "expected a mapping, got a list"),
        c("scalar at top level", [policy: .text("allow everything\n")], policy, 1, 1, .wrongType, "",
          "expected a mapping, got a string"),
        c("inventory without targets", [inventory: .text("# no targets\n{}\n")], inventory, 2, 1, .missingField, "",
          "missing required field 'targets'"),
        c("inventory with target: for targets:", p(inventory, "targets:", "target:"), inventory, 1, 1, .unknownKey,
          "target", "did you mean 'targets'?"),
        c("rules: not a list", [policy: .text("rules: allow-all\n")], policy, 1, 8, .wrongType, "rules",
          "expected a list, got a string"),
        c("policy rule that is a scalar", [policy: .text("rules:\n  - allow-everything\n")], policy, 2, 5, .wrongType,
          "rules[0]", "expected a mapping, got a string"),

        // Wrong types.
        c("name: 5", p(scale, "name: scale-deployment", "name: 5"), scale, 1, 7, .wrongType, "name",
          "expected a string, got an integer (5)"),
        c("version: 1.0 unquoted float", p(scale, "version: \"1.0.0\"", "version: 1.0"), scale, 2, 10, .wrongType,
          "version", "(quote it)"),
        c("priority: \"high\"", p(policy, "priority: 10", "priority: \"high\""), policy, 3, 15, .wrongType,
          "rules[0].priority", "expected an integer, got a string"),
        c("min_value: abc", p(scale, "min_value: 0", "min_value: abc"), scale, 13, 18, .wrongType,
          "parameters[1].constraints.min_value", "expected a number, got a string"),
        c("label value 3", p(inventory, "app: demo", "app: 3"), inventory, 8, 12, .wrongType, "targets[0].labels.app",
          "expected a string, got an integer (3)"),
        c("labels as a list", p(inventory, "    labels:\n      app: demo", "    labels: [demo]"), inventory, 7, 13,
          .wrongType, "targets[0].labels", "expected a mapping of strings, got a list"),
        c("reversible: \"maybe\"", p(scale, "reversible: true", "reversible: \"maybe\""), scale, 20, 13, .wrongType,
          "reversible", "expected true or false, got a string"),

        // Missing required fields (reported at the mapping that lacks them).
        c("action without name", p(scale, "name: scale-deployment\n", ""), scale, 1, 1, .missingField, "",
          "missing required field 'name'"),
        c("action without description", p(scale, "description: Scale a deployment\n", ""), scale, 1, 1, .missingField,
          "", "missing required field 'description'"),
        c("action without risk_class", p(scale, "risk_class: medium\n", ""), scale, 1, 1, .missingField, "",
          "missing required field 'risk_class'"),
        c("action without target_types", p(scale, "target_types:\n  - k8s-deployment\n", ""), scale, 1, 1,
          .missingField, "", "missing required field 'target_types'"),
        c("empty target_types", p(scale, "target_types:\n  - k8s-deployment", "target_types: []"), scale, 5, 15,
          .invalidValue, "target_types", "at least one target type"),
        c("rule without match", p(policy, "    match:\n      targets:\n        environments: [dev]\n", ""), policy, 2, 5,
          .missingField, "rules[0]", "missing required field 'match'"),
        c("rule without decision", p(policy, "    decision: allow\n", ""), policy, 2, 5, .missingField, "rules[0]",
          "missing required field 'decision'"),
        c("rule without reason", p(policy, "    reason: dev is open\n", ""), policy, 2, 5, .missingField, "rules[0]",
          "missing required field 'reason'"),
        c("target without id", p(inventory, "  - id: dev/app\n    type", "  - type"), inventory, 2, 5, .missingField,
          "targets[0]", "missing required field 'id'"),
        c("target without environment", p(inventory, "    environment: dev\n", ""), inventory, 2, 5, .missingField,
          "targets[0]", "missing required field 'environment'"),
        c("target without sensitivity", p(inventory, "    sensitivity: public\n", ""), inventory, 2, 5, .missingField,
          "targets[0]", "missing required field 'sensitivity'"),

        // Invalid values.
        c("risk_class: LOW", p(scale, "risk_class: medium", "risk_class: LOW"), scale, 4, 13, .invalidValue, "risk_class",
          "did you mean 'low'?"),
        c("environment: production", p(inventory, "environment: dev", "environment: production"), inventory, 4, 18,
          .invalidValue, "targets[0].environment", "'production' is not one of dev, staging, prod (did you mean 'prod'?)"),
        c("decision: permit", p(policy, "decision: allow", "decision: permit"), policy, 7, 15, .invalidValue,
          "rules[0].decision", "'permit' is not one of allow, deny, require_approval"),
        c("parameter type: object", p(scale, "type: integer", "type: object"), scale, 11, 11, .invalidValue,
          "parameters[1].type", "'object' is not one of string, integer, number, boolean, array"),
        c("version \"1.0\" quoted", p(scale, "version: \"1.0.0\"", "version: \"1.0\""), scale, 2, 10, .invalidValue,
          "version", "is not MAJOR.MINOR.PATCH"),
        c("upper-case action name", p(scale, "name: scale-deployment", "name: Scale-Deployment"), scale, 1, 7,
          .invalidValue, "name", "not a valid action name"),
        c("max_value below min_value", p(scale, "max_value: 100", "max_value: -1"), scale, 14, 18, .invalidValue,
          "parameters[1].constraints.max_value", "below min_value"),
        c("unbalanced regex ^(abc$", p(scale, "pattern: \"^[a-z]+$\"", "pattern: \"^(abc$\""), scale, 19, 18,
          .invalidValue, "parameters[2].constraints.pattern", "invalid pattern '^(abc$'"),
        c("lookahead regex (?=x)", p(scale, "pattern: \"^[a-z]+$\"", "pattern: \"(?=x)\""), scale, 19, 17,
          .invalidValue, "parameters[2].constraints.pattern", "invalid pattern '(?=x)'"),
        c("rollback_params source foo.bar", p(scale, "source: params.namespace", "source: foo.bar"), scale, 24, 13,
          .invalidValue, "rollback_params.namespace.source", "must be params.<name> or before_state.<field>"),
        c("risk modifier raise: 7", p(scale, "raise: 1", "raise: 7"), scale, 34, 12, .invalidValue,
          "risk_modifiers[0].raise", "raise must be 1, 2 or 3"),
        c("time window day 9", p(policy, "days: [0, 1, 2, 3, 4, 5, 6]", "days: [0, 9]"), policy, 15, 21, .invalidValue,
          "rules[1].match.time_windows[0].days[1]", "day 9 is not 0 (Monday)"),
        c("time window hour 25", p(policy, "end_hour: 23", "end_hour: 25"), policy, 17, 21, .invalidValue,
          "rules[1].match.time_windows[0].end_hour", "hour 25 is not 0 … 23"),
        c("time zone Mars/Olympus", p(policy, "timezone: Europe/Berlin", "timezone: Mars/Olympus"), policy, 18, 21,
          .invalidValue, "rules[1].match.time_windows[0].timezone", "unknown time zone 'Mars/Olympus'"),

        // Unknown keys (refused by default) with suggestions.
        c("scope: under credentials", p(scale, "  fields:\n", "  scope:\n"), scale, 27, 3, .unknownKey, "credentials.scope",
          "unknown key 'scope' (did you mean 'fields'?); known keys: type, fields, ttl"),
        c("priorty: for priority", p(policy, "priority: 10", "priorty: 10"), policy, 3, 5, .unknownKey,
          "rules[0].priorty", "did you mean 'priority'?"),
        c("decison: for decision", p(policy, "decision: allow", "decison: allow"), policy, 7, 5, .unknownKey,
          "rules[0].decison", "did you mean 'decision'?"),
        c("callers role: for roles", p(policy, "        environments: [dev]\n", "        environments: [dev]\n      callers:\n        role: [deployer]\n"),
          policy, 8, 9, .unknownKey, "rules[0].match.callers.role", "did you mean 'roles'?"),
        c("agent-safe.yaml registy:", ["agent-safe.yaml": .text("registy: actions\n")], "agent-safe.yaml", 1, 1,
          .unknownKey, "registy", "did you mean 'registry'?"),

        // Chain rules (chains: in a policy file).
        c("chain with one step", ["policies/30-chains.yaml": .text("chains:\n  - name: c\n    steps: [scale-deployment]\n    within_seconds: 60\n    decision: deny\n    reason: r\n")],
          "policies/30-chains.yaml", 3, 12, .invalidValue, "chains[0].steps", "a chain needs at least 2 steps, got 1"),
        c("chain same: namespaces", ["policies/30-chains.yaml": .text("chains:\n  - name: c\n    steps: [scale-deployment, restart-deployment]\n    within_seconds: 60\n    same: namespaces\n    decision: deny\n    reason: r\n")],
          "policies/30-chains.yaml", 5, 11, .invalidValue, "chains[0].same", "'namespaces' is not one of none, target, namespace, param:<name>"),
        c("chain decision: allow", ["policies/30-chains.yaml": .text("chains:\n  - name: c\n    steps: [scale-deployment, restart-deployment]\n    within_seconds: 60\n    decision: allow\n    reason: r\n")],
          "policies/30-chains.yaml", 5, 15, .invalidValue, "chains[0].decision", "can only make a decision stricter"),
        c("chain step naming no action", ["policies/30-chains.yaml": .text("chains:\n  - name: c\n    steps: [scale-deploymnt, restart-deployment]\n    within_seconds: 60\n    bonus: 5\n    reason: r\n")],
          "policies/30-chains.yaml", 2, 5, .unknownReference, "chains.c.steps[0]", "did you mean 'scale-deployment'?"),
        c("chain without bonus or decision", ["policies/30-chains.yaml": .text("chains:\n  - name: c\n    steps: [scale-deployment, restart-deployment]\n    within_seconds: 60\n    reason: r\n")],
          "policies/30-chains.yaml", 2, 5, .missingField, "chains[0]", "a chain needs 'bonus', 'decision' or both"),
        c("cumulative_risk aggregate: everyone", ["agent-safe.yaml": .text("cumulative_risk: {aggregate: everyone}\n")], "agent-safe.yaml", 1, 30,
          .invalidValue, "cumulative_risk.aggregate", "'everyone' is not one of root, caller"),
        c("dlp detector aws_key", ["agent-safe.yaml": .text("dlp:\n  detectors: [aws_key]\n")], "agent-safe.yaml", 2, 14,
          .invalidValue, "dlp.detectors", "unknown detector 'aws_key'"),
        c("change_tickets pattern with lookahead", ["agent-safe.yaml": .text("change_tickets: {pattern: \"(?=CHG)\"}\n")], "agent-safe.yaml", 1, 27,
          .invalidValue, "change_tickets.pattern", "invalid pattern"),

        // Cross references and duplicates.
        c("rollback_action naming an unknown action", p(scale, "rollback_action: restart-deployment", "rollback_action: restart-deploymnt"),
          scale, 21, 18, .unknownReference, "rollback_action", "did you mean 'restart-deployment'?"),
        c("risk modifier on an unknown param", p(scale, "      replicas:\n        equals: 0", "      replica:\n        equals: 0"),
          scale, 32, 7, .unknownReference, "risk_modifiers[0].when.replica", "did you mean 'replicas'?"),
        c("duplicate action name in two files", ["actions/zz-copy.yaml": .text(Baseline.restart)], "actions/zz-copy.yaml",
          1, 7, .duplicateName, "name", "already defined in actions/restart-deployment.yaml"),
        c("duplicate rule name in two files", ["policies/20-more.yaml": .text("rules:\n  - name: allow-dev\n    match: {}\n    decision: deny\n    reason: again\n")],
          "policies/20-more.yaml", 2, 5, .duplicateName, "name", "first defined at policies/10-base.yaml:2:5"),
        c("duplicate target id", p(inventory, "  - id: prod/app", "  - id: dev/app"), inventory, 9, 9, .duplicateName,
          "targets[1].id", "duplicate target id 'dev/app'"),

        // Files and directories.
        c("missing actions directory", [restart: .remove, scale: .remove], "actions", 0, 0, .fileNotFound, "",
          "actions directory not found"),
        c("config naming a missing inventory", ["agent-safe.yaml": .text("inventory: missing-inventory.yaml\n")],
          "missing-inventory.yaml", 0, 0, .fileNotFound, "", "inventory file not found"),
        c("config naming a missing registry", ["agent-safe.yaml": .text("registry: catalogue\n")], "catalogue", 0, 0,
          .fileNotFound, "", "actions directory not found"),
        c("config risk raise: 5", ["agent-safe.yaml": .text("risk:\n  delegation:\n    min_depth: 2\n    raise: 5\n")],
          "agent-safe.yaml", 4, 12, .invalidValue, "risk.delegation.raise", "raise must be 1, 2 or 3"),
    ]
}

@Suite("Malformed configuration is refused with a located error")
struct MalformedYAMLTests {
    @Test("corpus has enough cases") func corpusSize() {
        #expect(MalformedCorpus.cases.count >= 35)
        #expect(Set(MalformedCorpus.cases.map(\.name)).count == MalformedCorpus.cases.count, "case names are unique")
    }

    @Test(.timeLimit(.minutes(1)), arguments: MalformedCorpus.cases)
    func refused(_ c: MalformedCase) throws {
        try withTemporaryDirectory { root in
            try Project.write(c.files, into: root)
            let result = Project.load(root)
            let error: ConfigLoadError
            switch result {
            case .success(let snapshot):
                Issue.record("\(c.name): loaded (\(snapshot.actions.count) actions) instead of failing")
                return
            case .failure(let e):
                error = e
            }
            let first = try #require(error.errors.first, "no error among \(error.summary)")
            let context = Comment(rawValue: "\(c.name):\n\(error.summary)")
            #expect(first.file == c.file, context)
            #expect(first.code == c.code, context)
            #expect(first.message.contains(c.message), context)
            if let line = c.line {
                #expect(first.line == line, context)
            } else {
                #expect(first.line >= 1, context)
            }
            if let column = c.column {
                #expect(first.column == column, context)
            } else if first.line > 0 {
                #expect(first.column >= 1, context)
            }
            if let path = c.fieldPath { #expect(first.fieldPath == path, context) }
            for d in error.errors {
                #expect(!d.file.isEmpty && !d.message.isEmpty, context)
            }
        }
    }

    /// The regex error points into the pattern: past the opening quote, at or after the offending construct.
    @Test func regexErrorColumnPointsIntoThePattern() throws {
        try withTemporaryDirectory { root in
            try Project.write([scale: .patch("pattern: \"^[a-z]+$\"", "pattern: \"ab(?=x)\"")], into: root)
            guard case .failure(let error) = Project.load(root) else {
                Issue.record("a lookahead pattern loaded")
                return
            }
            let first = try #require(error.errors.first)
            // `      pattern: "ab(?=x)"`: the quote is column 16, `(` of the lookahead column 19.
            #expect(first.line == 19)
            #expect(first.column == 19, "\(first)")
        }
    }

    @Test func errorsInThreeFilesAreAllReported() throws {
        try withTemporaryDirectory { root in
            try Project.write([
                scale: .patch("risk_class: medium", "risk_class: LOW"),
                inventory: .patch("environment: dev", "environment: production"),
                policy: .patch("decision: allow", "decision: permit"),
            ], into: root)
            guard case .failure(let error) = Project.load(root) else {
                Issue.record("loaded despite three broken files")
                return
            }
            let located = Set(error.errors.map { "\($0.file):\($0.line):\($0.column):\($0.code.rawValue)" })
            #expect(located.contains("\(scale):4:13:invalid_value"), "\(error.summary)")
            #expect(located.contains("\(inventory):4:18:invalid_value"), "\(error.summary)")
            #expect(located.contains("\(policy):7:15:invalid_value"), "\(error.summary)")
            #expect(Set(error.errors.map(\.file)) == [scale, inventory, policy])
        }
    }

    @Test func everyErrorOfOneFileIsListed() throws {
        try withTemporaryDirectory { root in
            try Project.write([scale: .text("""
                name: 5
                version: 1.0
                description: Scale
                risk_class: LOW
                target_types: []

                """)], into: root)
            guard case .failure(let error) = Project.load(root) else {
                Issue.record("loaded a broken action")
                return
            }
            #expect(error.errors.map(\.line) == [1, 2, 4, 5], "\(error.summary)")
            #expect(error.errors.map(\.fieldPath) == ["name", "version", "risk_class", "target_types"])
        }
    }

    @Test func unknownKeyIsAWarningUnderCompatWarn() throws {
        try withTemporaryDirectory { root in
            try Project.write([
                "agent-safe.yaml": .text("compat:\n  unknown_keys: warn\n"),
                policy: .patch("priority: 10", "priorty: 10"),
                scale: .patch("  fields:\n", "  scope:\n"),
            ], into: root)
            let snapshot = try Project.load(root).get()
            let warnings = snapshot.warnings.filter { $0.code == .unknownKey }
            #expect(warnings.count == 2, "\(snapshot.warnings)")
            #expect(warnings.allSatisfy { $0.severity == .warning })
            let priorty = try #require(warnings.first { $0.file == policy })
            #expect(priorty.line == 3 && priorty.column == 5)
            #expect(priorty.fieldPath == "rules[0].priorty")
            #expect(priorty.message.contains("did you mean 'priority'?") && priorty.message.contains("ignored"))
            let scope = try #require(warnings.first { $0.file == scale })
            #expect(scope.line == 27 && scope.fieldPath == "credentials.scope")
            // Ignored means ignored: the misspelt priority leaves the upstream default 0.
            let rule = try #require(snapshot.engine.policy.rules.first { $0.name == "allow-dev" })
            #expect(rule.priority == 0)
        }
    }

    @Test func explicitConfigPathThatDoesNotExist() throws {
        try withTemporaryDirectory { root in
            try Project.write([:], into: root)
            let options = LoadOptions(configPath: "nope/agent-safe.yaml", workingDirectory: root.path, discoverConfig: false)
            do throws(ConfigLoadError) {
                _ = try CatalogueLoader.load(options)
                Issue.record("loaded with a missing config file")
            } catch {
                let first = try #require(error.errors.first)
                #expect(first.code == .fileNotFound)
                #expect(first.file == "nope/agent-safe.yaml")
            }
        }
    }

    /// The reader on its own: the limits hold for text handed to it directly, too.
    @Test func readerRefusesBombsAndDeepNestingFromText() {
        let reader = YAMLFileReader()
        do {
            _ = try reader.parse(text: MalformedCorpus.aliasBomb, displayPath: "bomb.yaml")
            Issue.record("alias bomb parsed")
        } catch {
            #expect(error.diagnostics.first?.code == .yamlTooComplex)
        }
        do {
            _ = try reader.parse(text: MalformedCorpus.deepNesting, displayPath: "deep.yaml")
            Issue.record("2000 nested lists parsed")
        } catch {
            #expect(error.diagnostics.first?.code == .yamlSyntax)
            #expect(error.diagnostics.first?.line == 2)
        }
    }
}
