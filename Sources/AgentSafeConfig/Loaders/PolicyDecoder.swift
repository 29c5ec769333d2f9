import AgentSafeCore

/// Decodes policy files (`rules:`) and inventory files (`targets:`).
struct PolicyDecoder {
    let ctx: DecodeContext
    let zones: ZoneResolver

    static let ruleKeys = ["name", "description", "priority", "match", "decision", "reason"]
    static let matchKeys = ["actions", "targets", "callers", "time_windows", "risk_classes", "require_ticket"]
    static let targetSelectorKeys = ["environments", "sensitivities", "types", "labels"]
    static let callerSelectorKeys = [
        "agent_ids", "roles", "groups", "delegated_from", "max_delegation_depth", "require_delegation",
    ]
    static let timeWindowKeys = ["days", "start_hour", "end_hour", "timezone"]
    static let targetKeys = ["id", "type", "environment", "sensitivity", "owner", "labels"]

    static let chainKeys = ["name", "description", "steps", "within_seconds", "same", "bonus", "decision", "reason"]

    /// A policy file: `rules:` and/or `chains:` (cumulative-risk chain rules, docs/risk.md).
    func policyFile(_ root: YAMLNode) -> (rules: [PolicyRule], chains: [ChainRule]) {
        guard let f = ctx.mapping(root, "", allowed: ["rules", "chains"]) else { return ([], []) }
        var rules: [PolicyRule] = []
        var chains: [ChainRule] = []
        if f.present("chains") == nil || f.present("rules") != nil {
            if let node = ctx.require(f, "rules"), let items = ctx.sequence(node, "rules") {
                for (i, item) in items.enumerated() {
                    if let rule = rule(item, "rules[\(i)]") { rules.append(rule) }
                }
            }
        }
        if let node = f.present("chains"), let items = ctx.sequence(node, "chains") {
            for (i, item) in items.enumerated() {
                if let chain = chain(item, "chains[\(i)]") { chains.append(chain) }
            }
        }
        return (rules, chains)
    }

    func rules(_ root: YAMLNode) -> [PolicyRule] { policyFile(root).rules }

    func chain(_ node: YAMLNode, _ path: String) -> ChainRule? {
        guard let f = ctx.mapping(node, path, allowed: Self.chainKeys) else { return nil }
        let name = ctx.require(f, "name").flatMap { ctx.string($0, f.path("name")) }
        let description = f["description"].flatMap { ctx.string($0, f.path("description")) } ?? ""
        var steps: [Glob]?
        if let n = ctx.require(f, "steps"), let globs = ctx.stringList(n, f.path("steps")) {
            if globs.count < 2 {
                ctx.report(.invalidValue, n, f.path("steps"), "a chain needs at least 2 steps, got \(globs.count)")
            } else if globs.count > 8 {
                ctx.report(.invalidValue, n, f.path("steps"), "a chain has at most 8 steps, got \(globs.count)")
            } else if let empty = globs.firstIndex(where: \.isEmpty) {
                ctx.report(.invalidValue, n, "\(f.path("steps"))[\(empty)]", "a step must not be empty")
            } else {
                steps = globs.map(Glob.init)
            }
        }
        var within: Int?
        if let n = ctx.require(f, "within_seconds"), let v = ctx.int(n, f.path("within_seconds")) {
            if v < 1 || v > 30 * 86_400 {
                ctx.report(.invalidValue, n, f.path("within_seconds"), "must be 1 … 2592000 (30 days), got \(v)")
            } else {
                within = v
            }
        }
        var same = ChainRule.Same.none
        if let n = f.present("same"), let text = ctx.string(n, f.path("same")) {
            switch text {
            case "none": same = .none
            case "target": same = .target
            case "namespace": same = .namespace
            case _ where text.hasPrefix("param:") && text.count > 6: same = .param(String(text.dropFirst(6)))
            default:
                ctx.report(.invalidValue, n, f.path("same"),
                           "'\(text)' is not one of none, target, namespace, param:<name>")
            }
        }
        var bonus = 0
        if let n = f.present("bonus"), let v = ctx.int(n, f.path("bonus")) {
            if v < 0 || v > 1_000_000 {
                ctx.report(.invalidValue, n, f.path("bonus"), "must be 0 … 1000000, got \(v)")
            } else {
                bonus = v
            }
        }
        var decision: DecisionResult?
        if let n = f.present("decision"), let d = ctx.enumValue(n, f.path("decision"), DecisionResult.self) {
            if d == .allow {
                ctx.report(.invalidValue, n, f.path("decision"),
                           "a chain can only make a decision stricter: require_approval or deny, not allow")
            } else {
                decision = d
            }
        }
        if f.present("decision") == nil, f.present("bonus") == nil {
            ctx.report(.missingField, node, path, "a chain needs 'bonus', 'decision' or both")
        }
        let reason = ctx.require(f, "reason").flatMap { ctx.string($0, f.path("reason")) }
        guard let name, let steps, let within, let reason else { return nil }
        return ChainRule(name: name, description: description, steps: steps, withinSeconds: within, same: same,
                         bonus: bonus, decision: decision, reason: reason,
                         source: SourceLocation(file: ctx.file, line: node.line, column: node.column))
    }

