import AgentSafeCore

/// Finds secrets in a request's `params` (data-loss prevention).
///
/// Pure Swift, no regular expressions: a single pass over each string's UTF-8 bytes with hand-written
/// matchers, linear in the length of the input whatever it holds. Short values without any trigger byte
/// (`web-api`, `prod`) cost a few nanoseconds. See `docs/dlp.md` for what each ``DLPDetector`` matches.
///
/// Limits: at most ``maxFindings`` findings are reported (then scanning stops), and values nested more than
/// ``maxDepth`` levels below `params` are not scanned at all (no finding is reported for them).
public struct DLPScanner: Sendable {
    /// At most this many findings per ``scan(_:)`` (and per ``scan(string:)``).
    public static let maxFindings = 64
    /// Values (and keys) at a depth greater than this are not scanned; a top-level param is at depth 1,
    /// `a.b` at depth 2, `a[0].b` at depth 3.
    public static let maxDepth = 32

    public let detectors: Set<DLPDetector>
    public let entropyThreshold: Double
    public let entropyMinLength: Int
    public let allowlist: [String]
    let config: DLPConfig
    let allowlistBytes: [[UInt8]]

    /// - Parameters:
    ///   - entropyThreshold: bits per character for the high-entropy rule (tokens that are not pure hex).
    ///   - entropyMinLength: the shortest token the high-entropy rule looks at (raised to 8 if lower).
    ///   - allowlist: exact values never reported: a finding whose bytes, or whose whole string, equal an entry
    ///     is dropped (e.g. a known public key id or a documentation example).
    public init(
        detectors: Set<DLPDetector> = Set(DLPDetector.allCases),
        entropyThreshold: Double = 4.0,
        entropyMinLength: Int = 24,
        allowlist: [String] = []
    ) {
        self.detectors = detectors
        self.entropyThreshold = entropyThreshold
        self.entropyMinLength = max(8, entropyMinLength)
        self.allowlist = allowlist
        self.config = DLPConfig(
            mask: detectors.reduce(0) { $0 | $1.bit },
            entropyThreshold: entropyThreshold,
            entropyMinLength: max(8, entropyMinLength)
        )
        self.allowlistBytes = allowlist.map { Array($0.utf8) }
    }

    // MARK: - Strings

    /// The secrets in one string: detector and UTF-8 byte range, in order of offset, at most ``maxFindings``.
    public func scan(string: String) -> [(DLPDetector, Range<Int>)] {
        candidates(in: string, awsSecretContext: false, limit: Self.maxFindings).map {
            ($0.detector, $0.start..<$0.end)
        }
    }

    /// Candidates after overlap resolution (the most specific detector wins), the allowlist and `limit`.
    func candidates(in string: String, awsSecretContext: Bool, limit: Int) -> [DLPCandidate] {
        // Nothing any detector matches is shorter than `pwd=x`.
        guard string.utf8.count >= 5, config.mask != 0, limit > 0 else { return [] }
        var s = string
        return s.withUTF8 { buf in
            var m = DLPMatcher(buf, config: config)
            m.run(awsSecretContext: awsSecretContext)
            guard !m.candidates.isEmpty else { return [] }
            return resolve(&m, limit: limit)
        }
    }

    private func resolve(_ m: inout DLPMatcher, limit: Int) -> [DLPCandidate] {
        if !m.inOrder {
            m.candidates.sort {
                $0.start != $1.start ? $0.start < $1.start : $0.detector.specificity < $1.detector.specificity
            }
        }
        var kept: [DLPCandidate] = []
        kept.reserveCapacity(m.candidates.count)
        for c in m.candidates {
            if let last = kept.last, c.start < last.end {
                // Overlap: keep the more specific (for equal specificity, the first).
                if c.detector.specificity < last.detector.specificity { kept[kept.count - 1] = c }
            } else {
                kept.append(c)
            }
        }
        if !allowlistBytes.isEmpty {
            let p = m.p
            let whole = allowlistBytes.contains { $0.elementsEqual(p) }
            if whole { return [] }
            kept.removeAll { c in
                allowlistBytes.contains { $0.count == c.end - c.start && $0.elementsEqual(p[c.start..<c.end]) }
            }
        }
        if kept.count > limit { kept.removeLast(kept.count - limit) }
        return kept
    }

    // MARK: - Params

