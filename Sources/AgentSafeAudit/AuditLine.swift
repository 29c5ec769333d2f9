import AgentSafeCore
import AgentSafeTickets
import Crypto

/// The line format and hash rule (docs/audit-format.md).
///
/// A line is `{"seq":N,"prev_hash":"<64 hex>","event_id":…,"timestamp":…,"event_type":…,<other fields, keys
/// sorted>,"entry_hash":"<64 hex>"}` and `entry_hash` = SHA-256 (hex) of the line's bytes without the
/// `,"entry_hash":"…"` member, that is: everything before it, followed by `}`. The hash is over exact bytes, so a
/// verifier in any language needs no JSON canonicalisation (whose float and escaping rules differ between
/// languages); the body is still canonical JSON (compact, sorted keys) so it re-serialises to itself.
public enum AuditLine {
    public static let genesis = String(repeating: "0", count: 64)
    static let hashSuffixPrefix = Array(#","entry_hash":""#.utf8)
    /// `,"entry_hash":"` + 64 hex + `"}`
    public static let suffixLength = 15 + 64 + 2

    /// Serialises an event at `seq` after `prevHash`; returns the line (with its newline) and its hash.
    public static func encode(_ event: AuditEvent, seq: Int64, prevHash: String) -> (line: [UInt8], hash: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1024)
        bytes.append(contentsOf: #"{"seq":"#.utf8)
        JSONValue.appendInteger(seq, to: &bytes)
        bytes.append(contentsOf: #","prev_hash":""#.utf8)
        bytes.append(contentsOf: prevHash.utf8)
        bytes.append(contentsOf: #"","event_id":"#.utf8)
        JSONValue.appendString(event.eventID, to: &bytes)
        bytes.append(contentsOf: #","timestamp":"#.utf8)
        JSONValue.appendString(event.timestamp, to: &bytes)
        bytes.append(contentsOf: #","event_type":""#.utf8)
        bytes.append(contentsOf: event.eventType.rawValue.utf8)
        bytes.append(UInt8(ascii: "\""))
        event.appendBody(to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        let hash = hex(SHA256.hash(data: bytes))
        bytes.removeLast()
        bytes += hashSuffixPrefix
        bytes += hash.utf8
        bytes += [UInt8(ascii: "\""), UInt8(ascii: "}"), UInt8(ascii: "\n")]
        return (bytes, hash)
    }

    /// The chain header and hash of a line (without its newline), checked structurally but not parsed as JSON.
    public struct Parsed: Sendable, Hashable {
        public var seq: Int64
        public var prevHash: String
        public var entryHash: String
        /// Whether the stored `entry_hash` is the hash of the line's body.
        public var hashMatches: Bool
    }

    public static func parse(_ line: some Collection<UInt8>) -> Parsed? {
        let bytes = Array(line)
        let prefix = Array(#"{"seq":"#.utf8)
        guard bytes.count > prefix.count + suffixLength, bytes.starts(with: prefix) else { return nil }
        var i = prefix.count
        var seq: Int64 = 0
        var digits = 0
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39, digits < 18 {
            seq = seq * 10 + Int64(bytes[i] - 0x30)
            i += 1
            digits += 1
        }
        guard digits > 0 else { return nil }
        let prevPrefix = Array(#","prev_hash":""#.utf8)
        guard bytes.count >= i + prevPrefix.count + 65, Array(bytes[i..<(i + prevPrefix.count)]) == prevPrefix else { return nil }
        i += prevPrefix.count
        let prev = bytes[i..<(i + 64)]
        guard isHex(prev), bytes[i + 64] == UInt8(ascii: "\"") else { return nil }
        let suffixStart = bytes.count - suffixLength
        guard Array(bytes[suffixStart..<(suffixStart + 15)]) == hashSuffixPrefix,
            bytes[bytes.count - 2] == UInt8(ascii: "\""), bytes[bytes.count - 1] == UInt8(ascii: "}")
        else { return nil }
        let stored = bytes[(suffixStart + 15)..<(suffixStart + 79)]
        guard isHex(stored) else { return nil }
        var body = Array(bytes[0..<suffixStart])
        body.append(UInt8(ascii: "}"))
        let computed = hex(SHA256.hash(data: body))
        let storedText = String(decoding: stored, as: UTF8.self)
        return Parsed(seq: seq, prevHash: String(decoding: prev, as: UTF8.self), entryHash: storedText,
                      hashMatches: computed == storedText)
    }

    static func isHex(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    static func hex(_ digest: SHA256.Digest) -> String { digest.withUnsafeBytes(Hex.encode(raw:)) }
}
