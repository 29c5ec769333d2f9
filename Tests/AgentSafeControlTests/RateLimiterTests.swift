import Testing

@testable import AgentSafeControl

#if canImport(Glibc)
import Glibc
#endif

/// Resident set size from /proc/self/statm; `nil` where there is no procfs.
private func rateLimiterTestRSS() -> Int? {
    #if canImport(Glibc)
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 255) }
    guard n > 0 else { return nil }
    let fields = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    #else
    return nil
    #endif
}

private func rateLimitedReason(_ v: RateVerdict) -> String? {
    if case .rateLimited(let reason, _) = v { return reason }
    return nil
}

private func breakerReason(_ v: RateVerdict) -> String? {
    if case .breakerOpen(let reason, _) = v { return reason }
    return nil
}

private func retryAfter(_ v: RateVerdict) -> Double? {
    switch v {
    case .rateLimited(_, let s), .breakerOpen(_, let s): s
    default: nil
    }
}

private func isAtCapacity(_ v: RateVerdict) -> Bool {
    if case .atCapacity(let reason) = v { return reason.hasPrefix("rate limiter at capacity") }
    return false
}

// Serialized: the memory test measures the process's RSS.
@Suite("Rate limiter and circuit breaker", .serialized)
struct RateLimiterTests {
    // MARK: - Sliding window

