import AgentSafeCore

/// Decodes one action file (one action per file, upstream §1.2, plus `sensitive`, array constraints and
/// `risk_modifiers`).
struct ActionDecoder {
    let ctx: DecodeContext

    static let actionKeys = [
        "name", "version", "description", "parameters", "risk_class", "target_types", "prechecks", "reversible",
        "rollback_action", "rollback_params", "required_privileges", "tags", "credentials", "state_fields",
        "risk_modifiers",
    ]
    static let parameterKeys = ["name", "type", "required", "description", "default", "constraints", "sensitive"]
    static let valueConstraintKeys = ["min_value", "max_value", "min_length", "max_length", "pattern", "enum"]
    static let constraintKeys = valueConstraintKeys + ["min_items", "max_items", "items"]

    func decode(_ root: YAMLNode) -> ActionDefinition? {
        guard let f = ctx.mapping(root, "", allowed: Self.actionKeys) else { return nil }
        let name = ctx.require(f, "name").flatMap { node -> String? in
            guard let s = ctx.string(node, "name") else { return nil }
            guard Self.isActionName(s) else {
                ctx.report(.invalidValue, node, "name",
                           "'\(s)' is not a valid action name (lower-case letters, digits and '-', starting with a letter)")
                return nil
            }
            return s
        }
        let version = ctx.require(f, "version").flatMap { node -> String? in
            guard case .scalar(let text, _, let tag) = node.kind, tag == .string else {
                ctx.report(.wrongType, node, "version",
                           "expected a version string like \"1.0.0\", got \(node.kindName) (quote it)")
                return nil
            }
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) })
            else {
                ctx.report(.invalidValue, node, "version", "'\(text)' is not MAJOR.MINOR.PATCH (e.g. \"1.0.0\")")
                return nil
            }
            return text
        }
        let description = ctx.require(f, "description").flatMap { ctx.string($0, "description") }
        let risk = ctx.require(f, "risk_class").flatMap { ctx.enumValue($0, "risk_class", RiskClass.self) }
        let targetTypes = ctx.require(f, "target_types").flatMap { node -> [String]? in
            guard let list = ctx.stringList(node, "target_types") else { return nil }
            if list.isEmpty {
                ctx.report(.invalidValue, node, "target_types", "at least one target type is required")
                return nil
            }
            return list
        }
        var parameters: [ActionParameter] = []
        if let node = f["parameters"], let items = ctx.sequence(node, "parameters") {
            var seen: [String: Int] = [:]
            for (i, item) in items.enumerated() {
                guard let p = parameter(item, "parameters[\(i)]") else { continue }
                if let first = seen[p.name] {
                    ctx.report(.duplicateName, item, "parameters[\(i)].name",
                               "parameter '\(p.name)' is declared twice (first at parameters[\(first)])")
                    continue
                }
                seen[p.name] = i
                parameters.append(p)
            }
        }
        var prechecks: [Precheck] = []
        if let node = f["prechecks"], let items = ctx.sequence(node, "prechecks") {
            for (i, item) in items.enumerated() {
                let path = "prechecks[\(i)]"
                guard let pf = ctx.mapping(item, path, allowed: ["name", "description"]) else { continue }
                if let n = ctx.require(pf, "name").flatMap({ ctx.string($0, pf.path("name")) }),
                    let d = ctx.require(pf, "description").flatMap({ ctx.string($0, pf.path("description")) })
                {
                    prechecks.append(Precheck(name: n, description: d))
                }
            }
        }
        let reversible = f["reversible"].flatMap { ctx.bool($0, "reversible") } ?? false
        let rollbackAction = f.present("rollback_action").flatMap { ctx.string($0, "rollback_action") }
        let privileges = f["required_privileges"].flatMap { ctx.stringList($0, "required_privileges") } ?? []
        let tags = f["tags"].flatMap { ctx.stringList($0, "tags") } ?? []
        let credentials = f.present("credentials").flatMap { credentialScope($0, "credentials") }
        var stateFields: [StateFieldSpec] = []
        if let node = f["state_fields"], let items = ctx.sequence(node, "state_fields") {
            for (i, item) in items.enumerated() {
                let path = "state_fields[\(i)]"
                guard let sf = ctx.mapping(item, path, allowed: ["name", "description", "type", "required"]) else {
                    continue
                }
                guard let n = ctx.require(sf, "name").flatMap({ ctx.string($0, sf.path("name")) }) else { continue }
                stateFields.append(StateFieldSpec(
                    name: n, description: sf["description"].flatMap { ctx.string($0, sf.path("description")) } ?? "",
                    type: sf["type"].flatMap { ctx.string($0, sf.path("type")) } ?? "any",
                    required: sf["required"].flatMap { ctx.bool($0, sf.path("required")) } ?? false))
            }
        }
        let paramNames = Set(parameters.map(\.name))
        var rollbackParams: [String: RollbackParamSource] = [:]
        if let node = f["rollback_params"], case .mapping(let pairs) = node.kind {
            for (key, value) in pairs {
                guard let k = ctx.string(key, "rollback_params") else { continue }
                let path = "rollback_params.\(k)"
                guard let vf = ctx.mapping(value, path, allowed: ["source"]),
                    let sourceNode = ctx.require(vf, "source"), let source = ctx.string(sourceNode, vf.path("source"))
                else { continue }
                guard let parsed = Self.rollbackSource(source) else {
                    ctx.report(.invalidValue, sourceNode, "\(path).source",
                               "'\(source)' must be params.<name> or before_state.<field>")
                    continue
                }
                if parsed.origin == .params, !paramNames.contains(parsed.field) {
                    ctx.report(.unknownReference, sourceNode, "\(path).source",
                               "'\(source)' names no parameter of this action")
                    continue
                }
                rollbackParams[k] = parsed
            }
        } else if let node = f["rollback_params"], !node.isNull {
            ctx.report(.wrongType, node, "rollback_params", "expected a mapping, got \(node.kindName)")
        }
        var modifiers: [RiskModifier] = []
        if let node = f["risk_modifiers"], let items = ctx.sequence(node, "risk_modifiers") {
            for (i, item) in items.enumerated() {
                if let m = riskModifier(item, "risk_modifiers[\(i)]", parameters: parameters) { modifiers.append(m) }
            }
        }
        guard let name, let version, let description, let risk, let targetTypes, !ctx.hasErrors else { return nil }
        return ActionDefinition(
            name: name, version: version, description: description, parameters: parameters, riskClass: risk,
            targetTypes: targetTypes, prechecks: prechecks, reversible: reversible, rollbackAction: rollbackAction,
            rollbackParams: rollbackParams, requiredPrivileges: privileges, tags: tags, credentials: credentials,
            stateFields: stateFields, riskModifiers: modifiers)
    }

    static func isActionName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    static func rollbackSource(_ s: String) -> RollbackParamSource? {
        for origin in [RollbackParamSource.Origin.params, .beforeState] {
            let prefix = origin.rawValue + "."
            if s.hasPrefix(prefix), s.count > prefix.count {
                return RollbackParamSource(origin: origin, field: String(s.dropFirst(prefix.count)))
            }
        }
        return nil
    }

    func parameter(_ node: YAMLNode, _ path: String) -> ActionParameter? {
        guard let f = ctx.mapping(node, path, allowed: Self.parameterKeys) else { return nil }
        let name = ctx.require(f, "name").flatMap { ctx.string($0, f.path("name")) }
        let type = ctx.require(f, "type").flatMap { ctx.enumValue($0, f.path("type"), ParameterType.self) }
        let required = f["required"].flatMap { ctx.bool($0, f.path("required")) } ?? true
        let description = f["description"].flatMap { ctx.string($0, f.path("description")) } ?? ""
        let defaultValue = f.present("default").flatMap { ctx.json($0, f.path("default")) }
        let sensitive = f["sensitive"].flatMap { ctx.bool($0, f.path("sensitive")) } ?? false
        var constraints: ParameterConstraints?
        if let c = f.present("constraints"), let type {
            constraints = parameterConstraints(c, f.path("constraints"), type: type)
        }
        guard let name, let type else { return nil }
        return ActionParameter(name: name, type: type, required: required, description: description,
                               defaultValue: defaultValue, constraints: constraints, sensitive: sensitive)
    }

    func parameterConstraints(_ node: YAMLNode, _ path: String, type: ParameterType) -> ParameterConstraints? {
        guard let f = ctx.mapping(node, path, allowed: Self.constraintKeys) else { return nil }
        var result = ParameterConstraints(valueConstraints(f, type: type))
        for key in ["min_items", "max_items", "items"] where f[key] != nil && type != .array {
            ctx.report(.invalidValue, f.keyNode(key), f.path(key), "'\(key)' applies only to array parameters")
        }
        result.minItems = f.present("min_items").flatMap { nonNegative($0, f.path("min_items")) }
        result.maxItems = f.present("max_items").flatMap { nonNegative($0, f.path("max_items")) }
        if let lo = result.minItems, let hi = result.maxItems, lo > hi {
            ctx.report(.invalidValue, f["max_items"], f.path("max_items"), "max_items \(hi) is below min_items \(lo)")
        }
        if let itemsNode = f.present("items"),
            let itf = ctx.mapping(itemsNode, f.path("items"), allowed: ["type"] + Self.valueConstraintKeys)
        {
            if let itemType = ctx.require(itf, "type").flatMap({ ctx.enumValue($0, itf.path("type"), ParameterType.self) }) {
                if itemType == .array {
                    ctx.report(.invalidValue, itf["type"], itf.path("type"), "array items can't be arrays")
                } else {
                    result.items = .init(type: itemType, constraints: valueConstraints(itf, type: itemType))
                }
            }
        }
        return result
    }

    func valueConstraints(_ f: Fields, type: ParameterType) -> ValueConstraints {
        var c = ValueConstraints()
        c.minValue = f.present("min_value").flatMap { ctx.double($0, f.path("min_value")) }
        c.maxValue = f.present("max_value").flatMap { ctx.double($0, f.path("max_value")) }
        c.minLength = f.present("min_length").flatMap { nonNegative($0, f.path("min_length")) }
        c.maxLength = f.present("max_length").flatMap { nonNegative($0, f.path("max_length")) }
        if let lo = c.minValue, let hi = c.maxValue, lo > hi {
            ctx.report(.invalidValue, f["max_value"], f.path("max_value"), "max_value \(hi) is below min_value \(lo)")
        }
        if let lo = c.minLength, let hi = c.maxLength, lo > hi {
            ctx.report(.invalidValue, f["max_length"], f.path("max_length"), "max_length \(hi) is below min_length \(lo)")
        }
        if (c.minValue != nil || c.maxValue != nil), type != .integer, type != .number {
            ctx.report(.invalidValue, f.keyNode("min_value") ?? f.keyNode("max_value"), f.path("min_value"),
                       "min_value/max_value apply only to integer and number parameters (this one is \(type.rawValue))")
        }
        if (c.minLength != nil || c.maxLength != nil || f["pattern"] != nil), type != .string {
            ctx.report(.invalidValue, f.keyNode("min_length") ?? f.keyNode("max_length") ?? f.keyNode("pattern"),
                       f.path("pattern"),
                       "min_length/max_length/pattern apply only to string parameters (this one is \(type.rawValue))")
        }
        if let node = f.present("pattern"), let text = ctx.string(node, f.path("pattern")) {
            c.pattern = regex(text, node, f.path("pattern"))
        }
        if let node = f.present("enum") {
            c.enumValues = ctx.stringList(node, f.path("enum"))
            if c.enumValues?.isEmpty == true {
                ctx.report(.invalidValue, node, f.path("enum"), "an empty enum allows no value")
            }
        }
        return c
    }

    func regex(_ text: String, _ node: YAMLNode, _ path: String) -> SafeRegex? {
        do {
            return try SafeRegex(text)
        } catch {
            var at = node
            if case .scalar(_, let plain, _) = node.kind {
                at.column += error.offset + (plain ? 0 : 1)
            }
            ctx.report(.invalidValue, at, path, "invalid pattern '\(text)': \(error.message) (see docs/regex.md)")
            return nil
        }
    }

    func nonNegative(_ node: YAMLNode, _ path: String) -> Int? {
        guard let v = ctx.int(node, path) else { return nil }
        guard v >= 0 else {
            ctx.report(.invalidValue, node, path, "must be 0 or more, got \(v)")
            return nil
        }
        return v
    }

    func credentialScope(_ node: YAMLNode, _ path: String) -> CredentialScope? {
        guard let f = ctx.mapping(node, path, allowed: ["type", "fields", "ttl"]) else { return nil }
        guard let type = ctx.require(f, "type").flatMap({ ctx.string($0, f.path("type")) }) else { return nil }
        var fields: [String: JSONValue] = [:]
        if let fn = f.present("fields") {
            if case .mapping = fn.kind, case .object(let o)? = ctx.json(fn, f.path("fields")) {
                fields = o
            } else if case .mapping = fn.kind {
            } else {
                ctx.report(.wrongType, fn, f.path("fields"), "expected a mapping, got \(fn.kindName)")
            }
        }
        var ttl = 300
        if let tn = f.present("ttl"), let t = ctx.int(tn, f.path("ttl")) {
            if t < 1 {
                ctx.report(.invalidValue, tn, f.path("ttl"), "ttl must be at least 1 second, got \(t)")
            } else {
                ttl = t
            }
        }
        return CredentialScope(type: type, fields: fields, ttl: ttl)
    }

    static let conditionKeys = ["equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "matches", "present"]

    func riskModifier(_ node: YAMLNode, _ path: String, parameters: [ActionParameter]) -> RiskModifier? {
        guard let f = ctx.mapping(node, path, allowed: ["when", "raise", "reason"]) else { return nil }
        let raise = ctx.require(f, "raise").flatMap { n -> Int? in
            guard let v = ctx.int(n, f.path("raise")) else { return nil }
            guard (1...3).contains(v) else {
                ctx.report(.invalidValue, n, f.path("raise"), "raise must be 1, 2 or 3 risk classes, got \(v)")
                return nil
            }
            return v
        }
        let reason = ctx.require(f, "reason").flatMap { ctx.string($0, f.path("reason")) }
        var conditions: [ParamCondition] = []
        if let when = ctx.require(f, "when"), case .mapping(let pairs) = when.kind {
            if pairs.isEmpty { ctx.report(.invalidValue, when, f.path("when"), "'when' needs at least one condition") }
            for (key, value) in pairs {
                guard let param = ctx.string(key, f.path("when")) else { continue }
                let cpath = "\(f.path("when")).\(param)"
                guard parameters.contains(where: { $0.name == param }) else {
                    let hint = Suggest.closest(to: param, in: parameters.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
                    ctx.report(.unknownReference, key, cpath, "'\(param)' is not a parameter of this action\(hint)")
                    continue
                }
                guard let cf = ctx.mapping(value, cpath, allowed: Self.conditionKeys) else { continue }
                if cf.values.isEmpty { ctx.report(.invalidValue, value, cpath, "no condition given") }
                for op in Self.conditionKeys {
                    guard let operand = cf[op] else { continue }
                    if let test = conditionTest(op, operand, "\(cpath).\(op)") {
                        conditions.append(ParamCondition(param: param, test: test))
                    }
                }
            }
        } else if let when = f["when"], !when.isNull {
            ctx.report(.wrongType, when, f.path("when"), "expected a mapping of parameter conditions, got \(when.kindName)")
        }
        guard let raise, let reason, !conditions.isEmpty else { return nil }
        return RiskModifier(conditions: conditions, raise: raise, reason: reason)
    }

    func conditionTest(_ op: String, _ node: YAMLNode, _ path: String) -> ParamCondition.Test? {
        switch op {
        case "equals": return ctx.json(node, path).map { .equals($0) }
        case "not_equals": return ctx.json(node, path).map { .notEquals($0) }
        case "in", "not_in":
            guard case .array(let items)? = ctx.json(node, path) else {
                if case .sequence = node.kind {} else {
                    ctx.report(.wrongType, node, path, "expected a list, got \(node.kindName)")
                }
                return nil
            }
            return op == "in" ? .isIn(items) : .notIn(items)
        case "gt": return ctx.double(node, path).map { .greaterThan($0) }
        case "gte": return ctx.double(node, path).map { .greaterThanOrEqual($0) }
        case "lt": return ctx.double(node, path).map { .lessThan($0) }
        case "lte": return ctx.double(node, path).map { .lessThanOrEqual($0) }
        case "matches": return ctx.string(node, path).flatMap { regex($0, node, path) }.map { .matches($0) }
        case "present": return ctx.bool(node, path).map { .present($0) }
        default: return nil
        }
    }
}
