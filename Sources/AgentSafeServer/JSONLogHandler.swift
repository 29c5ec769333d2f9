import AgentSafeCore
import Foundation
import Logging

/// One JSON object per log line on stderr: `{"ts","level","label","msg",…metadata}`. Never given secrets.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var o: [String: JSONValue] = [
            "ts": .string(ISO8601DateFormatter().string(from: Date())), "level": .string(event.level.rawValue),
            "label": .string(label), "msg": .string("\(event.message)"),
        ]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) { o[k] = .string("\(v)") }
        FileHandle.standardError.write(Data((JSONValue.object(o).canonicalText + "\n").utf8))
    }
}
