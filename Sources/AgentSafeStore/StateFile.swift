import Foundation
import GRDB

/// Opens one SQLite file of the state directory: WAL, a busy timeout, the chosen durability, mode 0600 in a
/// 0700 directory. Each store has its own file (and migrations), so they evolve independently.
enum StateFile {
    static func open(path: String, synchronousFull: Bool) throws -> DatabaseQueue {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.journalMode = .wal
        let synchronous = synchronousFull ? "FULL" : "NORMAL"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        _ = chmod(path, 0o600)
        return queue
    }
}
