import AgentSafeCore

/// One complete line of the audit log: the exact bytes as written (without the terminating `\n`) and the
/// fields shippers need.
public struct AuditLine: Sendable, Hashable {
    /// The gap-free sequence number (1, 2, 3…).
    public let seq: Int64
    /// The event's id.
    public let eventID: String
    /// The event's hash (64 hex digits).
    public let entryHash: String
    /// The event's time as written (ISO 8601, UTC).
    public let timestamp: String
    /// The line exactly as written, without its `\n`. Shippers send these bytes unchanged.
    public let bytes: [UInt8]

    public init(seq: Int64, eventID: String, entryHash: String, timestamp: String, bytes: [UInt8]) {
        self.seq = seq
        self.eventID = eventID
        self.entryHash = entryHash
        self.timestamp = timestamp
        self.bytes = bytes
    }

    /// Parses a complete line (without `\n`) strictly: UTF-8, one JSON object, integer `seq` ≥ 1, non-empty
    /// string `event_id`, `entry_hash` of 64 hex digits, `timestamp` in ISO 8601.
    /// - Parameter origin: Where the line comes from (`file:offset`), used in errors only.
    public init(parsing bytes: [UInt8], origin: String) throws(ShippingError) {
        func malformed(_ why: String) -> ShippingError {
            ShippingError(.malformedLine, "\(origin): \(why)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw malformed("line is not valid UTF-8") }
        let value: JSONValue
        do {
            value = try JSONParser().parse(text)
        } catch {
            throw malformed("line is not JSON (\(error.message) at byte \(error.offset))")
        }
        guard let object = value.objectValue else { throw malformed("line is not a JSON object") }
        guard case .integer(let seq)? = object["seq"], seq >= 1 else {
            throw malformed("'seq' is missing or not a positive integer")
        }
        guard let eventID = object["event_id"]?.stringValue, !eventID.isEmpty else {
            throw malformed("'event_id' is missing or not a non-empty string")
        }
        guard let entryHash = object["entry_hash"]?.stringValue, Self.isHex64(entryHash) else {
            throw malformed("'entry_hash' is missing or not 64 hex digits")
        }
        guard let timestamp = object["timestamp"]?.stringValue, UTCTimestamp(iso8601: timestamp) != nil else {
            throw malformed("'timestamp' is missing or not an ISO 8601 date-time")
        }
        self.init(seq: seq, eventID: eventID, entryHash: entryHash, timestamp: timestamp, bytes: bytes)
    }

    /// Only `seq`, for lines whose other fields don't matter (a file shipper's target); nil when absent.
    static func seqOnly(_ bytes: [UInt8]) -> Int64? {
        guard let text = String(validating: bytes, as: UTF8.self),
            let value = try? JSONParser().parse(text), case .integer(let seq)? = value["seq"]
        else { return nil }
        return seq
    }

    static func isHex64(_ text: String) -> Bool {
        text.utf8.count == 64
            && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || (0x41...0x46).contains($0) }
    }
}
