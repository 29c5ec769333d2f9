import Foundation
import Yams

/// Reads one YAML file into a ``YAMLNode`` tree, refusing what would hurt: files over a size limit, invalid
/// UTF-8, more than one document, and alias expansion beyond a node budget (the "billion laughs" bomb).
public struct YAMLFileReader: Sendable {
    /// Files larger than this are refused before parsing (default 4 MiB: policy files are small).
    public var maxFileBytes: Int
    /// Nodes after alias expansion.
    public var maxNodes: Int

    public init(maxFileBytes: Int = 4 << 20, maxNodes: Int = 250_000) {
        self.maxFileBytes = maxFileBytes
        self.maxNodes = maxNodes
    }

    /// Reads and parses `path`; `displayPath` is how errors name the file. Returns `nil` for an empty document
    /// (only comments or whitespace), with no diagnostic: callers decide whether empty is allowed.
    public func read(path: String, displayPath: String) throws(ConfigLoadError) -> YAMLNode? {
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? Int, size > maxFileBytes {
                throw ConfigLoadError([ConfigDiagnostic(
                    code: .fileTooLarge, file: displayPath, line: 1, column: 1, fieldPath: "",
                    message: "file is \(size) bytes, over the \(maxFileBytes)-byte limit for configuration files")])
            }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as ConfigLoadError {
            throw error
        } catch {
            throw ConfigLoadError([ConfigDiagnostic(
                code: .fileNotFound, file: displayPath, line: 0, column: 0, fieldPath: "",
                message: "cannot read file: \(Self.describe(error))")])
        }
        return try parse(data: data, displayPath: displayPath)
    }

    public func parse(data: Data, displayPath: String) throws(ConfigLoadError) -> YAMLNode? {
        if data.count > maxFileBytes {
            throw ConfigLoadError([ConfigDiagnostic(
                code: .fileTooLarge, file: displayPath, line: 1, column: 1, fieldPath: "",
                message: "file is \(data.count) bytes, over the \(maxFileBytes)-byte limit for configuration files")])
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            let (line, column) = Self.firstInvalidUTF8(data)
            throw ConfigLoadError([ConfigDiagnostic(
                code: .invalidEncoding, file: displayPath, line: line, column: column, fieldPath: "",
                message: "file is not valid UTF-8")])
        }
        if text.unicodeScalars.first == "\u{FEFF}" {
            return try parse(text: String(text.unicodeScalars.dropFirst()), displayPath: displayPath)
        }
        return try parse(text: text, displayPath: displayPath)
    }

    public func parse(text: String, displayPath: String) throws(ConfigLoadError) -> YAMLNode? {
        if let finding = AliasKeyGuard.check(text) {
            throw ConfigLoadError([ConfigDiagnostic(
                code: .yamlTooComplex, file: displayPath, line: finding.line, column: finding.column, fieldPath: "",
                message: finding.message + " in a document with anchors (it could expand without bound)")])
        }
        let root: Node?
        do {
            // The basic resolver: Yams' default one runs up to seven regular expressions per scalar (and per key in
            // its duplicate check), over half the load time. Plain scalars that could be non-strings are resolved
            // with the default (YAML 1.1) rules in `convert`, the only place types matter.
            let parser = try Parser(yaml: text, resolver: .basic, constructor: .default, encoding: .utf8)
            root = try parser.singleRoot()
        } catch let error as YamlError {
            throw ConfigLoadError([Self.diagnostic(for: error, file: displayPath)])
        } catch {
            throw ConfigLoadError([ConfigDiagnostic(
                code: .yamlSyntax, file: displayPath, line: 1, column: 1, fieldPath: "",
                message: "invalid YAML: \(Self.describe(error))")])
        }
        guard let root else { return nil }
        var budget = maxNodes
        return try convert(root, budget: &budget, file: displayPath)
    }

    private func convert(_ node: Node, budget: inout Int, file: String) throws(ConfigLoadError) -> YAMLNode {
        budget -= 1
        let line = node.mark?.line ?? 0
        let column = node.mark?.column ?? 0
        if budget < 0 {
            throw ConfigLoadError([ConfigDiagnostic(
                code: .yamlTooComplex, file: file, line: line, column: column, fieldPath: "",
                message: "document expands to more than \(maxNodes) nodes (YAML aliases expanding exponentially?)")])
        }
        switch node {
        case .scalar(let scalar):
            let plain = scalar.style == .plain || scalar.style == .any
            let tag: YAMLNode.ScalarTag
            // The tag as written (not resolved): "" when implicit, else an explicit tag such as `!!str`.
            var name = scalar.tag.description
            if name.isEmpty || name == Tag.Name.nonSpecific.rawValue {
                name = plain && Self.mayBeNonString(scalar.string)
                    ? Node(scalar.string).tag.description : Tag.Name.str.rawValue
            }
            switch name {
            case Tag.Name.int.rawValue: tag = plain ? .integer : .string
            case Tag.Name.float.rawValue: tag = plain ? .float : .string
            case Tag.Name.bool.rawValue: tag = plain ? .boolean : .string
            case Tag.Name.null.rawValue: tag = plain ? .null : .string
            case Tag.Name.timestamp.rawValue: tag = plain ? .timestamp : .string
            default: tag = .string
            }
            return YAMLNode(kind: .scalar(scalar.string, plain: plain, tag: tag), line: line, column: column)
        case .sequence(let sequence):
            var items: [YAMLNode] = []
            items.reserveCapacity(sequence.count)
            for item in sequence {
                items.append(try convert(item, budget: &budget, file: file))
            }
            return YAMLNode(kind: .sequence(items), line: line, column: column)
        case .mapping(let mapping):
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var merged: [(key: YAMLNode, value: YAMLNode)] = []
            for (key, value) in mapping {
                if case .scalar(let k) = key, k.style == .plain || k.style == .any, k.string == "<<" {
                    // `<<: *defaults` or `<<: [*a, *b]`: explicit keys win, earlier merged maps win over later.
                    let sources: [Node] = value.sequence.map { Array($0) } ?? [value]
                    for source in sources {
                        let converted = try convert(source, budget: &budget, file: file)
                        guard case .mapping(let sourcePairs) = converted.kind else {
                            throw ConfigLoadError([ConfigDiagnostic(
                                code: .yamlSyntax, file: file, line: converted.line, column: converted.column,
                                fieldPath: "", message: "a merge key (<<) needs a mapping or a list of mappings")])
                        }
                        merged.append(contentsOf: sourcePairs)
                    }
                    continue
                }
                pairs.append((try convert(key, budget: &budget, file: file),
                              try convert(value, budget: &budget, file: file)))
            }
            if !merged.isEmpty {
                var present = Set(pairs.compactMap { $0.key.scalarText })
                for pair in merged {
                    guard let k = pair.key.scalarText, !present.contains(k) else { continue }
                    present.insert(k)
                    pairs.append(pair)
                }
            }
            return YAMLNode(kind: .mapping(pairs), line: line, column: column)
        case .alias:
            // Yams resolves aliases while composing; nothing to expand here.
            return YAMLNode(kind: .scalar("", plain: true, tag: .null), line: line, column: column)
        }
    }