    /// The secrets in `params` (keys included), ordered by path (object keys in string order, array elements
    /// by index; a key's findings before its value's), then by offset. At most ``maxFindings``: once that many
    /// are found scanning stops, and the result is the first ``maxFindings`` in that order.
    public func scan(_ params: [String: JSONValue]) -> [DLPFinding] {
        guard config.mask != 0 else { return [] }
        // First pass in dictionary order (no key sorting: most requests have no finding at all). If it finds
        // more than the cap, a second pass in sorted order stops at the cap, so the result never depends on
        // dictionary order.
        var collector = Collector(limit: Self.maxFindings + 1)
        visitObject(params, parent: nil, depth: 1, sorted: false, into: &collector)
        if collector.found.count > Self.maxFindings {
            collector = Collector(limit: Self.maxFindings)
            visitObject(params, parent: nil, depth: 1, sorted: true, into: &collector)
        }
        guard !collector.found.isEmpty else { return [] }
        collector.found.sort(by: RawFinding.precedes)
        return collector.found.map {
            DLPFinding(detector: $0.detector, path: $0.path, utf8Range: $0.range, inKey: $0.inKey)
        }
    }

    struct PathFrame {
        let parent: UnsafePointer<PathFrame>?
        let key: String?  // nil for an array element
        let displayKey: String?  // the key with its secrets replaced, when it has some
        let index: Int
    }

    enum Component {
        case key(String)
        case index(Int)

        static func < (a: Component, b: Component) -> Bool {
            switch (a, b) {
            case (.key(let x), .key(let y)): x < y
            case (.index(let x), .index(let y)): x < y
            case (.key, .index): true
            case (.index, .key): false
            }
        }
    }

    struct RawFinding {
        var components: [Component]
        var path: String
        var inKey: Bool
        var detector: DLPDetector
        var range: Range<Int>

        static func precedes(_ a: RawFinding, _ b: RawFinding) -> Bool {
            for (x, y) in zip(a.components, b.components) {
                if x < y { return true }
                if y < x { return false }
            }
            if a.components.count != b.components.count { return a.components.count < b.components.count }
            if a.inKey != b.inKey { return a.inKey }
            return a.range.lowerBound < b.range.lowerBound
        }
    }

    struct Collector {
        var found: [RawFinding] = []
        let limit: Int
        var full: Bool { found.count >= limit }
        var remaining: Int { limit - found.count }
    }

    private func record(
        _ cands: some Collection<DLPCandidate>, frame: UnsafePointer<PathFrame>, inKey: Bool,
        into collector: inout Collector
    ) {
        guard !cands.isEmpty else { return }
        var components: [Component] = []
        var display: [DLPPathStep] = []
        var f: UnsafePointer<PathFrame>? = frame
        while let fr = f {
            if let k = fr.pointee.key {
                components.append(.key(k))
                display.append(.key(fr.pointee.displayKey ?? k))
            } else {
                components.append(.index(fr.pointee.index))
                display.append(.index(fr.pointee.index))
            }
            f = fr.pointee.parent
        }
        components.reverse()
        let path = DLPPath.render(display.reversed())
        for c in cands where !collector.full {
            collector.found.append(
                RawFinding(
                    components: components, path: path, inKey: inKey, detector: c.detector, range: c.start..<c.end))
        }
    }

    private func visitObject(
        _ object: [String: JSONValue], parent: UnsafePointer<PathFrame>?, depth: Int, sorted: Bool,
        into collector: inout Collector
    ) {
        guard depth <= Self.maxDepth else { return }
        if sorted {
            for key in object.keys.sorted() {
                visitMember(key, object[key]!, parent: parent, depth: depth, sorted: true, into: &collector)
                if collector.full { return }
            }
        } else {
            for (key, value) in object {
                visitMember(key, value, parent: parent, depth: depth, sorted: false, into: &collector)
                if collector.full { return }
            }
        }
    }

