import Foundation
import Testing

@testable import AgentSafeShipping

@Suite struct FileShipperTests {
    func batch(_ log: AuditLogFixture, _ range: ClosedRange<Int64>) throws -> ShipBatch {
        var reader = AuditLogReader(path: log.path, after: range.lowerBound - 1)
        return ShipBatch(lines: try reader.read(maxLines: range.count, maxBytes: 1 << 30).lines)
    }

    @Test func appendsCreatingDirectoriesAndIsIdempotentOnRetry() throws {
        let dir = try TemporaryDirectory("file")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(20)
        let target = dir.file("mnt/audit/deep/agent-safe.jsonl")
        let shipper = FileShipper(name: "archive", spec: FileShipperSpec(path: target))

        #expect(try shipper.append(batch(log, 1...10)) == 10)
        #expect(try shipper.append(batch(log, 1...10)) == 0)  // the same batch again: nothing added
        #expect(try shipper.append(batch(log, 5...15)) == 5)  // overlapping: only 11...15 added
        #expect(try shipper.append(batch(log, 16...20)) == 5)
        #expect(readBytes(target) == log.ndjson(1...20))
    }

    @Test func aTornTailInTheTargetIsMovedAsideBeforeAppending() throws {
        let dir = try TemporaryDirectory("file")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(6)
        let target = dir.file("copy.jsonl")
        let shipper = FileShipper(name: "archive", spec: FileShipperSpec(path: target))
        try shipper.append(batch(log, 1...3))
        // A crash in the middle of appending seq 4.
        let handle = try #require(FileHandle(forWritingAtPath: target))
        handle.seekToEndOfFile()
        handle.write(Data(log.line(4).utf8.prefix(25)))
        try handle.close()

        #expect(try shipper.append(batch(log, 4...6)) == 3)
        #expect(readBytes(target) == log.ndjson(1...6))
        #expect(readBytes(target + ".torn") == Array(log.line(4).utf8.prefix(25)) + [0x0A])
    }
}
