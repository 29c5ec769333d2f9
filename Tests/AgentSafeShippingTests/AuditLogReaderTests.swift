import Foundation
import Testing

@testable import AgentSafeShipping

@Suite struct AuditLogReaderTests {
    @Test func readsAcrossRotatedFilesInOrderWithBoundedChunks() throws {
        let dir = try TemporaryDirectory("reader")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(40, padding: 300)
        log.rotate()
        log.append(25, padding: 300)
        log.rotate()
        log.append(10, padding: 300)
        // Also a torn file and an unrelated file, both ignored.
        try Data("{\"seq\":999".utf8).write(to: URL(fileURLWithPath: dir.file("audit.jsonl.torn")))
        try Data("junk\n".utf8).write(to: URL(fileURLWithPath: dir.file("audit-notes.jsonl")))

        var reader = AuditLogReader(path: log.path, after: 0, chunkSize: 256)
        var all: [AuditLine] = []
        while true {
            let chunk = try reader.read(maxLines: 7, maxBytes: 1 << 20)
            if chunk.lines.isEmpty { break }
            #expect(chunk.lines.count <= 7)
            all += chunk.lines
        }
        #expect(all.map(\.seq) == Array(1...75))
        #expect(all.map { String(decoding: $0.bytes, as: UTF8.self) } == log.lines)
        #expect(reader.lastSeq == 75)
        #expect(try reader.lastWrittenSeq() == 75)
    }

    @Test func resumesAfterASeqSkippingWholeFiles() throws {
        let dir = try TemporaryDirectory("reader")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(100)
        log.rotate()
        log.append(100)
        log.rotate()
        log.append(5)
        // Corrupt the first rotated file: a reader resuming at 150 must never open it.
        let first = dir.file(log.rotatedName(1))
        try Data("not json\n".utf8).write(to: URL(fileURLWithPath: first))

        var reader = AuditLogReader(path: log.path, after: 150)
        let chunk = try reader.read(maxLines: 1000, maxBytes: 1 << 20)
        #expect(chunk.lines.first?.seq == 151)
        #expect(chunk.lines.last?.seq == 205)
        #expect(!chunk.reachedLimit)
    }

    @Test func neverReturnsAPartialLastLineAndPicksItUpOnceComplete() throws {
        let dir = try TemporaryDirectory("reader")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(3)
        let fourth = Array(log.line(4).utf8)
        log.appendRaw(Array(fourth[..<20]))

        var reader = AuditLogReader(path: log.path, after: 0)
        #expect(try reader.read(maxLines: 100, maxBytes: 1 << 20).lines.map(\.seq) == [1, 2, 3])
        #expect(try reader.read(maxLines: 100, maxBytes: 1 << 20).lines.isEmpty)
        #expect(try reader.lastWrittenSeq() == 3)

        log.appendRaw(Array(fourth[20...]) + [0x0A])
        let next = try reader.read(maxLines: 100, maxBytes: 1 << 20)
        #expect(next.lines.map(\.seq) == [4])
        #expect(next.lines[0].bytes == fourth)
    }

    @Test func continuesInTheRotatedFileAfterTheActiveFileWasRenamed() throws {
        let dir = try TemporaryDirectory("reader")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(10)
        var reader = AuditLogReader(path: log.path, after: 0)
        #expect(try reader.read(maxLines: 4, maxBytes: 1 << 20).lines.map(\.seq) == [1, 2, 3, 4])
        log.rotate()
        log.append(3)
        let rest = try reader.read(maxLines: 100, maxBytes: 1 << 20)
        #expect(rest.lines.map(\.seq) == Array(5...13))
    }

    @Test func respectsTheByteLimitButAlwaysReturnsAnOversizedFirstLine() throws {
        let dir = try TemporaryDirectory("reader")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(1, padding: 5000)
        log.append(3, padding: 10)
        var reader = AuditLogReader(path: log.path, after: 0, chunkSize: 1024)
        let first = try reader.read(maxLines: 100, maxBytes: 2048)
        #expect(first.lines.map(\.seq) == [1])
        #expect(first.reachedLimit)
        let second = try reader.read(maxLines: 100, maxBytes: 2048)
        #expect(second.lines.map(\.seq) == [2, 3, 4])
        var strict = AuditLogReader(path: log.path, after: 0)
        #expect(try strict.read(maxLines: 100, maxBytes: 2048, allowOversizedFirstLine: false).lines.isEmpty)
    }

    @Test func reportsAGapInsteadOfSkipping() throws {
        let dir = try TemporaryDirectory("reader")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(10)
        log.rotate()
        log.append(10)
        log.rotate()
        log.append(2)
        try FileManager.default.removeItem(atPath: dir.file(log.rotatedName(11)))  // seq 11...20 lost

        var reader = AuditLogReader(path: log.path, after: 5)
        let chunk = try reader.read(maxLines: 100, maxBytes: 1 << 20)
        #expect(chunk.lines.map(\.seq) == Array(6...10))
        let error = #expect(throws: ShippingError.self) { try reader.read(maxLines: 100, maxBytes: 1 << 20) }
        #expect(error?.code == .sequenceGap)
        #expect(reader.lastSeq == 10)
        var fresh = AuditLogReader(path: log.path, after: 20)
        #expect(try fresh.read(maxLines: 100, maxBytes: 1 << 20).lines.map(\.seq) == [21, 22])
    }

    @Test func malformedLineStopsAfterTheGoodLinesBeforeIt() throws {
        let dir = try TemporaryDirectory("reader")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(2)
        log.appendRaw(Array(#"{"seq":3,"event_id":"x"}"#.utf8) + [0x0A])
        var reader = AuditLogReader(path: log.path, after: 0)
        #expect(try reader.read(maxLines: 10, maxBytes: 1 << 20).lines.map(\.seq) == [1, 2])
        let error = #expect(throws: ShippingError.self) { try reader.read(maxLines: 10, maxBytes: 1 << 20) }
        #expect(error?.code == .malformedLine)
        #expect(error?.message.contains("entry_hash") == true)
    }

    @Test func emptyOrMissingLogHasNothing() throws {
        let dir = try TemporaryDirectory("reader")
        defer { dir.remove() }
        var reader = AuditLogReader(path: dir.file("nope/audit.jsonl"), after: 0)
        #expect(try reader.read(maxLines: 10, maxBytes: 1 << 20).lines.isEmpty)
        #expect(try reader.lastWrittenSeq() == 0)
    }

    @Test func rotatedNamesFollowTheLayout() {
        let files = AuditLogFileSet(activePath: "/x/audit.jsonl")
        #expect(files.rotatedName(firstSeq: 1001) == "audit-000000001001.jsonl")
        #expect(files.firstSeq(ofRotatedName: "audit-000000001001.jsonl") == 1001)
        #expect(files.firstSeq(ofRotatedName: "audit-1001.jsonl") == nil)
        #expect(files.firstSeq(ofRotatedName: "audit-000000001001.jsonl.torn") == nil)
        #expect(files.firstSeq(ofRotatedName: "other-000000001001.jsonl") == nil)
    }
}
