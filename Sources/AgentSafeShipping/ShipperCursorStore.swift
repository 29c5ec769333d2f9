/// A shipper's durable position: the last seq its destination acknowledged, and its failure record.
public struct ShipperCursor: Sendable, Hashable {
    /// The shipper's name.
    public var name: String
    /// The last acknowledged seq; 0 before the first batch.
    public var lastSeq: Int64
    /// Failed attempts since the cursor was created.
    public var failures: Int
    /// Failed attempts since the last acknowledged batch.
    public var consecutiveFailures: Int
    /// The last failure's message (never a secret), kept after later successes; `consecutiveFailures == 0`
    /// tells that the shipper has recovered.
    public var lastError: String?
    /// When the row last changed, milliseconds since 1970 (UTC).
    public var updatedAtMilliseconds: Int64

    public init(
        name: String, lastSeq: Int64 = 0, failures: Int = 0, consecutiveFailures: Int = 0, lastError: String? = nil,
        updatedAtMilliseconds: Int64 = 0
    ) {
        self.name = name
        self.lastSeq = lastSeq
        self.failures = failures
        self.consecutiveFailures = consecutiveFailures
        self.lastError = lastError
        self.updatedAtMilliseconds = updatedAtMilliseconds
    }
}

/// Where shippers keep their cursors. A cursor only moves forward, and only after the destination acknowledged
/// a batch, so a crash at any point re-sends (at least once) and never skips.
public protocol ShipperCursorStore: Sendable {
    /// The cursor of `name`, or nil when the shipper never shipped or failed.
    func cursor(named name: String) async throws -> ShipperCursor?
    /// Every stored cursor, by name.
    func allCursors() async throws -> [ShipperCursor]
    /// Records that everything up to `seq` was acknowledged: `last_seq = max(last_seq, seq)`, and clears the
    /// consecutive failures.
    func acknowledge(named name: String, through seq: Int64) async throws
    /// Records a failed attempt and its message.
    func recordFailure(named name: String, message: String) async throws
}
