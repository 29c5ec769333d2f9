import AgentSafeConfig
import AgentSafeControl
import AgentSafeCore
import Foundation
import Testing

@Suite("Cumulative risk ledger and chain rules")
struct RiskLedgerTests {
    static func candidate(_ action: String, principal: String = "orchestrator", target: String? = "t1",
                          namespace: String? = nil, params: [String: JSONValue] = [:], risk: RiskClass = .medium,
                          id: String? = nil) -> RiskCandidate {
        RiskCandidate(id: id ?? "evt-\(action)-\(Int.random(in: 0..<1_000_000))", principal: principal, action: action,
                      target: target, namespace: namespace, params: params, risk: risk)
    }

    @Test func upstreamThresholdsEscalateThenDeny() {
        // Defaults: high scores 15, escalate at 30, deny at 75.
        let ledger = RiskLedger(policy: CumulativeRiskPolicy())
        let a1 = ledger.assess(Self.candidate("scale", risk: .high), policyResult: .allow, now: 1000)
        #expect(a1.result == .allow && a1.total == 15 && a1.recorded)
        let a2 = ledger.assess(Self.candidate("scale", risk: .high), policyResult: .allow, now: 1001)
        #expect(a2.result == .requireApproval && a2.total == 30 && a2.code == .cumulativeRisk && !a2.recorded)
        // Only what was allowed counts: the escalated request added nothing.
        let a3 = ledger.assess(Self.candidate("scale", risk: .low), policyResult: .allow, now: 1002)
        #expect(a3.before == 15 && a3.result == .allow)
        let big = ledger.assess(Self.candidate("terminate", risk: .critical), policyResult: .requireApproval, now: 1003)
        #expect(big.total == 66 && big.result == .requireApproval)
        let deny = ledger.assess(Self.candidate("terminate", risk: .critical), policyResult: .allow, now: 1003)
        #expect(deny.total == 66 && deny.result == .requireApproval)
        _ = ledger.record(LedgerEntry(id: "approved-1", principal: "orchestrator", at: 1004, action: "x", target: nil,
                                      namespace: nil, keys: [:], risk: .critical, score: 50), now: 1004)
        let over = ledger.assess(Self.candidate("get", risk: .medium), policyResult: .allow, now: 1005)
        #expect(over.before == 66 && over.total == 71 && over.result == .requireApproval)
        let denied = ledger.assess(Self.candidate("get", risk: .high), policyResult: .allow, now: 1005)
        #expect(denied.total == 81 && denied.result == .deny && denied.reason?.contains("deny threshold 75") == true)
        #expect(denied.contributionCount == 3)
        #expect(denied.contributions.first?.id == "approved-1")
    }

    @Test func policyDenialsAreNeitherChangedNorRecorded() {
        let ledger = RiskLedger(policy: CumulativeRiskPolicy())
        for _ in 0..<10 {
            let a = ledger.assess(Self.candidate("x", risk: .critical), policyResult: .deny, now: 10)
            #expect(a.result == .deny && a.code == nil && !a.recorded)
        }
        #expect(ledger.state(of: "orchestrator", now: 11).before == 0)
    }

    @Test func windowSlides() {
        let ledger = RiskLedger(policy: CumulativeRiskPolicy(windowSeconds: 60))
        _ = ledger.assess(Self.candidate("a", risk: .high), policyResult: .allow, now: 0)
        #expect(ledger.state(of: "orchestrator", now: 59).before == 15)
        #expect(ledger.state(of: "orchestrator", now: 61).before == 0)
        #expect(ledger.sweep(now: 61) == 1)
        #expect(ledger.trackedPrincipals == 0)
    }

    @Test func halfLifeDecays() {
        let ledger = RiskLedger(policy: CumulativeRiskPolicy(windowSeconds: 3600, escalationThreshold: 100,
                                                             denyThreshold: 200, halfLifeSeconds: 600))
        _ = ledger.assess(Self.candidate("a", risk: .critical), policyResult: .allow, now: 0)
        #expect(abs(ledger.state(of: "orchestrator", now: 600).before - 25) < 1e-9)
        #expect(abs(ledger.state(of: "orchestrator", now: 1200).before - 12.5) < 1e-9)
        #expect(abs(ledger.state(of: "orchestrator", now: 900).before - 50 * 0.35355339059327373) < 1e-9)
    }

