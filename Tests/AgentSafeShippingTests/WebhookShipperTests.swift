import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import AgentSafeShipping

/// The webhook shipper against a real HTTP server on 127.0.0.1 (SwiftNIO), started and stopped by each test.
@Suite struct WebhookShipperTests {
    static let secret = "webhook-secret-\(UInt64.random(in: 1...UInt64.max))"

    func secretFile(_ dir: TemporaryDirectory) throws -> String {
        let path = dir.file("keys/webhook.secret")
        try FileManager.default.createDirectory(atPath: dir.file("keys"), withIntermediateDirectories: true)
        try Data((Self.secret + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func runner(_ log: AuditLogFixture, _ shipper: any AuditShipper, _ dir: TemporaryDirectory, maxEvents: Int = 40)
        throws -> ShipperRunner
    {
        ShipperRunner(
            logPath: log.path,
            members: [
                ShipperRunner.Member(
                    shipper: shipper, batch: BatchSpec(maxEvents: maxEvents, maxBytes: 1 << 20, lingerMs: 5),
                    retry: RetrySpec(baseMs: 10, maxMs: 100))
            ],
            cursorStore: try SQLiteShipperCursorStore(stateDirectory: dir.file("state")),
            options: ShipperRunner.Options(pollInterval: .milliseconds(20)), logger: quietLogger)
    }

    /// Every event arrived once in order in the accepted bodies; every delivery of a batch (refused or not)
    /// carried the same body and key; each signature verifies.
    func checkDelivery(_ receiver: TestHTTPReceiver, _ log: AuditLogFixture, count: Int64) {
        var seen: [Int64: (key: String, body: [UInt8])] = [:]
        var arrived: [UInt8] = []
        var next: Int64 = 1
        for request in receiver.requests {
            let key = request.headers.first(name: "Idempotency-Key") ?? ""
            let first = Int64(request.headers.first(name: "X-Agent-Safe-First-Seq") ?? "") ?? -1
            let last = Int64(request.headers.first(name: "X-Agent-Safe-Last-Seq") ?? "") ?? -1
            #expect(request.method == .POST)
            #expect(request.headers.first(name: "Content-Type") == "application/x-ndjson")
            #expect(request.headers.first(name: "X-Team") == "platform")
            let mac = HMAC<SHA256>.authenticationCode(for: request.body, using: SymmetricKey(data: Array(Self.secret.utf8)))
            #expect(request.headers.first(name: "X-Agent-Safe-Signature") == "sha256=" + WebhookBody.hex(mac))
            #expect(key == AuditLogFixture.eventID(first) + ":" + AuditLogFixture.entryHash(last))
            if let earlier = seen[first] {
                #expect(earlier.key == key, "a duplicate must carry the same Idempotency-Key")
                let sameBody = earlier.body == request.body
                #expect(sameBody, "a duplicate must carry the same body")
            }
            seen[first] = (key, request.body)
            guard (200..<300).contains(request.status.code) else { continue }
            if first < next { continue }  // an accepted duplicate (same key): the receiver drops it
            #expect(first == next, "batches arrive in order")
            next = last + 1
            arrived += request.body
        }
        #expect(arrived == log.ndjson(1...count), "every event, in order, none lost")
    }

    @Test func refusedRequestsAreRetriedUntilEveryEventArrivesInOrder() async throws {
        let dir = try TemporaryDirectory("webhook")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(200, padding: 50)
        let receiver = try await TestHTTPReceiver.start { index, _ in index < 5 || index % 4 == 3 ? .unavailable : .ok }
        _ = try secretFile(dir)
        let shipper = try WebhookShipper(
            name: "siem",
            spec: WebhookShipperSpec(url: receiver.url, secretFile: "keys/webhook.secret", headers: ["X-Team": "platform"]),
            baseDirectory: dir.path, logger: quietLogger)
        let runner = try runner(log, shipper, dir)
        let task = Task { await runner.run() }
        #expect(await eventually { runner.snapshot(named: "siem")?.cursor == 200 })
        log.append(30, padding: 50)
        runner.notifyAppended()
        let result = await runner.flush(timeout: .seconds(30))
        await task.value
        try await receiver.stop()

        #expect(result.complete)
        #expect(receiver.requests.count > receiver.accepted.count)  // some were refused
        checkDelivery(receiver, log, count: 230)
        let snapshot = try #require(result.snapshots.first)
        #expect(snapshot.shippedEvents == 230 && snapshot.failures >= 5 && snapshot.lag == 0)
        #expect(snapshot.lastError?.contains("HTTP 503") == true)
        #expect(snapshot.lastError?.contains(Self.secret) == false)
    }

    @Test func aReceiverThatIsDownThenComesUpGetsEverything() async throws {
        let dir = try TemporaryDirectory("webhook")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(90)
        _ = try secretFile(dir)
        // Find a free port, then close it: connections are refused until the receiver starts there.
        let probe = try await TestHTTPReceiver.start { _, _ in .ok }
        let port = probe.port
        try await probe.stop()
        let shipper = try WebhookShipper(
            name: "siem",
            spec: WebhookShipperSpec(
                url: "http://127.0.0.1:\(port)/ingest", secretFile: dir.file("keys/webhook.secret"),
                timeoutSeconds: 0.5, headers: ["X-Team": "platform"]),
            logger: quietLogger)
        let runner = try runner(log, shipper, dir)
        let task = Task { await runner.run() }
        #expect(await eventually { (runner.snapshot(named: "siem")?.failures ?? 0) >= 2 })
        let down = try #require(runner.snapshot(named: "siem"))
        #expect(down.cursor == 0 && down.lag == 90)
        // async-http-client retries the connection itself until the request's deadline: a timeout or a
        // connection error, depending on timing.
        #expect(down.lastError.map { $0.hasPrefix("transport") || $0.hasPrefix("timeout") } == true)

        let receiver = try await TestHTTPReceiver.start(port: port) { _, _ in .ok }
        #expect(await eventually { runner.snapshot(named: "siem")?.cursor == 90 })
        task.cancel()
        await task.value
        try await receiver.stop()
        checkDelivery(receiver, log, count: 90)
    }

    @Test func aSlowReceiverTimesOutAndTheSameBatchIsSentAgain() async throws {
        let dir = try TemporaryDirectory("webhook")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(10)
        _ = try secretFile(dir)
        let receiver = try await TestHTTPReceiver.start { index, _ in
            index == 0 ? TestHTTPReceiver.Answer(status: .ok, delay: .milliseconds(1500)) : .ok
        }
        let shipper = try WebhookShipper(
            name: "siem",
            spec: WebhookShipperSpec(
                url: receiver.url, secretFile: dir.file("keys/webhook.secret"), timeoutSeconds: 0.3,
                headers: ["X-Team": "platform"]),
            logger: quietLogger)
        let runner = try runner(log, shipper, dir)
        let result = await runner.flush(timeout: .seconds(30))
        #expect(result.complete)
        #expect(result.snapshots[0].lastError?.hasPrefix("timeout") == true)
        // The first delivery still completes on the receiver's side: a duplicate with the same key.
        #expect(await eventually { receiver.requests.count >= 2 })
        try await Task.sleep(for: .milliseconds(1600))
        try await receiver.stop()
        let keys = receiver.requests.map { $0.headers.first(name: "Idempotency-Key") }
        #expect(Set(keys).count == 1)
        checkDelivery(receiver, log, count: 10)
    }

    @Test func aRedirectIsAFailureNeverFollowed() async throws {
        let dir = try TemporaryDirectory("webhook")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(5)
        _ = try secretFile(dir)
        // A redirect to a page that answers 200 to anything: following it would "acknowledge" an undelivered batch.
        let receiver = try await TestHTTPReceiver.start { index, _ in
            index < 2 ? TestHTTPReceiver.Answer(status: .found, location: "/elsewhere") : .ok
        }
        let shipper = try WebhookShipper(
            name: "siem",
            spec: WebhookShipperSpec(
                url: receiver.url, secretFile: dir.file("keys/webhook.secret"), headers: ["X-Team": "platform"]),
            logger: quietLogger)
        let result = try await runner(log, shipper, dir).flush(timeout: .seconds(30))
        try await receiver.stop()
        #expect(result.complete)
        #expect(result.snapshots[0].failures == 2)
        #expect(result.snapshots[0].lastError?.contains("HTTP 302") == true)
        #expect(receiver.requests.map(\.uri) == ["/ingest", "/ingest", "/ingest"])
        checkDelivery(receiver, log, count: 5)
    }

    @Test func jsonArrayAndSplunkHECFormats() async throws {
        let dir = try TemporaryDirectory("webhook")
        defer { dir.remove() }
        let log = AuditLogFixture(directory: dir.path)
        log.append(3)
        try Data("hec-token-123\n".utf8).write(to: URL(fileURLWithPath: dir.file("hec.token")))
        let receiver = try await TestHTTPReceiver.start { _, _ in .ok }
        var reader = AuditLogReader(path: log.path, after: 0)
        let batch = ShipBatch(lines: try reader.read(maxLines: 10, maxBytes: 1 << 20).lines)

        let json = try WebhookShipper(name: "j", spec: WebhookShipperSpec(url: receiver.url, format: .json), logger: quietLogger)
        try await json.ship(batch)
        let hec = try WebhookShipper(
            name: "h", spec: WebhookShipperSpec(url: receiver.url, format: .splunkHEC, splunkTokenFile: "hec.token"),
            baseDirectory: dir.path, logger: quietLogger)
        try await hec.ship(batch)
        try await receiver.stop()

        let requests = receiver.requests
        #expect(requests.count == 2)
        #expect(requests[0].headers.first(name: "Content-Type") == "application/json")
        #expect(String(decoding: requests[0].body, as: UTF8.self) == "[" + log.lines.joined(separator: ",") + "]")
        #expect(requests[0].headers.first(name: "X-Agent-Safe-Signature") == nil)
        #expect(requests[1].headers.first(name: "Authorization") == "Splunk hec-token-123")
        let events = String(decoding: requests[1].body, as: UTF8.self).split(separator: "\n")
        #expect(events.count == 3)
        for (index, event) in events.enumerated() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any])
            #expect(object["sourcetype"] as? String == "agent-safe")
            #expect((object["event"] as? [String: Any])?["seq"] as? Int == index + 1)
            #expect(event.contains(#"{"event":\#(log.lines[index]),"time":"#))
        }
    }

    @Test func missingSecretFileFailsAtStartWithoutItsContents() throws {
        let error = #expect(throws: ShippingError.self) {
            try WebhookShipper(name: "siem", spec: WebhookShipperSpec(url: "https://siem.example/x", secretFile: "/nonexistent/secret"))
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(WebhookShipper.redacted("https://user:pw@siem.example:8443/in?token=abc") == "https://siem.example:8443/in")
    }
}
