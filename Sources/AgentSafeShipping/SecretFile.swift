/// Reads secrets (webhook HMAC keys, Splunk tokens) from files. Errors name the file, never its contents.
enum SecretFile {
    /// The file's bytes with surrounding ASCII whitespace (a trailing newline) trimmed; must not be empty.
    static func read(_ path: String, what: String) throws(ShippingError) -> [UInt8] {
        let file: POSIXFile?
        do {
            file = try POSIXFile.openForReading(path)
        } catch {
            throw ShippingError(.invalidConfiguration, "cannot read the \(what) file: \(error)")
        }
        guard let file else {
            throw ShippingError(.invalidConfiguration, "the \(what) file '\(path)' does not exist")
        }
        var bytes: [UInt8]
        do {
            bytes = try file.read(at: 0, count: 64 * 1024 + 1)
        } catch {
            throw ShippingError(.invalidConfiguration, "cannot read the \(what) file: \(error)")
        }
        guard bytes.count <= 64 * 1024 else {
            throw ShippingError(.invalidConfiguration, "the \(what) file '\(path)' is larger than 64 KiB")
        }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        while let last = bytes.last, isSpace(last) { bytes.removeLast() }
        let start = bytes.firstIndex { !isSpace($0) } ?? bytes.endIndex
        bytes.removeFirst(start)
        guard !bytes.isEmpty else {
            throw ShippingError(.invalidConfiguration, "the \(what) file '\(path)' is empty")
        }
        return bytes
    }
}
