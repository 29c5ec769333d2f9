/// Reads the complete lines of an audit log with `seq` greater than a resume point, in order, across the
/// rotated files and the active file, with bounded memory (fixed-size chunked reads).
///
/// A reader is a value that remembers where it stopped (the file, by its first seq, and the byte offset), so
/// successive ``read(maxLines:maxBytes:)`` calls continue without rescanning, also after the active file was
/// rotated (renamed) in between. Resuming from a seq skips every rotated file whose range lies below it, using
/// the next file's first seq. Each call lists the directory again, so new and rotated files are seen.
///
/// A final line without `\n` is being written (or torn) and is never returned. A missing sequence number is
/// reported as ``ShippingError/Code/sequenceGap`` (after listing the files again, to rule out a rotation in
/// progress); nothing is ever skipped silently.
public struct AuditLogReader: Sendable {
    /// What one ``read(maxLines:maxBytes:)`` returned.
    public struct Chunk: Sendable, Hashable {
        /// Consecutive lines, `seq` increasing by one.
        public var lines: [AuditLine] = []
        /// Bytes of the lines, each counted with its `\n`.
        public var byteCount = 0
        /// True when a limit stopped the read (more lines were available).
        public var reachedLimit = false
    }

    struct Position: Sendable, Hashable {
        var fileFirstSeq: Int64
        var offset: Int64
    }

    struct Entry {
        var path: String
        var firstSeq: Int64
    }

    public let files: AuditLogFileSet
    public let chunkSize: Int
    public let maxLineBytes: Int
    /// The seq of the last line returned, or the resume point before any.
    public private(set) var lastSeq: Int64
    private var position: Position?

    /// - Parameters:
    ///   - path: The active file's path.
    ///   - seq: Resume point: the first line returned has `seq + 1`.
    ///   - chunkSize: Bytes per read (64 KiB).
    ///   - maxLineBytes: Longest line accepted (16 MiB); a longer one is an error.
    public init(path: String, after seq: Int64, chunkSize: Int = 64 * 1024, maxLineBytes: Int = 16 << 20) {
        self.files = AuditLogFileSet(activePath: path)
        self.lastSeq = max(0, seq)
        self.chunkSize = max(256, chunkSize)
        self.maxLineBytes = max(1024, maxLineBytes)
    }

    /// The next lines that are complete now, at most `maxLines` and `maxBytes` (lines with their `\n`). The
    /// first line is returned even when it alone exceeds `maxBytes`, unless `allowOversizedFirstLine` is false.
    /// Returns no lines when nothing new is written.
    public mutating func read(maxLines: Int, maxBytes: Int, allowOversizedFirstLine: Bool = true)
        throws(ShippingError) -> Chunk
    {
        var attempt = 0
        while true {
            var chunk = Chunk()
            let entries = try listEntries()
            let gap: (found: Int64, path: String)?
            do {
                gap = try read(
                    entries, into: &chunk, maxLines: max(1, maxLines), maxBytes: maxBytes,
                    allowOversizedFirstLine: allowOversizedFirstLine)
            } catch {
                // Hand out the good lines before the bad one; the error recurs on the next read.
                if !chunk.lines.isEmpty { return chunk }
                throw error
            }
            guard let gap else { return chunk }
            if !chunk.lines.isEmpty { return chunk }
            // A rotation between listing and opening looks like a gap: list again before believing it.
            attempt += 1
            position = nil
            if attempt >= 3 {
                throw ShippingError(
                    .sequenceGap,
                    "expected seq \(lastSeq + 1) but the next line in the log is seq \(gap.found) (\(gap.path))")
            }
        }
    }

    /// The seq of the last complete line written (0 when the log is empty or absent).
    public func lastWrittenSeq() throws(ShippingError) -> Int64 {
        var paths = try files.rotatedFiles().map(\.path)
        paths.append(files.activePath)
        for path in paths.reversed() {
            let file: POSIXFile?
            do { file = try POSIXFile.openForReading(path) } catch { throw ShippingError(.logUnreadable, error.description) }
            guard let file else { continue }
            if let line = try LineScanner.lastLine(of: file, chunkSize: chunkSize, maxLineBytes: maxLineBytes),
                let seq = AuditLine.seqOnly(line)
            {
                return seq
            }
        }
        return 0
    }