    @Test func perTargetCountsOnlyTheSameTarget() {
        let ledger = RiskLedger(policy: CumulativeRiskPolicy(perTarget: true))
        _ = ledger.assess(Self.candidate("a", target: "t1", risk: .high), policyResult: .allow, now: 0)
        _ = ledger.assess(Self.candidate("a", target: "t2", risk: .high), policyResult: .allow, now: 1)
        let a = ledger.assess(Self.candidate("a", target: "t1", risk: .high), policyResult: .allow, now: 2)
        #expect(a.before == 15 && a.result == .requireApproval)
    }

    static let secretThenExec = ChainRule(name: "secret-then-exec", steps: [Glob("get-secret"), Glob("exec-pod")],
                                          withinSeconds: 900, same: .namespace, decision: .requireApproval,
                                          reason: "secret read then exec in the same namespace")

    @Test func chainFiresOnlyInOrderWithinWindowAndSameNamespace() {
        let ledger = RiskLedger(policy: CumulativeRiskPolicy(), chains: [Self.secretThenExec])
        // exec first, then secret: not the chain.
        _ = ledger.assess(Self.candidate("exec-pod", namespace: "payments", risk: .low), policyResult: .allow, now: 0)
        let s1 = ledger.assess(Self.candidate("get-secret", namespace: "payments", risk: .low), policyResult: .allow, now: 1)
        #expect(s1.chains.isEmpty && s1.result == .allow)
        // Another namespace: no.
        let other = ledger.assess(Self.candidate("exec-pod", namespace: "shop", risk: .low), policyResult: .allow, now: 2)
        #expect(other.chains.isEmpty && other.result == .allow)
        // Same namespace: require_approval, naming the rule and the earlier step.
        let hit = ledger.assess(Self.candidate("exec-pod", namespace: "payments", risk: .low), policyResult: .allow, now: 3)
        #expect(hit.result == .requireApproval && hit.code == .chainRule)
        #expect(hit.chains.map(\.rule) == ["secret-then-exec"] && hit.chains[0].steps == [s1Id(ledger)])
        // Outside the chain's window: no.
        let late = ledger.assess(Self.candidate("exec-pod", namespace: "payments", risk: .low), policyResult: .allow, now: 1000)
        #expect(late.chains.isEmpty)
    }

    func s1Id(_ ledger: RiskLedger) -> String {
        ledger.state(of: "orchestrator", now: 3).contributions.first { $0.action == "get-secret" }!.id
    }

    @Test func chainBonusAndParamKeyAndDeny() {
        let chain = ChainRule(name: "policy-then-attach", steps: [Glob("s3-put-*"), Glob("iam-attach-*")],
                              withinSeconds: 3600, same: .param("account"), bonus: 10, decision: .deny,
                              reason: "bucket policy then role policy")
        let ledger = RiskLedger(policy: CumulativeRiskPolicy(), chains: [chain], fingerprint: { "fp(\($0))" })
        _ = ledger.assess(Self.candidate("s3-put-bucket-policy", params: ["account": "111"], risk: .low), policyResult: .allow, now: 0)
        let otherAccount = ledger.assess(Self.candidate("iam-attach-role-policy", params: ["account": "222"], risk: .low),
                                         policyResult: .allow, now: 1)
        #expect(otherAccount.result == .allow)
        let same = ledger.assess(Self.candidate("iam-attach-role-policy", params: ["account": "111"], risk: .low),
                                 policyResult: .requireApproval, now: 2)
        #expect(same.result == .deny && same.added == 11 && same.reason?.contains("policy-then-attach") == true)
        #expect(ledger.keys(of: ["account": "111"]) == ["account": "fp(111)"])
    }

    @Test func chainSplitAcrossSubAgentsOfOneRootStillFires() {
        // The sidecar keys the ledger by the root principal; three sub-agents of one orchestrator share it.
        let chain = ChainRule(name: "recon-escalate-exfil", steps: [Glob("list-pods"), Glob("get-secret"), Glob("port-forward")],
                              withinSeconds: 600, decision: .deny, reason: "recon, secret, tunnel")
        let ledger = RiskLedger(policy: CumulativeRiskPolicy(), chains: [chain])
        _ = ledger.assess(Self.candidate("list-pods", principal: "root-orch", risk: .low), policyResult: .allow, now: 0)
        _ = ledger.assess(Self.candidate("get-secret", principal: "root-orch", risk: .low), policyResult: .allow, now: 1)
        let last = ledger.assess(Self.candidate("port-forward", principal: "root-orch", risk: .low), policyResult: .allow, now: 2)
        #expect(last.result == .deny && last.chains.first?.steps.count == 2)
    }

