import AgentSafeConfig
import AgentSafeCore
import Foundation
import Testing

@Suite("Loading valid configuration")
struct LoaderTests {
    @Test func baselineLoads() throws {
        let snapshot = try Project.loadValid()
        #expect(snapshot.actions.map(\.name) == ["restart-deployment", "scale-deployment"])
        #expect(snapshot.inventory.targets.map(\.id) == ["dev/app", "prod/app"])
        #expect(snapshot.engine.policy.rules.map(\.name) == ["approve-prod", "allow-dev"])
        #expect(snapshot.warnings.isEmpty, "\(snapshot.warnings)")
        let rule = try #require(snapshot.engine.policy.rules.first { $0.name == "allow-dev" })
        #expect(rule.source?.description == "policies/10-base.yaml:2:5")
    }

    @Test func chainRulesLoadBesideRulesAndAloneInAFile() throws {
        let snapshot = try Project.loadValid([
            "policies/30-chains.yaml": .text("""
                chains:
                  - name: scale-after-restart
                    steps: [restart-deployment, "scale-*"]
                    within_seconds: 600
                    same: param:namespace
                    bonus: 20
                    decision: require_approval
                    reason: Restart then scale

                """),
            "agent-safe.yaml": .text("cumulative_risk: {aggregate: caller, per_target: true, half_life_seconds: 600, max_principals: 5000}\n"),
        ])
        let chain = try #require(snapshot.chains.first)
        #expect(snapshot.chains.count == 1 && chain.name == "scale-after-restart")
        #expect(chain.steps.map(\.pattern) == ["restart-deployment", "scale-*"])
        #expect(chain.same == .param("namespace") && chain.bonus == 20 && chain.decision == .requireApproval)
        #expect(chain.source?.description == "policies/30-chains.yaml:2:5")
        let c = try #require(snapshot.config.cumulativeRisk)
        #expect(c.aggregate == .caller && c.perTarget && c.halfLifeSeconds == 600 && c.maxPrincipals == 5000)
        #expect(snapshot.engine.policy.rules.count == 2)
    }

    // MARK: - YAML scalars

    @Test func yaml11BooleansForBoolFields() throws {
        let snapshot = try Project.loadValid([
            "actions/scale-deployment.yaml": .patch("reversible: true", "reversible: yes"),
            "actions/restart-deployment.yaml": .text(Baseline.restart + """
                reversible: Off
                state_fields:
                  - name: replicas
                    required: YES
                  - name: ready
                    required: no

                """),
            "policies/10-base.yaml": .patch("        environments: [dev]\n",
                                            "        environments: [dev]\n      require_ticket: on\n      callers:\n        require_delegation: off\n"),
        ])
        let scale = try #require(snapshot.engine.actions["scale-deployment"])
        #expect(scale.reversible == true)
        let restart = try #require(snapshot.engine.actions["restart-deployment"])
        #expect(restart.reversible == false)
        #expect(restart.stateFields.map(\.required) == [true, false])
        let rule = try #require(snapshot.engine.policy.rules.first { $0.name == "allow-dev" })
        #expect(rule.match.requireTicket == true)
        #expect(rule.match.callers?.requireDelegation == false)
    }

    @Test func optionalParameterWithYAML11Off() throws {
        let snapshot = try Project.loadValid([
            "actions/scale-deployment.yaml": .patch("    required: false\n", "    required: off\n    sensitive: on\n"),
        ])
        let image = try #require(snapshot.engine.actions["scale-deployment"]?.parameter(named: "image"))
        #expect(image.required == false)
        #expect(image.sensitive == true)
    }

    @Test func quotedNumbersInStringFieldsAreStrings() throws {
        let snapshot = try Project.loadValid([
            "actions/scale-deployment.yaml": .patch("description: Scale a deployment", "description: \"5\""),
            "inventory.yaml": .patch("    owner: dev-team\n    labels:\n      app: demo",
                                     "    owner: '5'\n    labels:\n      app: \"3\"\n      replicas: \"true\""),
            "policies/10-base.yaml": .patch("name: allow-dev", "name: \"10\""),
        ])
        #expect(snapshot.engine.actions["scale-deployment"]?.description == "5")
        let target = try #require(snapshot.inventory["dev/app"])
        #expect(target.owner == "5")
        #expect(target.labels == ["app": "3", "replicas": "true"])
        #expect(snapshot.engine.policy.rules.contains { $0.name == "10" })
    }

