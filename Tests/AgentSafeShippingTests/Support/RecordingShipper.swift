import Synchronization

@testable import AgentSafeShipping

/// Wraps a real shipper (or none), records every batch it is asked to ship, and fails the first `failFirst`
/// attempts or whenever `failing` is set.
final class RecordingShipper: AuditShipper {
    let name: String
    let inner: (any AuditShipper)?
    let failFirst: Int
    let delay: Duration?
    private let state = Mutex<(attempts: [ShipBatch], delivered: [ShipBatch], failing: Bool)>(([], [], false))

    init(name: String, wrapping inner: (any AuditShipper)? = nil, failFirst: Int = 0, delay: Duration? = nil) {
        self.name = name
        self.inner = inner
        self.failFirst = failFirst
        self.delay = delay
    }

    var attempts: [ShipBatch] { state.withLock { $0.attempts } }
    var delivered: [ShipBatch] { state.withLock { $0.delivered } }
    var deliveredSeqs: [Int64] { delivered.flatMap { $0.lines.map(\.seq) } }

    func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

    func ship(_ batch: ShipBatch) async throws {
        let (count, failing) = state.withLock { state -> (Int, Bool) in
            state.attempts.append(batch)
            return (state.attempts.count, state.failing)
        }
        if let delay { try await Task.sleep(for: delay) }
        if count <= failFirst || failing {
            throw ShippingError(.rejected, "test destination refused attempt \(count)")
        }
        try await inner?.ship(batch)
        state.withLock { $0.delivered.append(batch) }
    }
}