    @Test func capacityRefusesNewPrincipalsButNeverForgetsActiveOnes() {
        let ledger = RiskLedger(policy: CumulativeRiskPolicy(windowSeconds: 100, maxPrincipals: 100), shardCount: 4)
        for i in 0..<100 {
            #expect(ledger.assess(Self.candidate("a", principal: "p\(i)", risk: .high), policyResult: .allow, now: 0).recorded)
        }
        let refused = ledger.assess(Self.candidate("a", principal: "newcomer", risk: .low), policyResult: .allow, now: 1)
        #expect(refused.result == .deny && refused.code == .ledgerAtCapacity)
        #expect(ledger.state(of: "p7", now: 1).before == 15)
        // Once the old ones expire, newcomers fit again.
        let later = ledger.assess(Self.candidate("a", principal: "newcomer", risk: .low), policyResult: .allow, now: 200)
        #expect(later.recorded && ledger.trackedPrincipals <= 100)
    }

    @Test func fullLogCarriesFoldedScoresInsteadOfDroppingThem() {
        let ledger = RiskLedger(policy: CumulativeRiskPolicy(escalationThreshold: 1_000_000, denyThreshold: 2_000_000,
                                                             maxEntriesPerPrincipal: 8))
        _ = ledger.assess(Self.candidate("big", risk: .critical), policyResult: .allow, now: 0)
        for i in 1...20 { _ = ledger.assess(Self.candidate("small", risk: .low), policyResult: .allow, now: Double(i)) }
        #expect(ledger.state(of: "orchestrator", now: 30).before == 70)
    }

    /// The window's score comes from running sums over a log whose oldest entries are dropped by moving a start
    /// index: checked against a plain list under thousands of random records (some out of order), removals,
    /// prunes and folds into the carried score.
    @Test(arguments: [8, 64, 100_000])
    func runningSumsMatchAPlainList(maxEntries: Int) {
        var rng = SplitMix64(seed: UInt64(maxEntries))
        let window = 100.0
        let ledger = RiskLedger(policy: CumulativeRiskPolicy(windowSeconds: window, escalationThreshold: 1e12,
                                                             denyThreshold: 2e12, maxEntriesPerPrincipal: maxEntries))
        var model: [(id: String, at: Double, score: Double)] = []
        var carried = 0.0, carriedUntil = 0.0
        var now = 0.0
        let scores: [RiskClass: Double] = [.low: 1, .medium: 5, .high: 15, .critical: 50]
        for step in 0..<4000 {
            now += Double(rng.next() % 3)
            let op = rng.next() % 10
            if op < 7 {
                // Out of order now and then (an approved request recorded late, entries restored at start-up).
                let at = now - (op == 0 ? Double(rng.next() % 50) : 0)
                let risk = [RiskClass.low, .medium, .high, .critical][Int(rng.next() % 4)]
                let id = "e\(step)"
                guard at >= now - window else { continue }
                _ = ledger.record(LedgerEntry(id: id, principal: "p", at: at, action: "a", target: nil, namespace: nil,
                                              keys: [:], risk: risk, score: scores[risk]!), now: now)
                model.removeAll { $0.at < now - window }
                if carriedUntil <= now { carried = 0 }
                if model.count >= maxEntries {
                    let oldest = model.removeFirst()
                    carried += oldest.score
                    carriedUntil = max(carriedUntil, oldest.at + window)
                }
                let i = model.firstIndex { $0.at > at } ?? model.count
                model.insert((id, at, scores[risk]!), at: i)
            } else if op == 7, !model.isEmpty {
                let victim = model[Int(rng.next() % UInt64(model.count))].id
                ledger.remove(principal: "p", id: victim)
                model.removeAll { $0.id == victim }
            } else {
                let state = ledger.state(of: "p", now: now)
                model.removeAll { $0.at < now - window }
                if carriedUntil <= now { carried = 0 }
                let expected = model.reduce(carriedUntil > now ? carried : 0) { $0 + $1.score }
                #expect(state.before == expected, "step \(step)")
                #expect(state.contributionCount == model.count, "step \(step)")
                #expect(state.contributions.map(\.id) == model.suffix(20).reversed().map(\.id), "step \(step)")
            }
        }
    }

