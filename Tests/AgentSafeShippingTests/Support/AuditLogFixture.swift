import Crypto
import Foundation

/// Writes audit logs in the documented format: one compact JSON object per line with `seq`, `event_id`,
/// `entry_hash` (dummy: SHA-256 of the seq) and `timestamp`, rotated files named `<stem>-<12-digit first
/// seq>.jsonl`. Keeps every line written, to compare with what arrives.
final class AuditLogFixture {
    let directory: String
    let path: String
    private(set) var nextSeq: Int64 = 1
    private(set) var activeFirstSeq: Int64 = 1
    private(set) var lines: [String] = []
    /// The first event's time; each seq adds `secondsPerEvent`.
    let start: Int64
    let secondsPerEvent: Int64

    init(directory: String, name: String = "audit.jsonl", start: Int64 = 1_706_745_590, secondsPerEvent: Int64 = 1) {
        self.directory = directory
        self.path = directory + "/" + name
        self.start = start
        self.secondsPerEvent = secondsPerEvent
        _ = FileManager.default.createFile(atPath: path, contents: nil)
    }

    static func eventID(_ seq: Int64) -> String { "0190a1b2-c3d4-7e5f-8a9b-\(String(format: "%012lld", seq))" }

    static func entryHash(_ seq: Int64) -> String {
        SHA256.hash(data: Array("entry-\(seq)".utf8)).map { String(format: "%02x", $0) }.joined()
    }

    func timestamp(_ seq: Int64) -> String {
        let date = Date(timeIntervalSince1970: TimeInterval(start + (seq - 1) * secondsPerEvent))
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// The line for `seq`, with a payload of about `padding` bytes and a non-ASCII caller.
    func line(_ seq: Int64, padding: Int = 0) -> String {
        let pad = String(repeating: "x", count: padding)
        return #"{"seq":\#(seq),"event_id":"\#(Self.eventID(seq))","timestamp":"\#(timestamp(seq))","#
            + #""event_type":"decision","caller":"agent-é","params":{"note":"a \"quoted\" value","seq":0},"#
            + #""pad":"\#(pad)","prev_hash":"\#(seq == 1 ? String(repeating: "0", count: 64) : Self.entryHash(seq - 1))","#
            + #""entry_hash":"\#(Self.entryHash(seq))"}"#
    }

    /// Appends `count` complete lines to the active file.
    @discardableResult
    func append(_ count: Int, padding: Int = 0) -> ClosedRange<Int64> {
        let first = nextSeq
        var text = ""
        for _ in 0..<count {
            let line = line(nextSeq, padding: padding)
            lines.append(line)
            text += line + "\n"
            nextSeq += 1
        }
        appendRaw(Array(text.utf8))
        return first...(nextSeq - 1)
    }

    /// Appends raw bytes to the active file (a partial line, say).
    func appendRaw(_ bytes: [UInt8]) {
        let handle = FileHandle(forWritingAtPath: path)!
        handle.seekToEndOfFile()
        handle.write(Data(bytes))
        try? handle.close()
    }

    /// Renames the active file to its rotated name and starts a new, empty active file.
    func rotate() {
        let rotated = directory + "/" + rotatedName(activeFirstSeq)
        try! FileManager.default.moveItem(atPath: path, toPath: rotated)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        activeFirstSeq = nextSeq
    }

    func rotatedName(_ firstSeq: Int64) -> String {
        let stem = (path as NSString).lastPathComponent.replacingOccurrences(of: ".jsonl", with: "")
        return "\(stem)-\(String(format: "%012lld", firstSeq)).jsonl"
    }

    /// The lines `range` as NDJSON bytes.
    func ndjson(_ range: ClosedRange<Int64>) -> [UInt8] {
        Array(range.map { lines[Int($0 - 1)] + "\n" }.joined().utf8)
    }
}
