import Dispatch
import NIOCore
import NIOPosix

/// Runs blocking work (an SQLite transaction) on Dispatch's threads, not on the threads that run requests: those
/// are few (one event loop per core under `agent-safe serve`), and a request parked in `sqlite3_step` there would
/// stall every other request scheduled on the same thread.
enum Blocking {
    static let queue = DispatchQueue(label: "agent-safe.blocking-io", qos: .userInitiated, attributes: .concurrent)

    /// The caller resumes on the event loop it was on, when it was on one (see ``Sidecar/appendAudit(_:)``).
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                let result = Result { try work() }
                if let loop { loop.execute { continuation.resume(with: result) } } else { continuation.resume(with: result) }
            }
        }
    }
}
