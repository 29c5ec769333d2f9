import Testing

@testable import AgentSafeCore

@Suite("Parameter validation")
struct ParameterValidatorTests {
    static let scale = ActionDefinition(
        name: "scale-deployment",
        parameters: [
            ActionParameter(name: "namespace", type: .string),
            ActionParameter(name: "deployment", type: .string),
            ActionParameter(name: "replicas", type: .integer,
                            constraints: ParameterConstraints(ValueConstraints(minValue: 0, maxValue: 100))),
        ],
        riskClass: .medium, targetTypes: ["k8s-deployment"])

    static func action(_ type: ParameterType, _ c: ValueConstraints = ValueConstraints(), sensitive: Bool = false)
        -> ActionDefinition
    {
        ActionDefinition(name: "a", parameters: [
            ActionParameter(name: "p", type: type, constraints: ParameterConstraints(c), sensitive: sensitive),
        ], riskClass: .low, targetTypes: ["t"])
    }

    /// (declared type, value, accepted?)
    static let typeTable: [(ParameterType, JSONValue, Bool)] = [
        (.string, "x", true), (.string, 5, false), (.string, .null, false), (.string, ["x"], false),
        (.integer, 5, true), (.integer, 5.0, false), (.integer, true, false), (.integer, "5", false),
        (.number, 5, true), (.number, 1.5, true), (.number, false, false), (.number, "1.5", false),
        (.boolean, true, true), (.boolean, 1, false), (.boolean, "true", false),
        (.array, ["a"], true), (.array, "a", false), (.array, ["k": "v"], false),
    ]

    @Test("types: a bool is not an integer, 5.0 is not an integer", arguments: typeTable)
    func types(_ c: (ParameterType, JSONValue, Bool)) {
        let errors = ParameterValidator.validate(["p": c.1], against: Self.action(c.0))
        #expect(errors.isEmpty == c.2, "\(c.0) \(c.1): \(errors)")
        if !c.2 { #expect(errors.first?.hasPrefix("Parameter 'p': expected \(c.0.rawValue), got ") == true) }
    }

    @Test func upstreamMessageOrder() {
        // Upstream §1.4 example: missing, then unknown, then constraint errors.
        let errors = ParameterValidator.validate(["namespace": "a", "replicas": 101, "zzz": 1], against: Self.scale)
        #expect(errors == [
            "Missing required parameter: deployment",
            "Unknown parameter: zzz",
            "Parameter 'replicas': value 101 exceeds maximum 100",
        ])
    }

    @Test func emptyParamsStillReportMissing() {
        #expect(ParameterValidator.validate([:], against: Self.scale) == [
            "Missing required parameter: namespace", "Missing required parameter: deployment",
            "Missing required parameter: replicas",
        ])
    }

    /// (constraints, value, accepted?) — bounds inclusive.
    static let constraintTable: [(ParameterType, ValueConstraints, JSONValue, Bool)] = [
        (.integer, ValueConstraints(minValue: 0, maxValue: 100), 0, true),
        (.integer, ValueConstraints(minValue: 0, maxValue: 100), 100, true),
        (.integer, ValueConstraints(minValue: 0, maxValue: 100), -1, false),
        (.integer, ValueConstraints(minValue: 0, maxValue: 100), 101, false),
        (.number, ValueConstraints(minValue: 0.5), 0.4, false),
        (.number, ValueConstraints(minValue: 0.5), 0.5, true),
        (.string, ValueConstraints(minLength: 2, maxLength: 3), "ab", true),
        (.string, ValueConstraints(minLength: 2, maxLength: 3), "abcd", false),
        (.string, ValueConstraints(minLength: 2, maxLength: 3), "a", false),
        (.string, ValueConstraints(maxLength: 2), "éé", true),  // lengths count characters, not bytes
        (.string, ValueConstraints(enumValues: ["a", "b"]), "a", true),
        (.string, ValueConstraints(enumValues: ["a", "b"]), "c", false),
        (.integer, ValueConstraints(enumValues: ["1", "2"]), 1, true),  // integers compare as decimal text
        (.integer, ValueConstraints(enumValues: ["1", "2"]), 3, false),
        (.boolean, ValueConstraints(enumValues: ["true"]), true, true),  // booleans as true/false, not True
        (.boolean, ValueConstraints(enumValues: ["True"]), true, false),
    ]

    @Test("constraints", arguments: constraintTable)
    func constraints(_ c: (ParameterType, ValueConstraints, JSONValue, Bool)) {
        let errors = ParameterValidator.validate(["p": c.2], against: Self.action(c.0, c.1))
        #expect(errors.isEmpty == c.3, "\(c.2): \(errors)")
    }

    @Test func sensitiveValuesAreNeverEchoed() {
        let errors = ParameterValidator.validate(
            ["p": "hunter2-secret"], against: Self.action(.string, ValueConstraints(enumValues: ["a"]), sensitive: true))
        #expect(errors.count == 1)
        #expect(!errors[0].contains("hunter2"))
    }

    @Test func echoedValuesAreCutAndEscaped() {
        let long = String(repeating: "x", count: 500) + "\n"
        let errors = ParameterValidator.validate(["p": .string(long)], against: Self.action(.string, ValueConstraints(enumValues: ["a"])))
        #expect(errors[0].count < 200)
        #expect(!errors[0].contains("\n"))
        let key = ParameterValidator.validate(["bad\nkey": 1], against: Self.action(.string))
        #expect(key.contains("Unknown parameter: bad\\u{a}key"))
    }

    @Test func arrayConstraints() {
        let action = ActionDefinition(name: "exec", parameters: [
            ActionParameter(name: "command", type: .array, constraints: ParameterConstraints(
                minItems: 1, maxItems: 2,
                items: .init(type: .string, constraints: ValueConstraints(maxLength: 5)))),
        ], riskClass: .high, targetTypes: ["k8s-pod"])
        #expect(ParameterValidator.validate(["command": ["ls"]], against: action).isEmpty)
        #expect(ParameterValidator.validate(["command": []], against: action) == ["Parameter 'command': 0 items is below minimum 1"])
        #expect(ParameterValidator.validate(["command": ["a", "b", "c"]], against: action) == ["Parameter 'command': 3 items exceeds maximum 2"])
        #expect(ParameterValidator.validate(["command": ["ls", 5]], against: action) == ["Parameter 'command[1]': expected string, got integer"])
        #expect(ParameterValidator.validate(["command": ["toolong"]], against: action) == ["Parameter 'command[0]': length 7 exceeds maximum 5"])
    }
}
