import Synchronization

/// Per-caller sliding-window rate limiting with a circuit breaker, upstream's semantics with bounded memory.
///
/// ``check(_:now:)`` (before policy evaluation):
/// 1. If the breaker is enabled and open for the caller: within the cooldown the request is refused
///    (``RateVerdict/breakerOpen(reason:retryAfterSeconds:)``); after it the breaker closes and the caller's
///    denials are forgotten.
/// 2. Requests older than the window are dropped from the caller's log; with `maxRequests` left the request is
///    refused (``RateVerdict/rateLimited(reason:retryAfterSeconds:)``) and not recorded; otherwise it is
///    recorded and allowed. Exactly `maxRequests` requests pass per window; a request at `t` still counts at
///    `t + windowSeconds` and no longer after it.
///
/// ``recordDeny(_:now:)`` (after a policy denial; a no-op with the breaker disabled) counts a denial in the
/// breaker window and opens the breaker at `breakerThreshold`. Refusals of the limiter itself are never fed back.
///
/// Time is injected: `now` is monotonic seconds (e.g. `ContinuousClock` or `CLOCK_MONOTONIC`), the same clock
/// for every call, and finite (a NaN would compare as "cooldown over"; it is a precondition failure instead).
///
/// Memory is bounded (upstream keeps every caller forever): a caller costs 72 bytes plus its timestamps (at
/// most `maxRequests` + `breakerThreshold` doubles, allocated as used) plus its id and a dictionary entry.
/// Callers whose state has entirely expired are dropped lazily (a few slots per call, and the tables shrink
/// after a burst). At most `maxTrackedCallers` are tracked; a new caller beyond that evicts the least recently
/// seen caller that is **neither rate-limited nor circuit-broken** (forgetting it loses at most a partial
/// window or a partial denial count). Eviction never unblocks a caller: when every tracked caller is blocked,
/// new callers are refused with ``RateVerdict/atCapacity(reason:)`` (fail closed) until one of them unblocks.
///
/// The table is split into up to 16 shards by a (per-process seeded) hash of the caller id, each behind its own
/// mutex; the cap and the LRU order are per shard (`maxTrackedCallers` divided among them; one shard below
/// 2,048 callers, so small caps are exact and globally LRU).
public final class RateLimiter: Sendable {
    public let policy: RateLimitPolicy
    private let limits: RateLimits
    private let shards: [Shard]
    private let shardShift: Int

    private final class Shard: Sendable {
        let state: Mutex<RateLimitShard>
        init(capacity: Int) { state = Mutex(RateLimitShard(capacity: capacity)) }
    }

    /// Most shards used; fewer when `maxTrackedCallers` is small (each shard keeps ≥ 1,024 callers).
    public static let maxShards = 16

    public init(policy: RateLimitPolicy) {
        precondition(policy.maxRequests >= 1 && policy.maxRequests <= Int(Int32.max), "maxRequests must be 1…2^31-1")
        precondition(policy.breakerThreshold >= 0 && policy.breakerThreshold <= Int(Int32.max),
                     "breakerThreshold must be 0…2^31-1")
        precondition(policy.windowSeconds > 0, "windowSeconds must be greater than 0")
        precondition(policy.breakerWindowSeconds > 0, "breakerWindowSeconds must be greater than 0")
        precondition(policy.breakerCooldownSeconds > 0, "breakerCooldownSeconds must be greater than 0")
        precondition(policy.maxTrackedCallers >= 1, "maxTrackedCallers must be at least 1")
        self.policy = policy
        self.limits = RateLimits(policy)
        var count = 1
        while count < Self.maxShards && policy.maxTrackedCallers / (count * 2) >= 1024 { count *= 2 }
        let base = policy.maxTrackedCallers / count
        let extra = policy.maxTrackedCallers % count
        shards = (0..<count).map { Shard(capacity: base + ($0 < extra ? 1 : 0)) }
        shardShift = UInt.bitWidth - count.trailingZeroBitCount
    }

    /// Number of shards (1, 2, 4, 8 or 16).
    public var shardCount: Int { shards.count }

    @inline(__always)
    private func shard(_ key: CallerKey) -> Shard {
        if shards.count == 1 { return shards[0] }
        // The top bits, so the choice is independent of the dictionary's bucket (low) bits.
        return shards[Int(UInt(bitPattern: key.hash) >> UInt(shardShift))]
    }

    /// Decides and, when allowed, records a request of `caller` at `now`.
    public func check(_ caller: String, now: Double) -> RateVerdict {
        precondition(now.isFinite, "RateLimiter: now must be finite")
        let key = CallerKey(caller)
        let decision = shard(key).state.withLock { $0.check(key, now: now, limits) }
        switch decision {
        case .allowed:
            return .allowed
        case .rateLimited(let retryAfter):
            return .rateLimited(
                reason: "Rate limit exceeded for caller '\(caller)': \(policy.maxRequests) requests per "
                    + "\(pythonFixed0(policy.windowSeconds))s window.",
                retryAfterSeconds: retryAfter)
        case .breakerOpen(let remaining):
            return .breakerOpen(
                reason: "Circuit breaker open for caller '\(caller)': too many denied requests. "
                    + "Auto-resumes in \(pythonFixed0(remaining))s.",
                retryAfterSeconds: remaining)
        case .atCapacity:
            return .atCapacity(
                reason: "rate limiter at capacity: \(policy.maxTrackedCallers) callers tracked and every one that "
                    + "could be forgotten is rate-limited or circuit-broken; new callers are refused until one of "
                    + "them recovers.")
        }
    }

    /// Counts a policy denial of `caller` at `now` towards its circuit breaker (no-op with the breaker disabled).
    /// At capacity with every tracked caller blocked, the denial of an untracked caller is not recorded.
    public func recordDeny(_ caller: String, now: Double) {
        guard limits.threshold > 0 else { return }
        precondition(now.isFinite, "RateLimiter: now must be finite")
        let key = CallerKey(caller)
        shard(key).state.withLock { _ = $0.recordDeny(key, now: now, limits) }
    }

    /// The caller's state at `now`, without recording anything, creating the caller or changing its recency.
    public func state(of caller: String, now: Double) -> CallerRateState {
        let key = CallerKey(caller)
        return shard(key).state.withLock { $0.state(of: key, now: now, limits) }
    }

    /// Callers currently tracked (some may have expired and not yet been swept).
    public var trackedCallers: Int {
        shards.reduce(0) { sum, shard in sum + shard.state.withLock { $0.live } }
    }

    /// Tracked callers and open breakers, for metrics. O(tracked): scrape it, don't call it per request.
    public func stats(now: Double) -> (tracked: Int, breakersOpen: Int) {
        var tracked = 0
        var open = 0
        for shard in shards {
            shard.state.withLock {
                tracked += $0.live
                open += $0.breakersOpen(now: now, limits)
            }
        }
        return (tracked, open)
    }

    /// Drops every caller whose state has expired at `now` and returns how many (the limiter also does this
    /// lazily; call it from a periodic task to release memory sooner after a burst).
    @discardableResult
    public func removeExpired(now: Double) -> Int {
        shards.reduce(0) { sum, shard in sum + shard.state.withLock { $0.removeExpired(now: now, limits) } }
    }

    /// Estimated heap bytes held by the tables (analytic; excludes allocator overhead).
    public var estimatedMemoryBytes: Int {
        shards.reduce(0) { sum, shard in sum + shard.state.withLock { $0.estimatedBytes() } }
    }
}