    func rule(_ node: YAMLNode, _ path: String) -> PolicyRule? {
        guard let f = ctx.mapping(node, path, allowed: Self.ruleKeys) else { return nil }
        let name = ctx.require(f, "name").flatMap { ctx.string($0, f.path("name")) }
        let description = f["description"].flatMap { ctx.string($0, f.path("description")) } ?? ""
        let priority = f["priority"].flatMap { ctx.int($0, f.path("priority")) } ?? 0
        let match = ctx.require(f, "match").flatMap { self.match($0, f.path("match")) }
        let decision = ctx.require(f, "decision").flatMap { ctx.enumValue($0, f.path("decision"), DecisionResult.self) }
        let reason = ctx.require(f, "reason").flatMap { ctx.string($0, f.path("reason")) }
        guard let name, let match, let decision, let reason else { return nil }
        return PolicyRule(name: name, description: description, priority: priority, match: match, decision: decision,
                          reason: reason, source: SourceLocation(file: ctx.file, line: node.line, column: node.column))
    }

    func match(_ node: YAMLNode, _ path: String) -> PolicyMatch? {
        guard let f = ctx.mapping(node, path, allowed: Self.matchKeys) else { return nil }
        var m = PolicyMatch()
        if let n = f.present("actions"), let globs = ctx.stringList(n, f.path("actions")) {
            m.actions = globs.map(Glob.init)
        }
        if let n = f.present("targets"), let tf = ctx.mapping(n, f.path("targets"), allowed: Self.targetSelectorKeys) {
            var t = TargetSelector()
            t.environments = tf.present("environments").flatMap { ctx.enumList($0, tf.path("environments"), Environment.self) }
            t.sensitivities = tf.present("sensitivities").flatMap { ctx.enumList($0, tf.path("sensitivities"), Sensitivity.self) }
            t.types = tf.present("types").flatMap { ctx.stringList($0, tf.path("types")) }
            t.labels = tf.present("labels").flatMap { ctx.stringMap($0, tf.path("labels")) }
            m.targets = t
        }
        if let n = f.present("callers"), let cf = ctx.mapping(n, f.path("callers"), allowed: Self.callerSelectorKeys) {
            var c = CallerSelector()
            c.agentIDs = cf.present("agent_ids").flatMap { ctx.stringList($0, cf.path("agent_ids")) }
            c.roles = cf.present("roles").flatMap { ctx.stringList($0, cf.path("roles")) }
            c.groups = cf.present("groups").flatMap { ctx.stringList($0, cf.path("groups")) }
            c.delegatedFrom = cf.present("delegated_from").flatMap { ctx.stringList($0, cf.path("delegated_from")) }
            if let dn = cf.present("max_delegation_depth"), let d = ctx.int(dn, cf.path("max_delegation_depth")) {
                if d < 0 {
                    ctx.report(.invalidValue, dn, cf.path("max_delegation_depth"), "must be 0 or more, got \(d)")
                } else {
                    c.maxDelegationDepth = d
                }
            }
            c.requireDelegation = cf.present("require_delegation").flatMap { ctx.bool($0, cf.path("require_delegation")) }
            m.callers = c
        }
        if let n = f.present("time_windows"), let items = ctx.sequence(n, f.path("time_windows")) {
            var windows: [TimeWindow] = []
            for (i, item) in items.enumerated() {
                if let w = timeWindow(item, "\(f.path("time_windows"))[\(i)]") { windows.append(w) }
            }
            m.timeWindows = windows
        }
        m.riskClasses = f.present("risk_classes").flatMap { ctx.enumList($0, f.path("risk_classes"), RiskClass.self) }
        m.requireTicket = f.present("require_ticket").flatMap { ctx.bool($0, f.path("require_ticket")) }
        return m
    }

