/// A shipper's counters at one moment (metrics-like; cheap to take).
public struct ShipperSnapshot: Sendable, Hashable {
    /// What the shipper's loop is doing.
    public enum State: String, Sendable, Hashable {
        /// Loading its cursor.
        case starting
        /// Caught up, waiting for new lines (or lingering to fill a batch).
        case idle
        /// A batch is in flight.
        case shipping
        /// The last attempt failed; waiting before retrying the same batch.
        case retrying
        /// The loop ended (flush done, cancelled, or never started).
        case stopped
    }

    public var name: String
    public var state: State
    /// The last acknowledged seq (the durable cursor).
    public var cursor: Int64
    /// The seq of the last complete line in the log, as last seen.
    public var lastWrittenSeq: Int64
    /// Events acknowledged since the runner started.
    public var shippedEvents: Int
    /// Batches acknowledged since the runner started.
    public var batches: Int
    /// Failed attempts since the runner started.
    public var failures: Int
    /// Failed attempts since the last acknowledged batch (0 when healthy).
    public var consecutiveFailures: Int
    /// The most recent failure's message (never a secret); kept after recovery.
    public var lastError: String?

    /// Events written but not yet acknowledged: last written seq − cursor.
    public var lag: Int64 { max(0, lastWrittenSeq - cursor) }

    public init(name: String) {
        self.name = name
        self.state = .stopped
        self.cursor = 0
        self.lastWrittenSeq = 0
        self.shippedEvents = 0
        self.batches = 0
        self.failures = 0
        self.consecutiveFailures = 0
        self.lastError = nil
    }
}
