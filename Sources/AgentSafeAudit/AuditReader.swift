import AgentSafeCore

/// Iterates the entries of a file set as parsed JSON objects (for show and replay), in order, streaming.
/// Lines that don't parse are skipped: `audit verify` is where integrity is judged.
public struct AuditReader: Sequence {
    public let files: [String]

    public init(files: [String]) { self.files = files }

    public struct Iterator: IteratorProtocol {
        var files: ArraySlice<String>
        var scanner: LineScanner?
        var current = ""

        public mutating func next() -> (file: String, value: JSONValue)? {
            while true {
                if scanner == nil {
                    guard let f = files.popFirst() else { return nil }
                    current = f
                    scanner = LineScanner(path: f)
                    continue
                }
                guard let (_, bytes, partial) = scanner!.next() else {
                    scanner = nil
                    continue
                }
                if partial || bytes.isEmpty { continue }
                if let value = try? JSONValue.parse(String(decoding: bytes, as: UTF8.self)), case .object = value {
                    return (current, value)
                }
            }
        }
    }

    public func makeIterator() -> Iterator { Iterator(files: files[...]) }
}
