import Crypto

/// The request bodies a webhook shipper sends. Each audit line is embedded byte for byte, never re-serialised.
public enum WebhookBody {
    /// The body and its `Content-Type` for `batch` in `format`.
    public static func encode(_ batch: ShipBatch, format: WebhookShipperSpec.Format) -> (
        body: [UInt8], contentType: String
    ) {
        switch format {
        case .ndjson:
            return (batch.ndjson, "application/x-ndjson")
        case .json:
            var body: [UInt8] = [0x5B]
            body.reserveCapacity(batch.byteCount + 2)
            for (index, line) in batch.lines.enumerated() {
                if index > 0 { body.append(0x2C) }
                body.append(contentsOf: line.bytes)
            }
            body.append(0x5D)
            return (body, "application/json")
        case .splunkHEC:
            var body: [UInt8] = []
            body.reserveCapacity(batch.byteCount + batch.lines.count * 64)
            for line in batch.lines {
                let time = UTCTimestamp(iso8601: line.timestamp)?.epochMillisecondsText ?? "0"
                body.append(contentsOf: #"{"event":"#.utf8)
                body.append(contentsOf: line.bytes)
                body.append(contentsOf: #","time":\#(time),"sourcetype":"agent-safe"}"#.utf8)
                body.append(0x0A)
            }
            return (body, "application/json")
        }
    }

    /// `sha256=<lowercase hex HMAC-SHA256 of body under key>`, the `X-Agent-Safe-Signature` value.
    public static func signature(body: [UInt8], key: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: key))
        return "sha256=" + hex(mac)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
