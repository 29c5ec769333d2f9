#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: the call, the path and `errno`'s text. Never contains file contents.
struct SystemCallError: Error, CustomStringConvertible {
    var operation: String
    var path: String
    var code: Int32

    var description: String { "\(operation) '\(path)' failed: \(Self.text(code))" }

    static func text(_ code: Int32) -> String {
        guard let message = strerror(code) else { return "errno \(code)" }
        return String(cString: message)
    }
}

/// An open file descriptor with the few calls the reader and the file shipper need. Closed on deinit.
/// Not shared between tasks: each use opens its own.
final class POSIXFile {
    let path: String
    private(set) var fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit {
        if fd >= 0 { _ = systemClose(fd) }
    }

    /// Opens `path` read-only; nil when it does not exist.
    static func openForReading(_ path: String) throws(SystemCallError) -> POSIXFile? {
        while true {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { return POSIXFile(path: path, fd: fd) }
            if errno == EINTR { continue }
            if errno == ENOENT { return nil }
            throw SystemCallError(operation: "open", path: path, code: errno)
        }
    }

    /// Opens (creating with `mode`) `path` for reading and appending; `created` tells whether it was new.
    static func openForAppending(_ path: String, mode: mode_t = 0o640) throws(SystemCallError)
        -> (file: POSIXFile, created: Bool)
    {
        while true {
            var fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC)
            if fd >= 0 { return (POSIXFile(path: path, fd: fd), false) }
            if errno == EINTR { continue }
            guard errno == ENOENT else { throw SystemCallError(operation: "open", path: path, code: errno) }
            fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            if fd >= 0 { return (POSIXFile(path: path, fd: fd), true) }
            if errno == EEXIST || errno == EINTR { continue }  // created meanwhile: open it
            throw SystemCallError(operation: "create", path: path, code: errno)
        }
    }

    /// Up to `count` bytes at `offset`; fewer only at the end of the file.
    func read(at offset: Int64, count: Int) throws(SystemCallError) -> [UInt8] {
        guard count > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = buffer.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(operation: "read", path: path, code: errno)
            }
            if n == 0 { break }
            filled += n
        }
        if filled < count { buffer.removeLast(count - filled) }
        return buffer
    }

    func size() throws(SystemCallError) -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemCallError(operation: "stat", path: path, code: errno) }
        return Int64(info.st_size)
    }

    func writeAll(_ bytes: [UInt8]) throws(SystemCallError) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                write(fd, raw.baseAddress! + written, bytes.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(operation: "write", path: path, code: errno)
            }
            written += n
        }
    }

    func sync() throws(SystemCallError) {
        guard fsync(fd) == 0 else { throw SystemCallError(operation: "fsync", path: path, code: errno) }
    }

    func truncate(to length: Int64) throws(SystemCallError) {
        guard ftruncate(fd, off_t(length)) == 0 else {
            throw SystemCallError(operation: "truncate", path: path, code: errno)
        }
    }

    /// An exclusive advisory lock (`flock`), held until the file is closed.
    func lockExclusively() throws(SystemCallError) {
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            throw SystemCallError(operation: "lock", path: path, code: errno)
        }
    }

    /// fsyncs a directory, so that a file created in it survives a crash.
    static func syncDirectory(_ path: String) throws(SystemCallError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError(operation: "open directory", path: path, code: errno) }
        defer { _ = systemClose(fd) }
        guard fsync(fd) == 0 else { throw SystemCallError(operation: "fsync directory", path: path, code: errno) }
    }

    /// Creates `path` and its missing parents (mode 0750).
    static func makeDirectories(_ path: String) throws(SystemCallError) {
        guard !path.isEmpty, path != "/" else { return }
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw SystemCallError(operation: "mkdir", path: path, code: ENOTDIR)
            }
            return
        }
        try makeDirectories(PathText.directory(of: path))
        if mkdir(path, 0o750) != 0, errno != EEXIST {
            throw SystemCallError(operation: "mkdir", path: path, code: errno)
        }
    }
}

/// `close` is shadowed inside types that declare their own; call the C function through this alias.
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }

/// Path arithmetic on plain strings (`/` separators), without Foundation.
enum PathText {
    /// The directory part: `/a/b/c.jsonl` → `/a/b`, `c.jsonl` → `.`, `/c` → `/`.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The last component: `/a/b/c.jsonl` → `c.jsonl`.
    static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// `path` unchanged when absolute or when there is no base; else `base/path` (a leading `./` dropped).
    static func resolve(_ path: String, relativeTo base: String?) -> String {
        guard let base, !base.isEmpty, !path.hasPrefix("/") else { return path }
        var relative = Substring(path)
        while relative.hasPrefix("./") { relative = relative.dropFirst(2) }
        return join(base, String(relative))
    }
}
