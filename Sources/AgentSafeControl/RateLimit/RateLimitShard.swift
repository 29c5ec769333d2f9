/// The policy as the shards use it.
struct RateLimits: Sendable {
    let maxRequests: Int
    let window: Double
    let threshold: Int
    let breakerWindow: Double
    let cooldown: Double

    init(_ p: RateLimitPolicy) {
        maxRequests = p.maxRequests
        window = p.windowSeconds
        threshold = p.breakerThreshold
        breakerWindow = p.breakerWindowSeconds
        cooldown = p.breakerCooldownSeconds
    }
}

/// What a shard decided; the reason strings are built outside the lock.
enum RateDecision {
    case allowed
    case rateLimited(retryAfter: Double)
    case breakerOpen(remaining: Double)
    case atCapacity
}

/// A caller id with its hash computed once (the limiter needs it to pick the shard anyway), so the dictionary
/// does not hash the string a second time.
struct CallerKey: Hashable, Sendable {
    let id: String
    let hash: Int

    init(_ id: String) {
        self.id = id
        self.hash = id.hashValue
    }

    static func == (a: CallerKey, b: CallerKey) -> Bool { a.hash == b.hash && a.id == b.id }
    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
}

/// One caller's state: 72 bytes inline plus its two rings' buffers.
struct CallerSlot: Sendable {
    /// The caller id (to unmap it on removal); "" in a free slot.
    var key: String
    /// Timestamps of the allowed requests, capped at `maxRequests`.
    var requests = TimestampRing()
    /// Timestamps of recorded denials, capped at `breakerThreshold`.
    var denies = TimestampRing()
    /// When the breaker opened; NaN while closed.
    var openedAt = Double.nan
    /// An upper bound of the moment the state expires (the latest request + window, denial + breaker window,
    /// opening + cooldown), so the sweep can pass over live callers without reading their timestamps.
    var quietAfter = -Double.infinity
    /// LRU neighbours (towards the most / least recently seen); `freeMarker` in `prev` marks a free slot, whose
    /// `next` then links the free list.
    var prev: Int32 = -1
    var next: Int32 = -1

    static let freeMarker = Int32.min
    var isFree: Bool { prev == Self.freeMarker }
}

/// A slice of the caller table behind one mutex: a dictionary from caller id to slot index, the slots in an
/// array with a free list, and an intrusive LRU list through the slots (head = most recently seen).
struct RateLimitShard: Sendable {
    /// Slots examined for expiry per mutating call (the lazy sweep).
    static let sweepPerCall = 2
    /// The slot array is compacted once at least this big and at most a quarter full.
    static let compactionMinimum = 1024

    let capacity: Int
    private var index: [CallerKey: Int32] = [:]
    private var slots: [CallerSlot] = []
    private var freeHead: Int32 = -1
    private var lruHead: Int32 = -1
    private var lruTail: Int32 = -1
    private(set) var live = 0
    private var sweepCursor = 0
    /// After a failed eviction scan: no tracked caller can become evictable before this time (the earliest moment
    /// one of them stops being blocked), so new callers are refused without scanning again.
    private var noEvictableBefore = -Double.infinity

    init(capacity: Int) {
        self.capacity = capacity
    }

    // MARK: - Operations

    mutating func check(_ caller: CallerKey, now: Double, _ l: RateLimits) -> RateDecision {
        maintain(now, l)
        guard let s = slot(for: caller, now: now, l) else { return .atCapacity }
        let i = Int(s)
        moveToFront(s)
        // 1. Circuit breaker.
        if l.threshold > 0 && !slots[i].openedAt.isNaN {
            let elapsed = now - slots[i].openedAt
            if elapsed < l.cooldown { return .breakerOpen(remaining: l.cooldown - elapsed) }
            slots[i].openedAt = .nan
            slots[i].denies.removeAll()
        }
        // 2. Sliding window log.
        slots[i].requests.prune(before: now - l.window)
        if Int(slots[i].requests.count) >= l.maxRequests {
            return .rateLimited(retryAfter: slots[i].requests.oldest + l.window - now)
        }
        // 3. Record.
        slots[i].requests.append(now, limit: l.maxRequests)
        slots[i].quietAfter = max(slots[i].quietAfter, now + l.window)
        return .allowed
    }

    /// Returns `false` when the caller could not be tracked (at capacity, every caller blocked).
    @discardableResult
    mutating func recordDeny(_ caller: CallerKey, now: Double, _ l: RateLimits) -> Bool {
        maintain(now, l)
        guard let s = slot(for: caller, now: now, l) else { return false }
        let i = Int(s)
        moveToFront(s)
        slots[i].denies.prune(before: now - l.breakerWindow)
        slots[i].denies.appendDroppingOldest(now, limit: l.threshold)
        slots[i].quietAfter = max(slots[i].quietAfter, now + l.breakerWindow)
        if Int(slots[i].denies.count) >= l.threshold {
            slots[i].openedAt = now
            slots[i].quietAfter = max(slots[i].quietAfter, now + l.cooldown)
        }
        return true
    }

