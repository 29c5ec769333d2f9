import Foundation
import Testing

@testable import AgentSafeShipping

/// The runner with the real file shipper, a real log on disk and the real SQLite cursor store.
@Suite struct RunnerFileTests {
    static let fast = RetrySpec(baseMs: 5, maxMs: 50)

    func runner(
        _ log: AuditLogFixture, _ shipper: any AuditShipper, store: any ShipperCursorStore,
        batch: BatchSpec = BatchSpec(maxEvents: 50, maxBytes: 1 << 20, lingerMs: 5), retry: RetrySpec = fast
    ) -> ShipperRunner {
        ShipperRunner(
            logPath: log.path, members: [ShipperRunner.Member(shipper: shipper, batch: batch, retry: retry)],
            cursorStore: store, options: ShipperRunner.Options(pollInterval: .milliseconds(20)))
    }

    @Test func resumeAfterRestartShipsOnlyTheRest() async throws {
        let dir = try TemporaryDirectory("runner")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(120)
        let target = dir.file("archive/agent-safe.jsonl")
        let file = FileShipper(name: "archive", spec: FileShipperSpec(path: target))
        let state = dir.file("state")

        let first = RecordingShipper(name: "archive", wrapping: file)
        let result = await runner(log, first, store: try SQLiteShipperCursorStore(stateDirectory: state))
            .flush(timeout: .seconds(30))
        #expect(result.complete)
        #expect(result.targetSeq == 120)
        #expect(first.deliveredSeqs == Array(1...120))
        #expect(first.delivered.allSatisfy { $0.lines.count <= 50 })

        log.rotate()
        log.append(30)
        let second = RecordingShipper(name: "archive", wrapping: file)
        let store = try SQLiteShipperCursorStore(stateDirectory: state)
        let again = runner(log, second, store: store)
        let snapshotBefore = again.snapshot(named: "archive")
        #expect(snapshotBefore?.state == .stopped)
        let flushed = await again.flush(timeout: .seconds(30))
        #expect(flushed.complete)
        #expect(second.deliveredSeqs == Array(121...150))  // nothing re-sent
        #expect(readBytes(target) == log.ndjson(1...150))
        #expect(try await store.cursor(named: "archive")?.lastSeq == 150)
        let snapshot = try #require(flushed.snapshots.first)
        #expect(snapshot.shippedEvents == 30 && snapshot.lag == 0 && snapshot.cursor == 150)
    }

    @Test func stoppedMidwayAndRestartedLosesNothingAndLeavesNoGap() async throws {
        let dir = try TemporaryDirectory("runner")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(1000)
        log.rotate()
        log.append(1000)
        let target = dir.file("copy.jsonl")
        let file = FileShipper(name: "archive", spec: FileShipperSpec(path: target))
        let state = dir.file("state")

        // A slow destination, stopped (cancelled) while it is half-way.
        let slow = RecordingShipper(name: "archive", wrapping: file, delay: .milliseconds(2))
        let store = try SQLiteShipperCursorStore(stateDirectory: state)
        let first = runner(log, slow, store: store, batch: BatchSpec(maxEvents: 20, maxBytes: 1 << 20, lingerMs: 0))
        let task = Task { await first.run() }
        #expect(await eventually { (first.snapshot(named: "archive")?.cursor ?? 0) >= 500 })
        task.cancel()
        await task.value
        let stopped = try #require(try await store.cursor(named: "archive")?.lastSeq)
        #expect(stopped >= 500 && stopped < 2000)
        #expect(first.snapshot(named: "archive")?.state == .stopped)

        // Restart: resumes right after the durable cursor; the file ends up with every line exactly once.
        let resumed = RecordingShipper(name: "archive", wrapping: file)
        let result = await runner(log, resumed, store: try SQLiteShipperCursorStore(stateDirectory: state))
            .flush(timeout: .seconds(45))
        #expect(result.complete)
        #expect(resumed.deliveredSeqs.first == stopped + 1)
        #expect(resumed.deliveredSeqs == Array((stopped + 1)...2000))
        #expect(readBytes(target) == log.ndjson(1...2000))
    }

    @Test func followsALiveLogThroughRotationsAndFlushesOnShutdown() async throws {
        let dir = try TemporaryDirectory("runner")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        let target = dir.file("copy.jsonl")
        let shipper = RecordingShipper(name: "archive", wrapping: FileShipper(name: "archive", spec: FileShipperSpec(path: target)))
        let runner = runner(
            log, shipper, store: try SQLiteShipperCursorStore(stateDirectory: dir.file("state")),
            batch: BatchSpec(maxEvents: 100, maxBytes: 1 << 20, lingerMs: 30))
        let task = Task { await runner.run() }
        for round in 0..<20 {
            log.append(25)
            runner.notifyAppended()
            if round % 6 == 5 { log.rotate() }
            try await Task.sleep(for: .milliseconds(5))
        }
        let result = await runner.flush(timeout: .seconds(30))
        await task.value
        #expect(result.complete)
        #expect(result.targetSeq == 500)
        #expect(shipper.deliveredSeqs == Array(1...500))
        #expect(readBytes(target) == log.ndjson(1...500))
    }

