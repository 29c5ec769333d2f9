import Crypto
import Foundation
import Testing

@testable import AgentSafeShipping

@Suite struct EncodingTests {
    func batch(_ seqs: ClosedRange<Int64>, start: Int64 = 1_706_745_590) throws -> (ShipBatch, AuditLogFixture, TemporaryDirectory) {
        let dir = try TemporaryDirectory("encoding")
        let log = AuditLogFixture(directory: dir.path, start: start)
        log.append(Int(seqs.upperBound))
        var reader = AuditLogReader(path: log.path, after: seqs.lowerBound - 1)
        let chunk = try reader.read(maxLines: seqs.count, maxBytes: 1 << 20)
        return (ShipBatch(lines: chunk.lines), log, dir)
    }

    @Test func ndjsonAndJSONArrayEmbedTheLinesByteForByte() throws {
        let (batch, log, dir) = try batch(1...3)
        defer { dir.remove() }
        let nd = WebhookBody.encode(batch, format: .ndjson)
        #expect(nd.contentType == "application/x-ndjson")
        #expect(nd.body == log.ndjson(1...3))
        let json = WebhookBody.encode(batch, format: .json)
        #expect(json.contentType == "application/json")
        #expect(String(decoding: json.body, as: UTF8.self) == "[" + log.lines.joined(separator: ",") + "]")
        let parsed = try JSONSerialization.jsonObject(with: Data(json.body)) as? [[String: Any]]
        #expect(parsed?.map { $0["seq"] as? Int } == [1, 2, 3])
    }

    @Test func splunkEnvelopeWrapsEachLine() throws {
        let (batch, log, dir) = try batch(1...2)
        defer { dir.remove() }
        let hec = WebhookBody.encode(batch, format: .splunkHEC)
        let text = String(decoding: hec.body, as: UTF8.self)
        let expected = log.lines.enumerated().map { index, line in
            #"{"event":\#(line),"time":\#(1_706_745_590 + index),"sourcetype":"agent-safe"}"# + "\n"
        }.joined()
        #expect(text == expected)
    }

    @Test func signatureIsHMACSHA256OverTheExactBody() {
        let body = Array("hello\n".utf8)
        let key = Array("s3cret".utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: key))
        #expect(WebhookBody.signature(body: body, key: key) == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
        // Known answer (Python: hmac.new(b"s3cret", b"hello\n", "sha256").hexdigest()).
        #expect(
            WebhookBody.signature(body: body, key: key)
                == "sha256=52ad141974ff521807483945356b8eff108fce1c538e4d112cb29c4afe774d46")
    }

    @Test func idempotencyKeyIsFirstEventIdAndLastHash() throws {
        let (batch, _, dir) = try batch(4...9)
        defer { dir.remove() }
        #expect(batch.firstSeq == 4)
        #expect(batch.lastSeq == 9)
        #expect(batch.idempotencyKey == AuditLogFixture.eventID(4) + ":" + AuditLogFixture.entryHash(9))
        #expect(ShipBatch.headerSafe("a b%é") == "a%20b%25%C3%A9")
    }

    @Test func s3KeyUsesTheUTCDateOfTheFirstEvent() throws {
        // 2024-01-31T23:59:50Z + 1 s per event: seq 11 is on 2024-02-01.
        let (early, _, dir1) = try batch(1...12)
        defer { dir1.remove() }
        #expect(S3ObjectKey.key(prefix: "agent-safe/", batch: early) == "agent-safe/2024/01/31/000000000001-000000000012.jsonl")
        let (late, _, dir2) = try batch(11...12)
        defer { dir2.remove() }
        #expect(S3ObjectKey.key(prefix: "agent-safe", batch: late) == "agent-safe/2024/02/01/000000000011-000000000012.jsonl")
        #expect(S3ObjectKey.key(prefix: "", batch: late) == "2024/02/01/000000000011-000000000012.jsonl")
    }

    @Test func timestampsParseWithFractionsAndOffsets() {
        #expect(UTCTimestamp(iso8601: "2024-01-31T23:59:50Z")?.seconds == 1_706_745_590)
        #expect(UTCTimestamp(iso8601: "2024-01-31T23:59:50.5Z")?.epochMillisecondsText == "1706745590.500")
        #expect(UTCTimestamp(iso8601: "2024-02-01T00:59:50.123456+01:00")?.epochMillisecondsText == "1706745590.123")
        let date = UTCTimestamp(iso8601: "2024-02-01T00:59:50+01:00")?.utcDate
        #expect(date?.year == 2024 && date?.month == 1 && date?.day == 31)
        #expect(UTCTimestamp(iso8601: "2024-02-30T00:00:00Z") == nil)
        #expect(UTCTimestamp(iso8601: "2024-01-31 23:59:50Z") == nil)
        #expect(UTCTimestamp(iso8601: "2024-01-31T23:59:50") == nil)
    }

    @Test func backoffCeilingDoublesUpToTheCap() {
        let backoff = Backoff(RetrySpec(baseMs: 100, maxMs: 1000))
        #expect((1...6).map(backoff.ceilingMilliseconds(attempt:)) == [100, 200, 400, 800, 1000, 1000])
        #expect(backoff.ceilingMilliseconds(attempt: 500) == 1000)
        for attempt in 1...20 {
            let delay = backoff.delay(attempt: attempt)
            #expect(delay >= .zero && delay <= .milliseconds(backoff.ceilingMilliseconds(attempt: attempt)))
        }
    }

    @Test func configValidationNamesFieldPaths() {
        let config = AuditShippingConfig(
            path: "./audit.jsonl",
            shippers: [
                ShipperSpec(name: "a", destination: .file(FileShipperSpec(path: "/tmp/x"))),
                ShipperSpec(name: "a", destination: .webhook(WebhookShipperSpec(url: "ftp://x", headers: ["Idempotency-Key": "1"]))),
                ShipperSpec(name: "s3", destination: .s3(S3ShipperSpec(bucket: "B", kmsKeyId: "k"))),
            ],
            batch: BatchSpec(maxEvents: 0))
        let paths = Set(config.validationIssues().map(\.fieldPath))
        #expect(
            paths == [
                "audit.batch.max_events", "audit.shippers[1].name", "audit.shippers[1].url",
                "audit.shippers[1].headers.Idempotency-Key", "audit.shippers[2].bucket", "audit.shippers[2].kms_key_id",
            ])
        let good = AuditShippingConfig(
            path: "./audit.jsonl",
            shippers: [ShipperSpec(name: "siem", destination: .webhook(WebhookShipperSpec(url: "https://siem.example/ingest")))])
        #expect(good.validationIssues().isEmpty)
    }
}
