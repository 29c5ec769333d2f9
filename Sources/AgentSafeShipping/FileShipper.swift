import Logging

/// Appends batches to another file (a mounted volume, say) and fsyncs it before acknowledging.
///
/// Idempotent: before appending it reads the target's last line, and when that line's `seq` is at or past the
/// batch's first seq it skips the part already present, so a retry or a re-send never duplicates lines. A torn
/// last line in the target (a crash in the middle of an append) is moved to `<target>.torn` and cut off before
/// appending. The target belongs to this shipper: an exclusive `flock` covers check and append, so the CLI's
/// `audit ship` and a running server can share it.
public struct FileShipper: AuditShipper {
    public let name: String
    public let path: String
    private let logger: Logger

    public init(name: String, spec: FileShipperSpec, logger: Logger = Logger(label: "agent-safe.shipping.file")) {
        self.name = name
        self.path = spec.path
        var logger = logger
        logger[metadataKey: "shipper"] = "\(name)"
        self.logger = logger
    }

    public func ship(_ batch: ShipBatch) async throws {
        try append(batch)
    }

    /// The synchronous body of ``ship(_:)``; returns how many lines were appended (fewer than the batch when
    /// some were already present).
    @discardableResult
    public func append(_ batch: ShipBatch) throws(ShippingError) -> Int {
        do {
            return try appendLines(batch)
        } catch let error as SystemCallError {
            throw ShippingError(.writeFailed, error.description)
        } catch {
            throw ShippingError.wrap(error, as: .writeFailed, "appending to '\(path)' failed")
        }
    }

    private func appendLines(_ batch: ShipBatch) throws -> Int {
        let directory = PathText.directory(of: path)
        try POSIXFile.makeDirectories(directory)
        let (file, created) = try POSIXFile.openForAppending(path)
        try file.lockExclusively()
        if created { try POSIXFile.syncDirectory(directory) }
        let present = try lastSeqPresent(in: file)
        let lines = batch.lines.filter { $0.seq > present }
        guard !lines.isEmpty else {
            logger.debug("batch already present in the target", metadata: ["last_seq": "\(batch.lastSeq)"])
            return 0
        }
        try file.writeAll(ShipBatch(lines: lines).ndjson)
        try file.sync()
        return lines.count
    }

    /// The seq of the target's last complete line (0 when empty or unparseable). A torn tail is moved aside.
    private func lastSeqPresent(in file: POSIXFile) throws -> Int64 {
        let size = try file.size()
        guard size > 0 else { return 0 }
        if try file.read(at: size - 1, count: 1) != [0x0A] {
            try moveTornTail(of: file, size: size)
        }
        guard let line = try LineScanner.lastLine(of: file, chunkSize: 64 * 1024, maxLineBytes: 64 << 20) else {
            return 0
        }
        return AuditLine.seqOnly(line) ?? 0
    }

    private func moveTornTail(of file: POSIXFile, size: Int64) throws {
        var start = size
        var window: Int64 = 64 * 1024
        while true {
            let from = max(0, size - window)
            let bytes = try file.read(at: from, count: Int(size - from))
            if let newline = bytes.lastIndex(of: 0x0A) {
                start = from + Int64(newline + 1)
                break
            }
            if from == 0 {
                start = 0
                break
            }
            window *= 2
        }
        let torn = try file.read(at: start, count: Int(size - start))
        let (aside, _) = try POSIXFile.openForAppending(path + ".torn")
        try aside.writeAll(torn + [0x0A])
        try aside.sync()
        try file.truncate(to: start)
        try file.sync()
        logger.warning(
            "moved a torn last line of the target aside", metadata: ["bytes": "\(torn.count)", "to": "\(path).torn"])
    }
}
