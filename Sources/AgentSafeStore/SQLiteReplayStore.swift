import AgentSafeTickets
import Foundation
import GRDB

/// Durable single use for tickets: consumed `jti`s live in an SQLite table (WAL mode) until they expire.
///
/// `consume` is one `INSERT … ON CONFLICT DO NOTHING`: SQLite's write lock makes it atomic between threads and
/// between processes sharing the file, so of two concurrent consumers exactly one sees its row inserted. The row
/// is committed before `consume` returns, so a restart remembers it. Expired rows are pruned in small batches as
/// consumes go by (and when the store opens), keeping the table, and each consume, flat.
public final class SQLiteReplayStore: ReplayGuard, @unchecked Sendable {
    /// How commits reach the disk. `normal` (the default) survives a crash of the process; `full` also survives
    /// a power loss, at the cost of an fsync per consume.
    public enum Durability: String, Sendable, CaseIterable {
        case normal, full
    }

    public let path: String
    private let queue: DatabaseQueue
    private let pruneEvery: Int
    private var consumesSincePrune = 0  // guarded by the queue's serial writes

    /// Opens (creating if needed) the store at `path`; its directory is created with mode 0700.
    public init(path: String, durability: Durability = .normal, pruneEvery: Int = 256) throws {
        self.path = path
        self.pruneEvery = max(1, pruneEvery)
        queue = try StateFile.open(path: path, synchronousFull: durability == .full)
        try Self.migrator.migrate(queue)
        _ = try queue.write { db in try Self.prune(db, now: Int64(Date().timeIntervalSince1970), limit: nil) }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-consumed-tickets") { db in
            try db.execute(sql: """
                CREATE TABLE consumed_tickets (
                    jti TEXT PRIMARY KEY NOT NULL,
                    expires_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX consumed_tickets_expiry ON consumed_tickets(expires_at);
                """)
        }
        return migrator
    }

    public func consume(jti: String, expiresAt: Int64, now: Int64) throws -> Bool {
        try queue.write { db in
            consumesSincePrune += 1
            if consumesSincePrune >= pruneEvery {
                consumesSincePrune = 0
                try Self.prune(db, now: now, limit: pruneEvery * 4)
            }
            // An expired row still in the table (not pruned yet) no longer protects anything: replace it.
            // A cached prepared statement: compiled once per connection, not per consume.
            let insert = try db.cachedStatement(sql: """
                INSERT INTO consumed_tickets(jti, expires_at) VALUES (?, ?)
                ON CONFLICT(jti) DO UPDATE SET expires_at = excluded.expires_at
                WHERE consumed_tickets.expires_at < ?
                """)
            try insert.execute(arguments: [jti, expiresAt, now])
            return db.changesCount == 1
        }
    }

    public func isConsumed(jti: String, now: Int64) throws -> Bool {
        try queue.read { db in
            try Int64.fetchOne(db, sql: "SELECT expires_at FROM consumed_tickets WHERE jti = ?", arguments: [jti])
                .map { $0 >= now } ?? false
        }
    }

    /// Rows currently stored (expired ones not yet pruned included).
    public func count() throws -> Int {
        try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM consumed_tickets") ?? 0 }
    }

    /// Deletes every expired row now; returns how many.
    @discardableResult
    public func pruneExpired(now: Int64) throws -> Int {
        try queue.write { db in try Self.prune(db, now: now, limit: nil) }
    }

    @discardableResult
    static func prune(_ db: Database, now: Int64, limit: Int?) throws -> Int {
        if let limit {
            try db.execute(sql: """
                DELETE FROM consumed_tickets WHERE jti IN
                  (SELECT jti FROM consumed_tickets WHERE expires_at < ? ORDER BY expires_at LIMIT ?)
                """, arguments: [now, limit])
        } else {
            try db.execute(sql: "DELETE FROM consumed_tickets WHERE expires_at < ?", arguments: [now])
        }
        return db.changesCount
    }
}
