/// Request-time parameter validation (upstream §1.4, stricter where documented in docs/compatibility.md).
///
/// Order of messages: missing required parameters (declaration order), unknown parameters (sorted), then per
/// declared parameter present: its type, then min_value, max_value, min_length, max_length, pattern, enum, and
/// for arrays min_items, max_items and each item.
public enum ParameterValidator {
    /// Echoed values are cut to this many characters; sensitive values are never echoed.
    static let echoLimit = 64

    public static func validate(_ params: [String: JSONValue], against action: ActionDefinition) -> [String] {
        var errors: [String] = []
        for p in action.parameters where p.required && params[p.name] == nil {
            errors.append("Missing required parameter: \(p.name)")
        }
        if params.count > 0 {
            var unknown: [String] = []
            for key in params.keys where action.parameter(named: key) == nil {
                unknown.append(key)
            }
            if !unknown.isEmpty {
                for key in unknown.sorted() { errors.append("Unknown parameter: \(display(key))") }
            }
        }
        for p in action.parameters {
            guard let value = params[p.name] else { continue }
            check(value, type: p.type, label: "Parameter '\(p.name)'", sensitive: p.sensitive,
                  constraints: p.constraints?.value, into: &errors)
            guard typeMatches(value, p.type), case .array(let items) = value, let c = p.constraints else { continue }
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
        return errors
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
        _ value: JSONValue, type: ParameterType, label: String, sensitive: Bool, constraints: ValueConstraints?,
        into errors: inout [String]
    ) {
        guard typeMatches(value, type) else {
            errors.append("\(label): expected \(type.rawValue), got \(value.kindName)")
            return
        }
        guard let c = constraints else { return }
        let shown = sensitive ? "(sensitive value)" : echo(value)
        if let number = value.doubleValue {
            if let min = c.minValue, number < min {
                errors.append("\(label): value \(shown) is below minimum \(render(min))")
            }
            if let max = c.maxValue, number > max {
                errors.append("\(label): value \(shown) exceeds maximum \(render(max))")
            }
        }
        if case .string(let s) = value {
            let length = s.unicodeScalars.count
            if let min = c.minLength, length < min {
                errors.append("\(label): length \(length) is below minimum \(min)")
            }
            if let max = c.maxLength, length > max {
                errors.append("\(label): length \(length) exceeds maximum \(max)")
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
    static func display(_ text: String) -> String {
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
