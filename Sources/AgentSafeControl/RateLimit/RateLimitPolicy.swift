/// Upstream's `rate_limit` settings plus the bound on tracked callers.
///
/// The defaults are upstream's: 100 requests per 60 s per caller, circuit breaker off (`breakerThreshold` 0),
/// breaker window 60 s, cooldown 300 s. `maxTrackedCallers` is ours (upstream keeps every caller forever).
public struct RateLimitPolicy: Sendable, Hashable {
    /// Requests a caller may make per sliding window (≥ 1).
    public var maxRequests: Int
    /// Length of the sliding request window, seconds (> 0).
    public var windowSeconds: Double
    /// Denials within `breakerWindowSeconds` that open the caller's circuit breaker; 0 disables the breaker.
    public var breakerThreshold: Int
    /// Length of the window in which denials are counted, seconds (> 0).
    public var breakerWindowSeconds: Double
    /// How long an open breaker refuses every request of the caller, seconds (> 0).
    public var breakerCooldownSeconds: Double
    /// Hard bound on the callers tracked at once (≥ 1). See ``RateLimiter`` for the eviction rule.
    public var maxTrackedCallers: Int

    public init(
        maxRequests: Int = 100,
        windowSeconds: Double = 60,
        breakerThreshold: Int = 0,
        breakerWindowSeconds: Double = 60,
        breakerCooldownSeconds: Double = 300,
        maxTrackedCallers: Int = 100_000
    ) {
        self.maxRequests = maxRequests
        self.windowSeconds = windowSeconds
        self.breakerThreshold = breakerThreshold
        self.breakerWindowSeconds = breakerWindowSeconds
        self.breakerCooldownSeconds = breakerCooldownSeconds
        self.maxTrackedCallers = maxTrackedCallers
    }

    /// Whether the circuit breaker is enabled (`breakerThreshold > 0`).
    public var breakerEnabled: Bool { breakerThreshold > 0 }
}

/// The outcome of ``RateLimiter/check(_:now:)``.
public enum RateVerdict: Sendable, Hashable {
    /// The request is allowed and was recorded in the caller's window.
    case allowed
    /// The caller made `maxRequests` requests in the window. `retryAfterSeconds`: until the oldest of them leaves
    /// the window (a request is allowed strictly after that).
    case rateLimited(reason: String, retryAfterSeconds: Double)
    /// The caller's circuit breaker is open. `retryAfterSeconds`: the rest of the cooldown.
    case breakerOpen(reason: String, retryAfterSeconds: Double)
    /// A new caller could not be tracked: the table is full and every tracked caller (of its shard) is
    /// rate-limited or circuit-broken. Fails closed; not an upstream outcome.
    case atCapacity(reason: String)

    public var isAllowed: Bool {
        if case .allowed = self { return true }
        return false
    }

    /// The denial reason; `nil` when allowed.
    public var reason: String? {
        switch self {
        case .allowed: nil
        case .rateLimited(let reason, _), .breakerOpen(let reason, _), .atCapacity(let reason): reason
        }
    }
}

/// A read-only snapshot of one caller (``RateLimiter/state(of:now:)``).
public struct CallerRateState: Sendable, Hashable {
    public var caller: String
    /// Requests counted in the current sliding window.
    public var requestsInWindow: Int
    /// `maxRequests - requestsInWindow` (never negative).
    public var remaining: Int
    public var windowSeconds: Double
    /// Seconds until the oldest counted request leaves the window (`remaining` then grows by one); `nil` when no
    /// request is counted.
    public var resetsInSeconds: Double?
    /// Denials counted towards the breaker (0 when the breaker is disabled or its cooldown has ended).
    public var deniesInWindow: Int
    public var breakerOpen: Bool
    /// Rest of the cooldown while the breaker is open, else `nil`.
    public var breakerResumesInSeconds: Double?

    public init(
        caller: String, requestsInWindow: Int, remaining: Int, windowSeconds: Double, resetsInSeconds: Double?,
        deniesInWindow: Int, breakerOpen: Bool, breakerResumesInSeconds: Double?
    ) {
        self.caller = caller
        self.requestsInWindow = requestsInWindow
        self.remaining = remaining
        self.windowSeconds = windowSeconds
        self.resetsInSeconds = resetsInSeconds
        self.deniesInWindow = deniesInWindow
        self.breakerOpen = breakerOpen
        self.breakerResumesInSeconds = breakerResumesInSeconds
    }
}
