import Testing

@testable import AgentSafeCore

/// A small world shaped like upstream's default set.
enum World {
    static let restart = ActionDefinition(
        name: "restart-deployment",
        parameters: [ActionParameter(name: "namespace", type: .string), ActionParameter(name: "deployment", type: .string)],
        riskClass: .medium, targetTypes: ["k8s-deployment"])
    static let scale = ActionDefinition(
        name: "scale-deployment",
        parameters: [
            ActionParameter(name: "namespace", type: .string), ActionParameter(name: "deployment", type: .string),
            ActionParameter(name: "replicas", type: .integer,
                            constraints: ParameterConstraints(ValueConstraints(minValue: 0, maxValue: 100))),
        ],
        riskClass: .medium, targetTypes: ["k8s-deployment"],
        riskModifiers: [
            RiskModifier(conditions: [ParamCondition(param: "replicas", test: .equals(0))], raise: 1, reason: "scale to zero"),
            RiskModifier(conditions: [ParamCondition(param: "namespace", test: .isIn(["kube-system"]))], raise: 2,
                         reason: "control plane"),
        ])
    static let logs = ActionDefinition(
        name: "get-pod-logs", parameters: [ActionParameter(name: "pod", type: .string)], riskClass: .low,
        targetTypes: ["k8s-pod"])
    static let deleteNamespace = ActionDefinition(
        name: "delete-namespace", parameters: [ActionParameter(name: "namespace", type: .string)],
        riskClass: .critical, targetTypes: ["k8s-namespace"])

    static let inventory = Inventory(targets: [
        Target(id: "dev/app", type: "k8s-deployment", environment: .dev, sensitivity: .public),
        Target(id: "dev/pod", type: "k8s-pod", environment: .dev, sensitivity: .public),
        Target(id: "staging/api", type: "k8s-deployment", environment: .staging, sensitivity: .internal),
        Target(id: "prod/api", type: "k8s-deployment", environment: .prod, sensitivity: .critical),
        Target(id: "prod/ns", type: "k8s-namespace", environment: .prod, sensitivity: .critical),
    ])

    static let rules = [
        PolicyRule(name: "allow-dev", priority: 10, match: PolicyMatch(targets: TargetSelector(environments: [.dev])),
                   decision: .allow, reason: "dev is open"),
        PolicyRule(name: "critical-approval", priority: 1000, match: PolicyMatch(riskClasses: [.critical]),
                   decision: .requireApproval, reason: "critical"),
        PolicyRule(name: "prod-approval", priority: 500, match: PolicyMatch(targets: TargetSelector(environments: [.prod])),
                   decision: .requireApproval, reason: "prod"),
        PolicyRule(name: "deployers-staging", priority: 100,
                   match: PolicyMatch(actions: [Glob("*-deployment")], targets: TargetSelector(environments: [.staging]),
                                      callers: CallerSelector(roles: ["deployer"])),
                   decision: .allow, reason: "deployers"),
        PolicyRule(name: "night-freeze", priority: 600,
                   match: PolicyMatch(actions: [Glob("scale-*")], targets: TargetSelector(environments: [.staging]),
                                      timeWindows: [TimeWindow(startHour: 22, endHour: 5)]),
                   decision: .deny, reason: "no scaling at night"),
        PolicyRule(name: "ticketed-staging", priority: 50,
                   match: PolicyMatch(targets: TargetSelector(environments: [.staging]), requireTicket: true),
                   decision: .allow, reason: "ticketed"),
    ]

    static let engine = PolicyEngine(actions: [restart, scale, logs, deleteNamespace], inventory: inventory, rules: rules)

    /// Monday 2026-03-02 12:00 UTC.
    static let noon = Instant(secondsSinceEpoch: 1_772_452_800)

    static func request(
        _ action: String, _ target: String?, caller: Caller? = Caller(agentID: "agent"),
        params: [String: JSONValue] = ["namespace": "a", "deployment": "b"], ticket: String? = nil,
        at: Instant = noon
    ) -> DecisionRequest {
        DecisionRequest(action: action, target: target, caller: caller, params: params, ticketID: ticket, instant: at,
                        auditID: "evt-test")
    }
}

