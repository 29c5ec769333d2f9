import Foundation
import GRDB

/// ``ShipperCursorStore`` in SQLite (`<state dir>/shippers.sqlite`, WAL): one row per shipper in
/// `shipper_cursors(name, last_seq, failures, consecutive_failures, last_error, updated_at)`.
///
/// Each update is one transaction committed before the call returns (`synchronous = FULL` by default, so an
/// acknowledged cursor survives a power loss). Several processes (the server and `agent-safe audit ship`) may
/// share the file: `last_seq` only grows (`MAX`), so they cannot move a cursor back.
public final class SQLiteShipperCursorStore: ShipperCursorStore {
    /// The file name inside the state directory.
    public static let fileName = "shippers.sqlite"

    public let path: String
    private let queue: DatabaseQueue

    /// Opens (creating if needed) `<stateDirectory>/shippers.sqlite`; the directory is created with mode 0700.
    public convenience init(stateDirectory: String, fullSync: Bool = true) throws {
        try self.init(path: PathText.join(stateDirectory, Self.fileName), fullSync: fullSync)
    }

    /// Opens (creating if needed) the database at `path`.
    public init(path: String, fullSync: Bool = true) throws {
        self.path = path
        let directory = PathText.directory(of: path)
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.journalMode = .wal
        let synchronous = fullSync ? "FULL" : "NORMAL"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try Self.migrator.migrate(queue)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-shipper-cursors") { db in
            try db.execute(
                sql: """
                    CREATE TABLE shipper_cursors (
                        name TEXT PRIMARY KEY NOT NULL,
                        last_seq INTEGER NOT NULL DEFAULT 0,
                        failures INTEGER NOT NULL DEFAULT 0,
                        consecutive_failures INTEGER NOT NULL DEFAULT 0,
                        last_error TEXT,
                        updated_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        return migrator
    }

    /// The SQLite journal mode in force (`wal`).
    public func journalMode() throws -> String {
        try queue.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    public func cursor(named name: String) async throws -> ShipperCursor? {
        try await queue.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM shipper_cursors WHERE name = ?", arguments: [name])
                .map(Self.cursor(from:))
        }
    }

    public func allCursors() async throws -> [ShipperCursor] {
        try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM shipper_cursors ORDER BY name").map(Self.cursor(from:))
        }
    }

    /// Not interrupted by task cancellation (a synchronous write): a batch the destination acknowledged just
    /// before a shutdown is still recorded.
    public func acknowledge(named name: String, through seq: Int64) async throws {
        let now = Self.nowMilliseconds()
        try writeNow { db in
            try db.execute(
                sql: """
                    INSERT INTO shipper_cursors(name, last_seq, failures, consecutive_failures, last_error, updated_at)
                    VALUES (?, ?, 0, 0, NULL, ?)
                    ON CONFLICT(name) DO UPDATE SET
                        last_seq = MAX(last_seq, excluded.last_seq),
                        consecutive_failures = 0, updated_at = excluded.updated_at
                    """, arguments: [name, seq, now])
        }
    }

    public func recordFailure(named name: String, message: String) async throws {
        let now = Self.nowMilliseconds()
        let stored = String(message.prefix(1000))
        try writeNow { db in
            try db.execute(
                sql: """
                    INSERT INTO shipper_cursors(name, last_seq, failures, consecutive_failures, last_error, updated_at)
                    VALUES (?, 0, 1, 1, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET
                        failures = failures + 1, consecutive_failures = consecutive_failures + 1,
                        last_error = excluded.last_error, updated_at = excluded.updated_at
                    """, arguments: [name, stored, now])
        }
    }

    /// A synchronous write (GRDB's async one gives up when the task is cancelled).
    private func writeNow(_ updates: (Database) throws -> Void) throws {
        try queue.write(updates)
    }

    private static func cursor(from row: Row) -> ShipperCursor {
        ShipperCursor(
            name: row["name"], lastSeq: row["last_seq"], failures: row["failures"],
            consecutiveFailures: row["consecutive_failures"], lastError: row["last_error"],
            updatedAtMilliseconds: row["updated_at"])
    }

    private static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}
