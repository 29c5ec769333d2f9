/// Consecutive audit lines shipped (and acknowledged) as one unit.
public struct ShipBatch: Sendable, Hashable {
    /// The lines, `seq` increasing by one, never empty.
    public let lines: [AuditLine]

    /// - Precondition: `lines` is not empty.
    public init(lines: [AuditLine]) {
        precondition(!lines.isEmpty, "a batch holds at least one line")
        self.lines = lines
    }

    public var firstSeq: Int64 { lines[0].seq }
    public var lastSeq: Int64 { lines[lines.count - 1].seq }

    /// Bytes of the lines, each with its `\n` (the size of the NDJSON body).
    public var byteCount: Int { lines.reduce(0) { $0 + $1.bytes.count + 1 } }

    /// `<first event_id>:<last entry_hash>`: the same lines always give the same key, so a receiver that sees a
    /// key twice can drop the second delivery. Bytes outside visible ASCII (and `%`) are percent-encoded, so the
    /// key is always a valid header value.
    public var idempotencyKey: String {
        Self.headerSafe(lines[0].eventID) + ":" + Self.headerSafe(lines[lines.count - 1].entryHash)
    }

    /// The lines as NDJSON: each line's bytes followed by `\n`.
    public var ndjson: [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(byteCount)
        for line in lines {
            body.append(contentsOf: line.bytes)
            body.append(0x0A)
        }
        return body
    }

    static func headerSafe(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            if byte > 0x20, byte < 0x7F, byte != 0x25 {
                out.append(byte)
            } else {
                out.append(contentsOf: [0x25, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A destination for audit lines. The runner calls ``ship(_:)`` with one batch at a time, in seq order, and
/// retries the same batch until it returns; a shipper returns only once the destination has acknowledged the
/// whole batch (written and synced, 2xx, PutObject succeeded), and throws otherwise.
///
/// Receiving a batch again (after a retry or a restart) must be harmless: shippers send the batch's
/// ``ShipBatch/idempotencyKey`` where the destination supports it, or write idempotently.
public protocol AuditShipper: Sendable {
    /// The configured name, unique among the shippers of one log (the cursor's key).
    var name: String { get }
    func ship(_ batch: ShipBatch) async throws
}
