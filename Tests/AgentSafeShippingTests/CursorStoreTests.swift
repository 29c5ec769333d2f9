import Testing

@testable import AgentSafeShipping

@Suite struct CursorStoreTests {
    @Test func cursorsSurviveReopeningAndOnlyMoveForward() async throws {
        let dir = try TemporaryDirectory("store")
        defer { dir.remove() }
        do {
            let store = try SQLiteShipperCursorStore(stateDirectory: dir.file("state"))
            #expect(try store.journalMode() == "wal")
            #expect(try await store.cursor(named: "siem") == nil)
            try await store.acknowledge(named: "siem", through: 40)
            try await store.recordFailure(named: "siem", message: "rejected: POST https://siem.example/ingest answered HTTP 503")
            try await store.recordFailure(named: "siem", message: "transport: connection refused")
            try await store.acknowledge(named: "siem", through: 30)  // an older re-send never moves it back
            try await store.recordFailure(named: "s3", message: "credentials: missing")
        }
        let reopened = try SQLiteShipperCursorStore(path: dir.file("state/shippers.sqlite"))
        let siem = try #require(try await reopened.cursor(named: "siem"))
        #expect(siem.lastSeq == 40)
        #expect(siem.failures == 2)
        #expect(siem.consecutiveFailures == 0)
        #expect(siem.lastError == "transport: connection refused")
        #expect(siem.updatedAtMilliseconds > 1_700_000_000_000)
        let all = try await reopened.allCursors()
        #expect(all.map(\.name) == ["s3", "siem"])
        #expect(all[0].lastSeq == 0 && all[0].consecutiveFailures == 1)
    }
}
