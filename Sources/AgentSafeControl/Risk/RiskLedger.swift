import AgentSafeCore
import Synchronization

/// The cumulative-risk settings the ledger runs with (mapped from `cumulative_risk:` by the sidecar).
public struct CumulativeRiskPolicy: Sendable, Hashable {
    public var windowSeconds: Double
    public var scores: [RiskClass: Double]
    public var escalationThreshold: Double
    public var denyThreshold: Double
    public var perTarget: Bool
    public var halfLifeSeconds: Double?
    public var maxPrincipals: Int
    /// Entries kept per principal; older ones are folded into a carried score (never dropped: that would let a
    /// flood of harmless requests wash a risky one out of the window).
    public var maxEntriesPerPrincipal: Int

    public init(windowSeconds: Double = 3600, scores: [RiskClass: Double] = [.low: 1, .medium: 5, .high: 15, .critical: 50],
                escalationThreshold: Double = 30, denyThreshold: Double = 75, perTarget: Bool = false,
                halfLifeSeconds: Double? = nil, maxPrincipals: Int = 100_000, maxEntriesPerPrincipal: Int = 4096) {
        self.windowSeconds = windowSeconds
        self.scores = scores
        self.escalationThreshold = escalationThreshold
        self.denyThreshold = denyThreshold
        self.perTarget = perTarget
        self.halfLifeSeconds = halfLifeSeconds
        self.maxPrincipals = maxPrincipals
        self.maxEntriesPerPrincipal = max(8, maxEntriesPerPrincipal)
    }

    public func score(_ risk: RiskClass) -> Double { scores[risk] ?? 0 }
}

/// One allowed action in a principal's ledger. Parameter values that chain rules compare are kept only as
/// fingerprints (``RiskLedger/init(policy:chains:fingerprint:)``), so the ledger and its table hold no param values.
public struct LedgerEntry: Sendable, Hashable {
    /// The audit id of the decision (or of the approval) that allowed it.
    public var id: String
    public var principal: String
    /// Seconds since the Unix epoch.
    public var at: Double
    public var action: String
    public var target: String?
    public var namespace: String?
    /// Fingerprints of the parameters named by `same: param:<name>` chain rules.
    public var keys: [String: String]
    public var risk: RiskClass
    public var score: Double

    public init(id: String, principal: String, at: Double, action: String, target: String?, namespace: String?,
                keys: [String: String], risk: RiskClass, score: Double) {
        self.id = id
        self.principal = principal
        self.at = at
        self.action = action
        self.target = target
        self.namespace = namespace
        self.keys = keys
        self.risk = risk
        self.score = score
    }
}

/// The request being decided, as the ledger sees it.
public struct RiskCandidate: Sendable {
    public var id: String
    public var principal: String
    public var action: String
    public var target: String?
    public var namespace: String?
    public var params: [String: JSONValue]
    public var risk: RiskClass

    public init(id: String, principal: String, action: String, target: String?, namespace: String?,
                params: [String: JSONValue], risk: RiskClass) {
        self.id = id
        self.principal = principal
        self.action = action
        self.target = target
        self.namespace = namespace
        self.params = params
        self.risk = risk
    }
}

/// Why the score is what it is.
public struct RiskAssessment: Sendable, Hashable {
    public struct Contribution: Sendable, Hashable {
        public var id: String
        public var action: String
        public var target: String?
        public var at: Double
        /// The entry's score now (after decay).
        public var score: Double
    }

    public struct ChainMatch: Sendable, Hashable {
        public var rule: String
        public var reason: String
        public var bonus: Double
        public var decision: DecisionResult?
        /// Audit ids of the earlier steps, oldest first.
        public var steps: [String]
    }

    public enum Code: String, Sendable, Hashable {
        case cumulativeRisk = "cumulative_risk"
        case chainRule = "chain_rule"
        case ledgerAtCapacity = "risk_ledger_at_capacity"
    }