    /// A reload builds a new ledger from the state store; what the old one recorded meanwhile, or records for
    /// requests still in flight on it, is handed over once.
    @Test func aReplacedLedgerHandsOverWhatItRecordsAndTakesBack() {
        let policy = CumulativeRiskPolicy(escalationThreshold: 1_000, denyThreshold: 2_000)
        let old = RiskLedger(policy: policy)
        for i in 0..<3 {
            _ = old.assess(Self.candidate("x", risk: .high, id: "evt-\(i)"), policyResult: .allow, now: 100 + Double(i))
        }
        // The new ledger read two of the three back from the store.
        let new = RiskLedger(policy: policy)
        for i in 0..<2 {
            new.record(LedgerEntry(id: "evt-\(i)", principal: "orchestrator", at: 100 + Double(i), action: "x", target: "t1",
                                   namespace: nil, keys: [:], risk: .high, score: 15), now: 103)
        }
        old.forward(to: new, since: 50, now: 103)
        #expect(new.state(of: "orchestrator", now: 104).before == 45)
        #expect(new.state(of: "orchestrator", now: 104).contributionCount == 3)
        // A request that started on the old runtime records after the swap, another is taken back.
        _ = old.assess(Self.candidate("x", risk: .low, id: "evt-late"), policyResult: .allow, now: 105)
        #expect(new.state(of: "orchestrator", now: 106).before == 46)
        old.remove(principal: "orchestrator", id: "evt-late")
        #expect(new.state(of: "orchestrator", now: 106).before == 45)
        // Forwarding twice copies nothing twice.
        old.forward(to: new, since: 50, now: 107)
        #expect(new.state(of: "orchestrator", now: 108).contributionCount == 3)
    }

    @Test func concurrentRequestsOfOnePrincipalCannotAllSlipUnderTheThreshold() async {
        let ledger = RiskLedger(policy: CumulativeRiskPolicy())
        let allowed = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<50 {
                group.addTask { ledger.assess(Self.candidate("x", risk: .high), policyResult: .allow, now: 5).result == .allow }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        // 15 allowed alone, 30 escalates: exactly one allow.
        #expect(allowed == 1)
    }

    @Test func removeTakesBackAnEntry() {
        let ledger = RiskLedger(policy: CumulativeRiskPolicy())
        let a = ledger.assess(Self.candidate("x", risk: .high, id: "evt-1"), policyResult: .allow, now: 0)
        #expect(a.recorded)
        ledger.remove(principal: "orchestrator", id: "evt-1")
        #expect(ledger.state(of: "orchestrator", now: 1).before == 0)
    }

    @Test func hundredThousandPrincipalsStayBounded() {
        let ledger = RiskLedger(policy: CumulativeRiskPolicy(windowSeconds: 60))
        let before = residentBytes()
        for i in 0..<100_000 {
            _ = ledger.assess(Self.candidate("a", principal: "caller-\(i)", target: "t", risk: .low), policyResult: .allow,
                              now: Double(i) / 1000)
        }
        #expect(ledger.trackedPrincipals <= 100_000)
        let grown = residentBytes() - before
        // ~100k principals with one entry each (about 40 MiB alone); other suites run in the same process.
        #expect(grown < 256 << 20, "RSS grew by \(grown >> 20) MiB")
        // All idle after the window: swept to nothing.
        ledger.sweep(now: 1000)
        #expect(ledger.trackedPrincipals == 0)
    }
}

/// Resident set size from /proc/self/statm (Linux); 0 elsewhere.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * 4096
}

@Suite("Config and controls agree")
struct ConfigAgreementTests {
    @Test func dlpDetectorNamesInTheConfigAreTheScannersDetectors() {
        #expect(Set(DLPConfig.detectorNames) == Set(DLPDetector.allCases.map(\.rawValue)))
    }
}
