import AgentSafeCore
import AgentSafeTickets
import Crypto
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How appends reach the disk before the caller is acknowledged.
public enum AuditDurability: String, Sendable, CaseIterable {
    /// fsync per event.
    case always
    /// Group commit: one fsync covers every event queued while the previous one ran (the default).
    case batch
    /// Written to the OS, never fsync'd (a machine crash can lose the tail).
    case none
}

public struct AuditLogOptions: Sendable {
    public var path: String
    public var durability: AuditDurability
    /// Rotate when the active file reaches this size (0: never).
    public var rotateBytes: Int64
    /// Rotate when the active file is older than this (0: never).
    public var rotateSeconds: Int64
    /// A signed checkpoint every N events (0: never by count).
    public var checkpointEveryEvents: Int
    /// … or after this many seconds with unsigned events (0: never by time).
    public var checkpointEverySeconds: Double
    /// Signs checkpoints; without it no checkpoints are written.
    public var checkpointKey: SigningKey?

    public init(path: String, durability: AuditDurability = .batch, rotateBytes: Int64 = 64 << 20,
                rotateSeconds: Int64 = 0, checkpointEveryEvents: Int = 1000, checkpointEverySeconds: Double = 60,
                checkpointKey: SigningKey? = nil) {
        self.path = path
        self.durability = durability
        self.rotateBytes = rotateBytes
        self.rotateSeconds = rotateSeconds
        self.checkpointEveryEvents = checkpointEveryEvents
        self.checkpointEverySeconds = checkpointEverySeconds
        self.checkpointKey = checkpointKey
    }
}

public struct AuditError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The single writer of a log. Appends from any thread or task are queued and written by one thread in order,
/// so the chain never forks; each caller is acknowledged once its event is durable (per ``AuditDurability``).
///
/// Opening recovers from a crash: only the tail of the newest file is read; a torn last line is moved to a
/// `.torn` file (never deleted) and a `recovery` event records it, and the chain continues.
public final class AuditLog: @unchecked Sendable {
    public let options: AuditLogOptions
    public let files: AuditFileSet

    /// One append call: its events are written together (one write, one sync), or not at all.
    private struct Pending {
        var events: [AuditEvent]
        var complete: @Sendable (Result<[AuditReceipt], AuditError>) -> Void
    }

    private let condition = NSCondition()
    private var queue: [Pending] = []
    private var closing = false
    private var closed = false
    private var failed: AuditError?
    private var thread: Thread?
    private let stopped = DispatchSemaphore(value: 0)

    // Writer-thread state.
    private var fd: Int32 = -1
    /// `<path>.lock`, held (flock) for the writer's lifetime: a second writer on the same log is refused.
    private var lockFD: Int32 = -1
    private var size: Int64 = 0
    private var openedAt: Date = Date()
    private var nextSeq: Int64 = 1
    private var lastHash = AuditLine.genesis
    private var sinceCheckpoint = 0
    private var lastCheckpointAt = Date()
    /// A `recovery` event to write first, when the open found a torn tail.
    public private(set) var recovered: AuditReceipt?

    /// Statistics for metrics.
    public struct Stats: Sendable {
        public var appended: Int64 = 0
        public var fsyncs: Int64 = 0
        public var fsyncSeconds: Double = 0
        public var queueDepth = 0
        public var lastSeq: Int64 = 0
    }
    private var stats = Stats()