    public var principal: String
    /// The score of the principal's earlier allowed actions in the window.
    public var before: Double
    /// This request's score plus chain bonuses.
    public var added: Double
    public var total: Double { before + added }
    /// What the ledger asks for (`nil`: nothing), already at least as strict as the policy result.
    public var result: DecisionResult
    /// Set when the ledger changed the result.
    public var code: Code?
    public var reason: String?
    /// The most recent contributions (at most 20), newest first.
    public var contributions: [Contribution]
    /// How many earlier entries contributed in all.
    public var contributionCount: Int
    public var chains: [ChainMatch]
    /// The entry recorded for this request (an allow), to be persisted.
    public var entry: LedgerEntry?
    public var recorded: Bool { entry != nil }
    public var escalationThreshold: Double
    public var denyThreshold: Double
    public var windowSeconds: Double
}

/// Per-principal sliding ledger of allowed actions: the cumulative score and chain rules (docs/risk.md).
///
/// Sharded (16 tables, one lock each); a principal's entries are kept in time order and pruned as they age out,
/// principals with nothing left are swept, and the number of principals is bounded: at the bound a new principal
/// is refused (the sidecar fails closed) rather than an active one forgotten.
public final class RiskLedger: Sendable {
    public let policy: CumulativeRiskPolicy
    public let chains: [ChainRule]
    /// How long entries are kept: the window, or the longest chain's, whichever is longer.
    public let retention: Double
    private let fingerprint: @Sendable (String) -> String
    private let paramKeys: [String]
    /// `chains[i].steps`, compiled for matching without allocating.
    private let stepMatchers: [[StepMatcher]]
    private let shards: [ShardBox]
    private let count = Atomic<Int>(0)
    /// The ledger that replaced this one at a reload (``forward(to:since:now:)``): what this one records or takes
    /// back afterwards — requests that started before the swap — is passed on.
    private let successor = Mutex<RiskLedger?>(nil)

    struct Log {
        var entries = EntryLog()
        /// Scores folded out of `entries` when it was full, kept until `carriedUntil`.
        var carried: Double = 0
        var carriedUntil: Double = 0
        var lastSeen: Double = 0
    }

    struct Shard {
        var logs: [String: Log] = [:]
        var insertsSinceSweep = 0
    }

    final class ShardBox: Sendable {
        let mutex = Mutex(Shard())
        func withLock<R>(_ body: (inout Shard) -> R) -> R { mutex.withLock { body(&$0) } }
    }

    /// `fingerprint` turns a parameter value into what the ledger keeps (a keyed hash in the sidecar).
    public init(policy: CumulativeRiskPolicy, chains: [ChainRule] = [], shardCount: Int = 16,
                fingerprint: @escaping @Sendable (String) -> String = { $0 }) {
        self.policy = policy
        self.chains = chains
        self.fingerprint = fingerprint
        retention = max(policy.windowSeconds, Double(chains.map(\.withinSeconds).max() ?? 0))
        var keys = Set<String>()
        for chain in chains { if case .param(let name) = chain.same { keys.insert(name) } }
        paramKeys = keys.sorted()
        stepMatchers = chains.map { $0.steps.map(StepMatcher.init) }
        shards = (0..<max(1, shardCount)).map { _ in ShardBox() }
    }

    /// Principals currently tracked.
    public var trackedPrincipals: Int { count.load(ordering: .relaxed) }