    static let boolAndNullWords: Set<String> = [
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON",
        "off", "Off", "OFF", "null", "Null", "NULL",
    ]

    /// False when no YAML 1.1 implicit type (bool, int, float, null, timestamp, merge, value) can match `s`: those
    /// all start with a digit, a sign, `.`, `~`, `<`, `=`, or are one of the bool/null words.
    static func mayBeNonString(_ s: String) -> Bool {
        guard let first = s.utf8.first else { return true }
        switch first {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "~"), UInt8(ascii: "<"), UInt8(ascii: "="):
            return true
        case UInt8(ascii: "y"), UInt8(ascii: "Y"), UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "t"),
             UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"), UInt8(ascii: "o"), UInt8(ascii: "O"):
            return s.utf8.count <= 5 && boolAndNullWords.contains(s)
        default:
            return false
        }
    }

    static func diagnostic(for error: YamlError, file: String) -> ConfigDiagnostic {
        func make(_ mark: Mark?, _ message: String) -> ConfigDiagnostic {
            ConfigDiagnostic(code: .yamlSyntax, file: file, line: mark?.line ?? 1, column: mark?.column ?? 1,
                             fieldPath: "", message: message)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _):
            return make(mark, "invalid YAML: \(problem)" + (context.map { " \($0.text)" } ?? "")
                + Self.tabHint(problem))
        case .parser(let context, let problem, let mark, _):
            return make(mark, "invalid YAML: \(problem)" + (context.map { " (\($0.text))" } ?? ""))
        case .composer(let context, let problem, let mark, _):
            return make(mark, "invalid YAML: \(problem)" + (context.map { " (\($0.text))" } ?? ""))
        case .reader(let problem, let offset, _, let yaml):
            let (line, column) = offset.map { Self.lineColumn(of: $0, in: yaml) } ?? (1, 1)
            return ConfigDiagnostic(code: .invalidEncoding, file: file, line: line, column: column, fieldPath: "",
                                    message: "invalid YAML input: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            var d = make(context.mark, "duplicate key\(duplicates.count > 1 ? "s" : "") "
                + duplicates.map { "'\($0)'" }.joined(separator: ", ") + " in one mapping")
            d.code = .duplicateName
            return d
        case .memory:
            return make(nil, "the YAML parser ran out of memory")
        default:
            return make(nil, "invalid YAML: \(error)")
        }
    }

    static func tabHint(_ problem: String) -> String {
        let lowered = problem.lowercased()
        return lowered.contains("cannot start any token") || lowered.contains("tab")
            ? " (tabs can't indent YAML; use spaces)" : ""
    }

    static func lineColumn(of byteOffset: Int, in text: String) -> (Int, Int) {
        var line = 1
        var column = 1
        for (i, byte) in text.utf8.enumerated() {
            if i >= byteOffset { break }
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }

    /// Line and column (1-based, in characters) of the first byte that breaks UTF-8.
    static func firstInvalidUTF8(_ data: Data) -> (Int, Int) {
        let bytes = [UInt8](data)
        var line = 1
        var column = 1
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            let length: Int
            switch b {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return (line, column)
            }
            if i + length > bytes.count { return (line, column) }
            if length > 1 {
                let chunk = Array(bytes[i..<(i + length)])
                if String(validating: chunk, as: UTF8.self) == nil { return (line, column) }
            }
            if b == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
            i += length
        }
        return (line, column)
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? CocoaError, let path = error.userInfo[NSFilePathErrorKey] as? String {
            switch error.code {
            case .fileReadNoSuchFile, .fileNoSuchFile: return "no such file (\(path))"
            case .fileReadNoPermission: return "permission denied (\(path))"
            default: break
            }
        }
        return "\(error.localizedDescription)"
    }
}

extension YAMLNode {
    /// The text of a scalar, `nil` for collections.
    public var scalarText: String? {
        if case .scalar(let text, _, _) = kind { return text }
        return nil
    }
}