    private func visitMember(
        _ key: String, _ value: JSONValue, parent: UnsafePointer<PathFrame>?, depth: Int, sorted: Bool,
        into collector: inout Collector
    ) {
        // Every secret of the key is found (not just up to the cap) so the path never shows one.
        let keyCands = candidates(in: key, awsSecretContext: false, limit: .max)
        // Fast path, the usual case: a clean key and a string value; no path frame unless something is found.
        if keyCands.isEmpty, case .string(let s) = value {
            let cands = candidates(
                in: s, awsSecretContext: DLPPath.isAWSSecretName(key), limit: collector.remaining)
            guard !cands.isEmpty else { return }
            withUnsafePointer(to: PathFrame(parent: parent, key: key, displayKey: nil, index: 0)) { fp in
                record(cands, frame: fp, inKey: false, into: &collector)
            }
            return
        }
        let displayKey = keyCands.isEmpty ? nil : DLPPath.redactedText(key, keyCands)
        let frame = PathFrame(parent: parent, key: key, displayKey: displayKey, index: 0)
        withUnsafePointer(to: frame) { fp in
            record(keyCands.prefix(collector.remaining), frame: fp, inKey: true, into: &collector)
            guard !collector.full else { return }
            visitValue(
                value, frame: fp, depth: depth, awsSecretContext: DLPPath.isAWSSecretName(key), sorted: sorted,
                into: &collector)
        }
    }

    private func visitValue(
        _ value: JSONValue, frame: UnsafePointer<PathFrame>, depth: Int, awsSecretContext: Bool, sorted: Bool,
        into collector: inout Collector
    ) {
        switch value {
        case .string(let s):
            let cands = candidates(in: s, awsSecretContext: awsSecretContext, limit: collector.remaining)
            record(cands, frame: frame, inKey: false, into: &collector)
        case .array(let elements):
            guard depth + 1 <= Self.maxDepth else { return }
            for (i, element) in elements.enumerated() {
                switch element {
                case .null, .bool, .integer, .number: continue
                default: break
                }
                withUnsafePointer(to: PathFrame(parent: frame, key: nil, displayKey: nil, index: i)) { ep in
                    visitValue(
                        element, frame: ep, depth: depth + 1, awsSecretContext: false, sorted: sorted,
                        into: &collector)
                }
                if collector.full { return }
            }
        case .object(let object):
            visitObject(object, parent: frame, depth: depth + 1, sorted: sorted, into: &collector)
        case .null, .bool, .integer, .number:
            break
        }
    }

    // MARK: - Redaction

    /// `params` with the bytes of every finding replaced by `replacement(finding, secret)`.
    ///
    /// Findings are located by ``DLPFinding/path`` and ``DLPFinding/inKey``, so pass findings from ``scan(_:)``
    /// on the same `params` with the same scanner. Other text of a string is kept; non-string values are
    /// untouched. A key holding a secret is replaced by its redacted form (`#2`, `#3` … are appended if that
    /// collides with another key). A finding whose range is not valid for the string it names (out of bounds,
    /// inside a UTF-8 sequence, overlapping another) makes the whole string be replaced: redaction fails
    /// closed.
    public func redact(
        _ params: [String: JSONValue], findings: [DLPFinding], replacement: (DLPFinding, Substring) -> String
    ) -> [String: JSONValue] {
        guard !findings.isEmpty else { return params }
        var byPath: [String: [DLPFinding]] = [:]
        for f in findings { byPath[(f.inKey ? "k" : "v") + f.path, default: []].append(f) }
        return redactObject(params, path: "", depth: 1, byPath: byPath, replacement: replacement)
    }

    private func redactObject(
        _ object: [String: JSONValue], path: String, depth: Int, byPath: [String: [DLPFinding]],
        replacement: (DLPFinding, Substring) -> String
    ) -> [String: JSONValue] {
        guard depth <= Self.maxDepth else { return object }
        var out: [String: JSONValue] = [:]
        out.reserveCapacity(object.count)
        var renamed: [(String, JSONValue)] = []
        for key in object.keys.sorted() {
            let keyCands = candidates(in: key, awsSecretContext: false, limit: .max)
            let display = keyCands.isEmpty ? key : DLPPath.redactedText(key, keyCands)
            let memberPath = DLPPath.appending(.key(display), to: path)
            let value = redactValue(
                object[key]!, path: memberPath, depth: depth, byPath: byPath, replacement: replacement)
            // Only findings this key has itself (two secret keys can share a redacted path).
            let keyFindings = (byPath["k" + memberPath] ?? []).filter { f in
                keyCands.contains { $0.detector == f.detector && $0.start == f.utf8Range.lowerBound
                    && $0.end == f.utf8Range.upperBound }
            }
            if !keyFindings.isEmpty {
                renamed.append((DLPPath.apply(keyFindings, to: key, replacement: replacement), value))
            } else {
                out[key] = value
            }
        }
        for (key, value) in renamed {
            var newKey = key
            var n = 2
            while out[newKey] != nil {
                newKey = "\(key)#\(n)"
                n += 1
            }
            out[newKey] = value
        }
        return out
    }