    private func shard(for principal: String) -> ShardBox {
        var hasher = Hasher()
        hasher.combine(principal)
        return shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(shards.count))]
    }

    /// The fingerprints of the chain-compared parameters of `params`.
    public func keys(of params: [String: JSONValue]) -> [String: String] {
        guard !paramKeys.isEmpty else { return [:] }
        var out: [String: String] = [:]
        for name in paramKeys {
            guard let value = params[name] else { continue }
            switch value {
            case .string(let s): out[name] = fingerprint(s)
            case .integer, .number, .bool:
                var text = ""
                value.appendCompact(to: &text)
                out[name] = fingerprint(text)
            default: continue
            }
        }
        return out
    }

    /// Decides what the ledger adds to a decision whose policy result is `policyResult`, and — when the final
    /// result is `allow` and `record` is set — records the request, atomically with the assessment (two requests
    /// of one principal can't both slip under a threshold).
    public func assess(_ candidate: RiskCandidate, policyResult: DecisionResult, now: Double, record: Bool = true)
        -> RiskAssessment
    {
        let keys = keys(of: candidate.params)
        let own = policy.score(candidate.risk)
        let assessment = shard(for: candidate.principal).withLock { shard -> RiskAssessment in
            // The log is taken out of the table while it is worked on (an empty one holds its place), so pruning
            // and appending don't copy its entries, and put back where it was.
            let slot = shard.logs.index(forKey: candidate.principal)
            var log: Log?
            if let slot {
                log = shard.logs.values[slot]
                shard.logs.values[slot] = Log()
            }
            let known = slot != nil
            if log != nil { prune(&log!, now: now) }
            var assessment = RiskAssessment(
                principal: candidate.principal, before: 0, added: 0, result: policyResult, code: nil, reason: nil,
                contributions: [], contributionCount: 0, chains: [], entry: nil,
                escalationThreshold: policy.escalationThreshold, denyThreshold: policy.denyThreshold,
                windowSeconds: policy.windowSeconds)
            if let log { summarise(log, candidate: candidate, now: now, into: &assessment) }
            guard policyResult != .deny else {
                if let slot, let log { shard.logs.values[slot] = log }
                return assessment
            }
            assessment.added = own
            // By index: `for chain in chains` would copy (retain and release) every field of every rule.
            for i in chains.indices {
                guard let match = match(chains[i], steps: stepMatchers[i], log: log, candidate: candidate, keys: keys,
                                        now: now)
                else { continue }
                assessment.chains.append(match)
                assessment.added += match.bonus
            }
            var result = policyResult
            let total = assessment.total
            if total >= policy.denyThreshold, result != .deny {
                result = .deny
                assessment.code = .cumulativeRisk
                assessment.reason = "Cumulative risk \(Self.format(total)) reached the deny threshold \(Self.format(policy.denyThreshold))"
                    + " (\(assessment.contributionCount) earlier action(s) in \(Self.format(policy.windowSeconds))s)"
            } else if total >= policy.escalationThreshold, result == .allow {
                result = .requireApproval
                assessment.code = .cumulativeRisk
                assessment.reason = "Cumulative risk \(Self.format(total)) reached the escalation threshold "
                    + "\(Self.format(policy.escalationThreshold)) (\(assessment.contributionCount) earlier action(s) in "
                    + "\(Self.format(policy.windowSeconds))s)"
            }
            for match in assessment.chains {
                guard let forced = match.decision, forced.strictness > result.strictness else { continue }
                result = forced
                assessment.code = .chainRule
                assessment.reason = "Chain '\(match.rule)': \(match.reason)"
            }
            assessment.result = result
            if result == .allow, record {
                // `log` itself is appended to (a copy would share, and so copy, its entries).
                if log == nil { log = Log() }
                if !known {
                    guard reserveSlot(&shard, now: now) else {
                        assessment.result = .deny
                        assessment.code = .ledgerAtCapacity
                        assessment.reason = "The risk ledger tracks \(policy.maxPrincipals) principals already; new principals are refused until some go idle"
                        return assessment
                    }
                }
                let entry = LedgerEntry(id: candidate.id, principal: candidate.principal, at: now, action: candidate.action,
                                        target: candidate.target, namespace: candidate.namespace, keys: keys,
                                        risk: candidate.risk, score: own)
                append(entry, to: &log!)
                log!.lastSeen = now
                if let slot { shard.logs.values[slot] = log! } else { shard.logs[candidate.principal] = log! }
                assessment.entry = entry
            } else if let slot, let log {
                shard.logs.values[slot] = log
            }
            return assessment
        }
        if let entry = assessment.entry, let next = successor.withLock({ $0 }) { next.record(entry, now: now, skipIfPresent: true) }
        return assessment
    }

    /// Records an entry decided elsewhere: an approved request, or an entry restored from the state store.
    /// Returns `false` when the ledger is at its bound for a new principal.
    /// `skipIfPresent`: an entry whose id the principal's log already holds is not added again.
    @discardableResult
    public func record(_ entry: LedgerEntry, now: Double, skipIfPresent: Bool = false) -> Bool {
        guard entry.at >= now - retention else { return true }
        let recorded = shard(for: entry.principal).withLock { shard -> Bool? in
            var log = shard.logs[entry.principal]
            if log == nil {
                guard reserveSlot(&shard, now: now) else { return false }
                log = Log()
            } else {
                if skipIfPresent {
                    // Entries are in time order: only those at or after this one's time can be it.
                    let entries = log!.entries
                    var i = entries.count - 1
                    while i >= 0, entries[i].at >= entry.at {
                        if entries[i].id == entry.id { return nil }
                        i -= 1
                    }
                }
                // Expired entries go first, so a full log never folds an expired score into the carried one.
                prune(&log!, now: now)
            }
            append(entry, to: &log!)
            log!.lastSeen = max(log!.lastSeen, entry.at)
            shard.logs[entry.principal] = log
            return true
        }
        guard let recorded else { return true }
        if recorded, let next = successor.withLock({ $0 }) { next.record(entry, now: now, skipIfPresent: true) }
        return recorded
    }

    /// Hands over to the ledger that replaces this one at a reload: from now on what this one records or takes
    /// back is passed on to `next`, and the entries it holds from `since` on are copied there now (each once: ids
    /// `next` already holds, read back from the state store, are skipped). Requests decided on the old runtime
    /// while the new one was being loaded, or still waiting for their audit line, so still count.
    public func forward(to next: RiskLedger, since: Double, now: Double) {
        guard next !== self else { return }
        successor.withLock { $0 = next }
        var recent: [LedgerEntry] = []
        for shard in shards {
            shard.withLock { s in
                for log in s.logs.values {
                    let entries = log.entries
                    for i in entries.firstIndex(atOrAfter: since)..<entries.count { recent.append(entries[i]) }
                }
            }
        }
        for entry in recent { next.record(entry, now: now, skipIfPresent: true) }
    }

    /// Takes back an entry (its decision could not be recorded in the audit log, so it was never given).
    public func remove(principal: String, id: String) {
        successor.withLock { $0 }?.remove(principal: principal, id: id)
        shard(for: principal).withLock { shard in
            guard var log = shard.logs[principal] else { return }
            let entries = log.entries
            guard let i = entries.indices.last(where: { entries[$0].id == id }) else { return }
            log.entries.remove(at: i)
            shard.logs[principal] = log
        }
    }

    /// A principal's state without recording anything (`GET /v1/callers/{id}`).
    public func state(of principal: String, now: Double) -> RiskAssessment {
        shard(for: principal).withLock { shard in
            var a = RiskAssessment(principal: principal, before: 0, added: 0, result: .allow, code: nil, reason: nil,
                                   contributions: [], contributionCount: 0, chains: [], entry: nil,
                                   escalationThreshold: policy.escalationThreshold, denyThreshold: policy.denyThreshold,
                                   windowSeconds: policy.windowSeconds)
            guard var log = shard.logs[principal] else { return a }
            prune(&log, now: now)
            shard.logs[principal] = log
            summarise(log, candidate: nil, now: now, into: &a)
            return a
        }
    }

    /// Drops principals with nothing left in their retention; returns how many.
    @discardableResult
    public func sweep(now: Double) -> Int {
        var removed = 0
        for shard in shards {
            shard.withLock { s in removed += sweep(&s, now: now) }
        }
        return removed
    }

    // MARK: - Internals (called with the shard's lock held)

    private func reserveSlot(_ shard: inout Shard, now: Double) -> Bool {
        shard.insertsSinceSweep += 1
        if shard.insertsSinceSweep >= 1024 {
            shard.insertsSinceSweep = 0
            _ = sweep(&shard, now: now)
        }
        while true {
            let current = count.load(ordering: .relaxed)
            if current >= policy.maxPrincipals {
                // Full: sweep this shard once; a slot freed anywhere else is picked up by the next request.
                if sweep(&shard, now: now) == 0 { return false }
                continue
            }
            if count.compareExchange(expected: current, desired: current + 1, ordering: .relaxed).exchanged { return true }
        }
    }

    private func sweep(_ shard: inout Shard, now: Double) -> Int {
        let horizon = now - retention
        let before = shard.logs.count
        shard.logs = shard.logs.filter { _, log in
            (log.entries.last.map { $0.at >= horizon } ?? false) || log.carriedUntil > now
        }
        let removed = before - shard.logs.count
        if removed > 0 { count.subtract(removed, ordering: .relaxed) }
        return removed
    }

    private func prune(_ log: inout Log, now: Double) {
        let horizon = now - retention
        // Entries are in time order: only the expired head is looked at.
        let expired = log.entries.firstIndex(atOrAfter: horizon)
        if expired == log.entries.count {
            log.entries.removeAll()
        } else if expired > 0 {
            log.entries.removeFirst(expired)
        }
        if log.carriedUntil <= now { log.carried = 0 }
    }

    private func append(_ entry: LedgerEntry, to log: inout Log) {
        if log.entries.count >= policy.maxEntriesPerPrincipal {
            // Fold the oldest entry's score into the carried score, kept until the last folded entry would expire.
            let oldest = log.entries.removeFirst()
            log.carried += oldest.score
            log.carriedUntil = max(log.carriedUntil, oldest.at + policy.windowSeconds)
        }
        if let last = log.entries.last, last.at > entry.at {
            let entries = log.entries
            let i = entries.indices.first { entries[$0].at > entry.at } ?? entries.count
            log.entries.insert(entry, at: i)
        } else {
            log.entries.append(entry)
        }
    }

    private func decayed(score: Double, at: Double, now: Double) -> Double {
        guard let halfLife = policy.halfLifeSeconds else { return score }
        let age = max(0, now - at)
        return score * Double.pow2(-age / halfLife)
    }

    private func summarise(_ log: Log, candidate: RiskCandidate?, now: Double, into a: inout RiskAssessment) {
        let horizon = now - policy.windowSeconds
        var total = log.carriedUntil > now ? log.carried : 0
        let entries = log.entries
        a.contributions.reserveCapacity(min(20, entries.count))
        if policy.halfLifeSeconds == nil, !(policy.perTarget && candidate != nil) {
            // Undecayed scores of every entry in the window: the running sums, and the 20 newest for the list.
            let first = entries.firstIndex(atOrAfter: horizon)
            total += entries.scoreSum(from: first)
            var i = entries.count - 1
            while i >= first, a.contributions.count < 20 {
                a.contributions.append(.init(id: entries[i].id, action: entries[i].action, target: entries[i].target,
                                             at: entries[i].at, score: entries[i].score))
                i -= 1
            }
            a.before = total
            a.contributionCount = entries.count - first
            return
        }
        var n = 0
        // By index and field, not `for entry in`: copying whole entries retains and releases every string of each.
        for i in entries.indices.reversed() {
            guard entries[i].at >= horizon else { break }
            if policy.perTarget, let candidate, entries[i].target != candidate.target { continue }
            let s = decayed(score: entries[i].score, at: entries[i].at, now: now)
            total += s
            n += 1
            if a.contributions.count < 20 {
                a.contributions.append(.init(id: entries[i].id, action: entries[i].action, target: entries[i].target,
                                             at: entries[i].at, score: s))
            }
        }
        a.before = total
        a.contributionCount = n
    }

    /// The chain ending in this request, if the principal's earlier entries complete it (greedy from the most
    /// recent: a subsequence exists iff the greedy backwards walk finds one).
    private func match(_ chain: ChainRule, steps: [StepMatcher], log: Log?, candidate: RiskCandidate,
                       keys: [String: String], now: Double) -> RiskAssessment.ChainMatch?
    {
        guard let last = steps.last, last.matches(candidate.action), let log else { return nil }
        let key: String?
        switch chain.same {
        case .none: key = nil
        case .target: guard let t = candidate.target else { return nil }; key = t
        case .namespace: guard let ns = candidate.namespace else { return nil }; key = ns
        case .param(let name): guard let k = keys[name] else { return nil }; key = k
        }
        let horizon = now - Double(chain.withinSeconds)
        var step = chain.steps.count - 2
        var found: [String] = []
        let entries = log.entries
        for i in entries.indices.reversed() {
            guard entries[i].at >= horizon else { break }
            if let key {
                let same: Bool
                switch chain.same {
                case .none: same = true
                case .target: same = entries[i].target == key
                case .namespace: same = entries[i].namespace == key
                case .param(let name): same = entries[i].keys[name] == key
                }
                guard same else { continue }
            }
            if steps[step].matches(entries[i].action) {
                found.append(entries[i].id)
                step -= 1
                if step < 0 { break }
            }
        }
        guard step < 0 else { return nil }
        return .init(rule: chain.name, reason: chain.reason, bonus: Double(chain.bonus), decision: chain.decision,
                     steps: found.reversed())
    }

    /// A score for people: integers without a fraction, otherwise two decimals.
    public static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        let scaled = (value * 100).rounded() / 100
        return String(scaled)
    }
}

