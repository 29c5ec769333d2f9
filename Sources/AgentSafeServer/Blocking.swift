import Dispatch

/// Runs blocking work (an SQLite transaction) on Dispatch's threads, not on Swift concurrency's cooperative pool:
/// that pool has one thread per core, and a request parked in `sqlite3_step` there would stall every other request
/// scheduled on the same thread.
enum Blocking {
    static let queue = DispatchQueue(label: "agent-safe.blocking-io", qos: .userInitiated, attributes: .concurrent)

    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
