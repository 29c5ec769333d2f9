import AgentSafeControl
import AgentSafeCore
import AgentSafeStore
import Foundation
import GRDB
import Testing

@Suite("Risk ledger table (SQLite)")
struct SQLiteRiskLedgerStoreTests {
    static func entry(_ id: String, at: Double, principal: String = "bot", keys: [String: String] = [:]) -> LedgerEntry {
        LedgerEntry(id: id, principal: principal, at: at, action: "restart-deployment", target: "prod/web",
                    namespace: "prod", keys: keys, risk: .high, score: 10)
    }

    @Test func appendsLoadsInTimeOrderAndPrunes() throws {
        let path = SQLiteReplayStoreTests.temporaryPath()
        defer { SQLiteReplayStoreTests.cleanup(path) }
        let store = try SQLiteRiskLedgerStore(path: path)
        // Recorded out of order across two batches (a reload hand-over can do that); read back by time.
        try store.append(contentsOf: [Self.entry("evt-b", at: 200), Self.entry("evt-a", at: 100, keys: ["image": "fp1"])])
        try store.append(Self.entry("evt-c", at: 150, principal: "other"))
        let all = try store.load(since: 0)
        #expect(all.map(\.id) == ["evt-a", "evt-c", "evt-b"])
        #expect(all[0] == Self.entry("evt-a", at: 100, keys: ["image": "fp1"]))
        #expect(try store.load(since: 150).map(\.id) == ["evt-c", "evt-b"])
        #expect(try store.prune(before: 150) == 1)
        #expect(try store.count() == 2)
    }

    @Test func theSameEntryWrittenTwiceIsStoredOnce() throws {
        let path = SQLiteReplayStoreTests.temporaryPath()
        defer { SQLiteReplayStoreTests.cleanup(path) }
        let store = try SQLiteRiskLedgerStore(path: path)
        let e = Self.entry("evt-a", at: 100)
        try store.append(contentsOf: [e, e])
        try store.append(e)
        #expect(try store.count() == 1)
        try store.remove(e)
        #expect(try store.count() == 0)
    }

    @Test func survivesReopening() throws {
        let path = SQLiteReplayStoreTests.temporaryPath()
        defer { SQLiteReplayStoreTests.cleanup(path) }
        let entries = (0..<300).map { Self.entry("evt-\($0)", at: 1_000 + Double($0) * 0.5, principal: "p\($0 % 7)") }
        do {
            let store = try SQLiteRiskLedgerStore(path: path)
            for batch in stride(from: 0, to: entries.count, by: 64) {
                try store.append(contentsOf: Array(entries[batch..<min(batch + 64, entries.count)]))
            }
        }
        #expect(try SQLiteRiskLedgerStore(path: path).load(since: 0) == entries)
    }

    /// A `ledger.sqlite` written by the first schema (keyed by the random id) is carried over on open.
    @Test func migratesTheFirstSchema() throws {
        let path = SQLiteReplayStoreTests.temporaryPath()
        defer { SQLiteReplayStoreTests.cleanup(path) }
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        do {
            let db = try DatabaseQueue(path: path)
            try db.write { db in
                try db.execute(sql: """
                    CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                    INSERT INTO grdb_migrations VALUES ('v1-risk-ledger');
                    CREATE TABLE risk_ledger (
                        id TEXT PRIMARY KEY NOT NULL, principal TEXT NOT NULL, at REAL NOT NULL, action TEXT NOT NULL,
                        target TEXT, namespace TEXT, keys TEXT NOT NULL, risk TEXT NOT NULL, score REAL NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX risk_ledger_at ON risk_ledger(at);
                    INSERT INTO risk_ledger VALUES ('evt-z', 'bot', 300, 'scale-deployment', NULL, NULL, '{}', 'medium', 5);
                    INSERT INTO risk_ledger VALUES ('evt-y', 'bot', 100, 'restart-deployment', 'prod/web', 'prod', '{"image":"fp"}', 'high', 10);
                    """)
            }
        }
        let store = try SQLiteRiskLedgerStore(path: path)
        let loaded = try store.load(since: 0)
        #expect(loaded.map(\.id) == ["evt-y", "evt-z"])
        #expect(loaded[0] == LedgerEntry(id: "evt-y", principal: "bot", at: 100, action: "restart-deployment",
                                         target: "prod/web", namespace: "prod", keys: ["image": "fp"], risk: .high, score: 10))
        #expect(loaded[1].target == nil && loaded[1].risk == .medium)
        try store.append(Self.entry("evt-x", at: 200))
        #expect(try store.load(since: 0).map(\.id) == ["evt-y", "evt-x", "evt-z"])
        let indexes = try DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'risk_ledger'")
        }
        #expect(!indexes.contains("risk_ledger_at"))
    }
}
