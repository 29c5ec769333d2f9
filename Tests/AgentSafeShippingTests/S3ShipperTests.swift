import AgentSafeAWS
import AgentSafeTestSupport
import Foundation
import Testing

@testable import AgentSafeShipping

/// The S3 shipper against a real `moto_server` that verifies every SigV4 signature (IAM auth enabled).
@Suite(
    .enabled("needs moto (PyPI moto[server]); required when CI=true") { MotoServer.shouldRun("S3ShipperTests") })
struct S3ShipperTests {
    @Test func batchesLandAsObjectsHoldingExactlyTheLoggedLines() async throws {
        if let reason = MotoServer.unavailableReason {
            Issue.record("CI=true but \(reason)")
            return
        }
        let dir = try TemporaryDirectory("s3")
        defer { dir.remove() }
        try await MotoServer.with(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "3"]) { moto in
            try await shipAndReadBack(moto, dir)
        }
    }

    func shipAndReadBack(_ moto: MotoServer, _ dir: TemporaryDirectory) async throws {
        let credentials = try await moto.createS3User()
        try Data(
            """
            [default]
            aws_access_key_id = AKIDNOTTHISONE
            aws_secret_access_key = nope
            [profile audit]
            aws_access_key_id = \(credentials.accessKeyId)
            aws_secret_access_key = \(credentials.secretAccessKey)

            """.utf8
        ).write(to: URL(fileURLWithPath: dir.file("credentials")))

        // 130 events from 2024-01-31T23:59:50Z, one a second: the UTC date changes at seq 11.
        let log = AuditLogFixture(directory: dir.path)
        log.append(130, padding: 40)

        let fromFile = try S3Shipper(
            name: "s3",
            spec: S3ShipperSpec(
                bucket: "my-audit", prefix: "agent-safe/", region: "us-east-1", endpoint: moto.endpoint, sse: .aes256,
                credentialsFile: "credentials", profile: "audit"),
            environment: [:], baseDirectory: dir.path, logger: quietLogger)
        let fromEnvironment = try S3Shipper(
            name: "s3-env",
            spec: S3ShipperSpec(bucket: "my-audit", prefix: "env", endpoint: moto.endpoint),
            environment: [
                "AWS_ACCESS_KEY_ID": credentials.accessKeyId, "AWS_SECRET_ACCESS_KEY": credentials.secretAccessKey,
            ],
            logger: quietLogger)

        let created = try await fromFile.send(method: "PUT", path: fromFile.bucketPath)
        #expect(created.status == 200)

        let runner = ShipperRunner(
            logPath: log.path,
            members: [fromFile, fromEnvironment].map {
                ShipperRunner.Member(
                    shipper: $0, batch: BatchSpec(maxEvents: 50, maxBytes: 1 << 20, lingerMs: 0),
                    retry: RetrySpec(baseMs: 10, maxMs: 100))
            },
            cursorStore: try SQLiteShipperCursorStore(stateDirectory: dir.file("state")), logger: quietLogger)
        let result = await runner.flush(timeout: .seconds(45))
        #expect(result.complete)
        #expect(result.snapshots.map(\.shippedEvents) == [130, 130])
        #expect(result.snapshots.map(\.failures) == [0, 0])

        // One signed LIST of the whole bucket. (moto 5.2.1's signature check rejects a query value holding a
        // '/', botocore's own requests included, so the listing is not filtered by prefix on the server.)
        let listing = try await fromFile.send(method: "GET", path: fromFile.bucketPath + "?list-type=2")
        #expect(listing.status == 200, "\(String(decoding: listing.body, as: UTF8.self))")
        let allKeys = MotoServer.elements("Key", in: String(decoding: listing.body, as: UTF8.self))
        #expect(allKeys.count == 6)
        for (prefix, sse) in [("agent-safe/", "AES256"), ("env/", nil)] {
            let keys = allKeys.filter { $0.hasPrefix(prefix) }.sorted()
            #expect(
                keys == [
                    "\(prefix)2024/01/31/000000000001-000000000050.jsonl",
                    "\(prefix)2024/02/01/000000000051-000000000100.jsonl",
                    "\(prefix)2024/02/01/000000000101-000000000130.jsonl",
                ])
            var stored: [UInt8] = []
            for key in keys {
                let object = try await fromFile.send(method: "GET", path: fromFile.objectPath(key: key))
                #expect(object.status == 200)
                #expect(object.header("x-amz-server-side-encryption") == sse)
                stored += object.body
            }
            #expect(
                String(decoding: stored, as: UTF8.self) == String(decoding: log.ndjson(1...130), as: UTF8.self),
                "the objects hold exactly the logged lines")
        }

        // A wrong secret is refused by moto's signature check: a failure to retry, never an acknowledgement.
        let forged = try S3Shipper(
            name: "forged", spec: S3ShipperSpec(bucket: "my-audit", endpoint: moto.endpoint),
            environment: ["AWS_ACCESS_KEY_ID": credentials.accessKeyId, "AWS_SECRET_ACCESS_KEY": "wrong-secret"],
            logger: quietLogger)
        var reader = AuditLogReader(path: log.path, after: 0)
        let batch = ShipBatch(lines: try reader.read(maxLines: 5, maxBytes: 1 << 20).lines)
        let error = await #expect(throws: ShippingError.self) { try await forged.ship(batch) }
        #expect(error?.code == .rejected)
        #expect(error?.message.contains("SignatureDoesNotMatch") == true)
        #expect(error?.message.contains("wrong-secret") == false)
    }
}

/// Addressing without a server.
@Suite struct S3AddressingTests {
    @Test func virtualHostedAddressingByDefault() throws {
        let aws = try S3Shipper.location(for: S3ShipperSpec(bucket: "my-audit", region: "eu-west-1"))
        #expect(aws.origin == "https://my-audit.s3.eu-west-1.amazonaws.com" && aws.basePath == "")
        let dotted = try S3Shipper.location(for: S3ShipperSpec(bucket: "my.audit", region: "eu-west-1"))
        #expect(dotted.origin == "https://s3.eu-west-1.amazonaws.com" && dotted.basePath == "/my.audit")
        let local = try S3Shipper.location(for: S3ShipperSpec(bucket: "b-1", endpoint: "http://127.0.0.1:9000/"))
        #expect(local.origin == "http://127.0.0.1:9000" && local.host == "127.0.0.1:9000" && local.basePath == "/b-1")
    }
}