    func timeWindow(_ node: YAMLNode, _ path: String) -> TimeWindow? {
        guard let f = ctx.mapping(node, path, allowed: Self.timeWindowKeys) else { return nil }
        var w = TimeWindow()
        if let n = f.present("days"), let items = ctx.sequence(n, f.path("days")) {
            var days: [Int] = []
            for (i, item) in items.enumerated() {
                guard let d = ctx.int(item, "\(f.path("days"))[\(i)]") else { continue }
                guard (0...6).contains(d) else {
                    ctx.report(.invalidValue, item, "\(f.path("days"))[\(i)]", "day \(d) is not 0 (Monday) … 6 (Sunday)")
                    continue
                }
                days.append(d)
            }
            w.days = days
        }
        for (key, keyPath) in [("start_hour", \TimeWindow.startHour), ("end_hour", \TimeWindow.endHour)] {
            guard let n = f.present(key), let h = ctx.int(n, f.path(key)) else { continue }
            guard (0...23).contains(h) else {
                ctx.report(.invalidValue, n, f.path(key), "hour \(h) is not 0 … 23")
                continue
            }
            w[keyPath: keyPath] = h
        }
        if let n = f.present("timezone"), let id = ctx.string(n, f.path("timezone")) {
            w.timeZone = zones.resolve(id, node: n, path: f.path("timezone"), ctx: ctx)
        }
        return w
    }

    func targets(_ root: YAMLNode) -> [Target] {
        guard let f = ctx.mapping(root, "", allowed: ["targets"]) else { return [] }
        guard let node = ctx.require(f, "targets"), let items = ctx.sequence(node, "targets") else { return [] }
        var out: [Target] = []
        var seen: [String: Int] = [:]
        for (i, item) in items.enumerated() {
            let path = "targets[\(i)]"
            guard let tf = ctx.mapping(item, path, allowed: Self.targetKeys) else { continue }
            let id = ctx.require(tf, "id").flatMap { ctx.string($0, tf.path("id")) }
            let type = ctx.require(tf, "type").flatMap { ctx.string($0, tf.path("type")) }
            let env = ctx.require(tf, "environment").flatMap { ctx.enumValue($0, tf.path("environment"), Environment.self) }
            let sens = ctx.require(tf, "sensitivity").flatMap { ctx.enumValue($0, tf.path("sensitivity"), Sensitivity.self) }
            let owner = tf["owner"].flatMap { ctx.string($0, tf.path("owner")) } ?? ""
            let labels = tf.present("labels").flatMap { ctx.stringMap($0, tf.path("labels")) } ?? [:]
            guard let id, let type, let env, let sens else { continue }
            if let first = seen[id] {
                ctx.report(.duplicateName, tf["id"], tf.path("id"), "duplicate target id '\(id)' (first at targets[\(first)])")
                continue
            }
            seen[id] = i
            out.append(Target(id: id, type: type, environment: env, sensitivity: sens, owner: owner, labels: labels))
        }
        return out
    }
}
