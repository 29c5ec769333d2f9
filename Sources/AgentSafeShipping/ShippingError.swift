/// Something went wrong while reading the audit log, shipping a batch or storing a cursor.
///
/// Messages name files, shippers, hosts and sequence numbers, never a secret, a token, a signature or a
/// credential, so they are safe to log and to store as a cursor's `last_error`.
public struct ShippingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code, so callers and dashboards can tell problems apart without parsing messages.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let value: String
        private init(_ value: String) { self.value = value }

        /// A log file could not be listed, opened or read.
        public static let logUnreadable = Code("log_unreadable")
        /// A complete log line is not a JSON object with integer `seq` and string `event_id`, `entry_hash`,
        /// `timestamp`.
        public static let malformedLine = Code("malformed_line")
        /// A log line is longer than the reader's limit.
        public static let lineTooLong = Code("line_too_long")
        /// The next sequence number is missing from the file set (e.g. a rotated file was deleted unshipped).
        public static let sequenceGap = Code("sequence_gap")
        /// The receiver answered, but not with a success status.
        public static let rejected = Code("rejected")
        /// The request did not complete: connection refused or reset, TLS, DNS.
        public static let transport = Code("transport")
        /// The request, or a flush, ran out of time.
        public static let timeout = Code("timeout")
        /// AWS credentials could not be loaded.
        public static let credentials = Code("credentials")
        /// A request could not be signed.
        public static let signing = Code("signing")
        /// A file shipper's target could not be written or synced.
        public static let writeFailed = Code("write_failed")
        /// A shipper's configuration is invalid (unreadable secret file, bad URL, unknown name…).
        public static let invalidConfiguration = Code("invalid_configuration")
        /// The cursor store could not be read or written.
        public static let cursorStore = Code("cursor_store")

        public var description: String { value }
    }

    public var code: Code
    public var message: String
    /// Where the error was raised (`File.swift:123`), for bug reports.
    public var location: String

    public init(_ code: Code, _ message: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.location = "\(fileID):\(line)"
    }

    public var description: String { "\(code): \(message)" }

    /// `error` as a `ShippingError`; anything else is wrapped with `fallback` and its description.
    static func wrap(_ error: any Error, as fallback: Code, _ context: String) -> ShippingError {
        if let error = error as? ShippingError { return error }
        return ShippingError(fallback, "\(context): \(error)")
    }
}