    func state(of caller: CallerKey, now: Double, _ l: RateLimits) -> CallerRateState {
        guard let s = index[caller] else {
            return CallerRateState(
                caller: caller.id, requestsInWindow: 0, remaining: l.maxRequests, windowSeconds: l.window,
                resetsInSeconds: nil, deniesInWindow: 0, breakerOpen: false, breakerResumesInSeconds: nil)
        }
        let slot = slots[Int(s)]
        var open = false
        var resumesIn: Double?
        var denies = 0
        if l.threshold > 0 {
            if !slot.openedAt.isNaN {
                let elapsed = now - slot.openedAt
                if elapsed < l.cooldown {
                    open = true
                    resumesIn = l.cooldown - elapsed
                }
            }
            // An ended cooldown clears the denials at the next check: report what that check will see.
            let cooldownEnded = !slot.openedAt.isNaN && !open
            denies = cooldownEnded ? 0 : slot.denies.remaining(notBefore: now - l.breakerWindow)
        }
        let n = slot.requests.remaining(notBefore: now - l.window)
        var resetsIn: Double?
        if n > 0 { resetsIn = slot.requests[Int(slot.requests.count) - n] + l.window - now }
        return CallerRateState(
            caller: caller.id, requestsInWindow: n, remaining: max(0, l.maxRequests - n), windowSeconds: l.window,
            resetsInSeconds: resetsIn, deniesInWindow: denies, breakerOpen: open, breakerResumesInSeconds: resumesIn)
    }

    /// Open breakers (cooldown not over) among the tracked callers. O(slots).
    func breakersOpen(now: Double, _ l: RateLimits) -> Int {
        guard l.threshold > 0 else { return 0 }
        var n = 0
        for slot in slots where !slot.isFree && breakerOpen(slot, now, l) { n += 1 }
        return n
    }

    /// Drops every expired caller now (the lazy sweep does this a few slots at a time). Returns how many.
    mutating func removeExpired(now: Double, _ l: RateLimits) -> Int {
        var removed = 0
        for i in slots.indices where !slots[i].isFree && isExpired(slots[i], now, l) {
            remove(Int32(i))
            removed += 1
        }
        compactIfSparse()
        return removed
    }

    /// Heap bytes of this shard's structures, estimated (excludes the allocator's rounding and long caller ids).
    func estimatedBytes() -> Int {
        var bytes = slots.capacity * MemoryLayout<CallerSlot>.stride
        // Native dictionary: key + value per bucket, plus a metadata bit per bucket; buckets ≥ count / 0.75.
        bytes += index.capacity * 4 / 3 * (MemoryLayout<CallerKey>.stride + MemoryLayout<Int32>.stride + 1)
        for slot in slots where !slot.isFree {
            bytes += slot.requests.heapBytes + slot.denies.heapBytes
            if slot.key.utf8.count > 15 { bytes += 32 + slot.key.utf8.count }
        }
        return bytes
    }

    // MARK: - Predicates

    private func breakerOpen(_ s: CallerSlot, _ now: Double, _ l: RateLimits) -> Bool {
        l.threshold > 0 && !s.openedAt.isNaN && now - s.openedAt < l.cooldown
    }

    private func atLimit(_ s: CallerSlot, _ now: Double, _ l: RateLimits) -> Bool {
        // count ≤ maxRequests always; at the limit, the check denies unless the front would be pruned.
        Int(s.requests.count) >= l.maxRequests && !(s.requests.oldest < now - l.window)
    }

    /// If forgetting the caller would unblock it, the time from which it no longer would; else `nil`.
    private func blockedUntil(_ s: CallerSlot, _ now: Double, _ l: RateLimits) -> Double? {
        var until: Double?
        if breakerOpen(s, now, l) { until = s.openedAt + l.cooldown }
        if atLimit(s, now, l) { until = max(until ?? -.infinity, s.requests.oldest + l.window) }
        return until
    }

    /// Forgetting the caller changes no future decision: every logged request and denial is out of its window
    /// and the breaker is closed or its cooldown is over (the next check would close it and clear the denials).
    private func isExpired(_ s: borrowing CallerSlot, _ now: Double, _ l: RateLimits) -> Bool {
        guard now > s.quietAfter else { return false }  // cheap: no timestamps read
        guard s.requests.allBefore(now - l.window) else { return false }
        guard s.denies.allBefore(now - l.breakerWindow) else { return false }
        return s.openedAt.isNaN || now - s.openedAt >= l.cooldown
    }

