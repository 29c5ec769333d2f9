import Foundation

/// The files of one log: the active file at `path`, and rotated ones beside it named
/// `<stem>-<12-digit first seq>.jsonl`. `*.torn` files (torn tails moved aside at recovery) are not part of it.
public struct AuditFileSet: Sendable {
    public let path: String
    public var directory: String { (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent }
    public var stem: String {
        let name = (path as NSString).lastPathComponent
        return name.hasSuffix(".jsonl") ? String(name.dropLast(6)) : name
    }

    public init(path: String) { self.path = path }

    /// The file name (no directory) of a rotated file starting at `firstSeq`: `audit-000000001001.jsonl`.
    /// The one definition of the naming rule: the writer rotates with it and the shippers read with it.
    public static func rotatedFileName(stem: String, firstSeq: Int64) -> String {
        let digits = String(firstSeq)
        return stem + "-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits + ".jsonl"
    }

    /// The first seq encoded in a rotated file's name, or nil when `name` is not one of `stem`'s rotated files.
    public static func firstSeq(ofRotatedName name: String, stem: String) -> Int64? {
        let prefix = stem + "-"
        guard name.hasPrefix(prefix), name.hasSuffix(".jsonl") else { return nil }
        let digits = name.utf8.dropFirst(prefix.utf8.count).dropLast(".jsonl".utf8.count)
        guard digits.count >= 12, digits.count <= 18, digits.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        return digits.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
    }

    public func rotatedName(firstSeq: Int64) -> String {
        directory + "/" + Self.rotatedFileName(stem: stem, firstSeq: firstSeq)
    }

    /// Rotated files in order of their first seq, then the active file (if present).
    public func files() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var rotated: [(Int64, String)] = []
        for name in names {
            if let seq = Self.firstSeq(ofRotatedName: name, stem: stem) { rotated.append((seq, directory + "/" + name)) }
        }
        var out = rotated.sorted { $0.0 < $1.0 }.map(\.1)
        if FileManager.default.fileExists(atPath: path) { out.append(path) }
        return out
    }
}

/// Reads whole lines of a file in chunks (bounded memory), with their 1-based line numbers. A last line without
/// a newline is reported as `partial`.
struct LineScanner {
    let handle: FileHandle
    var buffer: [UInt8] = []
    var offset = 0
    var line = 0
    var finished = false

    init?(path: String) {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        handle = h
    }

    mutating func next() -> (line: Int, bytes: ArraySlice<UInt8>, partial: Bool)? {
        while true {
            if let nl = buffer[offset...].firstIndex(of: 0x0A) {
                let slice = buffer[offset..<nl]
                offset = nl + 1
                line += 1
                return (line, slice, false)
            }
            if finished {
                guard offset < buffer.count else { return nil }
                let slice = buffer[offset...]
                offset = buffer.count
                line += 1
                return (line, slice, true)
            }
            if offset > 0 {
                buffer.removeFirst(offset)
                offset = 0
            }
            let chunk = handle.readData(ofLength: 256 * 1024)
            if chunk.isEmpty {
                finished = true
                try? handle.close()
            } else {
                buffer.append(contentsOf: chunk)
            }
        }
    }
}
