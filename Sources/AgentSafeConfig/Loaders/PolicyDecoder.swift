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

    /// `chains:` (cumulative-risk chain rules) is reserved in policy files for the control layer.
    func rules(_ root: YAMLNode) -> [PolicyRule] {
        guard let f = ctx.mapping(root, "", allowed: ["rules"]) else { return [] }
        guard let node = ctx.require(f, "rules"), let items = ctx.sequence(node, "rules") else { return [] }
        var out: [PolicyRule] = []
        for (i, item) in items.enumerated() {
            if let rule = rule(item, "rules[\(i)]") { out.append(rule) }
        }
        return out
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
