/// Writes a JSON object member by member straight into bytes: compact, members in the order written, strings and
/// numbers as ``JSONValue/appendCanonical(to:)`` writes them. For answers built on the request path, where building
/// a `[String: JSONValue]` first (hashing every key) and then walking it cost more than the decision itself.
///
/// Keys are written as given: each key must be written at most once per object (the writer does not check).
public struct JSONObjectWriter {
    public private(set) var bytes: [UInt8]
    private var empty = true

    public init(capacity: Int = 1024) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Continues an enclosing writer's buffer (nested objects).
    private init(continuing buffer: inout [UInt8]) {
        bytes = []
        swap(&bytes, &buffer)
        bytes.append(UInt8(ascii: "{"))
    }

    /// The object's bytes, closed.
    public consuming func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func key(_ key: String) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        JSONValue.appendString(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ key: String, _ value: String) {
        self.key(key)
        JSONValue.appendString(value, to: &bytes)
    }

    /// `null` when `value` is nil.
    public mutating func string(_ key: String, _ value: String?) {
        self.key(key)
        if let value { JSONValue.appendString(value, to: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
    }

    public mutating func bool(_ key: String, _ value: Bool) {
        self.key(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func integer(_ key: String, _ value: Int64) {
        self.key(key)
        JSONValue.appendInteger(value, to: &bytes)
    }

    public mutating func number(_ key: String, _ value: Double) {
        self.key(key)
        bytes.append(contentsOf: JSONValue.format(value).utf8)
    }

    /// Any value, its objects' members sorted (canonical, so the answer is the same in every process).
    public mutating func value(_ key: String, _ value: JSONValue) {
        self.key(key)
        value.appendCanonical(to: &bytes)
    }

    public mutating func strings(_ key: String, _ values: [String]) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        for (i, v) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONValue.appendString(v, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A nested object, written by `body`.
    public mutating func object(_ key: String, _ body: (inout JSONObjectWriter) -> Void) {
        self.key(key)
        var nested = JSONObjectWriter(continuing: &bytes)
        body(&nested)
        bytes = nested.finish()
    }

    /// An array with one object per element, each written by `body`.
    public mutating func objects<S: Sequence>(_ key: String, _ elements: S, _ body: (S.Element, inout JSONObjectWriter) -> Void) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        var first = true
        for element in elements {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            var nested = JSONObjectWriter(continuing: &bytes)
            body(element, &nested)
            bytes = nested.finish()
        }
        bytes.append(UInt8(ascii: "]"))
    }
}

extension JSONValue {
    /// The value of an object that a ``JSONObjectWriter`` wrote (for the callers that want a tree, off the request
    /// path: one definition of each answer's members).
    public static func parse(written bytes: [UInt8]) -> JSONValue {
        do { return try JSONParser().parse(String(decoding: bytes, as: UTF8.self)) } catch {
            preconditionFailure("JSONObjectWriter wrote invalid JSON: \(error)")
        }
    }
}