extension Double {
    /// 2^x without Foundation.
    static func pow2(_ x: Double) -> Double {
        // exp2 via the standard library's exponent manipulation: 2^x = 2^floor(x) · 2^frac(x).
        let whole = x.rounded(.down)
        let frac = x - whole
        // 2^frac for frac in [0, 1) by a short series of e^(frac·ln2).
        let y = frac * 0.693_147_180_559_945_3
        var term = 1.0, sum = 1.0
        for k in 1...16 {
            term *= y / Double(k)
            sum += term
        }
        guard whole > -1022 else { return 0 }
        return Double(sign: .plus, exponent: Int(whole), significand: sum)
    }
}

/// A chain step's glob with fast paths that allocate nothing (`Glob.matches` builds an array of the name's
/// scalars on every call): a literal is compared as is, `prefix*` by its prefix, and any other glob is tried only
/// on names that start with its literal prefix (the text before its first `*`, `?` or `[`).
struct StepMatcher: Sendable {
    enum Kind: Sendable { case literal, prefixStar, general }

    let kind: Kind
    /// The whole pattern (literal), or the text before the first metacharacter.
    let text: String
    let glob: Glob

    init(_ glob: Glob) {
        self.glob = glob
        let scalars = Array(glob.pattern.unicodeScalars)
        let meta = scalars.firstIndex { $0 == "*" || $0 == "?" || $0 == "[" }
        var prefix = String.UnicodeScalarView()
        prefix.append(contentsOf: scalars[..<(meta ?? scalars.count)])
        if glob.isLiteral {
            // No metacharacter (or only an unclosed `[`, which is literal): the tokens are the pattern's scalars.
            kind = .literal
            text = glob.pattern
        } else if let meta, meta == scalars.count - 1, scalars[meta] == "*" {
            kind = .prefixStar
            text = String(prefix)
        } else {
            kind = .general
            text = String(prefix)
        }
    }

