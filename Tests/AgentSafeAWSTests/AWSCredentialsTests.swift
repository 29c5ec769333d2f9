import AgentSafeAWS
import Foundation
import Testing

@Suite("AWS credentials: loading and redaction")
struct AWSCredentialsTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let token = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN=="

    // MARK: Environment

    @Test("loads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN")
    func environment() throws {
        let credentials = try AWSCredentials(environment: [
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": Self.secret,
            "AWS_SESSION_TOKEN": Self.token, "UNRELATED": "x",
        ])
        #expect(
            credentials
                == AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: Self.secret, sessionToken: Self.token))
    }

    @Test("an empty session token counts as none; AWS_SECURITY_TOKEN is the fallback")
    func environmentToken() throws {
        let base = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": Self.secret]
        #expect(try AWSCredentials(environment: base.merging(["AWS_SESSION_TOKEN": ""]) { $1 }).sessionToken == nil)
        let legacy = base.merging(["AWS_SECURITY_TOKEN": "legacy"]) { $1 }
        #expect(try AWSCredentials(environment: legacy).sessionToken == "legacy")
    }

    @Test(
        "a missing variable is named, and no value appears in the error",
        arguments: [
            (["AWS_SECRET_ACCESS_KEY": secret], "AWS_ACCESS_KEY_ID"),
            (["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SESSION_TOKEN": token], "AWS_SECRET_ACCESS_KEY"),
            (["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "  "], "AWS_SECRET_ACCESS_KEY"),
        ])
    func environmentMissing(environment: [String: String], missing: String) {
        #expect {
            try AWSCredentials(environment: environment)
        } throws: { error in
            guard let error = error as? AWSCredentialsError else { return false }
            return error.code == .missingEnvironmentVariable && error.description.contains(missing)
                && !error.description.contains(Self.secret) && !error.description.contains(Self.token)
        }
    }

    // MARK: Shared credentials file

    static let ini = """
        # a comment
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = \(secret)

        [ci]
        ; another comment
        AWS_ACCESS_KEY_ID=AKIDCI
        aws_secret_access_key=ci/secret+key
        aws_session_token = \(token)
        s3 =
          max_concurrent_requests = 10

        [profile shipper]
        aws_access_key_id = AKIDSHIPPER
        aws_secret_access_key = shipper-secret

        [broken]
        aws_access_key_id = AKIDBROKEN
        """

    @Test("reads the default profile, a named one and a [profile name] section")
    func iniProfiles() throws {
        #expect(
            try AWSCredentials(sharedCredentials: Self.ini)
                == AWSCredentials(accessKeyId: "AKIDDEFAULT", secretAccessKey: Self.secret))
        #expect(
            try AWSCredentials(sharedCredentials: Self.ini, profile: "ci")
                == AWSCredentials(accessKeyId: "AKIDCI", secretAccessKey: "ci/secret+key", sessionToken: Self.token))
        #expect(try AWSCredentials(sharedCredentials: Self.ini, profile: "shipper").accessKeyId == "AKIDSHIPPER")
    }

    @Test("CRLF line endings are accepted")
    func iniCRLF() throws {
        let text = "[default]\r\naws_access_key_id = AKID\r\naws_secret_access_key = s3cr3t\r\n"
        #expect(try AWSCredentials(sharedCredentials: text).secretAccessKey == "s3cr3t")
    }

    @Test("an unknown profile and a missing key are reported with the file name")
    func iniErrors() {
        #expect {
            try AWSCredentials(sharedCredentials: Self.ini, profile: "nope", source: "/home/a/.aws/credentials")
        } throws: { error in
            let error = error as? AWSCredentialsError
            return error?.code == .profileNotFound && error?.file == "/home/a/.aws/credentials"
                && error?.description.contains("'nope'") == true
        }
        #expect {
            try AWSCredentials(sharedCredentials: Self.ini, profile: "broken")
        } throws: { error in
            let error = error as? AWSCredentialsError
            return error?.code == .missingKey && error?.message.contains("aws_secret_access_key") == true
        }
    }

    @Test("a malformed line is reported by number, without its contents")
    func iniMalformed() {
        let text = "[default]\naws_access_key_id = AKID\n\(Self.secret)\n"
        #expect {
            try AWSCredentials(sharedCredentials: text, source: "creds")
        } throws: { error in
            guard let error = error as? AWSCredentialsError else { return false }
            return error.code == .malformedLine && error.line == 3 && error.description.hasPrefix("creds:3:")
                && !error.description.contains(Self.secret)
        }
    }

    @Test("loads from a file; an unreadable file is an error naming the path")
    func file() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("agent-safe-credentials-\(UInt64.random(in: 0...UInt64.max))").path
        try Self.ini.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try AWSCredentials(sharedCredentialsFile: path, profile: "ci").accessKeyId == "AKIDCI")
        #expect {
            try AWSCredentials(sharedCredentialsFile: path + ".missing")
        } throws: { error in
            let error = error as? AWSCredentialsError
            return error?.code == .unreadableFile && error?.file == path + ".missing"
        }
    }

    @Test("file path and profile follow the AWS tools' environment variables")
    func locations() {
        #expect(AWSCredentials.sharedCredentialsFilePath(environment: ["HOME": "/home/a"]) == "/home/a/.aws/credentials")
        #expect(
            AWSCredentials.sharedCredentialsFilePath(environment: ["HOME": "/home/a", "AWS_SHARED_CREDENTIALS_FILE": "/etc/c"])
                == "/etc/c")
        #expect(AWSCredentials.sharedCredentialsFilePath(environment: [:]) == nil)
        #expect(AWSCredentials.profileName(environment: [:]) == "default")
        #expect(AWSCredentials.profileName(environment: ["AWS_PROFILE": "ci"]) == "ci")
    }

    // MARK: Redaction

    @Test("the secret and the token never appear when credentials or a signer are printed")
    func redaction() {
        let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: Self.secret, sessionToken: Self.token)
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
        var dumped = ""
        dump(credentials, to: &dumped)
        var dumpedSigner = ""
        dump(signer, to: &dumpedSigner)
        let renderings = [
            credentials.description, credentials.debugDescription, "\(credentials)",
            String(describing: credentials), String(reflecting: credentials), dumped,
            "\(signer)", String(reflecting: signer), dumpedSigner, "\([credentials])", "\(Optional(credentials) as Any)",
        ]
        for text in renderings {
            #expect(!text.contains(Self.secret), "secret leaked: \(text.prefix(40))")
            #expect(!text.contains(Self.token), "token leaked")
            #expect(!text.contains("wJalr"), "part of the secret leaked")
        }
        #expect(credentials.description.contains("AKIDEXAMPLE"))
        #expect(credentials.description.contains("<redacted>"))
        #expect(AWSCredentials(accessKeyId: "A", secretAccessKey: "B").description.contains("sessionToken: nil"))
    }
}