    @Test func exactlyMaxRequestsPassPerWindow() {
        let limiter = RateLimiter(policy: RateLimitPolicy(maxRequests: 5, windowSeconds: 60))
        for i in 0..<5 { #expect(limiter.check("agent-01", now: 100 + Double(i)) == .allowed) }
        let denied = limiter.check("agent-01", now: 104.5)
        #expect(rateLimitedReason(denied) == "Rate limit exceeded for caller 'agent-01': 5 requests per 60s window.")
        #expect(retryAfter(denied) == 55.5)  // the request at 100 leaves the window after 160
        #expect(!denied.isAllowed && denied.reason != nil)
        // The denied request was not recorded, and other callers have their own window.
        #expect(limiter.state(of: "agent-01", now: 104.5).requestsInWindow == 5)
        #expect(limiter.check("agent-02", now: 104.5) == .allowed)
    }

    @Test func defaultsAreUpstreams() {
        let p = RateLimitPolicy()
        #expect(p.maxRequests == 100 && p.windowSeconds == 60 && p.breakerThreshold == 0)
        #expect(p.breakerWindowSeconds == 60 && p.breakerCooldownSeconds == 300 && p.maxTrackedCallers == 100_000)
        #expect(!p.breakerEnabled)
        let limiter = RateLimiter(policy: p)
        #expect(limiter.shardCount == 16)
        for _ in 0..<100 { #expect(limiter.check("a", now: 0) == .allowed) }
        #expect(rateLimitedReason(limiter.check("a", now: 0)) == "Rate limit exceeded for caller 'a': 100 requests per 60s window.")
    }

    @Test func windowSlidesOneRequestAtATime() {
        let limiter = RateLimiter(policy: RateLimitPolicy(maxRequests: 3, windowSeconds: 60))
        for t in [0.0, 10, 20] { #expect(limiter.check("c", now: t) == .allowed) }
        #expect(!limiter.check("c", now: 30).isAllowed)
        #expect(!limiter.check("c", now: 60).isAllowed)  // the request at 0 still counts at exactly 0 + 60
        #expect(limiter.check("c", now: 60.25) == .allowed)  // …and not after: one slot frees
        #expect(!limiter.check("c", now: 60.5).isAllowed)
        #expect(!limiter.check("c", now: 70).isAllowed)
        #expect(limiter.check("c", now: 70.25) == .allowed)  // the request at 10 leaves
        #expect(limiter.check("c", now: 80.25) == .allowed)  // the one at 20
        #expect(!limiter.check("c", now: 80.5).isAllowed)
        #expect(retryAfter(limiter.check("c", now: 100)) == 60.25 + 60 - 100)
        // Long after, a full window again.
        for _ in 0..<3 { #expect(limiter.check("c", now: 1000) == .allowed) }
        #expect(!limiter.check("c", now: 1000).isAllowed)
    }

    @Test func windowIsRoundedHalfEvenInTheMessage() {
        for (window, text) in [(90.5, "90"), (91.5, "92"), (0.4, "0"), (59.99, "60")] {
            let limiter = RateLimiter(policy: RateLimitPolicy(maxRequests: 1, windowSeconds: window))
            _ = limiter.check("x", now: 0)
            #expect(rateLimitedReason(limiter.check("x", now: 0)) == "Rate limit exceeded for caller 'x': 1 requests per \(text)s window.")
        }
    }

    @Test func pythonFixedZeroFormatting() {
        let cases: [(Double, String)] = [
            (90.5, "90"), (91.5, "92"), (0.5, "0"), (1.5, "2"), (2.5, "2"), (0.49999999999999994, "0"), (299.6, "300"),
            (-0.4, "-0"), (-2.5, "-2"), (1e20, "100000000000000000000"), (0x1p70, "1180591620717411303424"),
            (9223372036854775807.0, "9223372036854775808"), (.infinity, "inf"), (-.infinity, "-inf"), (.nan, "nan"),
        ]
        for (value, text) in cases { #expect(pythonFixed0(value) == text, "\(value)") }
    }

    // MARK: - Circuit breaker

    @Test func breakerOpensAtThresholdAndReportsTheCooldown() {
        let limiter = RateLimiter(policy: RateLimitPolicy(
            maxRequests: 1000, breakerThreshold: 3, breakerWindowSeconds: 60, breakerCooldownSeconds: 300))
        limiter.recordDeny("bot", now: 0)
        limiter.recordDeny("bot", now: 1)
        #expect(limiter.check("bot", now: 1.5) == .allowed)
        #expect(limiter.state(of: "bot", now: 1.5).deniesInWindow == 2)
        limiter.recordDeny("bot", now: 2)  // third: opens at 2
        let v = limiter.check("bot", now: 2)
        #expect(breakerReason(v) == "Circuit breaker open for caller 'bot': too many denied requests. Auto-resumes in 300s.")
        #expect(retryAfter(v) == 300)
        // remaining 90.5 → "90", 91.5 → "92" (round half to even, as Python's :.0f)
        #expect(breakerReason(limiter.check("bot", now: 211.5))?.hasSuffix("Auto-resumes in 90s.") == true)
        #expect(breakerReason(limiter.check("bot", now: 210.5))?.hasSuffix("Auto-resumes in 92s.") == true)
        let s = limiter.state(of: "bot", now: 210.5)
        #expect(s.breakerOpen && s.breakerResumesInSeconds == 91.5)
        #expect(limiter.stats(now: 210.5) == (tracked: 1, breakersOpen: 1))
        // Other callers are unaffected.
        #expect(limiter.check("other", now: 3) == .allowed)
    }

    @Test func breakerClosesAfterTheCooldownAndForgetsTheDenials() {
        // A breaker window longer than the cooldown: the old denials would still count if not cleared.
        let limiter = RateLimiter(policy: RateLimitPolicy(
            breakerThreshold: 3, breakerWindowSeconds: 1000, breakerCooldownSeconds: 300))
        for t in [0.0, 1, 2] { limiter.recordDeny("bot", now: t) }
        #expect(breakerReason(limiter.check("bot", now: 301.999)) != nil)
        #expect(limiter.check("bot", now: 302) == .allowed)  // cooldown over at exactly opened + 300
        let s = limiter.state(of: "bot", now: 302)
        #expect(!s.breakerOpen && s.breakerResumesInSeconds == nil && s.deniesInWindow == 0)
        limiter.recordDeny("bot", now: 303)
        limiter.recordDeny("bot", now: 304)
        #expect(limiter.check("bot", now: 305) == .allowed)
        #expect(limiter.stats(now: 305).breakersOpen == 0)
        limiter.recordDeny("bot", now: 306)
        #expect(breakerReason(limiter.check("bot", now: 307)) != nil)
    }

    @Test func denialsOutsideTheBreakerWindowDoNotCount() {
        let limiter = RateLimiter(policy: RateLimitPolicy(breakerThreshold: 2, breakerWindowSeconds: 60))
        limiter.recordDeny("a", now: 0)
        limiter.recordDeny("a", now: 60)  // 0 still in the window (inclusive): opens
        #expect(breakerReason(limiter.check("a", now: 61)) != nil)
        limiter.recordDeny("b", now: 0)
        limiter.recordDeny("b", now: 60.5)  // 0 has left
        #expect(limiter.check("b", now: 61) == .allowed)
        #expect(limiter.state(of: "b", now: 61).deniesInWindow == 1)
    }

    @Test func limiterRefusalsAreNotCountedAsDenials() {
        let limiter = RateLimiter(policy: RateLimitPolicy(
            maxRequests: 1, windowSeconds: 10, breakerThreshold: 2, breakerCooldownSeconds: 50))
        #expect(limiter.check("a", now: 0) == .allowed)
        for i in 0..<50 { #expect(rateLimitedReason(limiter.check("a", now: Double(i) / 10)) != nil) }
        #expect(limiter.state(of: "a", now: 5).deniesInWindow == 0)
        #expect(limiter.check("a", now: 10.5) == .allowed)  // no breaker opened by the refusals
        // Breaker refusals are not fed back either: the breaker closes after its cooldown, not later.
        limiter.recordDeny("a", now: 11)
        limiter.recordDeny("a", now: 12)
        for i in 0..<100 { #expect(breakerReason(limiter.check("a", now: 12 + Double(i) / 5)) != nil) }
        #expect(limiter.check("a", now: 62) == .allowed)
    }

    @Test func disabledBreakerIgnoresDenials() {
        let limiter = RateLimiter(policy: RateLimitPolicy(maxRequests: 2))
        for i in 0..<1000 { limiter.recordDeny("a", now: Double(i) / 1000) }
        #expect(limiter.trackedCallers == 0)
        #expect(limiter.check("a", now: 1) == .allowed)
        let s = limiter.state(of: "a", now: 1)
        #expect(s.deniesInWindow == 0 && !s.breakerOpen)
    }

    @Test func breakerOpenAndRateLimitedTogether() {
        let limiter = RateLimiter(policy: RateLimitPolicy(
            maxRequests: 2, windowSeconds: 600, breakerThreshold: 1, breakerCooldownSeconds: 100))
        #expect(limiter.check("a", now: 0) == .allowed)
        #expect(limiter.check("a", now: 0) == .allowed)
        limiter.recordDeny("a", now: 1)
        #expect(breakerReason(limiter.check("a", now: 2)) != nil)  // the breaker is checked first
        #expect(rateLimitedReason(limiter.check("a", now: 101)) != nil)  // then the window still applies
    }

    // MARK: - state(of:)

    @Test func stateDoesNotRecord() {
        let limiter = RateLimiter(policy: RateLimitPolicy(maxRequests: 3, windowSeconds: 60, breakerThreshold: 5))
        let fresh = limiter.state(of: "ghost", now: 0)
        #expect(fresh == CallerRateState(
            caller: "ghost", requestsInWindow: 0, remaining: 3, windowSeconds: 60, resetsInSeconds: nil,
            deniesInWindow: 0, breakerOpen: false, breakerResumesInSeconds: nil))
        #expect(limiter.trackedCallers == 0)  // looking does not track
        #expect(limiter.check("a", now: 10) == .allowed)
        #expect(limiter.check("a", now: 20) == .allowed)
        limiter.recordDeny("a", now: 20)
        for _ in 0..<1000 { _ = limiter.state(of: "a", now: 30) }
        let s = limiter.state(of: "a", now: 30)
        #expect(s.requestsInWindow == 2 && s.remaining == 1 && s.resetsInSeconds == 40 && s.deniesInWindow == 1)
        #expect(limiter.state(of: "a", now: 75).requestsInWindow == 1)  // 10 left the window, not pruned
        #expect(limiter.state(of: "a", now: 75).resetsInSeconds == 5)
        #expect(limiter.check("a", now: 30) == .allowed)
        #expect(!limiter.check("a", now: 30).isAllowed)
        #expect(limiter.state(of: "a", now: 30).remaining == 0)
    }

    // MARK: - Memory bound and eviction

    @Test func manyDistinctCallersStayWithinTheCapAndMemoryBound() {
        let before = rateLimiterTestRSS()
        let limiter = RateLimiter(policy: RateLimitPolicy())  // cap 100,000
        var allowed = 0
        for i in 0..<150_000 where limiter.check("agent-\(i)", now: 0) == .allowed { allowed += 1 }
        let after = rateLimiterTestRSS()
        #expect(allowed == 150_000)  // nobody is blocked, so eviction makes room
        #expect(limiter.trackedCallers <= 100_000)
        #expect(limiter.trackedCallers > 90_000)  // per-shard caps: a little below the total, not far
        let estimated = limiter.estimatedMemoryBytes
        #expect(estimated < 32 << 20, "estimated \(estimated) bytes")
        if let before, let after {
            #expect(after - before < 256 << 20, "RSS grew by \(after - before) bytes")
        }
        withExtendedLifetime(limiter) {}
    }

    @Test func perCallerStateIsCompact() {
        #expect(MemoryLayout<TimestampRing>.stride == 16)
        #expect(MemoryLayout<CallerSlot>.stride <= 72)
        // Timestamps are allocated as used: one request costs a 2-slot ring, not maxRequests slots.
        let limiter = RateLimiter(policy: RateLimitPolicy(maxRequests: 10_000, maxTrackedCallers: 1000))
        _ = limiter.check("a", now: 0)
        #expect(limiter.estimatedMemoryBytes < 4096)
    }

    @Test func idleCallersAreEvictedBeforeBlockedOnes() {
        let limiter = RateLimiter(policy: RateLimitPolicy(maxRequests: 2, windowSeconds: 60, maxTrackedCallers: 3))
        #expect(limiter.shardCount == 1)
        #expect(limiter.check("blocked", now: 0) == .allowed)
        #expect(limiter.check("blocked", now: 0) == .allowed)  // at its limit, least recently seen
        #expect(limiter.check("idle-1", now: 1) == .allowed)
        #expect(limiter.check("idle-2", now: 2) == .allowed)
        #expect(limiter.check("new-1", now: 3) == .allowed)  // evicts idle-1, not blocked
        #expect(limiter.trackedCallers == 3)
        #expect(limiter.state(of: "idle-1", now: 3).requestsInWindow == 0)
        #expect(limiter.state(of: "idle-2", now: 3).requestsInWindow == 1)
        #expect(rateLimitedReason(limiter.check("blocked", now: 4)) != nil)
        #expect(limiter.check("new-2", now: 5) == .allowed)  // evicts idle-2
        #expect(limiter.check("new-3", now: 6) == .allowed)  // evicts new-1
        #expect(rateLimitedReason(limiter.check("blocked", now: 7)) != nil)
        #expect(limiter.trackedCallers == 3)
    }

    @Test func atCapacityWithEveryCallerBlockedRefusesNewCallers() {
        let limiter = RateLimiter(policy: RateLimitPolicy(
            maxRequests: 1, windowSeconds: 60, breakerThreshold: 1, breakerCooldownSeconds: 100, maxTrackedCallers: 2))
        #expect(limiter.check("a", now: 0) == .allowed)  // a: at its limit until 60
        limiter.recordDeny("b", now: 0)  // b: breaker open until 100
        #expect(isAtCapacity(limiter.check("c", now: 1)))
        #expect(isAtCapacity(limiter.check("c", now: 2)))  // (answered from the scan's hint)
        limiter.recordDeny("d", now: 2)  // not recorded: no room
        #expect(limiter.trackedCallers == 2)
        #expect(rateLimitedReason(limiter.check("a", now: 3)) != nil)  // nobody was unblocked
        #expect(breakerReason(limiter.check("b", now: 3)) != nil)
        #expect(isAtCapacity(limiter.check("c", now: 60)))  // a's request still counts at exactly 60
        #expect(limiter.check("c", now: 60.5) == .allowed)  // a is no longer blocked: evicted
        #expect(limiter.state(of: "a", now: 60.5).requestsInWindow == 0)
        #expect(breakerReason(limiter.check("b", now: 61)) != nil)
        #expect(isAtCapacity(limiter.check("d", now: 61)))  // c is at its limit now, b open
        #expect(limiter.check("d", now: 100) == .allowed)  // b's cooldown is over
    }

    @Test func breakerOpenCallerIsNeverEvicted() {
        let limiter = RateLimiter(policy: RateLimitPolicy(
            breakerThreshold: 1, breakerCooldownSeconds: 300, maxTrackedCallers: 1))
        limiter.recordDeny("bad", now: 0)
        for i in 0..<100 { #expect(isAtCapacity(limiter.check("new-\(i)", now: Double(i)))) }
        #expect(breakerReason(limiter.check("bad", now: 150)) != nil)
        #expect(limiter.check("new", now: 300) == .allowed)
        #expect(limiter.trackedCallers == 1)
    }

    @Test func expiredCallersAreSweptLazily() {
        let limiter = RateLimiter(policy: RateLimitPolicy(
            maxRequests: 5, windowSeconds: 10, breakerThreshold: 1, breakerWindowSeconds: 10, breakerCooldownSeconds: 300,
            maxTrackedCallers: 1000))
        for i in 0..<100 { #expect(limiter.check("c\(i)", now: 0) == .allowed) }
        limiter.recordDeny("open", now: 0)
        #expect(limiter.trackedCallers == 101)
        #expect(limiter.trackedCallers == 101)  // nothing expires at 0
        for _ in 0..<60 { _ = limiter.check("active", now: 100) }  // 2 slots examined per call
        #expect(limiter.trackedCallers == 2)  // "active" and "open" (breaker still open)
        #expect(breakerReason(limiter.check("open", now: 100)) != nil)
        #expect(limiter.stats(now: 100) == (tracked: 2, breakersOpen: 1))
    }

    @Test func removeExpiredDropsEverythingExpiredAndShrinks() {
        let limiter = RateLimiter(policy: RateLimitPolicy(maxRequests: 5, windowSeconds: 10, maxTrackedCallers: 2000))
        #expect(limiter.shardCount == 1)
        let empty = limiter.estimatedMemoryBytes
        for i in 0..<2000 { _ = limiter.check("caller-\(i)", now: Double(i) / 1000) }
        #expect(limiter.trackedCallers == 2000)
        let full = limiter.estimatedMemoryBytes
        #expect(limiter.removeExpired(now: 11) == 1000)  // the ones at ≥ 1 s are still in the window
        #expect(limiter.removeExpired(now: 100) == 1000)
        #expect(limiter.trackedCallers == 0)
        #expect(limiter.estimatedMemoryBytes < full / 10 && full > empty)
        #expect(limiter.check("caller-1", now: 100) == .allowed)
    }

    @Test func evictionLosesOnlyAPartialWindow() {
        // Documented trade-off: an evictable caller (not blocked) that is forgotten starts a fresh window.
        let limiter = RateLimiter(policy: RateLimitPolicy(maxRequests: 3, maxTrackedCallers: 1))
        #expect(limiter.check("a", now: 0) == .allowed)
        #expect(limiter.check("a", now: 0) == .allowed)
        #expect(limiter.check("b", now: 1) == .allowed)  // a had 2 of 3: evictable
        #expect(limiter.state(of: "a", now: 1).requestsInWindow == 0)
    }

    // MARK: - Concurrency

    @Test func concurrentChecksLetExactlyMaxRequestsThrough() async {
        let limiter = RateLimiter(policy: RateLimitPolicy(maxRequests: 50, windowSeconds: 60))
        let callers = ["hot", "agent-1", "agent-2", "agent-3"]
        let results = await withTaskGroup(of: (String, Int).self) { group in
            for task in 0..<64 {
                group.addTask {
                    let caller = callers[task % callers.count]
                    var allowed = 0
                    for _ in 0..<40 where limiter.check(caller, now: 1) == .allowed { allowed += 1 }
                    return (caller, allowed)
                }
            }
            var totals: [String: Int] = [:]
            for await (caller, allowed) in group { totals[caller, default: 0] += allowed }
            return totals
        }
        for caller in callers {
            #expect(results[caller] == 50, "\(caller)")
            #expect(limiter.state(of: caller, now: 1).requestsInWindow == 50)
        }
    }

    @Test func concurrentDenialsOpenTheBreakerOnce() async {
        let limiter = RateLimiter(policy: RateLimitPolicy(breakerThreshold: 10, breakerCooldownSeconds: 300))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { limiter.recordDeny("bot", now: 5) } }
        }
        let s = limiter.state(of: "bot", now: 5)
        #expect(s.breakerOpen && s.breakerResumesInSeconds == 300 && s.deniesInWindow == 10)  // capped at threshold
    }
}
