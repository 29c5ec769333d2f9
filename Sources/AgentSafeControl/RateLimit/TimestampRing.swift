/// A FIFO of timestamps in a ring buffer that grows on demand (2, 4, 8, …) up to a fixed limit, so an occasional
/// caller costs a few bytes and a busy one at most `limit` timestamps. 16 bytes inline.
///
/// Pruning pops from the front while the front is older than the cutoff, exactly like upstream's
/// `deque.popleft()` loop (which also decides what happens if timestamps arrive slightly out of order).
struct TimestampRing: Sendable {
    private var storage: ContiguousArray<Double> = []
    private var head: Int32 = 0
    private(set) var count: Int32 = 0

    var isEmpty: Bool { count == 0 }

    /// The front (oldest appended) timestamp. Requires `!isEmpty`.
    var oldest: Double { storage[Int(head)] }

    @inline(__always)
    private func position(_ i: Int) -> Int {
        let p = Int(head) + i
        return p >= storage.count ? p - storage.count : p
    }

    /// The `i`-th timestamp from the front.
    subscript(i: Int) -> Double { storage[position(i)] }

    /// Pops from the front while the front is `< cutoff`.
    mutating func prune(before cutoff: Double) {
        while count > 0 && storage[Int(head)] < cutoff {
            head += 1
            if Int(head) == storage.count { head = 0 }
            count -= 1
        }
        if count == 0 { head = 0 }
    }

    /// How many timestamps `prune(before: cutoff)` would leave, without pruning.
    func remaining(notBefore cutoff: Double) -> Int {
        let n = Int(count)
        var i = 0
        while i < n && self[i] < cutoff { i += 1 }
        return n - i
    }

    /// Whether every timestamp is `< cutoff` (so pruning would empty the ring whatever the order). Checks from
    /// the newest, so it is O(1) for a ring in use.
    func allBefore(_ cutoff: Double) -> Bool {
        var i = Int(count) - 1
        while i >= 0 {
            if !(self[i] < cutoff) { return false }
            i -= 1
        }
        return true
    }

    /// Appends at the back. Requires `count < limit`.
    mutating func append(_ t: Double, limit: Int) {
        if Int(count) == storage.count { grow(limit: limit) }
        storage[position(Int(count))] = t
        count += 1
    }

    /// Appends at the back; when `limit` timestamps are held, the oldest is dropped first.
    mutating func appendDroppingOldest(_ t: Double, limit: Int) {
        if Int(count) >= limit {
            // count == limit == storage.count: overwrite the front and advance.
            storage[Int(head)] = t
            head += 1
            if Int(head) == storage.count { head = 0 }
            return
        }
        append(t, limit: limit)
    }

    mutating func removeAll() {
        storage = []
        head = 0
        count = 0
    }

    /// Bytes held on the heap (for the analytic memory bound; excludes the allocator's rounding).
    var heapBytes: Int { storage.isEmpty ? 0 : 32 + storage.count * MemoryLayout<Double>.stride }

    private mutating func grow(limit: Int) {
        let newCapacity = min(limit, max(2, storage.count * 2))
        precondition(newCapacity > storage.count, "TimestampRing: append beyond its limit")
        let n = Int(count)
        let old = storage
        let oldHead = Int(head)
        storage = ContiguousArray(unsafeUninitializedCapacity: newCapacity) { buffer, initialized in
            for i in 0..<n {
                let p = oldHead + i
                buffer[i] = old[p >= old.count ? p - old.count : p]
            }
            for i in n..<newCapacity { buffer[i] = 0 }
            initialized = newCapacity
        }
        head = 0
    }
}
