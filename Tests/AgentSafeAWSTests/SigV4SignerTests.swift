@testable import AgentSafeAWS
import Testing

@Suite("SigV4 signer behaviour")
struct SigV4SignerTests {
    static let credentials = AWSCredentials(
        accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let time = SigV4Timestamp(iso8601: "2015-08-30T12:36:00Z")!
    static let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "service")

    @Test("default options: S3 names get S3 rules, everything else the standard ones")
    func options() {
        #expect(SigV4Signer(credentials: Self.credentials, region: "r", service: "s3").options == .s3)
        #expect(SigV4Signer(credentials: Self.credentials, region: "r", service: "ec2").options == .standard)
        #expect(SigV4Signer.Options.s3.uriEncodeTwice == false && SigV4Signer.Options.s3.normalizePath == false)
        #expect(SigV4Signer.Options.s3.signedBodyHeader && !SigV4Signer.Options.standard.signedBodyHeader)
    }

    @Test("a Host header in the request is used as is and not added again")
    func hostFromHeaders() throws {
        let request = SigV4Request(method: "GET", path: "/", headers: [SigV4Header("host", "example.amazonaws.com")])
        let signed = try Self.signer.sign(request, at: Self.time)
        #expect(signed.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")  // get-vanilla
        #expect(!signed.headersToAdd.contains { $0.name == "Host" })
    }

    @Test("no Host anywhere is an error")
    func missingHost() {
        #expect(throws: SigV4Error.self) {
            try Self.signer.sign(SigV4Request(method: "GET", path: "/"), at: Self.time)
        }
        do {
            _ = try Self.signer.sign(SigV4Request(method: "GET", path: "/"), at: Self.time)
        } catch {
            #expect(error.code == .missingHost)
        }
    }

    @Test("invalid method, header name and payload hash are rejected", arguments: [
        (SigV4Request(method: "", path: "/", host: "h"), SigV4Error.Code.invalidMethod),
        (SigV4Request(method: "GET\n", path: "/", host: "h"), .invalidMethod),
        (SigV4Request(method: "GET", path: "/", host: "h", headers: [SigV4Header("bad name", "v")]), .invalidHeaderName),
        (SigV4Request(method: "GET", path: "/", host: "h", headers: [SigV4Header("x:y", "v")]), .invalidHeaderName),
        (SigV4Request(method: "GET", path: "/", host: "h", payload: .precomputedSHA256("abc")), .invalidPayloadHash),
    ])
    func invalidInput(request: SigV4Request, code: SigV4Error.Code) {
        do {
            _ = try Self.signer.sign(request, at: Self.time)
            Issue.record("expected \(code)")
        } catch {
            #expect(error.code == code)
        }
    }

    @Test("a precomputed payload hash signs like the body it hashes")
    func precomputedHash() throws {
        let body = SigV4Request(method: "POST", path: "/", host: "h", payload: .text("Param1=value1"))
        var hashed = body
        hashed.payload = .precomputedSHA256("9095672BBD1F56DFC5B65F3E153ADC8731A4A654192329106275F4C7B24D0B6E")
        #expect(try Self.signer.signature(for: hashed, at: Self.time) == Self.signer.signature(for: body, at: Self.time))
    }

    @Test("headers the signer sets replace the caller's; hop-by-hop and User-Agent are not signed")
    func replacedAndUnsignedHeaders() throws {
        let request = SigV4Request(
            method: "GET", path: "/", host: "example.amazonaws.com",
            headers: [
                SigV4Header("X-Amz-Date", "19990101T000000Z"), SigV4Header("Authorization", "stale"),
                SigV4Header("User-Agent", "agent-safe/1.0"), SigV4Header("Connection", "keep-alive"),
                SigV4Header("Accept", "application/json"),
            ])
        let signed = try Self.signer.sign(request, at: Self.time)
        #expect(signed.signedHeaders == "accept;host;x-amz-date")
        let sent = signed.applied(to: request.headers)
        #expect(sent.filter { $0.name.lowercased() == "x-amz-date" } == [SigV4Header("X-Amz-Date", "20150830T123600Z")])
        #expect(sent.filter { $0.name.lowercased() == "authorization" }.map(\.value) == [signed.authorization])
        #expect(sent.contains(SigV4Header("User-Agent", "agent-safe/1.0")))
        #expect(sent.last?.name == "Authorization")
    }

    @Test("session token: signed by default, appended unsigned when asked")
    func sessionToken() throws {
        let credentials = AWSCredentials(
            accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            sessionToken: "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267")
        let request = SigV4Request(method: "GET", path: "/", host: "example.amazonaws.com")
        let signed = try SigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
            .sign(request, at: Self.time)
        #expect(signed.signedHeaders == "host;x-amz-date;x-amz-security-token")
        #expect(signed.signature == "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8")  // vector
        var options = SigV4Signer.Options.standard
        options.signSessionToken = false
        let after = try SigV4Signer(credentials: credentials, region: "us-east-1", service: "service", options: options)
            .sign(request, at: Self.time)
        #expect(after.signedHeaders == "host;x-amz-date")
        #expect(after.headersToAdd.contains { $0.name == "X-Amz-Security-Token" })
        #expect(after.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test("the signing key is derived once per (date, region, service) and shared by copies")
    func signingKeyCache() throws {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "service")
        let request = SigV4Request(method: "GET", path: "/", host: "example.amazonaws.com")
        let first = try signer.signature(for: request, at: Self.time)
        #expect(signer.cachedKeyCount == 1)
        let copy = signer
        let later = SigV4Timestamp(secondsSince1970: Self.time.secondsSince1970 + 3600)
        _ = try copy.signature(for: request, at: later)
        #expect(signer.cachedKeyCount == 1)
        let nextDay = SigV4Timestamp(secondsSince1970: Self.time.secondsSince1970 + 86_400)
        _ = try signer.signature(for: request, at: nextDay)
        #expect(signer.cachedKeyCount == 2)
        // Cached and freshly derived keys sign alike.
        let fresh = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "service")
        #expect(try fresh.signature(for: request, at: Self.time) == first)
        for day in 0..<10 {
            _ = try signer.signature(for: request, at: SigV4Timestamp(secondsSince1970: Int64(day) * 86_400))
        }
        #expect(signer.cachedKeyCount <= SigningKeyCache.capacity)
    }

    @Test("signing is safe from many tasks at once")
    func concurrentSigning() async throws {
        let request = SigV4Request(method: "GET", path: "/", host: "example.amazonaws.com")
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "service")
        let signatures = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<32 { group.addTask { try signer.signature(for: request, at: Self.time) } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(signatures == ["5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"])
    }

    @Test("error descriptions carry code and message only")
    func errorDescription() {
        let error = SigV4Error(code: .missingHost, message: "no host")
        #expect(error.description == "missing_host: no host")
    }
}
