/// Exponential backoff with full jitter (as AWS's architecture blog recommends): the n-th consecutive failure
/// waits a uniformly random time in `[0, min(cap, base × 2^(n-1))]`.
public struct Backoff: Sendable, Hashable {
    public var baseMilliseconds: Int64
    public var capMilliseconds: Int64

    public init(_ spec: RetrySpec) {
        self.baseMilliseconds = Int64(max(1, spec.baseMs))
        self.capMilliseconds = Int64(max(spec.baseMs, spec.maxMs))
    }

    /// The longest wait after the `attempt`-th consecutive failure (attempt ≥ 1).
    public func ceilingMilliseconds(attempt: Int) -> Int64 {
        let exponent = min(max(attempt, 1) - 1, 40)
        let (value, overflow) = baseMilliseconds.multipliedReportingOverflow(by: Int64(1) << exponent)
        return overflow ? capMilliseconds : min(capMilliseconds, value)
    }

    /// A random wait after the `attempt`-th consecutive failure.
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        .milliseconds(Int64.random(in: 0...ceilingMilliseconds(attempt: attempt), using: &generator))
    }

    public func delay(attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &generator)
    }
}