    func matches(_ name: String) -> Bool {
        switch kind {
        case .literal: name.unicodeScalars.elementsEqual(text.unicodeScalars)
        case .prefixStar: name.unicodeScalars.starts(with: text.unicodeScalars)
        case .general: name.unicodeScalars.starts(with: text.unicodeScalars) && glob.matches(name)
        }
    }
}

/// Where the ledger's entries survive a restart (the sidecar's state store). The in-memory ledger is the one
/// decisions read; the store is written after each recorded entry and read once at start-up.
public protocol RiskLedgerStore: Sendable {
    func append(_ entry: LedgerEntry) throws
    /// Several entries in one write (the sidecar batches the entries recorded while the previous write ran).
    func append(contentsOf entries: [LedgerEntry]) throws
    /// Deletes one entry (found by its time and id).
    func remove(_ entry: LedgerEntry) throws
    /// Entries at or after `since`, oldest first.
    func load(since: Double) throws -> [LedgerEntry]
    /// Deletes entries before `before`; returns how many.
    @discardableResult
    func prune(before: Double) throws -> Int
}

/// A principal's entries in time order: an array with a moving start, so that dropping the oldest entry (every
/// append once a log is full, and every prune) is O(1) amortised instead of moving all the others; and running
/// sums of the scores, so that the score of a window's entries is two lookups, not a walk over the entries.
struct EntryLog {
    private var storage: [LedgerEntry] = []
    /// `sums[k]`: the scores of `storage[0...k]` added up (scores are whole numbers in practice, so exact).
    private var sums: [Double] = []
    private var start = 0