    @Test func mergeKeysInPolicies() throws {
        let snapshot = try Project.loadValid([
            "policies/10-base.yaml": .text("""
                rules:
                  - &dev
                    name: allow-dev
                    priority: 10
                    match:
                      targets:
                        environments: [dev]
                    decision: allow
                    reason: open environment
                  - <<: *dev
                    name: allow-staging-too
                    match:
                      targets:
                        environments: [staging]

                """),
            "inventory.yaml": .text(Baseline.inventory + """
                  - id: staging/app
                    type: k8s-deployment
                    environment: staging
                    sensitivity: internal

                """),
        ])
        let rule = try #require(snapshot.engine.policy.rules.first { $0.name == "allow-staging-too" })
        #expect(rule.priority == 10)
        #expect(rule.decision == .allow)
        #expect(rule.reason == "open environment")
        #expect(rule.match.targets?.environments == [.staging])  // the explicit key wins over the merged one
        let d = snapshot.engine.evaluate(request("restart-deployment", target: "staging/app",
                                                 params: ["namespace": "s", "deployment": "app"]))
        #expect(d.result == .allow)
        #expect(d.policyMatched == "allow-staging-too")
    }

    @Test func readerMergeKeyOrder() throws {
        let node = try #require(try YAMLFileReader().parse(text: """
            a: &a {x: 1, y: 1}
            b: &b {y: 2, z: 2}
            c:
              <<: [*a, *b]
              x: 0

            """, displayPath: "t.yaml"))
        guard case .mapping(let top) = node.kind, let c = top.first(where: { $0.key.scalarText == "c" })?.value,
            case .mapping(let pairs) = c.kind
        else {
            Issue.record("not a mapping: \(node.kindName)")
            return
        }
        var values: [String: String] = [:]
        for pair in pairs { values[pair.key.scalarText ?? "?"] = pair.value.scalarText }
        // Explicit keys win; earlier merged maps win over later ones.
        #expect(values == ["x": "0", "y": "1", "z": "2"])
        #expect(c.line == 4)
    }

    // MARK: - agent-safe.yaml

    @Test func discoveryWalksUpParents() throws {
        try withTemporaryDirectory { root in
            let project = root.appendingPathComponent("project")
            try Project.write([:], into: project)
            try Data("registry: actions\npolicies: policies\ninventory: inventory.yaml\n".utf8)
                .write(to: project.appendingPathComponent("agent-safe.yaml"))
            let deep = project.appendingPathComponent("a/b/c")
            try FileManager.default.createDirectory(at: deep, withIntermediateDirectories: true)
            let expected = project.appendingPathComponent("agent-safe.yaml").standardizedFileURL.path

            #expect(ProjectConfig.discover(from: deep.path) == expected)
            #expect(ProjectConfig.discover(from: project.path) == expected)

            let snapshot = try CatalogueLoader.load(LoadOptions(workingDirectory: deep.path))
            #expect(snapshot.paths.config == expected)
            #expect(snapshot.paths.registry == project.appendingPathComponent("actions").path)
            #expect(snapshot.actions.count == 2)
            // A directory named agent-safe.yaml is not a config file.
            let decoy = deep.appendingPathComponent("agent-safe.yaml")
            try FileManager.default.createDirectory(at: decoy, withIntermediateDirectories: true)
            #expect(ProjectConfig.discover(from: deep.path) == expected)
        }
    }

    @Test func configPathsAreRelativeToTheConfigFile() throws {
        try withTemporaryDirectory { root in
            try Project.write([:], into: root.appendingPathComponent("data"))
            let conf = root.appendingPathComponent("conf")
            try FileManager.default.createDirectory(at: conf, withIntermediateDirectories: true)
            try Data("""
                registry: ../data/actions
                policies: ../data/policies
                inventory: ../data/inventory.yaml
                audit_log: logs/audit.jsonl

                """.utf8).write(to: conf.appendingPathComponent("agent-safe.yaml"))
            let elsewhere = root.appendingPathComponent("elsewhere")
            try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)

            // A relative --config resolves against the working directory; the paths inside against the file.
            let snapshot = try CatalogueLoader.load(LoadOptions(
                configPath: "../conf/agent-safe.yaml", workingDirectory: elsewhere.path, discoverConfig: false))
            #expect(snapshot.paths.config == conf.appendingPathComponent("agent-safe.yaml").path)
            #expect(snapshot.paths.registry == root.appendingPathComponent("data/actions").path)
            #expect(snapshot.paths.policies == root.appendingPathComponent("data/policies").path)
            #expect(snapshot.paths.inventory == root.appendingPathComponent("data/inventory.yaml").path)
            #expect(snapshot.paths.auditLog == conf.appendingPathComponent("logs/audit.jsonl").path)
            #expect(snapshot.actions.count == 2)
            #expect(snapshot.inventory.targets.count == 2)

            let config = try ProjectConfig.load(path: conf.appendingPathComponent("agent-safe.yaml").path)
            #expect(config.resolve("x/y.yaml") == conf.appendingPathComponent("x/y.yaml").path)
            #expect(config.resolve("/abs/z.yaml") == "/abs/z.yaml")
        }
    }

    @Test func flagsOverrideConfig() throws {
        try withTemporaryDirectory { root in
            try Project.write([:], into: root)
            // The config names a one-action catalogue and a policy file that denies everything…
            try Project.write([
                "actions-a/restart-deployment.yaml": .text(Baseline.restart),
                "deny-all.yaml": .text("rules:\n  - name: deny-all\n    match: {}\n    decision: deny\n    reason: closed\n"),
                "agent-safe.yaml": .text("registry: actions-a\npolicies: deny-all.yaml\ninventory: missing.yaml\n"),
            ], into: root, baseline: false)
            let fromConfig = Project.load(root)
            guard case .failure(let error) = fromConfig else {
                Issue.record("config's missing inventory should fail the load")
                return
            }
            #expect(error.errors.first?.file == "missing.yaml")

            // …the flags win over every one of them.
            let snapshot = try Project.load(root, registry: "actions", policies: "policies", inventory: "inventory.yaml").get()
            #expect(snapshot.actions.count == 2)
            #expect(snapshot.paths.registry == root.appendingPathComponent("actions").path)
            #expect(snapshot.engine.policy.rules.map(\.name) == ["approve-prod", "allow-dev"])

            // A flag for one path leaves the others to the config.
            let mixed = try Project.load(root, inventory: "inventory.yaml").get()
            #expect(mixed.actions.map(\.name) == ["restart-deployment"])
            #expect(mixed.engine.policy.rules.map(\.name) == ["deny-all"])
        }
    }

    // MARK: - Risk

    static let riskConfig = """
        risk:
          off_hours:
            business_hours:
              - days: [0, 1, 2, 3, 4]
                start_hour: 9
                end_hour: 17
                timezone: Europe/Berlin
            raise: 1
          delegation:
            min_depth: 2
            raise: 1

        """

    static let riskPolicy = """
        rules:
          - name: approve-elevated
            priority: 100
            match:
              risk_classes: [medium, high, critical]
            decision: require_approval
            reason: elevated risk
          - name: allow-dev
            priority: 10
            match:
              targets:
                environments: [dev]
            decision: allow
            reason: dev is open

        """

    struct OffHoursCase: Sendable, CustomTestStringConvertible {
        var at: String
        var offHours: Bool
        var note: String
        var testDescription: String { "\(at) (\(note))" }
    }

    @Test(arguments: [
        OffHoursCase(at: "2026-03-02T08:30:00Z", offHours: false, note: "Monday 09:30 in Berlin, 08:30 UTC"),
        OffHoursCase(at: "2026-03-02T16:59:59Z", offHours: false, note: "Monday 17:59 in Berlin: end hour is inclusive"),
        OffHoursCase(at: "2026-03-02T17:00:00Z", offHours: true, note: "Monday 18:00 in Berlin, 17:00 UTC"),
        OffHoursCase(at: "2026-03-02T07:59:59Z", offHours: true, note: "Monday 08:59 in Berlin"),
        OffHoursCase(at: "2026-03-07T10:00:00Z", offHours: true, note: "Saturday"),
        OffHoursCase(at: "2026-07-01T07:30:00Z", offHours: false, note: "Wednesday 09:30 CEST (UTC+2)"),
        OffHoursCase(at: "2026-07-01T15:30:00Z", offHours: false, note: "Wednesday 17:30 CEST"),
        OffHoursCase(at: "2026-07-01T16:00:00Z", offHours: true, note: "Wednesday 18:00 CEST, 16:00 UTC"),
    ])
    func offHoursRaisesRiskOneClass(_ c: OffHoursCase) throws {
        let snapshot = try Project.loadValid([
            "agent-safe.yaml": .text(Self.riskConfig), "policies/10-base.yaml": .text(Self.riskPolicy),
        ])
        let at = try instant(c.at)
        let d = snapshot.engine.evaluate(request(
            "restart-deployment", target: "dev/app", caller: Caller(agentID: "bot"),
            params: ["namespace": "dev", "deployment": "app"], at: at))
        #expect(d.matrixRisk == .low)  // medium action × public target
        if c.offHours {
            #expect(d.effectiveRisk == .medium)
            #expect(d.modifiers == [AppliedModifier(source: .offHours, reason: "Outside business hours", raise: 1,
                                                    from: .low, to: .medium)])
            #expect(d.result == .requireApproval)
            #expect(d.policyMatched == "approve-elevated")
        } else {
            #expect(d.effectiveRisk == .low)
            #expect(d.modifiers.isEmpty)
            #expect(d.result == .allow)
            #expect(d.policyMatched == "allow-dev")
        }
    }

    @Test func riskConfigLoadsAndDelegationRaises() throws {
        let snapshot = try Project.loadValid([
            "agent-safe.yaml": .text(Self.riskConfig), "policies/10-base.yaml": .text(Self.riskPolicy),
        ])
        let risk = snapshot.config.risk
        #expect(risk.offHours?.raise == 1)
        #expect(risk.offHours?.businessHours.first?.timeZone?.identifier == "Europe/Berlin")
        #expect(risk.offHours?.businessHours.first?.days == [0, 1, 2, 3, 4])
        #expect(risk.delegation == RiskSettings.DelegationDepth(minDepth: 2, raise: 1))

        let business = try instant("2026-03-02T10:00:00Z")
        let params: [String: JSONValue] = ["namespace": "dev", "deployment": "app"]
        let one = Caller(agentID: "sub", delegationChain: [DelegationLink(agentID: "alice")])
        let two = Caller(agentID: "sub", delegationChain: [DelegationLink(agentID: "alice"), DelegationLink(agentID: "orch")])

        let shallow = snapshot.engine.evaluate(request("restart-deployment", target: "dev/app", caller: one, params: params, at: business))
        #expect(shallow.effectiveRisk == .low)
        #expect(shallow.result == .allow)

        let deep = snapshot.engine.evaluate(request("restart-deployment", target: "dev/app", caller: two, params: params, at: business))
        #expect(deep.effectiveRisk == .medium)
        #expect(deep.modifiers.map(\.source) == [.delegation])
        #expect(deep.result == .requireApproval)

        let midnight = try instant("2026-03-02T23:00:00Z")  // 00:00 Tuesday in Berlin
        let deepAtNight = snapshot.engine.evaluate(request("restart-deployment", target: "dev/app", caller: two,
                                                           params: params, at: midnight))
        #expect(deepAtNight.effectiveRisk == .high)
        #expect(deepAtNight.modifiers.map(\.source) == [.offHours, .delegation])
        #expect(deepAtNight.modifiers.map(\.to) == [.medium, .high])
    }

    @Test func actionRiskModifiersRaiseAndAreListed() throws {
        let snapshot = try Project.loadValid([
            "actions/scale-deployment.yaml": .text(Baseline.scale + """
                  - when:
                      namespace:
                        in: [kube-system, kube-public]
                    raise: 2
                    reason: control-plane namespace

                """),
        ])
        let scale = try #require(snapshot.engine.actions["scale-deployment"])
        #expect(scale.riskModifiers.count == 2)
        #expect(scale.riskModifiers.first?.conditions == [ParamCondition(param: "replicas", test: .equals(.integer(0)))])

        func decide(_ params: [String: JSONValue]) -> Decision {
            snapshot.engine.evaluate(request("scale-deployment", target: "dev/app", params: params))
        }
        let plain = decide(["namespace": "web", "replicas": 3])
        #expect(plain.effectiveRisk == .low)
        #expect(plain.modifiers.isEmpty)

        let toZero = decide(["namespace": "web", "replicas": 0])
        #expect(toZero.effectiveRisk == .medium)
        #expect(toZero.modifiers == [AppliedModifier(source: .action, reason: "scale to zero", raise: 1, from: .low, to: .medium)])

        let both = decide(["namespace": "kube-system", "replicas": 0])
        #expect(both.effectiveRisk == .critical)
        #expect(both.modifiers.map(\.reason) == ["scale to zero", "control-plane namespace"])
        #expect(both.modifiers.map(\.to) == [.medium, .critical])
        #expect(both.result == .allow)  // the baseline policy has no risk rule: allow-dev decides

        // On the critical prod target the raise is capped at critical.
        let prod = snapshot.engine.evaluate(request("scale-deployment", target: "prod/app",
                                                    params: ["namespace": "kube-system", "replicas": 0]))
        #expect(prod.effectiveRisk == .critical)
    }

    struct WindowCase: Sendable, CustomTestStringConvertible {
        var at: String
        var inside: Bool
        var note: String
        var testDescription: String { "\(at) (\(note))" }
    }

    /// New York is UTC-5 in January and UTC-4 in July: a fixed offset would get the July cases wrong.
    @Test(arguments: [
        WindowCase(at: "2026-01-15T14:30:00Z", inside: true, note: "09:30 EST"),
        WindowCase(at: "2026-01-15T13:30:00Z", inside: false, note: "08:30 EST"),
        WindowCase(at: "2026-01-15T22:30:00Z", inside: true, note: "17:30 EST"),
        WindowCase(at: "2026-01-15T23:00:00Z", inside: false, note: "18:00 EST"),
        WindowCase(at: "2026-07-15T13:30:00Z", inside: true, note: "09:30 EDT (08:30 at UTC-5)"),
        WindowCase(at: "2026-07-15T12:30:00Z", inside: false, note: "08:30 EDT"),
        WindowCase(at: "2026-07-15T21:30:00Z", inside: true, note: "17:30 EDT"),
        WindowCase(at: "2026-07-15T22:30:00Z", inside: false, note: "18:30 EDT (17:30 at UTC-5)"),
    ])
    func timeWindowInNewYorkAcrossDST(_ c: WindowCase) throws {
        let snapshot = try Project.loadValid([
            "policies/10-base.yaml": .text("""
                rules:
                  - name: ny-business-hours
                    match:
                      targets:
                        environments: [dev]
                      time_windows:
                        - start_hour: 9
                          end_hour: 17
                          timezone: America/New_York
                    decision: allow
                    reason: office hours in New York

                """),
        ])
        let at = try instant(c.at)
        let d = snapshot.engine.evaluate(request("restart-deployment", target: "dev/app",
                                                 params: ["namespace": "dev", "deployment": "app"], at: at))
        if c.inside {
            #expect(d.result == .allow)
            #expect(d.policyMatched == "ny-business-hours")
        } else {
            #expect(d.result == .deny)
            #expect(d.code == .noMatchingPolicy)
        }
    }

    // MARK: - Policy test files

    static let callerPolicy = """
        rules:
          - name: deny-orchestrated
            priority: 300
            match:
              callers:
                require_delegation: true
                delegated_from: [orchestrator]
            decision: deny
            reason: no orchestrated changes
          - name: allow-deployers-staging
            priority: 200
            match:
              actions: ["*-deployment"]
              targets:
                environments: [staging]
              callers:
                roles: [deployer]
            decision: allow
            reason: deployers
          - name: approve-platform-group
            priority: 150
            match:
              targets:
                environments: [staging]
              callers:
                groups: [platform]
            decision: require_approval
            reason: platform group asks first
          - name: dev-weekdays
            priority: 100
            match:
              targets:
                environments: [dev]
              time_windows:
                - days: [0, 1, 2, 3, 4]
                  start_hour: 9
                  end_hour: 17
            decision: allow
            reason: dev on weekdays

        """

    static let callerInventory = Baseline.inventory + """
          - id: staging/app
            type: k8s-deployment
            environment: staging
            sensitivity: internal

        """

    static let policyTests = """
        tests:
          - name: deployer-object
            description: a caller object with roles and groups
            action: restart-deployment
            target: staging/app
            caller:
              agent_id: deploy-bot
              agent_name: Deploy Bot
              roles: [deployer]
              groups: [platform]
            params: {namespace: staging, deployment: app}
            expect: allow
            expect_policy: allow-deployers-staging
            expect_risk: medium
          - name: platform-group
            action: restart-deployment
            target: staging/app
            caller: {agent_id: helper, groups: [platform]}
            params: {namespace: staging, deployment: app}
            expect: require_approval
            expect_policy: approve-platform-group
          - name: orchestrated
            action: restart-deployment
            target: staging/app
            caller:
              agent_id: sub-bot
              roles: [deployer]
              delegation_chain:
                - alice
                - agent_id: orchestrator
                  agent_name: Orchestrator
            params: {namespace: staging, deployment: app}
            expect: deny
            expect_policy: deny-orchestrated
          - name: bare-caller-string
            action: restart-deployment
            target: staging/app
            caller: just-an-id
            params: {namespace: staging, deployment: app}
            expect: deny
            expect_policy: null
          - name: weekday-morning
            action: restart-deployment
            target: dev/app
            params: {namespace: dev, deployment: app}
            at: 2026-03-02T10:00:00Z
            expect: allow
            expect_policy: dev-weekdays
            expect_risk: low
          - name: sunday-with-offset
            action: restart-deployment
            target: dev/app
            params: {namespace: dev, deployment: app}
            at: "2026-03-08T11:00:00+01:00"
            expect: deny
            expect_policy: null
          - name: uses-now
            action: restart-deployment
            target: dev/app
            params: {namespace: dev, deployment: app}
            expect: allow
          - name: wrong-on-purpose
            action: restart-deployment
            target: staging/app
            caller: {agent_id: deploy-bot, roles: [deployer]}
            params: {namespace: staging, deployment: app}
            expect: deny
            expect_policy: approve-platform-group
            expect_risk: low

        """

    @Test func policyTestFilesWithCallerObjectsAtAndExpectations() throws {
        try withTemporaryDirectory { root in
            try Project.write([
                "policies/10-base.yaml": .text(Self.callerPolicy), "inventory.yaml": .text(Self.callerInventory),
                "tests/cases.yaml": .text(Self.policyTests),
            ], into: root)
            let snapshot = try Project.load(root).get()
            let cases = try PolicyTests.load(path: root.appendingPathComponent("tests/cases.yaml").path,
                                             displayPath: "tests/cases.yaml")
            #expect(cases.map(\.name) == [
                "deployer-object", "platform-group", "orchestrated", "bare-caller-string", "weekday-morning",
                "sunday-with-offset", "uses-now", "wrong-on-purpose",
            ])
            let first = cases[0]
            #expect(first.caller == Caller(agentID: "deploy-bot", agentName: "Deploy Bot", roles: ["deployer"],
                                           groups: ["platform"], delegationVerified: true))
            #expect(first.params == ["namespace": "staging", "deployment": "app"])
            #expect(first.expectPolicy == .some("allow-deployers-staging"))
            #expect(first.expectRisk == .medium)
            #expect(first.file == "tests/cases.yaml")
            #expect(first.line == 2)
            #expect(cases[2].caller?.delegationChain == [DelegationLink(agentID: "alice"),
                                                         DelegationLink(agentID: "orchestrator", agentName: "Orchestrator")])
            #expect(cases[3].caller == Caller(agentID: "just-an-id"))
            #expect(cases[3].expectPolicy == .some(nil))
            let monday = try instant("2026-03-02T10:00:00Z")
            let sundayMorning = try instant("2026-03-08T10:00:00Z")
            #expect(cases[4].at == monday)
            #expect(cases[5].at == sundayMorning)
            #expect(cases[6].at == nil)
            #expect(cases[6].expectPolicy == nil)

            // "now" is a fixed Monday 10:00 UTC, so uses-now passes; at a fixed Sunday it fails.
            let results = PolicyTests.run(cases, engine: snapshot.engine, now: fixedInstant)
            for result in results.dropLast() {
                #expect(result.passed, "\(result.testCase.name): \(result.failures)")
            }
            let wrong = try #require(results.last)
            #expect(!wrong.passed)
            #expect(wrong.failures == [
                "expected deny, got allow",
                "expected policy approve-platform-group, got allow-deployers-staging",
                "expected risk low, got medium",
            ])
            let sunday = PolicyTests.run([cases[6]], engine: snapshot.engine, now: sundayMorning)
            #expect(sunday.first?.failures == ["expected allow, got deny"])
        }
    }

    @Test func policyTestFileErrorsAreLocated() throws {
        try withTemporaryDirectory { root in
            let path = root.appendingPathComponent("bad.yaml")
            try Data("""
                tests:
                  - name: one
                    action: restart-deployment
                    expect: permit
                  - name: two
                    action: restart-deployment
                    at: yesterday
                    expect: allow

                """.utf8).write(to: path)
            do throws(ConfigLoadError) {
                _ = try PolicyTests.load(path: path.path, displayPath: "bad.yaml")
                Issue.record("loaded a broken test file")
            } catch {
                #expect(error.errors.map(\.line) == [4, 7], "\(error.summary)")
                #expect(error.errors.map(\.fieldPath) == ["tests[0].expect", "tests[1].at"])
                #expect(error.errors.allSatisfy { $0.file == "bad.yaml" })
            }
        }
    }

    // MARK: - Digest

    @Test func digestChangesWhenAFileChanges() throws {
        try withTemporaryDirectory { root in
            try Project.write([:], into: root)
            let first = try Project.load(root).get()
            let again = try Project.load(root).get()
            #expect(first.digest == again.digest)
            #expect(first.digest.count == 64)
            #expect(Set(first.files.map(\.path)) == Set(Baseline.files.keys))

            let policy = root.appendingPathComponent("policies/10-base.yaml")
            try Data(Baseline.policy.replacingOccurrences(of: "dev is open", with: "dev is open!").utf8).write(to: policy)
            let changed = try Project.load(root).get()
            #expect(changed.digest != first.digest)
            let before = first.files.first { $0.path == "policies/10-base.yaml" }?.sha256
            let after = changed.files.first { $0.path == "policies/10-base.yaml" }?.sha256
            #expect(before != after)
            #expect(first.files.filter { $0.path != "policies/10-base.yaml" }
                    == changed.files.filter { $0.path != "policies/10-base.yaml" })

            try Data(Baseline.policy.utf8).write(to: policy)
            #expect(try Project.load(root).get().digest == first.digest)

            // A new file changes it too, even an empty-rules one.
            try Data("rules: []\n".utf8).write(to: root.appendingPathComponent("policies/20-more.yaml"))
            #expect(try Project.load(root).get().digest != first.digest)
        }
    }

    @Test func timestampsParse() throws {
        #expect(Timestamps.parse("2026-03-02T10:00:00Z") == fixedInstant)
        #expect(Timestamps.parse("2026-03-02T11:00:00+01:00") == fixedInstant)
        #expect(Timestamps.parse("2026-03-02T10:00:00.750Z") == fixedInstant)
        #expect(Timestamps.parse("2026-03-02") == nil)
        #expect(Timestamps.parse("yesterday") == nil)
        #expect(Timestamps.format(fixedInstant) == "2026-03-02T10:00:00Z")
    }
}