    @Test func failuresAreRetriedWithTheSameBatchAndRecorded() async throws {
        let dir = try TemporaryDirectory("runner")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(30)
        let store = try SQLiteShipperCursorStore(stateDirectory: dir.file("state"))
        let shipper = RecordingShipper(name: "flaky", failFirst: 4)
        let runner = runner(log, shipper, store: store)
        let result = await runner.flush(timeout: .seconds(30))
        #expect(result.complete)
        #expect(shipper.deliveredSeqs == Array(1...30))
        let keys = shipper.attempts.prefix(5).map(\.idempotencyKey)
        #expect(Set(keys).count == 1)  // the refused batch was retried unchanged
        let snapshot = try #require(runner.snapshot(named: "flaky"))
        #expect(snapshot.failures == 4 && snapshot.consecutiveFailures == 0)
        #expect(snapshot.lastError?.contains("refused attempt 4") == true)
        let cursor = try #require(try await store.cursor(named: "flaky"))
        #expect(cursor.failures == 4 && cursor.lastSeq == 30)
    }

    @Test func flushGivesUpAtItsDeadlineWithoutMovingTheCursor() async throws {
        let dir = try TemporaryDirectory("runner")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(10)
        let store = try SQLiteShipperCursorStore(stateDirectory: dir.file("state"))
        let shipper = RecordingShipper(name: "down")
        shipper.setFailing(true)
        let runner = runner(log, shipper, store: store, retry: RetrySpec(baseMs: 20, maxMs: 100))
        let task = Task { await runner.run() }
        #expect(await eventually { (runner.snapshot(named: "down")?.failures ?? 0) >= 2 })
        let result = await runner.flush(timeout: .milliseconds(300))
        await task.value
        #expect(!result.complete)
        #expect(result.snapshots[0].lag == 10)
        #expect(result.snapshots[0].state == .stopped)
        let cursor = try #require(try await store.cursor(named: "down"))
        #expect(cursor.lastSeq == 0 && cursor.consecutiveFailures >= 2)
    }

    @Test func shipRangeResendsWithoutMovingTheCursorBack() async throws {
        let dir = try TemporaryDirectory("runner")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(80)
        let store = try SQLiteShipperCursorStore(stateDirectory: dir.file("state"))
        let shipper = RecordingShipper(name: "siem")
        let runner = runner(log, shipper, store: store)
        _ = await runner.flush(timeout: .seconds(20))
        #expect(try await store.cursor(named: "siem")?.lastSeq == 80)

        let again = RecordingShipper(name: "siem")
        let resend = try await self.runner(log, again, store: store).shipRange(to: "siem", fromSeq: 31)
        #expect(again.deliveredSeqs == Array(31...80))
        #expect(resend.firstSeq == 31 && resend.lastSeq == 80 && resend.events == 50 && resend.cursor == 80)
        #expect(try await store.cursor(named: "siem")?.lastSeq == 80)

        await #expect(throws: ShippingError.self) {
            try await self.runner(log, again, store: store).shipRange(to: "nope", fromSeq: 1)
        }
    }

    @Test func aGapStallsTheShipperUntilAnOperatorResendsPastIt() async throws {
        let dir = try TemporaryDirectory("runner")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(10)
        log.rotate()
        log.append(10)
        log.rotate()
        log.append(5)
        try FileManager.default.removeItem(atPath: dir.file(log.rotatedName(1)))  // pruned before shipping
        let store = try SQLiteShipperCursorStore(stateDirectory: dir.file("state"))
        let shipper = RecordingShipper(name: "late")
        let runner = runner(log, shipper, store: store)
        let task = Task { await runner.run() }
        #expect(await eventually { (runner.snapshot(named: "late")?.failures ?? 0) >= 1 })
        let stalled = try #require(runner.snapshot(named: "late"))
        #expect(stalled.lastError?.hasPrefix("sequence_gap") == true)
        #expect(shipper.attempts.isEmpty)  // nothing skipped silently

        // `agent-safe audit ship --to late --from-seq 11`: the cursor moves past the gap, the loop follows.
        let manual = try await ShipperRunner(
            logPath: log.path, members: [ShipperRunner.Member(shipper: RecordingShipper(name: "late"))],
            cursorStore: store
        ).shipRange(to: "late", fromSeq: 11)
        #expect(manual.cursor == 25)
        log.append(5)
        runner.notifyAppended()
        #expect(await eventually { runner.snapshot(named: "late")?.cursor == 30 })
        #expect(shipper.deliveredSeqs == Array(26...30))
        task.cancel()
        await task.value
    }
}