    var count: Int { storage.count - start }
    var isEmpty: Bool { storage.count == start }
    var indices: Range<Int> { 0..<count }
    var first: LedgerEntry? { isEmpty ? nil : storage[start] }
    var last: LedgerEntry? { isEmpty ? nil : storage[storage.count - 1] }

    /// The entry at `i` (0 is the oldest), borrowed: `log[i].at` copies nothing else of the entry.
    subscript(i: Int) -> LedgerEntry {
        _read { yield storage[start + i] }
    }

    /// The first index whose entry is at or after `time` (`count` if none): a binary search, entries being in
    /// time order.
    func firstIndex(atOrAfter time: Double) -> Int {
        var low = start, high = storage.count
        while low < high {
            let mid = (low + high) / 2
            if storage[mid].at < time { low = mid + 1 } else { high = mid }
        }
        return low - start
    }

    /// The scores of the entries from `i` to the newest, added up.
    func scoreSum(from i: Int) -> Double {
        guard i < count else { return 0 }
        let before = start + i == 0 ? 0 : sums[start + i - 1]
        return sums[sums.count - 1] - before
    }

    mutating func append(_ entry: LedgerEntry) {
        sums.append((sums.last ?? 0) + entry.score)
        storage.append(entry)
    }

    mutating func insert(_ entry: LedgerEntry, at i: Int) {
        storage.insert(entry, at: start + i)
        sums.insert(0, at: start + i)
        resum(from: start + i)
    }

