import AgentSafeAWS
import Testing

/// Known answers from AWS's documentation (S3 API reference "Examples of signature calculations", IAM's SigV4
/// example) and, where marked, values cross-checked with botocore 1.43.
@Suite("Known-answer tests: S3 and other services")
struct S3KnownAnswerTests {
    /// AWS's S3 documentation credentials (note the `/` where the test suite's secret has `+`).
    static let docCredentials = AWSCredentials(
        accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    static let may24 = SigV4Timestamp(iso8601: "2013-05-24T00:00:00Z")!
    static let s3 = SigV4Signer(credentials: docCredentials, region: "us-east-1", service: "s3")

    @Test("S3 GET Object example (Range header, empty payload)")
    func getObject() throws {
        let request = SigV4Request(
            method: "GET", path: "/test.txt", host: "examplebucket.s3.amazonaws.com",
            headers: [SigV4Header("Range", "bytes=0-9")])
        let signed = try Self.s3.sign(request, at: Self.may24)
        #expect(
            signed.canonicalRequest == """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """)
        #expect(
            signed.stringToSign == """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
                """)
        #expect(signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(
            signed.headersToAdd.map(\.name) == [
                "Host", "X-Amz-Date", "X-Amz-Content-SHA256", "Authorization",
            ])
    }

    @Test("S3 PUT Object example ('$' in the key is encoded, body hashed)")
    func putObject() throws {
        let request = SigV4Request(
            method: "PUT", path: "/test$file.text", host: "examplebucket.s3.amazonaws.com",
            headers: [
                SigV4Header("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                SigV4Header("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ],
            payload: .text("Welcome to Amazon S3."))
        let signed = try Self.s3.sign(request, at: Self.may24)
        #expect(signed.canonicalRequest.split(separator: "\n")[1] == "/test%24file.text")
        #expect(signed.signedHeaders == "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class")
        #expect(signed.canonicalRequest.hasSuffix("\n44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"))
        #expect(signed.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        // Encoding the key first gives the same signature.
        let encoded = SigV4Request(
            method: "PUT", path: AWSPercentEncoding.s3ObjectPath(bucket: nil, key: "test$file.text"),
            host: "examplebucket.s3.amazonaws.com", headers: request.headers, payload: request.payload)
        #expect(try Self.s3.signature(for: encoded, at: Self.may24) == signed.signature)
    }

    @Test("S3 GET Bucket Lifecycle example (query parameter without value)")
    func getLifecycle() throws {
        let request = SigV4Request(method: "GET", path: "/?lifecycle", host: "examplebucket.s3.amazonaws.com")
        let signed = try Self.s3.sign(request, at: Self.may24)
        #expect(signed.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2] == "lifecycle=")
        #expect(signed.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test("S3 Get Bucket (List Objects) example (sorted query)")
    func listObjects() throws {
        let request = SigV4Request(
            method: "GET", path: "/?prefix=J&max-keys=2", host: "examplebucket.s3.amazonaws.com")
        let signed = try Self.s3.sign(request, at: Self.may24)
        #expect(
            signed.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2]
                == "max-keys=2&prefix=J")
        #expect(signed.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test("S3 PutObject with UNSIGNED-PAYLOAD, a session token and a unicode key (botocore cross-check)")
    func unsignedPayloadWithSessionToken() throws {
        let credentials = AWSCredentials(
            accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            sessionToken: "FQoGZXIvYXdzEXAMPLETOKEN//+=")
        let signer = SigV4Signer(credentials: credentials, region: "eu-west-1", service: "s3")
        let path = AWSPercentEncoding.s3ObjectPath(bucket: "my-bucket", key: "agent safe/2024/über+plus.jsonl")
        #expect(path == "/my-bucket/agent%20safe/2024/%C3%BCber%2Bplus.jsonl")
        let request = SigV4Request(
            method: "PUT", path: path, host: "s3.eu-west-1.amazonaws.com",
            headers: [
                SigV4Header("Content-Type", "application/x-ndjson"),
                SigV4Header("x-amz-server-side-encryption", "AES256"),
            ],
            payload: .unsigned)
        let signed = try signer.sign(request, at: Self.may24)
        #expect(
            signed.canonicalRequest == """
                PUT
                /my-bucket/agent%20safe/2024/%C3%BCber%2Bplus.jsonl

                content-type:application/x-ndjson
                host:s3.eu-west-1.amazonaws.com
                x-amz-content-sha256:UNSIGNED-PAYLOAD
                x-amz-date:20130524T000000Z
                x-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN//+=
                x-amz-server-side-encryption:AES256

                content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-server-side-encryption
                UNSIGNED-PAYLOAD
                """)
        #expect(signed.signature == "5a19897f4af085113c5b67add71d27c7cb2dd725cffd9a967ea660211f826eac")
        #expect(signed.headersToAdd.contains(SigV4Header("X-Amz-Security-Token", "FQoGZXIvYXdzEXAMPLETOKEN//+=")))
        #expect(signed.headersToAdd.contains(SigV4Header("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")))
        // The raw (unencoded) key signs the same: illegal bytes are encoded while signing.
        let raw = SigV4Request(
            method: "PUT", path: "/my-bucket/agent safe/2024/über%2Bplus.jsonl", host: request.host,
            headers: request.headers, payload: .unsigned)
        #expect(try signer.signature(for: raw, at: Self.may24) == signed.signature)
    }

    @Test("S3 paths are neither normalised nor encoded twice")
    func s3PathIsKept() throws {
        let request = SigV4Request(
            method: "GET", path: "/bucket/a//b/./../c%2fd e", host: "bucket.s3.amazonaws.com")
        let canonical = try Self.s3.canonicalRequest(for: request, at: Self.may24)
        #expect(canonical.split(separator: "\n")[1] == "/bucket/a//b/./../c%2Fd%20e")
    }

    @Test("IAM ListUsers example from the SigV4 documentation")
    func iamListUsers() throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "iam")
        let request = SigV4Request(
            method: "GET", path: "/?Action=ListUsers&Version=2010-05-08", host: "iam.amazonaws.com",
            headers: [SigV4Header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")])
        let signed = try signer.sign(request, at: SigV4Timestamp(iso8601: "20150830T123600Z")!)
        #expect(signed.stringToSign.hasSuffix("f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"))
        #expect(signed.signature == "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
    }

    @Test("other services encode the wire path twice (botocore cross-check)")
    func doubleEncoding() throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "service")
        let request = SigV4Request(
            method: "GET", path: "/documents%20and%20settings/", host: "example.amazonaws.com")
        let signed = try signer.sign(request, at: SigV4Timestamp(iso8601: "2015-08-30T12:36:00Z")!)
        #expect(signed.canonicalRequest.split(separator: "\n")[1] == "/documents%2520and%2520settings/")
        #expect(signed.signature == "23c9727f014f850a592311a0323b422f9c1e3ad2d406c610f00d64ab3272c75a")
    }
}
