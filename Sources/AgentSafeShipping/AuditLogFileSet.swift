import AgentSafeAudit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The files of one audit log: the active file at `activePath` and the rotated files beside it, named
/// `<stem>-<first seq, 12 digits zero-padded>.jsonl` (`stem` is the active file's name without `.jsonl`).
/// `*.torn` files and anything else in the directory are ignored.
public struct AuditLogFileSet: Sendable, Hashable {
    /// A rotated file and the sequence number of its first line (from its name).
    public struct RotatedFile: Sendable, Hashable {
        public var path: String
        public var firstSeq: Int64
    }

    public let activePath: String
    public let directory: String
    public let stem: String

    public init(activePath: String) {
        self.activePath = activePath
        self.directory = PathText.directory(of: activePath)
        let name = PathText.name(of: activePath)
        self.stem = name.hasSuffix(".jsonl") ? String(name.dropLast(".jsonl".count)) : name
    }

    /// The name a rotated file starting at `firstSeq` has: `audit-000000001001.jsonl` (the writer's rule,
    /// ``AuditFileSet``).
    public func rotatedName(firstSeq: Int64) -> String {
        AuditFileSet.rotatedFileName(stem: stem, firstSeq: firstSeq)
    }

    /// The first seq encoded in a rotated file's name, or nil when `name` is not one of this log's rotated files.
    public func firstSeq(ofRotatedName name: String) -> Int64? {
        AuditFileSet.firstSeq(ofRotatedName: name, stem: stem)
    }

    /// The rotated files, ordered by first seq. An absent directory has none.
    public func rotatedFiles() throws(ShippingError) -> [RotatedFile] {
        guard let dir = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw ShippingError(
                .logUnreadable, "cannot list '\(directory)': \(SystemCallError.text(errno))")
        }
        defer { closedir(dir) }
        var files: [RotatedFile] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) {
                    String(cString: $0)
                }
            }
            if let seq = firstSeq(ofRotatedName: name) {
                files.append(RotatedFile(path: PathText.join(directory, name), firstSeq: seq))
            }
        }
        return files.sorted { $0.firstSeq < $1.firstSeq }
    }
}
