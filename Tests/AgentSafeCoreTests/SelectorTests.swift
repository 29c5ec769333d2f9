import Testing

@testable import AgentSafeCore

@Suite("Target, caller and time selectors")
struct SelectorTests {
    static let prodAPI = Target(id: "prod/api", type: "k8s-deployment", environment: .prod, sensitivity: .critical,
                                labels: ["app": "api", "tier": "backend"])

    static let targetTable: [(TargetSelector, Bool)] = [
        (TargetSelector(), true),
        (TargetSelector(environments: [.prod]), true),
        (TargetSelector(environments: [.dev, .staging]), false),
        (TargetSelector(environments: []), false),  // an empty list never matches
        (TargetSelector(sensitivities: [.critical]), true),
        (TargetSelector(sensitivities: [.public]), false),
        (TargetSelector(types: ["k8s-deployment"]), true),
        (TargetSelector(types: ["k8s-pod"]), false),
        (TargetSelector(labels: [:]), true),
        (TargetSelector(labels: ["app": "api"]), true),
        (TargetSelector(labels: ["app": "api", "tier": "backend"]), true),
        (TargetSelector(labels: ["app": "web"]), false),
        (TargetSelector(labels: ["zone": "a"]), false),
        (TargetSelector(environments: [.prod], types: ["k8s-pod"]), false),  // AND across keys
    ]

    @Test("target selectors", arguments: targetTable)
    func target(_ c: (TargetSelector, Bool)) {
        #expect(c.0.matches(Self.prodAPI) == c.1)
    }

    static let direct = Caller(agentID: "deploy-bot", roles: ["deployer"], groups: ["platform"])
    static let delegated = Caller(agentID: "sub-1", roles: ["reader"], groups: [],
                                  delegationChain: [DelegationLink(agentID: "orchestrator"), DelegationLink(agentID: "planner")],
                                  delegationVerified: true)
    /// The same chain, claimed but not proven (e.g. from a request body).
    static let claimed = Caller(agentID: "sub-1", roles: ["reader"], groups: [],
                                delegationChain: [DelegationLink(agentID: "orchestrator"), DelegationLink(agentID: "planner")])

    /// (selector, matches the unproven chain): an unproven chain can only hurt its claimer.
    static let claimedTable: [(CallerSelector, Bool)] = [
        (CallerSelector(delegatedFrom: ["orchestrator"]), false),
        (CallerSelector(requireDelegation: true), false),
        (CallerSelector(requireDelegation: false), false),  // it claims to be delegated, so it isn't "direct" either
        (CallerSelector(maxDelegationDepth: 1), false),
        (CallerSelector(maxDelegationDepth: 2), true),
        (CallerSelector(roles: ["reader"]), true),
    ]

    @Test("unverified delegation chains", arguments: claimedTable)
    func claimedChain(_ c: (CallerSelector, Bool)) {
        #expect(c.0.matches(Self.claimed) == c.1)
    }

    static let callerTable: [(CallerSelector, Bool, Bool)] = [
        // (selector, matches direct, matches delegated)
        (CallerSelector(), true, true),
        (CallerSelector(agentIDs: ["deploy-bot"]), true, false),
        (CallerSelector(agentIDs: []), false, false),
        (CallerSelector(roles: ["deployer", "sre"]), true, false),
        (CallerSelector(roles: ["reader"]), false, true),
        (CallerSelector(groups: ["platform"]), true, false),
        (CallerSelector(delegatedFrom: ["orchestrator"]), false, true),
        (CallerSelector(delegatedFrom: ["planner"]), false, true),  // any link of the chain
        (CallerSelector(delegatedFrom: ["someone"]), false, false),
        (CallerSelector(maxDelegationDepth: 0), true, false),
        (CallerSelector(maxDelegationDepth: 1), true, false),
        (CallerSelector(maxDelegationDepth: 2), true, true),  // depth 2 ≤ 2
        (CallerSelector(requireDelegation: true), false, true),
        (CallerSelector(requireDelegation: false), true, false),
    ]

    @Test("caller selectors", arguments: callerTable)
    func caller(_ c: (CallerSelector, Bool, Bool)) {
        #expect(c.0.matches(Self.direct) == c.1)
        #expect(c.0.matches(Self.delegated) == c.2)
    }

    @Test func delegationDepthAndRoot() {
        #expect(Self.direct.delegationDepth == 0)
        #expect(Self.delegated.delegationDepth == 2)
        #expect(Self.delegated.rootPrincipal == "orchestrator")
        #expect(Self.direct.rootPrincipal == "deploy-bot")
    }

