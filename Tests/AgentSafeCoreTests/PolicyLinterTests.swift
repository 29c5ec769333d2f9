import Testing

@testable import AgentSafeCore

@Suite("Policy lint")
struct PolicyLinterTests {
    func lint(_ rules: [PolicyRule], risk: RiskSettings = .none) -> [LintFinding] {
        PolicyLinter.lint(PolicyEngine(actions: [World.restart, World.scale, World.logs, World.deleteNamespace],
                                       inventory: World.inventory, rules: rules, risk: risk))
    }

    @Test func upstreamDeadNamespaceDenyIsShadowed() {
        // Upstream's deny-delete-namespace-prod (p900) under require-approval-critical-risk (p1000).
        let findings = lint([
            PolicyRule(name: "critical", priority: 1000, match: PolicyMatch(riskClasses: [.critical]),
                       decision: .requireApproval, reason: "r"),
            PolicyRule(name: "deny-ns-prod", priority: 900,
                       match: PolicyMatch(actions: [Glob("delete-namespace")], targets: TargetSelector(environments: [.prod])),
                       decision: .deny, reason: "r"),
        ])
        #expect(findings.count == 1)
        #expect(findings.first?.kind == .shadowed)
        #expect(findings.first?.rule == "deny-ns-prod")
        #expect(findings.first?.shadowedBy == ["critical"])
    }

    @Test func denyAboveTheBroadRuleIsClean() {
        let findings = lint([
            PolicyRule(name: "deny-ns-prod", priority: 1100,
                       match: PolicyMatch(actions: [Glob("delete-namespace")], targets: TargetSelector(environments: [.prod])),
                       decision: .deny, reason: "r"),
            PolicyRule(name: "critical", priority: 1000, match: PolicyMatch(riskClasses: [.critical]),
                       decision: .requireApproval, reason: "r"),
        ])
        #expect(findings.isEmpty)
    }

    @Test func partialOverlapIsNotShadowed() {
        let findings = lint([
            PolicyRule(name: "deployers", priority: 100,
                       match: PolicyMatch(callers: CallerSelector(roles: ["deployer"])), decision: .allow, reason: "r"),
            PolicyRule(name: "deployers-and-sre", priority: 50,
                       match: PolicyMatch(callers: CallerSelector(roles: ["deployer", "sre"])), decision: .deny, reason: "r"),
            PolicyRule(name: "only-deployers", priority: 10,
                       match: PolicyMatch(callers: CallerSelector(roles: ["deployer"])), decision: .deny, reason: "r"),
        ])
        #expect(findings.map(\.rule) == ["only-deployers"])
    }

    @Test func anonymousCallersKeepARuleAlive() {
        // The lower rule also sees anonymous callers, which a callers selector never matches.
        let findings = lint([
            PolicyRule(name: "any-identified", priority: 100, match: PolicyMatch(callers: CallerSelector()),
                       decision: .allow, reason: "r"),
            PolicyRule(name: "everyone", priority: 10, match: PolicyMatch(), decision: .deny, reason: "r"),
        ])
        #expect(findings.isEmpty)
    }

    @Test func timeWindowsAndTickets() {
        let findings = lint([
            PolicyRule(name: "office", priority: 100,
                       match: PolicyMatch(timeWindows: [TimeWindow(days: [0, 1, 2, 3, 4], startHour: 8, endHour: 18)]),
                       decision: .allow, reason: "r"),
            PolicyRule(name: "mornings", priority: 50,
                       match: PolicyMatch(timeWindows: [TimeWindow(days: [0, 1], startHour: 9, endHour: 11)]),
                       decision: .deny, reason: "r"),
            PolicyRule(name: "weekend", priority: 40,
                       match: PolicyMatch(timeWindows: [TimeWindow(days: [5, 6])]), decision: .deny, reason: "r"),
            PolicyRule(name: "ticketed", priority: 30, match: PolicyMatch(requireTicket: true), decision: .allow, reason: "r"),
            PolicyRule(name: "ticketed-again", priority: 20, match: PolicyMatch(requireTicket: true), decision: .allow, reason: "r"),
        ])
        #expect(findings.map(\.rule) == ["mornings", "ticketed-again"])
        #expect(findings.last?.message.contains("redundant") == true)
    }

    @Test func unreachableRules() {
        let findings = lint([
            PolicyRule(name: "empty-actions", match: PolicyMatch(actions: []), decision: .allow, reason: "r"),
            PolicyRule(name: "no-such-env", match: PolicyMatch(targets: TargetSelector(environments: [])), decision: .allow, reason: "r"),
            PolicyRule(name: "logs-on-deployments",
                       match: PolicyMatch(actions: [Glob("get-pod-logs")], targets: TargetSelector(types: ["k8s-deployment"])),
                       decision: .allow, reason: "r"),
            PolicyRule(name: "low-ns-delete",
                       match: PolicyMatch(actions: [Glob("delete-namespace")], riskClasses: [.low]), decision: .allow, reason: "r"),
            PolicyRule(name: "contradiction",
                       match: PolicyMatch(callers: CallerSelector(maxDelegationDepth: 0, requireDelegation: true)),
                       decision: .allow, reason: "r"),
        ])
        #expect(Set(findings.filter { $0.kind == .unreachable }.map(\.rule))
                == ["empty-actions", "no-such-env", "logs-on-deployments", "low-ns-delete", "contradiction"])
    }

    @Test func modifiersWidenTheRiskARuleCanSee() {
        // scale-deployment on dev is low by the matrix but can be raised: a critical rule can match it.
        let rules = [PolicyRule(name: "crit-scale", match: PolicyMatch(actions: [Glob("scale-deployment")],
                                                                       targets: TargetSelector(environments: [.dev]),
                                                                       riskClasses: [.critical]),
                                decision: .deny, reason: "r")]
        #expect(lint(rules).isEmpty)
        let restartRules = [PolicyRule(name: "crit-restart", match: PolicyMatch(actions: [Glob("restart-deployment")],
                                                                                targets: TargetSelector(environments: [.dev]),
                                                                                riskClasses: [.critical]),
                                       decision: .deny, reason: "r")]
        #expect(lint(restartRules).map(\.kind) == [.unreachable])
        #expect(lint(restartRules, risk: RiskSettings(delegation: .init(minDepth: 1, raise: 3))).isEmpty)
    }

    @Test func duplicateNamesAndUnknownActions() {
        let findings = lint([
            PolicyRule(name: "a", priority: 2, match: PolicyMatch(actions: [Glob("restart-deploymnt")]), decision: .allow, reason: "r"),
            PolicyRule(name: "a", priority: 1, match: PolicyMatch(actions: [Glob("nothing-*")]), decision: .allow, reason: "r"),
        ])
        #expect(findings.contains { $0.kind == .duplicateName })
        #expect(findings.contains { $0.kind == .unknownAction && $0.message.contains("did you mean 'restart-deployment'") })
        #expect(findings.contains { $0.kind == .unknownAction && $0.message.contains("'nothing-*' matches no action") })
    }
}
