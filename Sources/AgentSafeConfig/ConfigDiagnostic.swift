import AgentSafeCore

/// One problem found while loading configuration: where it is, which field, and what is wrong.
public struct ConfigDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    /// Stable codes, so tools can tell problems apart without parsing messages.
    public enum Code: String, Sendable, Hashable {
        case fileNotFound = "file_not_found"
        case fileTooLarge = "file_too_large"
        case invalidEncoding = "invalid_encoding"
        case yamlSyntax = "yaml_syntax"
        case yamlTooComplex = "yaml_too_complex"
        case wrongType = "wrong_type"
        case missingField = "missing_field"
        case unknownKey = "unknown_key"
        case invalidValue = "invalid_value"
        case duplicateName = "duplicate_name"
        case unknownReference = "unknown_reference"
        case emptyFile = "empty_file"
    }

    public var severity: Severity
    public var code: Code
    public var file: String
    /// 1-based; 0 when the problem is the file as a whole.
    public var line: Int
    public var column: Int
    /// Dotted path of the field, e.g. `rules[2].match.targets.environments[0]`; empty for the whole file.
    public var fieldPath: String
    public var message: String

    public init(
        severity: Severity = .error, code: Code, file: String, line: Int, column: Int, fieldPath: String,
        message: String
    ) {
        self.severity = severity
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.fieldPath = fieldPath
        self.message = message
    }

    /// `file:line:column: error: path: message` — the form compilers use, so editors can jump to it.
    public var description: String {
        let location = line > 0 ? "\(file):\(line):\(column)" : file
        let path = fieldPath.isEmpty ? "" : "\(fieldPath): "
        return "\(location): \(severity.rawValue): \(path)\(message)"
    }

    public var location: SourceLocation {
        SourceLocation(file: file, line: line, column: column)
    }
}

/// Loading failed: nothing was loaded (never a partial load). Lists every problem found.
public struct ConfigLoadError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]

    public init(_ diagnostics: [ConfigDiagnostic]) {
        self.diagnostics = diagnostics
    }

    public var errors: [ConfigDiagnostic] { diagnostics.filter { $0.severity == .error } }

    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}
