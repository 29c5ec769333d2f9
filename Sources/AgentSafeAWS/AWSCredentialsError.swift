/// Credentials could not be loaded. Messages name the variable, file, line and key concerned, never a value.
public struct AWSCredentialsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable codes, so callers can tell problems apart without parsing messages.
    public enum Code: String, Sendable, Hashable {
        /// A required environment variable is unset or empty.
        case missingEnvironmentVariable = "missing_environment_variable"
        /// The credentials file could not be read.
        case unreadableFile = "unreadable_file"
        /// A line of the credentials file is neither a section, a `key = value` pair nor a comment.
        case malformedLine = "malformed_line"
        /// The file has no section for the requested profile.
        case profileNotFound = "profile_not_found"
        /// The profile lacks a required key, or its value is empty.
        case missingKey = "missing_key"
    }

    public var code: Code
    public var message: String
    /// The file concerned, or empty for the environment.
    public var file: String
    /// 1-based line in `file`; 0 when the problem is not tied to one line.
    public var line: Int

    public init(code: Code, message: String, file: String = "", line: Int = 0) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    public var description: String {
        var location = file
        if line > 0 { location += ":\(line)" }
        return location.isEmpty ? "\(code.rawValue): \(message)" : "\(location): \(code.rawValue): \(message)"
    }
}
