import Synchronization

/// Remembers consumed ticket ids until they expire, so a ticket is used at most once.
///
/// `consume` must be atomic: of two concurrent calls with the same `jti` exactly one returns `true`, also across
/// processes sharing the store. Implementations: ``InMemoryReplayGuard`` (one process, lost on restart) and
/// `SQLiteReplayStore` in AgentSafeStore (durable; the default of the sidecar and the CLI).
public protocol ReplayGuard: Sendable {
    /// Records `jti` as used until `expiresAt` (seconds since the epoch). `false` when it was already recorded.
    func consume(jti: String, expiresAt: Int64, now: Int64) throws -> Bool
    /// Whether `jti` has been consumed (for inspection; never use it to decide single use).
    func isConsumed(jti: String, now: Int64) throws -> Bool
}

/// A process-local replay guard; pruned as it goes (amortised O(1) per consume).
public final class InMemoryReplayGuard: ReplayGuard {
    private struct State {
        var used: [String: Int64] = [:]
        var insertsSincePrune = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func consume(jti: String, expiresAt: Int64, now: Int64) -> Bool {
        state.withLock { s in
            if let until = s.used[jti], until >= now { return false }
            s.used[jti] = expiresAt
            s.insertsSincePrune += 1
            if s.insertsSincePrune >= max(1024, s.used.count / 2) {
                s.used = s.used.filter { $0.value >= now }
                s.insertsSincePrune = 0
            }
            return true
        }
    }

    public func isConsumed(jti: String, now: Int64) -> Bool {
        state.withLock { s in (s.used[jti] ?? Int64.min) >= now }
    }

    public var count: Int { state.withLock { $0.used.count } }
}