    mutating func remove(at i: Int) {
        storage.remove(at: start + i)
        sums.remove(at: start + i)
        resum(from: start + i)
    }

    @discardableResult
    mutating func removeFirst() -> LedgerEntry {
        let oldest = storage[start]
        removeFirst(1)
        return oldest
    }

    mutating func removeFirst(_ n: Int) {
        precondition(n >= 0 && n <= count, "removeFirst beyond the log")
        start += n
        // Compact once the dead head is at least half the storage (and worth a move).
        if start == storage.count {
            removeAll()
        } else if start >= 32, start * 2 >= storage.count {
            let dropped = sums[start - 1]
            storage.removeFirst(start)
            sums.removeFirst(start)
            for k in sums.indices { sums[k] -= dropped }
            start = 0
        }
    }

    mutating func removeAll() {
        storage.removeAll(keepingCapacity: storage.capacity <= 64)
        sums.removeAll(keepingCapacity: sums.capacity <= 64)
        start = 0
    }

    /// Recomputes the running sums from storage index `k` on (after an insertion or a removal in the middle).
    private mutating func resum(from k: Int) {
        guard k < storage.count else { return }
        var total = k == 0 ? 0 : sums[k - 1]
        for j in k..<storage.count {
            total += storage[j].score
            sums[j] = total
        }
    }
}
