import Logging
import Synchronization

/// Runs the shippers of one audit log: one loop per shipper, each reading the log from its durable cursor,
/// batching, shipping, and moving the cursor only after the destination acknowledged.
///
/// - ``run()`` runs every loop until the task is cancelled or a ``flush(timeout:)`` completes; await it from a
///   service group or the CLI.
/// - A failure is retried with exponential backoff and full jitter, forever, with the same batch (same
///   idempotency key): nothing is dropped or skipped. A loop keeps at most one batch in memory.
/// - ``flush(timeout:)`` ships everything written when it is called, then stops the loops (graceful shutdown).
/// - ``snapshots()`` reports per-shipper counters and lag.
/// - ``shipRange(to:fromSeq:maxAttempts:)`` re-sends a range on demand (`agent-safe audit ship`).
///
/// A runner runs once: after `run()` returned, make a new one (it resumes from the durable cursors).
public final class ShipperRunner: Sendable {
    /// A shipper and its batching and retry settings.
    public struct Member: Sendable {
        public var shipper: any AuditShipper
        public var batch: BatchSpec
        public var retry: RetrySpec

        public init(shipper: any AuditShipper, batch: BatchSpec = BatchSpec(), retry: RetrySpec = RetrySpec()) {
            self.shipper = shipper
            self.batch = batch
            self.retry = retry
        }
    }

    /// Tuning that the configuration file does not expose.
    public struct Options: Sendable {
        /// How often an idle loop looks for new lines when ``ShipperRunner/notifyAppended()`` is not called.
        public var pollInterval: Duration
        /// Bytes per log read.
        public var chunkSize: Int
        /// Longest log line accepted.
        public var maxLineBytes: Int

        public init(pollInterval: Duration = .milliseconds(250), chunkSize: Int = 64 * 1024, maxLineBytes: Int = 16 << 20) {
            self.pollInterval = pollInterval
            self.chunkSize = chunkSize
            self.maxLineBytes = maxLineBytes
        }
    }

    /// What ``flush(timeout:)`` achieved.
    public struct FlushResult: Sendable, Hashable {
        /// The last seq written when the flush began; every shipper was to reach it.
        public var targetSeq: Int64
        /// Every shipper's cursor reached `targetSeq` before the deadline.
        public var complete: Bool
        public var snapshots: [ShipperSnapshot]
    }

    struct FlushRequest: Sendable {
        var deadline: ContinuousClock.Instant
        var targetSeq: Int64
    }

    enum Phase: Sendable {
        case idle, running, finished
    }

    struct Control {
        var phase = Phase.idle
        var flush: FlushRequest?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Per-shipper state shared between its loop and readers of snapshots.
    final class Lane: Sendable {
        let member: Member
        let backoff: Backoff
        /// New lines may be available (notifyAppended, flush).
        let appended = Wakeup()
        /// A flush began: cut a retry wait short.
        let flushing = Wakeup()
        let stats: Mutex<ShipperSnapshot>

        init(member: Member) {
            self.member = member
            self.backoff = Backoff(member.retry)
            self.stats = Mutex(ShipperSnapshot(name: member.shipper.name))
        }

        func update(_ change: (inout ShipperSnapshot) -> Void) {
            stats.withLock { change(&$0) }
        }
    }

    public let logPath: String
    let store: any ShipperCursorStore
    let options: Options
    let logger: Logger
    let lanes: [Lane]
    let control = Mutex(Control())

    /// - Parameters:
    ///   - logPath: The active audit log file.
    ///   - members: The shippers; names must be unique.
    ///   - cursorStore: Where cursors are kept (``SQLiteShipperCursorStore``).
    public init(
        logPath: String, members: [Member], cursorStore: any ShipperCursorStore, options: Options = Options(),
        logger: Logger = Logger(label: "agent-safe.shipping")
    ) {
        precondition(Set(members.map(\.shipper.name)).count == members.count, "shipper names must be unique")
        self.logPath = logPath
        self.store = cursorStore
        self.options = options
        self.logger = logger
        self.lanes = members.map(Lane.init(member:))
    }

    /// The shippers' names, in configuration order.
    public var shipperNames: [String] { lanes.map(\.member.shipper.name) }

    /// Every shipper's counters, in configuration order.
    public func snapshots() -> [ShipperSnapshot] {
        lanes.map { lane in lane.stats.withLock { $0 } }
    }

    /// The counters of the shipper called `name`.
    public func snapshot(named name: String) -> ShipperSnapshot? {
        lanes.first { $0.member.shipper.name == name }?.stats.withLock { $0 }
    }

    /// Tells the loops that lines were appended, so they need not wait for the next poll. Cheap; call it after
    /// each durable append (or group commit).
    public func notifyAppended() {
        for lane in lanes { lane.appended.signal() }
    }

    /// Runs every shipper's loop until the task is cancelled or a flush completes. Returns normally in both
    /// cases. Calling it a second time returns at once.
    public func run() async {
        let start = control.withLock { control -> Bool in
            guard control.phase == .idle else { return false }
            control.phase = .running
            return true
        }
        guard start else {
            logger.warning("shipper runner already ran")
            return
        }
        await runLanes()
    }

    /// Ships everything written up to now, then stops the loops and makes ``run()`` return. Waits at most
    /// `timeout`; a batch still in flight at the deadline is abandoned (it will be re-sent after a restart).
    /// Without a running ``run()``, the flush runs the loops itself (the CLI's one-shot drain).
    @discardableResult
    public func flush(timeout: Duration) async -> FlushResult {
        let request = beginFlush(timeout: timeout)
        let action = control.withLock { control -> Phase in
            let phase = control.phase
            if phase == .idle { control.phase = .running }
            return phase
        }
        switch action {
        case .idle:
            await runLanes()
        case .running:
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let finished = control.withLock { control -> Bool in
                    guard control.phase != .finished else { return true }
                    control.waiters.append(continuation)
                    return false
                }
                if finished { continuation.resume() }
            }
        case .finished:
            break
        }
        let snapshots = snapshots()
        return FlushResult(
            targetSeq: request.targetSeq, complete: snapshots.allSatisfy { $0.cursor >= request.targetSeq },
            snapshots: snapshots)
    }

    /// Starts a flush without waiting for it (for a synchronous graceful-shutdown handler); ``run()`` returns
    /// when it completes or at the deadline.
    @discardableResult
    public func beginFlush(timeout: Duration) -> (deadline: ContinuousClock.Instant, targetSeq: Int64) {
        let reader = AuditLogReader(
            path: logPath, after: 0, chunkSize: options.chunkSize, maxLineBytes: options.maxLineBytes)
        let target = (try? reader.lastWrittenSeq()) ?? 0
        let request = control.withLock { control -> FlushRequest in
            if let existing = control.flush { return existing }
            let request = FlushRequest(deadline: .now + timeout, targetSeq: target)
            control.flush = request
            return request
        }
        logger.info("flushing audit shippers", metadata: ["target_seq": "\(request.targetSeq)"])
        for lane in lanes {
            lane.appended.signal()
            lane.flushing.signal()
        }
        return (request.deadline, request.targetSeq)
    }

    var currentFlush: FlushRequest? { control.withLock { $0.flush } }

    private func runLanes() async {
        await withTaskGroup(of: Void.self) { group in
            for lane in lanes {
                group.addTask { await self.runLoop(lane) }
            }
        }
        let waiters = control.withLock { control -> [CheckedContinuation<Void, Never>] in
            control.phase = .finished
            defer { control.waiters = [] }
            return control.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
