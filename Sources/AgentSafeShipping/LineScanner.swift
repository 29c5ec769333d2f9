/// Yields the complete (`\n`-terminated) lines of a file from an offset, reading fixed-size chunks, so memory
/// stays within one chunk plus the longest line. A final line without `\n` is never returned.
struct LineScanner {
    struct Line {
        /// The line without its `\n`.
        var bytes: [UInt8]
        /// Offset of the line's first byte.
        var start: Int64
        /// Offset just past its `\n`.
        var end: Int64
    }

    let file: POSIXFile
    let chunkSize: Int
    let maxLineBytes: Int
    private var bufferOffset: Int64
    private var buffer: [UInt8] = []
    private var next = 0
    private var atEnd = false

    init(file: POSIXFile, offset: Int64, chunkSize: Int, maxLineBytes: Int) {
        self.file = file
        self.bufferOffset = offset
        self.chunkSize = chunkSize
        self.maxLineBytes = maxLineBytes
    }

    mutating func nextLine() throws(ShippingError) -> Line? {
        while true {
            if let newline = buffer[next...].firstIndex(of: 0x0A) {
                let line = Line(
                    bytes: Array(buffer[next..<newline]), start: bufferOffset + Int64(next),
                    end: bufferOffset + Int64(newline + 1))
                next = newline + 1
                return line
            }
            if atEnd { return nil }
            if next > 0 {
                buffer.removeFirst(next)
                bufferOffset += Int64(next)
                next = 0
            }
            if buffer.count > maxLineBytes {
                throw ShippingError(
                    .lineTooLong, "\(file.path):\(bufferOffset): line is longer than \(maxLineBytes) bytes")
            }
            let more: [UInt8]
            do {
                more = try file.read(at: bufferOffset + Int64(buffer.count), count: chunkSize)
            } catch {
                throw ShippingError(.logUnreadable, error.description)
            }
            if more.isEmpty {
                atEnd = true
            } else {
                buffer.append(contentsOf: more)
            }
        }
    }

    /// The last complete line of `file`, reading backwards from its end in chunks; nil when it has none.
    static func lastLine(of file: POSIXFile, chunkSize: Int, maxLineBytes: Int) throws(ShippingError) -> [UInt8]? {
        do {
            let size = try file.size()
            var window = Int64(min(Int64(chunkSize), size))
            while window > 0 {
                let bytes = try file.read(at: size - window, count: Int(window))
                if let end = bytes.lastIndex(of: 0x0A) {
                    if let before = bytes[..<end].lastIndex(of: 0x0A) {
                        return Array(bytes[(before + 1)..<end])
                    }
                    if window == size { return Array(bytes[..<end]) }
                }
                if window == size || window > Int64(maxLineBytes) * 2 + Int64(chunkSize) { return nil }
                window = min(size, window * 2)
            }
            return nil
        } catch {
            throw ShippingError(.logUnreadable, error.description)
        }
    }
}