    /// Rotated files by first seq, then the active file when it has a complete first line.
    func listEntries() throws(ShippingError) -> [Entry] {
        var entries = try files.rotatedFiles().map { Entry(path: $0.path, firstSeq: $0.firstSeq) }
        if let first = try firstSeqOfActiveFile(), first > (entries.last?.firstSeq ?? 0) {
            entries.append(Entry(path: files.activePath, firstSeq: first))
        }
        return entries
    }

    private func firstSeqOfActiveFile() throws(ShippingError) -> Int64? {
        let file: POSIXFile?
        do { file = try POSIXFile.openForReading(files.activePath) } catch { throw ShippingError(.logUnreadable, error.description) }
        guard let file else { return nil }
        var scanner = LineScanner(file: file, offset: 0, chunkSize: chunkSize, maxLineBytes: maxLineBytes)
        guard let line = try scanner.nextLine() else { return nil }
        guard let seq = AuditLine.seqOnly(line.bytes) else {
            throw ShippingError(.malformedLine, "\(files.activePath):0: first line has no integer 'seq'")
        }
        return seq
    }

    /// Reads from the remembered position (or the file holding `lastSeq + 1`) onwards; returns the gap found,
    /// if any.
    private mutating func read(
        _ entries: [Entry], into chunk: inout Chunk, maxLines: Int, maxBytes: Int, allowOversizedFirstLine: Bool
    ) throws(ShippingError) -> (found: Int64, path: String)? {
        guard !entries.isEmpty else { return nil }
        let target = lastSeq + 1
        var index: Int
        var offset: Int64 = 0
        var remembered = false
        if let position, let i = entries.firstIndex(where: { $0.firstSeq == position.fileFirstSeq }) {
            (index, offset, remembered) = (i, position.offset, true)
        } else if let i = entries.lastIndex(where: { $0.firstSeq <= target }) {
            index = i
        } else {
            return (entries[0].firstSeq, entries[0].path)
        }

        while index < entries.count {
            let entry = entries[index]
            let opened: POSIXFile?
            do { opened = try POSIXFile.openForReading(entry.path) } catch { throw ShippingError(.logUnreadable, error.description) }
            guard let file = opened else { return nil }  // renamed or removed since listing: next call lists again
            var scanner = LineScanner(file: file, offset: offset, chunkSize: chunkSize, maxLineBytes: maxLineBytes)
            var firstInFile = true
            while let raw = try scanner.nextLine() {
                let isFirstInFile = firstInFile
                firstInFile = false
                if chunk.lines.count >= maxLines {
                    chunk.reachedLimit = true
                    position = Position(fileFirstSeq: entry.firstSeq, offset: raw.start)
                    return nil
                }
                let line: AuditLine
                do {
                    line = try AuditLine(parsing: raw.bytes, origin: "\(entry.path):\(raw.start)")
                } catch {
                    // A damaged line that was already shipped does not stop the reader.
                    if let seq = AuditLine.seqOnly(raw.bytes), seq <= lastSeq { continue }
                    throw error
                }
                if line.seq <= lastSeq { continue }
                if line.seq != lastSeq + 1 {
                    if remembered && isFirstInFile {
                        // The remembered offset no longer fits (file replaced): scan this file from its start.
                        remembered = false
                        scanner = LineScanner(file: file, offset: 0, chunkSize: chunkSize, maxLineBytes: maxLineBytes)
                        firstInFile = true
                        continue
                    }
                    return (line.seq, entry.path)
                }
                let size = line.bytes.count + 1
                if chunk.byteCount + size > maxBytes, !(chunk.lines.isEmpty && allowOversizedFirstLine) {
                    chunk.reachedLimit = true
                    position = Position(fileFirstSeq: entry.firstSeq, offset: raw.start)
                    return nil
                }
                chunk.lines.append(line)
                chunk.byteCount += size
                lastSeq = line.seq
                position = Position(fileFirstSeq: entry.firstSeq, offset: raw.end)
            }
            index += 1
            offset = 0
            remembered = false
        }
        return nil
    }
}