    /// (window, weekday, hour, holds)
    static let windowTable: [(TimeWindow, Int, Int, Bool)] = [
        (TimeWindow(), 3, 12, true),
        (TimeWindow(startHour: 9, endHour: 17), 0, 9, true),
        (TimeWindow(startHour: 9, endHour: 17), 0, 17, true),  // end hour inclusive
        (TimeWindow(startHour: 9, endHour: 17), 0, 18, false),
        (TimeWindow(startHour: 9, endHour: 17), 0, 8, false),
        (TimeWindow(startHour: 22, endHour: 6), 0, 23, true),  // wraps midnight
        (TimeWindow(startHour: 22, endHour: 6), 0, 3, true),
        (TimeWindow(startHour: 22, endHour: 6), 0, 12, false),
        (TimeWindow(days: [4], startHour: 22, endHour: 6), 4, 3, true),  // the moment's own weekday
        (TimeWindow(days: [4], startHour: 22, endHour: 6), 5, 3, false),  // Saturday morning is not Friday
        (TimeWindow(days: [0, 1, 2, 3, 4]), 5, 12, false),
        (TimeWindow(days: [0, 1, 2, 3, 4]), 6, 12, false),
        (TimeWindow(days: []), 0, 0, false),
    ]

    @Test("time windows", arguments: windowTable)
    func window(_ c: (TimeWindow, Int, Int, Bool)) {
        #expect(c.0.contains(weekday: c.1, hour: c.2) == c.3)
    }

    @Test func instantWeekdayAndHour() {
        // 2026-03-02T10:30:00Z is a Monday.
        #expect(Instant(secondsSinceEpoch: 1_772_447_400).weekdayAndHour(in: nil) == (0, 10))
        // 1970-01-01T00:00:00Z was a Thursday.
        #expect(Instant(secondsSinceEpoch: 0).weekdayAndHour(in: nil) == (3, 0))
        // Before the epoch: 1969-12-31T23:00:00Z, a Wednesday.
        #expect(Instant(secondsSinceEpoch: -3_600).weekdayAndHour(in: nil) == (2, 23))
        // A +02:00 zone turns Monday 23:00 UTC into Tuesday 01:00.
        let zone = ZoneOffsets(identifier: "X", initialOffset: 7_200, transitions: [])
        #expect(Instant(secondsSinceEpoch: 1_772_447_400 + 13 * 3_600 - 1_800).weekdayAndHour(in: zone) == (1, 1))
    }

    @Test func zoneTransitions() {
        let zone = ZoneOffsets(identifier: "X", initialOffset: 3_600, transitions: [
            .init(start: 1_000, offset: 7_200), .init(start: 2_000, offset: 3_600),
        ])
        #expect(zone.offset(at: Instant(secondsSinceEpoch: 999)) == 3_600)
        #expect(zone.offset(at: Instant(secondsSinceEpoch: 1_000)) == 7_200)
        #expect(zone.offset(at: Instant(secondsSinceEpoch: 1_999)) == 7_200)
        #expect(zone.offset(at: Instant(secondsSinceEpoch: 5_000)) == 3_600)
    }

    static let conditionTable: [(ParamCondition.Test, JSONValue?, Bool)] = [
        (.equals(0), 0, true), (.equals(0), 0.0, true), (.equals(0), false, false), (.equals("a"), "a", true),
        (.notEquals(0), 1, true), (.isIn(["kube-system", "kube-public"]), "kube-system", true),
        (.isIn(["kube-system"]), "default", false), (.notIn(["kube-system"]), "default", true),
        (.greaterThan(10), 11, true), (.greaterThan(10), 10, false), (.greaterThanOrEqual(10), 10, true),
        (.lessThan(1), 0, true), (.lessThanOrEqual(1), 2, false), (.greaterThan(1), "5", false),
        (.present(true), "x", true), (.present(true), nil, false), (.present(false), nil, true),
        (.equals(1), nil, false),
    ]

    @Test("risk modifier conditions", arguments: conditionTable)
    func condition(_ c: (ParamCondition.Test, JSONValue?, Bool)) {
        let params: [String: JSONValue] = c.1.map { ["p": $0] } ?? [:]
        #expect(ParamCondition(param: "p", test: c.0).holds(in: params) == c.2)
    }
}