    // MARK: - Table maintenance

    /// Amortised housekeeping on every mutating call: compaction of a sparse slot array, then a few slots of
    /// the expiry sweep. Runs before the caller is looked up, so indices stay valid for the rest of the call.
    private mutating func maintain(_ now: Double, _ l: RateLimits) {
        compactIfSparse()
        var steps = Self.sweepPerCall
        while steps > 0 && !slots.isEmpty {
            if sweepCursor >= slots.count { sweepCursor = 0 }
            let i = sweepCursor
            sweepCursor += 1
            steps -= 1
            if !slots[i].isFree && isExpired(slots[i], now, l) { remove(Int32(i)) }
        }
    }

    /// The caller's slot; a new one if untracked (evicting if the shard is full); `nil` at capacity.
    private mutating func slot(for caller: CallerKey, now: Double, _ l: RateLimits) -> Int32? {
        if let s = index[caller] { return s }
        if live >= capacity && !evictOne(now, l) { return nil }
        let s: Int32
        if freeHead >= 0 {
            s = freeHead
            freeHead = slots[Int(s)].next
            slots[Int(s)] = CallerSlot(key: caller.id)
        } else {
            s = Int32(slots.count)
            slots.append(CallerSlot(key: caller.id))
        }
        index[caller] = s
        live += 1
        linkFront(s)
        return s
    }

    /// Evicts the least recently seen caller that is neither rate-limited nor circuit-broken. Blocked callers met
    /// on the way are moved to the front (they count as in use), so the next scan does not walk them again.
    private mutating func evictOne(_ now: Double, _ l: RateLimits) -> Bool {
        if now < noEvictableBefore { return false }
        var earliest = Double.infinity
        var s = lruTail
        var visited = 0
        let n = live
        while s >= 0 && visited < n {
            let towardsHead = slots[Int(s)].prev
            if let until = blockedUntil(slots[Int(s)], now, l) {
                earliest = min(earliest, until)
                moveToFront(s)
            } else {
                remove(s)
                return true
            }
            s = towardsHead
            visited += 1
        }
        noEvictableBefore = earliest
        return false
    }

    private mutating func remove(_ s: Int32) {
        let i = Int(s)
        index.removeValue(forKey: CallerKey(slots[i].key))
        unlink(s)
        slots[i] = CallerSlot(key: "", prev: CallerSlot.freeMarker, next: freeHead)
        freeHead = s
        live -= 1
        noEvictableBefore = -.infinity
    }

    /// Rebuilds the slot array and the dictionary when at most a quarter of the slots are used, so memory
    /// shrinks back after a burst of callers. O(live), at most once per 3 × live removals: amortised O(1).
    private mutating func compactIfSparse() {
        guard slots.count >= Self.compactionMinimum && live * 4 <= slots.count else { return }
        var newSlots: [CallerSlot] = []
        newSlots.reserveCapacity(max(live * 2, 16))
        var newIndex: [CallerKey: Int32] = [:]
        newIndex.reserveCapacity(max(live * 2, 16))
        var s = lruHead
        while s >= 0 {
            var slot = slots[Int(s)]
            let n = Int32(newSlots.count)
            slot.prev = n - 1
            slot.next = -1
            if n > 0 { newSlots[Int(n) - 1].next = n }
            newIndex[CallerKey(slot.key)] = n
            s = slots[Int(s)].next
            newSlots.append(slot)
        }
        slots = newSlots
        index = newIndex
        freeHead = -1
        lruHead = newSlots.isEmpty ? -1 : 0
        lruTail = Int32(newSlots.count) - 1
        sweepCursor = 0
    }

    // MARK: - LRU list

    private mutating func linkFront(_ s: Int32) {
        slots[Int(s)].prev = -1
        slots[Int(s)].next = lruHead
        if lruHead >= 0 { slots[Int(lruHead)].prev = s }
        lruHead = s
        if lruTail < 0 { lruTail = s }
    }

    private mutating func unlink(_ s: Int32) {
        let p = slots[Int(s)].prev
        let n = slots[Int(s)].next
        if p >= 0 { slots[Int(p)].next = n } else { lruHead = n }
        if n >= 0 { slots[Int(n)].prev = p } else { lruTail = p }
        slots[Int(s)].prev = -1
        slots[Int(s)].next = -1
    }

    private mutating func moveToFront(_ s: Int32) {
        guard lruHead != s else { return }
        unlink(s)
        linkFront(s)
    }
}