@Suite("Policy engine")
struct PolicyEngineTests {
    @Test func rulesAreSortedByPriorityStably() {
        #expect(World.engine.policy.rules.map(\.name) == [
            "critical-approval", "night-freeze", "prod-approval", "deployers-staging", "ticketed-staging", "allow-dev",
        ])
    }

    @Test func firstMatchWins() {
        let d = World.engine.evaluate(World.request("restart-deployment", "dev/app"))
        #expect(d.result == .allow)
        #expect(d.policyMatched == "allow-dev")
        #expect(d.code == .policy)
        #expect(d.effectiveRisk == .low)
    }

    @Test func defaultDeny() {
        let d = World.engine.evaluate(World.request("restart-deployment", "staging/api"))
        #expect(d.result == .deny)
        #expect(d.reason == "No matching policy (default deny)")
        #expect(d.code == .noMatchingPolicy)
        #expect(d.policyMatched == nil)
    }

    @Test func rolesAndTickets() {
        let deployer = Caller(agentID: "bot", roles: ["deployer"])
        #expect(World.engine.evaluate(World.request("restart-deployment", "staging/api", caller: deployer)).policyMatched == "deployers-staging")
        #expect(World.engine.evaluate(World.request("restart-deployment", "staging/api", ticket: "CHG-1")).policyMatched == "ticketed-staging")
        #expect(World.engine.evaluate(World.request("restart-deployment", "staging/api", ticket: "")).result == .deny)
    }

    @Test func riskClassesMatchEffectiveRisk() {
        let d = World.engine.evaluate(World.request("restart-deployment", "prod/api"))
        #expect(d.effectiveRisk == .critical)
        #expect(d.policyMatched == "critical-approval")
        #expect(d.result == .requireApproval)
    }

    @Test func unknownActionIsDeniedAsCritical() {
        let d = World.engine.evaluate(World.request("nope-action", "dev/app"))
        #expect(d.result == .deny)
        #expect(d.reason == "Unknown action: nope-action")
        #expect(d.code == .unknownAction)
        #expect(d.riskClass == .critical)
        #expect(d.effectiveRisk == .high)  // critical × public
    }

    @Test func missingParamsAreDeniedEvenWhenEmpty() {
        // Upstream allows (and issues a ticket) when params are empty: we deny.
        let d = World.engine.evaluate(World.request("scale-deployment", "dev/app", params: [:]))
        #expect(d.result == .deny)
        #expect(d.code == .invalidParams)
        #expect(d.reason.hasPrefix("Invalid parameters: Missing required parameter: namespace; "))
        #expect(d.paramErrors.count == 3)
    }

    @Test func targetTypeMismatchIsDenied() {
        let d = World.engine.evaluate(World.request("get-pod-logs", "dev/app", params: ["pod": "p"]))
        #expect(d.result == .deny)
        #expect(d.code == .targetTypeMismatch)
        #expect(d.reason.contains("k8s-deployment"))
        #expect(World.engine.evaluate(World.request("get-pod-logs", "dev/pod", params: ["pod": "p"])).result == .allow)
    }

    @Test func unknownTargetKeepsItsIdAndIsCritical() {
        let d = World.engine.evaluate(World.request("restart-deployment", "nope/x"))
        #expect(d.target == "nope/x")
        #expect(!d.targetKnown)
        #expect(d.effectiveRisk == .critical)  // medium × critical
        #expect(d.policyMatched == "critical-approval")
        let none = World.engine.evaluate(World.request("get-pod-logs", nil, params: ["pod": "p"]))
        #expect(none.target == nil)
        #expect(none.effectiveRisk == .high)  // low × critical; rules with targets never match
        #expect(none.result == .deny)
    }

    @Test func anonymousCallersNeverMatchCallerSelectors() {
        let d = World.engine.evaluate(World.request("restart-deployment", "staging/api", caller: nil))
        #expect(d.caller == "anonymous")
        #expect(d.result == .deny)
        // …but rules without a callers selector still apply.
        #expect(World.engine.evaluate(World.request("restart-deployment", "dev/app", caller: nil)).result == .allow)
    }

    @Test func timeWindows() {
        let night = Instant(secondsSinceEpoch: World.noon.secondsSinceEpoch + 11 * 3_600)  // 23:00
        let params: [String: JSONValue] = ["namespace": "a", "deployment": "b", "replicas": 2]
        let deployer = Caller(agentID: "bot", roles: ["deployer"])
        #expect(World.engine.evaluate(World.request("scale-deployment", "staging/api", caller: deployer, params: params, at: night)).policyMatched == "night-freeze")
        #expect(World.engine.evaluate(World.request("scale-deployment", "staging/api", caller: deployer, params: params)).policyMatched == "deployers-staging")
    }

    @Test func actionRiskModifiersRaiseAndAreReported() {
        let zero = World.engine.evaluate(World.request("scale-deployment", "dev/app",
                                                        params: ["namespace": "a", "deployment": "b", "replicas": 0]))
        #expect(zero.matrixRisk == .low)
        #expect(zero.effectiveRisk == .medium)
        #expect(zero.modifiers.map(\.reason) == ["scale to zero"])
        let both = World.engine.evaluate(World.request("scale-deployment", "dev/app",
                                                        params: ["namespace": "kube-system", "deployment": "b", "replicas": 0]))
        #expect(both.effectiveRisk == .critical)  // low +1 +2
        #expect(both.modifiers.map(\.to) == [.medium, .critical])
        #expect(both.result == .requireApproval)
    }

    @Test func configuredModifiers() {
        let engine = PolicyEngine(
            actions: [World.restart], inventory: World.inventory, rules: World.rules,
            risk: RiskSettings(offHours: .init(businessHours: [TimeWindow(days: [0, 1, 2, 3, 4], startHour: 8, endHour: 17)]),
                               delegation: .init(minDepth: 2)))
        #expect(engine.evaluate(World.request("restart-deployment", "dev/app")).effectiveRisk == .low)
        let saturday = Instant(secondsSinceEpoch: World.noon.secondsSinceEpoch + 5 * 86_400)
        let weekend = engine.evaluate(World.request("restart-deployment", "dev/app", at: saturday))
        #expect(weekend.effectiveRisk == .medium)
        #expect(weekend.modifiers.first?.source == .offHours)
        let deep = Caller(agentID: "c", delegationChain: [DelegationLink(agentID: "a"), DelegationLink(agentID: "b")])
        let delegated = engine.evaluate(World.request("restart-deployment", "dev/app", caller: deep))
        #expect(delegated.effectiveRisk == .medium)
        #expect(delegated.modifiers.first?.source == .delegation)
    }

    @Test func indexAgreesWithAFullScan() {
        // The compiled index must give the same answer as checking every rule in order.
        let callers: [Caller?] = [nil, Caller(agentID: "x"), Caller(agentID: "bot", roles: ["deployer"])]
        for action in ["restart-deployment", "scale-deployment", "get-pod-logs", "delete-namespace"] {
            for target in [nil, "dev/app", "dev/pod", "staging/api", "prod/api", "prod/ns", "nope"] as [String?] {
                for caller in callers {
                    for ticket in [nil, "CHG-1"] as [String?] {
                        let r = World.request(action, target, caller: caller, ticket: ticket)
                        let explained = World.engine.explain(r)
                        let decided = explained.rules.first { $0.outcome == .decided }?.rule.name
                        #expect(World.engine.evaluate(r).policyMatched == decided, "\(action) \(target ?? "-")")
                    }
                }
            }
        }
    }

    @Test func explainSaysWhy() {
        let e = World.engine.explain(World.request("restart-deployment", "staging/api"))
        #expect(e.rules.count == World.rules.count)
        let byName = Dictionary(uniqueKeysWithValues: e.rules.map { ($0.rule.name, $0.outcome) })
        #expect(byName["critical-approval"] == .notMatched("risk_classes: effective risk medium not in [critical]"))
        #expect(byName["prod-approval"] == .notMatched("targets.environments: staging not in [prod]"))
        #expect(byName["deployers-staging"] == .notMatched("callers.roles: caller has [], rule wants one of [deployer]"))
        #expect(byName["ticketed-staging"] == .notMatched("require_ticket: no change ticket given"))
        #expect(byName["night-freeze"] == .notMatched("actions: restart-deployment matches none of [scale-*]"))
        let pre = World.engine.explain(World.request("nope", "dev/app"))
        #expect(pre.preRuleStep == "Unknown action: nope")
        #expect(!pre.rules.contains { $0.outcome == .decided })
    }

    @Test func eventIDsAre128BitHex() {
        let id = EventID.random()
        #expect(id.count == 36)
        #expect(id.hasPrefix("evt-"))
        #expect(id.dropFirst(4).allSatisfy { $0.isHexDigit })
        #expect(EventID.random() != id)
    }
}
