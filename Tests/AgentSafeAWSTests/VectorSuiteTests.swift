import AgentSafeAWS
import Foundation
import Testing

@Suite("Official SigV4 test suite (header signing)")
struct VectorSuiteTests {
    @Test("the vector suite is present")
    func suiteIsPresent() {
        guard VectorSuite.isAvailable else {
            let reason = "SigV4 vectors not found at \(VectorSuite.directory.path)"
            if VectorSuite.isCI {
                Issue.record("\(reason) (CI=true: the suite must run in CI)")
            } else {
                print("skipping the SigV4 vector suite: \(reason)")
            }
            return
        }
        #expect(VectorSuite.caseNames().count >= 30)
    }

    @Test(
        "canonical request, string to sign and signature match",
        .enabled(if: VectorSuite.isAvailable, "SigV4 vectors not found beside the repository"),
        arguments: VectorSuite.caseNames()
    )
    func vector(_ name: String) throws {
        let context = try VectorSuite.context(name)
        let request = try RawHTTPRequest.parse(try VectorSuite.bytes(name, "request.txt"))
        let credentials = AWSCredentials(
            accessKeyId: context.credentials.accessKeyId,
            secretAccessKey: context.credentials.secretAccessKey,
            sessionToken: context.credentials.token)
        let options = SigV4Signer.Options(
            uriEncodeTwice: true,
            normalizePath: context.normalize,
            signedBodyHeader: context.signBody,
            signSessionToken: !(context.omitSessionToken ?? false))
        let signer = SigV4Signer(
            credentials: credentials, region: context.region, service: context.service, options: options)
        let time = try #require(SigV4Timestamp(iso8601: context.timestamp))

        let signed = try signer.sign(request, at: time)
        #expect(signed.canonicalRequest == expected(name, "header-canonical-request.txt"))
        #expect(signed.stringToSign == expected(name, "header-string-to-sign.txt"))
        #expect(signed.signature == expected(name, "header-signature.txt"))

        // The separate entry points agree with `sign`.
        #expect(try signer.canonicalRequest(for: request, at: time) == signed.canonicalRequest)
        #expect(try signer.stringToSign(for: request, at: time) == signed.stringToSign)
        #expect(try signer.signature(for: request, at: time) == signed.signature)

        // The Authorization line of the signed request, and the token header when there is a token.
        let signedRequest = (try? VectorSuite.text(name, "header-signed-request.txt")) ?? ""
        if let line = signedRequest.split(separator: "\n").first(where: { $0.hasPrefix("Authorization:") }) {
            #expect(signed.authorization == String(line.dropFirst("Authorization:".count)))
        }
        if let token = context.credentials.token {
            #expect(signed.headersToAdd.contains(SigV4Header("X-Amz-Security-Token", token)))
        }
    }

    private func expected(_ name: String, _ file: String) -> String {
        var text = (try? VectorSuite.text(name, file)) ?? "<missing \(file)>"
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