    public init(_ options: AuditLogOptions) throws {
        self.options = options
        self.files = AuditFileSet(path: options.path)
        try FileManager.default.createDirectory(atPath: files.directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try lock()
        let torn: Torn?
        do {
            torn = try recover()
        } catch {
            unlock()
            throw error
        }
        try openActive()
        if let torn {
            let event = AuditEvent(timestamp: Self.now(), eventType: .recovery,
                                   reason: "torn last line moved aside after an unclean shutdown",
                                   context: .object(["torn_file": .string(torn.file), "torn_bytes": .integer(Int64(torn.bytes)),
                                                     "torn_sha256": .string(torn.sha256)]))
            recovered = try writeNow([event]).first
        }
        // The thread holds the log until close() stops it.
        let thread = Thread { self.run() }
        thread.name = "agent-safe-audit-writer"
        self.thread = thread
        thread.start()
    }

    deinit {
        if fd >= 0 { _ = Glibc.close(fd) }
        unlock()
    }

    /// One writer per log, across processes: two would fork the chain.
    private func lock() throws {
        let path = options.path + ".lock"
        lockFD = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw AuditError("cannot open \(path): \(String(cString: strerror(errno)))") }
        if flock(lockFD, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            _ = Glibc.close(lockFD)
            lockFD = -1
            throw AuditError(busy
                ? "\(options.path) is being written by another process (a running 'agent-safe serve'?); one writer per log keeps the chain intact: stop it, or write elsewhere (--audit-log)"
                : "cannot lock \(path): \(String(cString: strerror(errno)))")
        }
    }

    private func unlock() {
        if lockFD >= 0 {
            _ = flock(lockFD, LOCK_UN)
            _ = Glibc.close(lockFD)
            lockFD = -1
        }
    }

    public var lastSequence: Int64 { condition.withLock { nextSeq - 1 } }
    /// False once a write failed or the log was closed.
    public var isWritable: Bool { condition.withLock { failed == nil && !closing } }
    public var currentStats: Stats { condition.withLock { var s = stats; s.queueDepth = queue.count; return s } }

    // MARK: - Appending