    private func redactValue(
        _ value: JSONValue, path: String, depth: Int, byPath: [String: [DLPFinding]],
        replacement: (DLPFinding, Substring) -> String
    ) -> JSONValue {
        switch value {
        case .string(let s):
            guard let fs = byPath["v" + path] else { return value }
            return .string(DLPPath.apply(fs, to: s, replacement: replacement))
        case .array(let elements):
            guard depth + 1 <= Self.maxDepth else { return value }
            return .array(
                elements.enumerated().map { i, e in
                    redactValue(
                        e, path: DLPPath.appending(.index(i), to: path), depth: depth + 1, byPath: byPath,
                        replacement: replacement)
                })
        case .object(let object):
            return .object(
                redactObject(object, path: path, depth: depth + 1, byPath: byPath, replacement: replacement))
        case .null, .bool, .integer, .number:
            return value
        }
    }
}

enum DLPPathStep {
    case key(String)
    case index(Int)
}

/// Path rendering and text replacement helpers.
enum DLPPath {
    static func render(_ steps: some Sequence<DLPPathStep>) -> String {
        var path = ""
        for s in steps { path = appending(s, to: path) }
        return path
    }

    static func appending(_ step: DLPPathStep, to path: String) -> String {
        switch step {
        case .index(let i):
            return path + "[\(i)]"
        case .key(let k):
            if isPlain(k) { return path.isEmpty ? k : path + "." + k }
            return path + "[" + jsonQuoted(k) + "]"
        }
    }

    /// `[A-Za-z0-9_-]+`
    static func isPlain(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.allSatisfy { dlpIsAlnum($0) || $0 == 0x5F || $0 == 0x2D }
    }

    static func jsonQuoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}", "\u{2029}", "\u{7F}":
                out += "\\u" + String(scalar.value, radix: 16, uppercase: true)
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// The text with each candidate's bytes replaced by `[redacted:<detector>]` (candidates sorted, disjoint).
    static func redactedText(_ s: String, _ cands: [DLPCandidate]) -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(s.utf8)
        var pos = 0
        for c in cands {
            bytes += utf8[pos..<c.start]
            bytes += Array("[redacted:\(c.detector.rawValue)]".utf8)
            pos = c.end
        }
        bytes += utf8[pos...]
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `s` with each finding's range replaced; the whole string if any range does not fit (fail closed).
    static func apply(
        _ findings: [DLPFinding], to s: String, replacement: (DLPFinding, Substring) -> String
    ) -> String {
        let utf8 = Array(s.utf8)
        let sorted = findings.sorted { $0.utf8Range.lowerBound < $1.utf8Range.lowerBound }
        @inline(__always) func boundary(_ i: Int) -> Bool { i == utf8.count || utf8[i] & 0xC0 != 0x80 }
        var pos = 0
        var valid = true
        for f in sorted {
            let r = f.utf8Range
            if r.lowerBound < pos || r.upperBound > utf8.count || r.isEmpty || !boundary(r.lowerBound)
                || !boundary(r.upperBound)
            {
                valid = false
                break
            }
            pos = r.upperBound
        }
        guard valid else { return replacement(sorted[0], s[...]) }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        pos = 0
        for f in sorted {
            let r = f.utf8Range
            out += utf8[pos..<r.lowerBound]
            let lo = s.utf8.index(s.utf8.startIndex, offsetBy: r.lowerBound)
            let hi = s.utf8.index(s.utf8.startIndex, offsetBy: r.upperBound)
            out += Array(replacement(f, s[lo..<hi]).utf8)
            pos = r.upperBound
        }
        out += utf8[pos...]
        return String(decoding: out, as: UTF8.self)
    }

    /// `aws_secret_access_key`, `AWS_SECRET_ACCESS_KEY`, `SecretAccessKey`, `secret-access-key` …: the name,
    /// ignoring case, `_` and `-`, ends with `secretaccesskey`.
    static func isAWSSecretName(_ key: String) -> Bool {
        guard key.utf8.count >= 15 else { return false }
        let want = Array("secretaccesskey".utf8)
        var wi = want.count - 1
        for b in key.utf8.reversed() {
            if b == 0x5F || b == 0x2D { continue }
            guard dlpLower(b) == want[wi] else { return false }
            if wi == 0 { return true }
            wi -= 1
        }
        return false
    }
}
