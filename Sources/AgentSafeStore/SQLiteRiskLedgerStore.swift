import AgentSafeControl
import AgentSafeCore
import Foundation
import GRDB

/// The cumulative-risk ledger's entries in `ledger.sqlite`: written as entries are recorded, read at start-up,
/// pruned as they leave the retention window. Param values appear only as the ledger's fingerprints.
public final class SQLiteRiskLedgerStore: RiskLedgerStore, @unchecked Sendable {
    public let path: String
    private let queue: DatabaseQueue

    public init(path: String, durabilityFull: Bool = false) throws {
        self.path = path
        queue = try StateFile.open(path: path, synchronousFull: durabilityFull)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-risk-ledger") { db in
            try db.execute(sql: """
                CREATE TABLE risk_ledger (
                    id TEXT PRIMARY KEY NOT NULL,
                    principal TEXT NOT NULL,
                    at REAL NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT,
                    namespace TEXT,
                    keys TEXT NOT NULL,
                    risk TEXT NOT NULL,
                    score REAL NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX risk_ledger_at ON risk_ledger(at);
                """)
        }
        // v2: keyed by (at, id). Entries arrive in time order, so a batch of inserts lands on the last leaf page or
        // two instead of one random page per entry (v1's random-id key wrote about one 4 KiB WAL frame per entry);
        // `at` no longer needs an index of its own.
        migrator.registerMigration("v2-time-ordered-key") { db in
            try db.execute(sql: """
                CREATE TABLE risk_ledger_v2 (
                    at REAL NOT NULL,
                    id TEXT NOT NULL,
                    principal TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT,
                    namespace TEXT,
                    keys TEXT NOT NULL,
                    risk TEXT NOT NULL,
                    score REAL NOT NULL,
                    PRIMARY KEY (at, id)
                ) WITHOUT ROWID;
                INSERT OR REPLACE INTO risk_ledger_v2(at, id, principal, action, target, namespace, keys, risk, score)
                    SELECT at, id, principal, action, target, namespace, keys, risk, score FROM risk_ledger;
                DROP TABLE risk_ledger;
                ALTER TABLE risk_ledger_v2 RENAME TO risk_ledger;
                """)
        }
        try migrator.migrate(queue)
    }

    public func append(_ entry: LedgerEntry) throws {
        try append(contentsOf: [entry])
    }

    public func append(contentsOf entries: [LedgerEntry]) throws {
        guard !entries.isEmpty else { return }
        try queue.write { db in
            let insert = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO risk_ledger(at, id, principal, action, target, namespace, keys, risk, score)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for entry in entries {
                var keys = ""
                JSONValue.object(entry.keys.mapValues(JSONValue.string)).appendCompact(to: &keys)
                try insert.execute(arguments: [entry.at, entry.id, entry.principal, entry.action, entry.target,
                                               entry.namespace, keys, entry.risk.rawValue, entry.score])
            }
        }
    }

    public func remove(_ entry: LedgerEntry) throws {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM risk_ledger WHERE at = ? AND id = ?", arguments: [entry.at, entry.id])
        }
    }

    public func load(since: Double) throws -> [LedgerEntry] {
        try queue.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, principal, at, action, target, namespace, keys, risk, score FROM risk_ledger
                WHERE at >= ? ORDER BY at
                """, arguments: [since])
            return rows.compactMap { row -> LedgerEntry? in
                let keysText: String = row["keys"]
                var keys: [String: String] = [:]
                if case .object(let o)? = try? JSONValue.parse(keysText) {
                    for (k, v) in o { if case .string(let s) = v { keys[k] = s } }
                }
                guard let risk = RiskClass(rawValue: row["risk"]) else { return nil }
                return LedgerEntry(id: row["id"], principal: row["principal"], at: row["at"], action: row["action"],
                                   target: row["target"], namespace: row["namespace"], keys: keys, risk: risk,
                                   score: row["score"])
            }
        }
    }

    @discardableResult
    public func prune(before: Double) throws -> Int {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM risk_ledger WHERE at < ?", arguments: [before])
            return db.changesCount
        }
    }

    public func count() throws -> Int {
        try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM risk_ledger") ?? 0 }
    }
}