    /// Appends and waits until the event is durable (blocking the calling thread).
    public func append(_ event: AuditEvent) throws -> AuditReceipt {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<[AuditReceipt], AuditError>?>(nil)
        try push([event]) { result in
            box.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try box.withLock { $0! }.get()[0]
    }

    /// Appends and suspends until the event is durable.
    public func append(_ event: AuditEvent) async throws -> AuditReceipt {
        try await append([event])[0]
    }

    /// Appends events that belong together (a decision and the approval request it created): they are written in
    /// order, in one write covered by one sync, so they are durable together or not at all. Suspends until then.
    public func append(_ events: [AuditEvent]) async throws -> [AuditReceipt] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[AuditReceipt], any Error>) in
            do {
                try push(events) { result in continuation.resume(with: result.mapError { $0 as any Error }) }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    private func push(_ events: [AuditEvent], _ complete: @escaping @Sendable (Result<[AuditReceipt], AuditError>) -> Void) throws {
        condition.lock()
        defer { condition.unlock() }
        if let failed { throw failed }
        guard !closing else { throw AuditError("the audit log is closed") }
        queue.append(Pending(events: events, complete: complete))
        condition.signal()
    }

    /// Writes a final checkpoint (when a key is configured), flushes and stops the writer.
    public func close() {
        condition.lock()
        if closing {
            condition.unlock()
            return
        }
        closing = true
        condition.signal()
        condition.unlock()
        stopped.wait()
    }

    // MARK: - Writer thread

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && !closing {
                if options.checkpointKey != nil, options.checkpointEverySeconds > 0, sinceCheckpoint > 0 {
                    let due = lastCheckpointAt.addingTimeInterval(options.checkpointEverySeconds)
                    if !condition.wait(until: due) { break }
                } else {
                    condition.wait()
                }
            }
            let batch: [Pending]
            if options.durability == .always {
                batch = queue.isEmpty ? [] : [queue.removeFirst()]
            } else {
                batch = queue
                queue.removeAll(keepingCapacity: true)
            }
            let finishing = closing && queue.isEmpty
            condition.unlock()

            if !batch.isEmpty {
                do {
                    let receipts = try writeNow(batch.flatMap(\.events))
                    var next = 0
                    for p in batch {
                        p.complete(.success(Array(receipts[next..<(next + p.events.count)])))
                        next += p.events.count
                    }
                } catch let error as AuditError {
                    condition.withLock { failed = error }
                    for p in batch { p.complete(.failure(error)) }
                } catch {
                    let e = AuditError("\(error)")
                    condition.withLock { failed = e }
                    for p in batch { p.complete(.failure(e)) }
                }
            } else if !finishing, options.checkpointKey != nil, sinceCheckpoint > 0,
                options.checkpointEverySeconds > 0,
                Date().timeIntervalSince(lastCheckpointAt) >= options.checkpointEverySeconds
            {
                _ = try? writeNow([])  // time-based checkpoint only
            }
            if finishing {
                if options.checkpointKey != nil, sinceCheckpoint > 0 { _ = try? writeNow([], forceCheckpoint: true) }
                if fd >= 0 {
                    _ = fsync(fd)
                    _ = Glibc.close(fd)
                    fd = -1
                }
                unlock()
                condition.withLock { closed = true }
                stopped.signal()
                return
            }
        }
    }

    /// Serialises, writes in one go, syncs per durability, adds due checkpoints and rotates. Writer thread only
    /// (and `init`, before the thread starts).
    @discardableResult
    private func writeNow(_ events: [AuditEvent], forceCheckpoint: Bool = false) throws -> [AuditReceipt] {
        var buffer: [UInt8] = []
        var receipts: [AuditReceipt] = []
        var written = 0
        var seq = nextSeq
        var prev = lastHash
        var since = sinceCheckpoint
        @discardableResult
        func add(_ event: AuditEvent) -> AuditReceipt {
            let (line, hash) = AuditLine.encode(event, seq: seq, prevHash: prev)
            buffer += line
            let receipt = AuditReceipt(seq: seq, eventID: event.eventID, entryHash: hash)
            prev = hash
            seq += 1
            written += 1
            return receipt
        }
        for event in events {
            receipts.append(add(event))
            since += 1
            if let key = options.checkpointKey, options.checkpointEveryEvents > 0, since >= options.checkpointEveryEvents {
                add(Checkpoint.event(throughSeq: seq - 1, hash: prev, key: key))
                since = 0
            }
        }
        let timeDue = options.checkpointEverySeconds > 0
            && Date().timeIntervalSince(lastCheckpointAt) >= options.checkpointEverySeconds
        if let key = options.checkpointKey, since > 0, forceCheckpoint || (events.isEmpty && timeDue) {
            add(Checkpoint.event(throughSeq: seq - 1, hash: prev, key: key))
            since = 0
        }
        let start = size
        try writeAll(buffer)
        if options.durability != .none {
            let t0 = Date()
            guard fdatasync(fd) == 0 else {
                let message = String(cString: strerror(errno))
                _ = ftruncate(fd, off_t(start))
                size = start
                throw AuditError("fsync of \(options.path) failed: \(message)")
            }
            condition.withLock {
                stats.fsyncs += 1
                stats.fsyncSeconds += Date().timeIntervalSince(t0)
            }
        }
        let checkpointed = since < sinceCheckpoint + events.count
        nextSeq = seq
        lastHash = prev
        sinceCheckpoint = since
        if checkpointed || forceCheckpoint { lastCheckpointAt = Date() }
        condition.withLock {
            stats.appended += Int64(written)
            stats.lastSeq = seq - 1
        }
        try rotateIfDue()
        return receipts
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var written = 0
        let start = size
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let message = String(cString: strerror(errno))
                _ = ftruncate(fd, off_t(start))  // never leave half a batch behind
                throw AuditError("write to \(options.path) failed: \(message)")
            }
            written += n
        }
        size += Int64(bytes.count)
    }

    private func rotateIfDue() throws {
        let bySize = options.rotateBytes > 0 && size >= options.rotateBytes
        let byAge = options.rotateSeconds > 0 && Date().timeIntervalSince(openedAt) >= Double(options.rotateSeconds) && size > 0
        guard bySize || byAge else { return }
        guard let first = try Self.firstSeq(of: options.path) else { return }
        _ = fsync(fd)
        _ = Glibc.close(fd)
        fd = -1
        let target = files.rotatedName(firstSeq: first)
        guard rename(options.path, target) == 0 else {
            throw AuditError("cannot rotate \(options.path) to \(target): \(String(cString: strerror(errno)))")
        }
        try openActive()
        syncDirectory()
    }

    private func openActive() throws {
        fd = open(options.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AuditError("cannot open \(options.path): \(String(cString: strerror(errno)))") }
        var st = stat()
        fstat(fd, &st)
        size = Int64(st.st_size)
        openedAt = Date()
        syncDirectory()
    }

    private func syncDirectory() {
        let dfd = open(files.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            _ = Glibc.close(dfd)
        }
    }

    static func now() -> String {
        Instant(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)).iso8601
    }

    // MARK: - Recovery

    struct Torn {
        var file: String
        var bytes: Int
        var sha256: String
    }

    /// Finds where the chain stands by reading only the tail of the newest non-empty file; moves a torn last line
    /// aside. Refuses to open over a last line that is complete but not a valid entry (never guesses).
    private func recover() throws -> Torn? {
        var torn: Torn?
        for file in files.files().reversed() {
            guard let (lastLine, tornBytes) = try Self.tail(of: file) else { continue }
            if let tornBytes, file == options.path {
                let tornPath = options.path + "." + String(Int64(Date().timeIntervalSince1970)) + ".torn"
                guard FileManager.default.createFile(atPath: tornPath, contents: Data(tornBytes),
                                                     attributes: [.posixPermissions: 0o600])
                else { throw AuditError("cannot save the torn tail of \(file) to \(tornPath)") }
                let h = open(file, O_WRONLY | O_CLOEXEC)
                let keep = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int64 ?? 0) - Int64(tornBytes.count)
                guard h >= 0, ftruncate(h, off_t(keep)) == 0 else { throw AuditError("cannot truncate the torn tail of \(file)") }
                _ = fsync(h)
                _ = Glibc.close(h)
                torn = Torn(file: tornPath, bytes: tornBytes.count,
                            sha256: AuditLine.hex(SHA256.hash(data: tornBytes)))
            }
            guard let lastLine else { continue }
            guard let parsed = AuditLine.parse(lastLine), parsed.hashMatches else {
                throw AuditError("\(file): the last line is not a valid audit entry; run 'agent-safe audit verify' before writing more")
            }
            nextSeq = parsed.seq + 1
            lastHash = parsed.entryHash
            return torn
        }
        return torn
    }

    /// The last complete line of a file and the torn bytes after it, reading backwards in chunks.
    static func tail(of path: String) throws -> (ArraySlice<UInt8>?, [UInt8]?)? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let end = try handle.seekToEnd()
        guard end > 0 else { return nil }
        var chunk = 64 * 1024
        while true {
            let start = end > UInt64(chunk) ? end - UInt64(chunk) : 0
            try handle.seek(toOffset: start)
            let data = [UInt8](handle.readData(ofLength: Int(end - start)))
            var torn: [UInt8]?
            var body = data[...]
            if let lastNL = data.lastIndex(of: 0x0A) {
                if lastNL < data.count - 1 { torn = Array(data[(lastNL + 1)...]) }
                body = data[..<lastNL]
            } else if start == 0 {
                return (nil, data)
            } else {
                chunk *= 4
                continue
            }
            if let prevNL = body.lastIndex(of: 0x0A) {
                return (body[(prevNL + 1)...], torn)
            }
            if start == 0 { return (body, torn) }
            chunk *= 4
        }
    }

    static func firstSeq(of path: String) throws -> Int64? {
        guard var scanner = LineScanner(path: path), let first = scanner.next() else { return nil }
        try? scanner.handle.close()
        return AuditLine.parse(first.bytes)?.seq
    }
}
