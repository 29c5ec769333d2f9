/// Request-time parameter validation (upstream §1.4, stricter where documented in docs/compatibility.md).
///
/// Order of messages: missing required parameters (declaration order), unknown parameters (sorted), then per
/// declared parameter present: its type, then min_value, max_value, min_length, max_length, pattern, enum, and
/// for arrays min_items, max_items and each item.
public enum ParameterValidator {
    /// Echoed values are cut to this many characters; sensitive values are never echoed.
    static let echoLimit = 64

    public static func validate(_ params: [String: JSONValue], against action: ActionDefinition) -> [String] {
        // One pass over the declared parameters, one lookup each, reading fields through the buffer (no copy of
        // each parameter). Missing-parameter messages go straight to `errors`, per-value messages to `checks`,
        // which is appended after the unknown-parameter messages: the documented order is kept.
        var errors: [String] = []
        var checks: [String] = []
        action.parameters.withUnsafeBufferPointer { declared in
            for i in declared.indices {
                guard let value = params[declared[i].name] else {
                    if declared[i].required { errors.append("Missing required parameter: \(declared[i].name)") }
                    continue
                }
                check(value, type: declared[i].type, label: "Parameter '\(declared[i].name)'",
                      sensitive: declared[i].sensitive, constraints: declared[i].constraints?.value, into: &checks)
                if case .array(let items) = value { checkItems(items, of: declared[i], into: &checks) }
            }
            var unknown: [String] = []
            for key in params.keys where !declared.contains(where: { $0.name == key }) {
                unknown.append(key)
            }
            for key in unknown.sorted() { errors.append("Unknown parameter: \(display(key))") }
        }
        errors += checks
        return errors
    }

    /// The array checks of a declared, present array parameter.
    private static func checkItems(_ items: [JSONValue], of p: ActionParameter, into errors: inout [String]) {
        guard p.type == .array, let c = p.constraints else { return }
        if let minItems = c.minItems, items.count < minItems {
            errors.append("Parameter '\(p.name)': \(items.count) items is below minimum \(minItems)")
        }
        if let maxItems = c.maxItems, items.count > maxItems {
            errors.append("Parameter '\(p.name)': \(items.count) items exceeds maximum \(maxItems)")
        }
        if let spec = c.items {
            for (i, item) in items.enumerated() {
                check(item, type: spec.type, label: "Parameter '\(p.name)[\(i)]'", sensitive: p.sensitive,
                      constraints: spec.constraints, into: &errors)
            }
        }
    }

    static func typeMatches(_ value: JSONValue, _ type: ParameterType) -> Bool {
        switch (type, value) {
        case (.string, .string), (.integer, .integer), (.number, .integer), (.number, .number),
            (.boolean, .bool), (.array, .array):
            return true
        default:
            return false
        }
    }

    static func check(
        _ value: JSONValue, type: ParameterType, label makeLabel: @autoclosure () -> String, sensitive: Bool,
        constraints: ValueConstraints?, into errors: inout [String]
    ) {
        // The label and the echoed value are only built for a message: a valid value costs no string work.
        var label: String { makeLabel() }
        var shown: String { sensitive ? "(sensitive value)" : echo(value) }
        guard typeMatches(value, type) else {
            errors.append("\(label): expected \(type.rawValue), got \(value.kindName)")
            return
        }
        guard let c = constraints else { return }
        if let number = value.doubleValue {
            if let min = c.minValue, number < min {
                errors.append("\(label): value \(shown) is below minimum \(render(min))")
            }
            if let max = c.maxValue, number > max {
                errors.append("\(label): value \(shown) exceeds maximum \(render(max))")
            }
        }
        if case .string(let s) = value {
            var checkLength = false
            // The scalar count lies between utf8.count / 4 and utf8.count (O(1)): count only when that can fail.
            let bytes = s.utf8.count
            if let max = c.maxLength, bytes > max { checkLength = true }
            if let min = c.minLength, (bytes + 3) / 4 < min { checkLength = true }
            if checkLength {
                let length = s.unicodeScalars.count
                if let min = c.minLength, length < min {
                    errors.append("\(label): length \(length) is below minimum \(min)")
                }
                if let max = c.maxLength, length > max {
                    errors.append("\(label): length \(length) exceeds maximum \(max)")
                }
            }
            if let pattern = c.pattern, !pattern.wholeMatch(s) {
                errors.append("\(label): value does not match pattern '\(pattern.pattern)'")
            }
        }
        if let options = c.enumValues {
            let text = enumText(value)
            if text == nil || !options.contains(text!) {
                let list = options.map { "'\($0)'" }.joined(separator: ", ")
                errors.append("\(label): value \(sensitive ? shown : "'\(text.map(display) ?? shown)'") not in allowed values [\(list)]")
            }
        }
    }

    /// How a value compares against string `enum` entries: strings as they are, integers in decimal, booleans as
    /// `true`/`false`, numbers in shortest form; arrays, objects and null never match.
    static func enumText(_ value: JSONValue) -> String? {
        switch value {
        case .string(let s): s
        case .integer(let i): String(i)
        case .bool(let b): b ? "true" : "false"
        case .number(let d): JSONValue.format(d)
        default: nil
        }
    }

    static func render(_ bound: Double) -> String {
        JSONValue.format(bound)
    }

    static func echo(_ value: JSONValue) -> String {
        let text: String
        switch value {
        case .string(let s): text = s
        default: text = value.canonicalText
        }
        return display(text)
    }

    /// Cuts long text and escapes control characters so an agent can't forge log lines through an error message.
    public static func display(_ text: String) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == echoLimit {
                out += "…"
                break
            }
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return out
    }
}
