extension AWSCredentials {
    /// The variables read by ``init(environment:)``.
    public enum EnvironmentVariable {
        public static let accessKeyId = "AWS_ACCESS_KEY_ID"
        public static let secretAccessKey = "AWS_SECRET_ACCESS_KEY"
        public static let sessionToken = "AWS_SESSION_TOKEN"
        /// Older name of `AWS_SESSION_TOKEN`, read only when that one is unset.
        public static let legacySessionToken = "AWS_SECURITY_TOKEN"
        /// Path of the shared credentials file (default `~/.aws/credentials`).
        public static let sharedCredentialsFile = "AWS_SHARED_CREDENTIALS_FILE"
        /// Profile to use from the shared credentials file (default `default`).
        public static let profile = "AWS_PROFILE"
    }

    /// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and (optional) `AWS_SESSION_TOKEN`.
    ///
    /// Pass the process environment (e.g. `ProcessInfo.processInfo.environment`) or a dictionary in tests.
    /// Empty values count as unset.
    /// - Throws: ``AWSCredentialsError`` with code `missingEnvironmentVariable`, naming the variable.
    public init(environment: [String: String]) throws(AWSCredentialsError) {
        func value(_ name: String) -> String? {
            guard let value = environment[name]?.trimmingASCIIWhitespace(), !value.isEmpty else { return nil }
            return value
        }
        guard let accessKeyId = value(EnvironmentVariable.accessKeyId) else {
            throw Self.missingVariable(EnvironmentVariable.accessKeyId)
        }
        guard let secretAccessKey = value(EnvironmentVariable.secretAccessKey) else {
            throw Self.missingVariable(EnvironmentVariable.secretAccessKey)
        }
        let token = value(EnvironmentVariable.sessionToken) ?? value(EnvironmentVariable.legacySessionToken)
        self.init(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey, sessionToken: token)
    }

    /// Credentials of `profile` in a shared-credentials-file style INI text (`~/.aws/credentials`).
    ///
    /// Sections are `[name]` or `[profile name]`; keys `aws_access_key_id`, `aws_secret_access_key` and optional
    /// `aws_session_token` (or `aws_security_token`); `#` and `;` start comment lines; indented lines continue a
    /// nested setting and are ignored. Keys are case-insensitive.
    /// - Parameters:
    ///   - contents: The file's text.
    ///   - profile: The section to read.
    ///   - source: The file's name, used in errors only.
    public init(sharedCredentials contents: String, profile: String = "default", source: String = "credentials")
        throws(AWSCredentialsError)
    {
        let wanted = profile.trimmingASCIIWhitespace()
        var inProfile = false
        var found = false
        var values: [String: (value: String, line: Int)] = [:]
        var lineNumber = 0
        // Split on bytes: in Swift's String, "\r\n" is one Character and would not match "\n".
        for lineBytes in contents.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            let rawLine = String(decoding: lineBytes, as: UTF8.self)
            let line = Substring(rawLine.trimmingASCIIWhitespace())
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if let first = rawLine.first, first == " " || first == "\t" { continue }  // nested setting
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count >= 2 else {
                    throw AWSCredentialsError(
                        code: .malformedLine, message: "section header is not closed with ']'", file: source,
                        line: lineNumber)
                }
                var name = line.dropFirst().dropLast().trimmingASCIIWhitespace()
                if name.hasPrefix("profile "), name != wanted {
                    name = String(name.dropFirst("profile ".count)).trimmingASCIIWhitespace()
                }
                inProfile = name == wanted
                found = found || inProfile
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw AWSCredentialsError(
                    code: .malformedLine, message: "expected 'key = value', a [section] or a comment", file: source,
                    line: lineNumber)
            }
            guard inProfile else { continue }
            let key = line[..<equals].trimmingASCIIWhitespace().lowercasedASCII()
            let value = line[line.index(after: equals)...].trimmingASCIIWhitespace()
            values[key] = (value, lineNumber)
        }
        guard found else {
            throw AWSCredentialsError(
                code: .profileNotFound, message: "no section for profile '\(wanted)'", file: source)
        }
        func required(_ key: String) throws(AWSCredentialsError) -> String {
            guard let entry = values[key], !entry.value.isEmpty else {
                throw AWSCredentialsError(
                    code: .missingKey, message: "profile '\(wanted)' has no value for '\(key)'", file: source,
                    line: values[key]?.line ?? 0)
            }
            return entry.value
        }
        let accessKeyId = try required("aws_access_key_id")
        let secretAccessKey = try required("aws_secret_access_key")
        let token = [values["aws_session_token"]?.value, values["aws_security_token"]?.value]
            .compactMap { $0 }.first { !$0.isEmpty }
        self.init(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey, sessionToken: token)
    }

    /// Credentials of `profile` read from the shared credentials file at `path`.
    /// - Throws: ``AWSCredentialsError`` (`unreadableFile`, `malformedLine`, `profileNotFound`, `missingKey`).
    public init(sharedCredentialsFile path: String, profile: String = "default") throws(AWSCredentialsError) {
        let bytes: [UInt8]
        do {
            bytes = try SmallFile.read(path: path, limit: 1 << 20)
        } catch {
            throw AWSCredentialsError(code: .unreadableFile, message: error.description, file: path)
        }
        try self.init(sharedCredentials: String(decoding: bytes, as: UTF8.self), profile: profile, source: path)
    }

    /// Where the AWS tools look for the shared credentials file: `AWS_SHARED_CREDENTIALS_FILE`, else
    /// `$HOME/.aws/credentials`; `nil` when neither is set.
    public static func sharedCredentialsFilePath(environment: [String: String]) -> String? {
        if let path = environment[EnvironmentVariable.sharedCredentialsFile], !path.isEmpty { return path }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home.hasSuffix("/") ? home + ".aws/credentials" : home + "/.aws/credentials"
    }

    /// The profile the AWS tools use: `AWS_PROFILE`, else `default`.
    public static func profileName(environment: [String: String]) -> String {
        guard let profile = environment[EnvironmentVariable.profile], !profile.isEmpty else { return "default" }
        return profile
    }

    private static func missingVariable(_ name: String) -> AWSCredentialsError {
        AWSCredentialsError(code: .missingEnvironmentVariable, message: "environment variable \(name) is not set")
    }
}
