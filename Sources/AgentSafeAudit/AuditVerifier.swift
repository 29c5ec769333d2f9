import AgentSafeCore
import AgentSafeTickets
import Foundation

/// Verifies a log (a set of files, in seq order): every line's hash, the links, gap-free seq, and — with a key
/// ring — every checkpoint signature and that no events follow the last checkpoint.
public struct AuditVerifier: Sendable {
    public struct Failure: Sendable, Hashable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var seq: Int64?
        public var reason: String
        public var description: String { "\(file):\(line): \(reason)" }
    }

    public struct Report: Sendable {
        public var files: [String] = []
        public var events: Int64 = 0
        public var checkpoints = 0
        public var lastSeq: Int64 = 0
        public var lastHash = AuditLine.genesis
        /// Events after the last verified checkpoint (only counted when a key is given).
        public var unsignedTail: Int64 = 0
        public var failure: Failure?
        public var ok: Bool { failure == nil }
    }

    public var ring: KeyRing?
    /// Accept events after the last checkpoint (a live log); otherwise they fail verification when a key is given.
    public var allowUnsignedTail: Bool

    public init(ring: KeyRing? = nil, allowUnsignedTail: Bool = false) {
        self.ring = ring
        self.allowUnsignedTail = allowUnsignedTail
    }

    /// Verifies `paths` (files, or a log's active path whose rotated siblings are included), calling `progress`
    /// with bytes read now and then.
    public func verify(_ paths: [String], progress: ((Int64) -> Void)? = nil) -> Report {
        var report = Report()
        var expectedSeq: Int64 = 1
        var prev = AuditLine.genesis
        var bytesRead: Int64 = 0
        var sinceCheckpointLine: (file: String, line: Int)?
        for path in paths {
            report.files.append(path)
            guard var scanner = LineScanner(path: path) else {
                report.failure = Failure(file: path, line: 0, reason: "cannot read the file")
                return report
            }
            while let (number, bytes, partial) = scanner.next() {
                bytesRead += Int64(bytes.count + 1)
                if number % 65_536 == 0 { progress?(bytesRead) }
                if bytes.isEmpty && !partial { continue }
                func fail(_ reason: String, seq: Int64? = nil) -> Report {
                    report.failure = Failure(file: path, line: number, seq: seq, reason: reason)
                    return report
                }
                if partial { return fail("the last line is incomplete (torn write); restart the writer to recover it") }
                guard let parsed = AuditLine.parse(bytes) else {
                    return fail("not an audit entry (expected {\"seq\":…,\"prev_hash\":…,…,\"entry_hash\":…})")
                }
                guard parsed.hashMatches else { return fail("hash mismatch: the entry was modified", seq: parsed.seq) }
                guard parsed.seq == expectedSeq else {
                    return fail(parsed.seq > expectedSeq ? "seq gap: expected \(expectedSeq), found \(parsed.seq) (entries missing)"
                                : "seq \(parsed.seq) out of order: expected \(expectedSeq)", seq: parsed.seq)
                }
                guard parsed.prevHash == prev else {
                    return fail("broken link: prev_hash does not match the entry before", seq: parsed.seq)
                }
                // Checkpoints are the only lines parsed as JSON.
                if bytes.count < 4096, containsCheckpointType(bytes) {
                    guard let value = try? JSONValue.parse(String(decoding: bytes, as: UTF8.self)),
                        value["event_type"] == "checkpoint"
                    else { return fail("invalid JSON", seq: parsed.seq) }
                    if let ring {
                        if let problem = Checkpoint.problem(context: value["context"], prevSeq: parsed.seq - 1,
                                                            prevHash: parsed.prevHash, ring: ring) {
                            return fail(problem, seq: parsed.seq)
                        }
                        report.unsignedTail = 0
                        sinceCheckpointLine = nil
                    }
                    report.checkpoints += 1
                } else if ring != nil {
                    report.unsignedTail += 1
                    if sinceCheckpointLine == nil { sinceCheckpointLine = (path, number) }
                }
                report.events += 1
                report.lastSeq = parsed.seq
                report.lastHash = parsed.entryHash
                prev = parsed.entryHash
                expectedSeq += 1
            }
        }
        progress?(bytesRead)
        if ring != nil, report.unsignedTail > 0, !allowUnsignedTail, let at = sinceCheckpointLine {
            report.failure = Failure(
                file: at.file, line: at.line, seq: report.lastSeq - report.unsignedTail + 1,
                reason: "\(report.unsignedTail) event(s) after the last signed checkpoint (tail truncated, or the log is "
                    + "still being written: use --allow-tail for a live log)")
        }
        return report
    }

    func containsCheckpointType(_ bytes: ArraySlice<UInt8>) -> Bool {
        let needle = Array(#","event_type":"checkpoint""#.utf8)
        guard bytes.count >= needle.count else { return false }
        // The header is fixed: event_type comes within the first ~200 bytes.
        let window = bytes.prefix(256)
        var i = window.startIndex
        while i <= window.endIndex - needle.count {
            if window[i] == needle[0], Array(window[i..<(i + needle.count)]) == needle { return true }
            i += 1
        }
        return false
    }
}
