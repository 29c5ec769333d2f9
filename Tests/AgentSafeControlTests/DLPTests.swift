import AgentSafeCore
import Testing

@testable import AgentSafeControl

// Well-known fake or documentation values (none is a live credential).
private enum Sample {
    static let awsKeyID = "AKIAIOSFODNN7EXAMPLE"
    static let awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    // jwt.io's example token (HS256, secret "your-256-bit-secret").
    static let jwt =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    static let ghp = "ghp_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
    static let githubPAT = "github_pat_" + "11ABCDEFG0123456789abc_" + "defghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678"
    static let slackBot = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
    static let slackWebhook = "https://hooks.slack.com/services/" + "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
    static let randomBase64 = "q8Zk3P0vRr7yWm2LbT5xNc9HdJ4sFg6A"  // 32 characters, ~4.9 bits/char
    static let sha256Hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

    static func pem(_ label: String) -> String {
        let body = (0..<6).map { i in
            String(repeating: "MIIEpAIBAAKCAQEA\(i)x7Kq9Zr+/Lm3Tv0Wb", count: 2).prefix(64)
        }.joined(separator: "\n")
        return "-----BEGIN \(label)-----\n\(body)\n-----END \(label)-----"
    }
}

/// The matched text of each finding of `scan(string:)`.
private func matches(_ s: String, _ scanner: DLPScanner = DLPScanner()) -> [(DLPDetector, String)] {
    let bytes = Array(s.utf8)
    return scanner.scan(string: s).map { ($0.0, String(decoding: bytes[$0.1], as: UTF8.self)) }
}

private func flatten(_ v: JSONValue) -> [String] {
    switch v {
    case .string(let s): [s]
    case .array(let a): a.flatMap(flatten)
    case .object(let o): o.keys.map { $0 } + o.values.flatMap(flatten)
    default: []
    }
}

@Suite("DLP scanner")
struct DLPTests {
    // MARK: Positives

    static let positives: [(String, DLPDetector, String)] = [
        (Sample.awsKeyID, .awsAccessKey, Sample.awsKeyID),
        ("aws_access_key_id=\(Sample.awsKeyID)", .awsAccessKey, Sample.awsKeyID),
        ("creds: ASIAY34FZKBOKMUTVV7A, expires soon", .awsAccessKey, "ASIAY34FZKBOKMUTVV7A"),
        ("role AROA3XFRBF535PLBIFPI", .awsAccessKey, "AROA3XFRBF535PLBIFPI"),
        ("aws_secret_access_key = \(Sample.awsSecret)", .awsAccessKey, Sample.awsSecret),
        ("export AWS_SECRET_ACCESS_KEY=\(Sample.awsSecret)", .awsAccessKey, Sample.awsSecret),
        ("{\"SecretAccessKey\": \"\(Sample.awsSecret)\"}", .awsAccessKey, Sample.awsSecret),
        (Sample.pem("RSA PRIVATE KEY"), .privateKey, Sample.pem("RSA PRIVATE KEY")),
        (Sample.pem("EC PRIVATE KEY"), .privateKey, Sample.pem("EC PRIVATE KEY")),
        (Sample.pem("OPENSSH PRIVATE KEY"), .privateKey, Sample.pem("OPENSSH PRIVATE KEY")),
        (Sample.pem("PGP PRIVATE KEY BLOCK"), .privateKey, Sample.pem("PGP PRIVATE KEY BLOCK")),
        ("key:\n" + Sample.pem("PRIVATE KEY") + "\ntrailer", .privateKey, Sample.pem("PRIVATE KEY")),
        ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIE6TAbBgkqhkiG9w0BBQMwDgQI", .privateKey,
         "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIE6TAbBgkqhkiG9w0BBQMwDgQI"),  // truncated: to the end
        (Sample.jwt, .jwt, Sample.jwt),
        ("Authorization: Bearer \(Sample.jwt)", .jwt, Sample.jwt),
        (Sample.ghp, .githubToken, Sample.ghp),
        ("token gho_" + "16C7e42F292c6912E7710c838347Ae178B4a end", .githubToken, "gho_" + "16C7e42F292c6912E7710c838347Ae178B4a"),
        (Sample.githubPAT, .githubToken, Sample.githubPAT),
        ("SLACK_TOKEN=\(Sample.slackBot)", .slackToken, Sample.slackBot),
        ("xapp-" + "1-A0123456789-1234567890123-abcdef0123456789", .slackToken, "xapp-" + "1-A0123456789-1234567890123-abcdef0123456789"),
        ("post to \(Sample.slackWebhook) now", .slackToken, Sample.slackWebhook),
        ("postgres://app:S3cr3t!@db.internal:5432/app", .credentialURL, "S3cr3t!"),
        ("postgresql://admin:hunter2@10.0.0.5/db?sslmode=require", .credentialURL, "hunter2"),
        ("mongodb+srv://svc:pa%40ss@cluster0.mongodb.net/?retryWrites=true", .credentialURL, "pa%40ss"),
        ("redis://:r3d1sPass@cache:6379/0", .credentialURL, "r3d1sPass"),
        ("amqps://guest:guest@mq.example.com/vhost", .credentialURL, "guest"),
        ("https://deploy:tok:en@git.example.com/repo.git", .credentialURL, "tok:en"),
        ("jdbc:mysql://root:toor@localhost:3306/x", .credentialURL, "toor"),
        ("Server=tcp:db.example.com,1433;Database=app;User Id=app;Password=Tr0ub4dor&3;", .connectionString,
         "Tr0ub4dor&3"),
        ("Driver={ODBC Driver 18};Server=x;UID=sa;PWD={p@ss;word};", .connectionString, "p@ss;word"),
        ("Password=correct horse battery staple;Server=db", .connectionString, "correct horse battery staple"),
        ("mysql --user=root --password=hunter2 app", .connectionString, "hunter2"),
        ("host=db user=app passwd='s3cret' dbname=x", .connectionString, "s3cret"),
        (Sample.randomBase64, .highEntropy, Sample.randomBase64),
        ("secret is \(Sample.awsSecret)", .highEntropy, Sample.awsSecret),  // no name: only entropy knows
        (Sample.sha256Hex, .highEntropy, Sample.sha256Hex),  // bare 64-hex: reported (hex rule)
        ("dop_v1_" + Sample.sha256Hex, .highEntropy, "dop_v1_" + Sample.sha256Hex),
    ]

    @Test("detector positives", arguments: positives)
    func positive(_ c: (String, DLPDetector, String)) {
        let found = matches(c.0)
        #expect(found.count == 1, "\(found.map { $0.0 })")
        #expect(found.first?.0 == c.1)
        #expect(found.first?.1 == c.2)
    }

    // MARK: Negatives

    static let negatives: [String] = [
        "payments-api", "prod-cluster-01", "web-api", "prod", "kube-system", "shop", "default",
        "arn:aws:iam::123456789012:role/x",
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef",
        "arn:aws:lambda:eu-west-1:123456789012:function:process-payments-prod-v2",
        "https://example.com/api/v1/items?page=2&sort=desc",
        "https://user@host.example.com/path", "https://x.com/a:b@c", "ssh://git@github.com/org/repo.git", "http://[::1]:8080/",
        "git@github.com:org/repo.git", "mailto:ops@example.com",
        "postgres://app:${DB_PASSWORD}@db/app", "postgres://app:****@db/app", "https://u:<password>@h/",
        "123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000",
        "2024-05-01T12:34:56.789Z", "2024-05-01 12:34:56+02:00",
        "aGVsbG8gd29ybGQ=", "SGVsbG8=", "ZGVwbG95LXdlYg==",
        "sha256:\(Sample.sha256Hex)", "registry.example.com/team/app@sha256:\(Sample.sha256Hex)",
        "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",
        "kube-system-coredns-7db6d8ff4d-x2x9z", "my-deployment-5d4f8b7c9-abcde12345",
        "/var/lib/agent-safe/state/approvals", "ThisIsAVeryLongCamelCaseIdentifierName",
        "payments-service-canary-eu-west-1", "ip-10-0-1-23.eu-west-1.compute.internal",
        "123456789012345678901234567890123456", "Password=;", "Password=<password>;", "pwd=${PWD}",
        "AKIAIOSFODNN7EXAMPL", "XAKIAIOSFODNN7EXAMPLE", "ghp_short", "xoxb-placeholder-value",
        "eyJhbGciOiJIUzI1NiJ9", "see eyJhbGciOiJIUzI1NiJ9.notajwt", "my password is in the vault",
        "restart deployment web in namespace shop", "userpassword=abc",
        "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n-----END CERTIFICATE-----",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@example",
    ]

    @Test("must not fire", arguments: negatives)
    func negative(_ s: String) {
        let found = matches(s)
        #expect(found.isEmpty, "\(found.map { "\($0.0) \($0.1)" })")
    }

    // MARK: Overlaps, several per string

    @Test func mostSpecificWinsOnOverlap() {
        // The PEM body and JWT segments are high-entropy too; only the specific detector is reported.
        #expect(matches(Sample.pem("RSA PRIVATE KEY")).map(\.0) == [.privateKey])
        #expect(matches("t=\(Sample.jwt)").map(\.0) == [.jwt])
        #expect(matches("aws_secret_access_key=\(Sample.awsSecret)").map(\.0) == [.awsAccessKey])
        #expect(matches("redis://:\(Sample.randomBase64)@cache").map(\.0) == [.credentialURL])
    }

    @Test func severalInOneString() {
        let s = "id=\(Sample.awsKeyID) url=postgres://u:pw@h/db tok=\(Sample.ghp)"
        let found = matches(s)
        #expect(found.map(\.0) == [.awsAccessKey, .credentialURL, .githubToken])
        #expect(found.map(\.1) == [Sample.awsKeyID, "pw", Sample.ghp])
    }

    @Test func utf8Offsets() {
        let s = "clé → \(Sample.awsKeyID)"
        let r = DLPScanner().scan(string: s)
        #expect(r.count == 1)
        #expect(r.first?.1 == ("clé → ".utf8.count..<"clé → ".utf8.count + 20))
    }

    // MARK: Params

    @Test func nestedPaths() {
        let params: [String: JSONValue] = [
            "namespace": "shop",
            "jobs": [
                ["name": "migrate", "env": [["name": "DB", "value": "postgres://u:p4ss@h/db"]]],
                ["name": "seed", "args": ["--verbose", .string("--token=\(Sample.ghp)")]],
            ],
            "labels": ["app.kubernetes.io/name": .string(Sample.slackBot)],
            "count": 3,
        ]
        let found = DLPScanner().scan(params)
        #expect(found.map(\.path) == ["jobs[0].env[0].value", "jobs[1].args[1]", "labels[\"app.kubernetes.io/name\"]"])
        #expect(found.map(\.detector) == [.credentialURL, .githubToken, .slackToken])
        #expect(found[1].utf8Range == 8..<(8 + Sample.ghp.utf8.count))
        #expect(found.allSatisfy { !$0.inKey })
    }

    @Test func orderedByPathThenOffset() {
        let params: [String: JSONValue] = [
            "b": .string("\(Sample.awsKeyID) \(Sample.ghp)"),
            "a": .array((0..<12).map { _ in .string(Sample.awsKeyID) }),
            "c": "fine",
        ]
        let found = DLPScanner().scan(params)
        #expect(found.map(\.path) == (0..<12).map { "a[\($0)]" } + ["b", "b"])
        #expect(found.suffix(2).map(\.detector) == [.awsAccessKey, .githubToken])
    }

    @Test func secretsInKeys() {
        let params: [String: JSONValue] = [
            "env": [.init(stringLiteral: Sample.awsKeyID): "x", "DB_URL": "postgres://u:secretpw@h/db"]
        ]
        let found = DLPScanner().scan(params)
        #expect(found.count == 2)
        let keyFinding = found.first { $0.inKey }
        #expect(keyFinding?.detector == .awsAccessKey)
        #expect(keyFinding?.path == "env[\"[redacted:aws_access_key]\"]")
        #expect(keyFinding?.utf8Range == 0..<20)
        for f in found {
            #expect(!f.path.contains("AKIA"))
            #expect(!f.description.contains("AKIA"))
            #expect(!f.description.contains("secretpw"))
        }
        // A value under a secret key: its path shows the key redacted.
        let nested = DLPScanner().scan([.init(stringLiteral: Sample.ghp): ["k": .string(Sample.awsKeyID)]])
        #expect(nested.map(\.path) == [#"["[redacted:github_token]"]"#, #"["[redacted:github_token]"].k"#])
        #expect(nested.map(\.inKey) == [true, false])
    }

    @Test func awsSecretByKeyName() {
        let params: [String: JSONValue] = [
            "env": ["AWS_SECRET_ACCESS_KEY": .string(Sample.awsSecret), "AWS_ACCESS_KEY_ID": .string(Sample.awsKeyID)]
        ]
        let found = DLPScanner().scan(params)
        #expect(found.map(\.path) == ["env.AWS_ACCESS_KEY_ID", "env.AWS_SECRET_ACCESS_KEY"])
        #expect(found.map(\.detector) == [.awsAccessKey, .awsAccessKey])
    }

    @Test func typicalParamsHaveNoFindings() {
        let params: [String: JSONValue] = [
            "namespace": "payments", "deployment": "payments-api", "replicas": 3, "cluster": "prod-cluster-01",
            "reason": "rollout stuck after config change", "dry_run": false,
        ]
        #expect(DLPScanner().scan(params).isEmpty)
    }

    // MARK: Redaction

    @Test func redactionRemovesEverySecretByte() {
        let params: [String: JSONValue] = [
            "cmd": .string("psql postgres://app:hunter2pass@db/app -c 'select 1' # \(Sample.awsKeyID)"),
            "nested": ["list": ["ok", .string("Bearer \(Sample.jwt)")], "n": 5, "flag": true],
            "env": [.init(stringLiteral: Sample.ghp): "v", "PLAIN": "keep-me"],
            "pem": .string("before\n\(Sample.pem("RSA PRIVATE KEY"))\nafter"),
        ]
        let scanner = DLPScanner()
        let findings = scanner.scan(params)
        #expect(findings.count == 5)
        let red = scanner.redact(params, findings: findings) { f, _ in "[redacted:\(f.detector.rawValue)]" }
        let texts = flatten(.object(red))
        for secret in ["hunter2pass", Sample.awsKeyID, Sample.jwt, Sample.ghp, "MIIEpAIBAAKCAQEA", "PRIVATE KEY"] {
            #expect(!texts.contains { $0.contains(secret) }, "\(secret.prefix(8))… survived")
        }
        #expect(red["cmd"] == "psql postgres://app:[redacted:credential_url]@db/app -c 'select 1' # [redacted:aws_access_key]")
        #expect(red["nested"] == ["list": ["ok", "Bearer [redacted:jwt]"], "n": 5, "flag": true])
        #expect(red["env"] == ["[redacted:github_token]": "v", "PLAIN": "keep-me"])
        #expect(red["pem"] == "before\n[redacted:private_key]\nafter")
        #expect(scanner.scan(red).isEmpty)
    }

    @Test func redactionReceivesTheSecret() {
        let params: [String: JSONValue] = ["u": "redis://:abc123secret@cache"]
        let scanner = DLPScanner()
        var seen: [String] = []
        _ = scanner.redact(params, findings: scanner.scan(params)) { _, s in
            seen.append(String(s))
            return "***"
        }
        #expect(seen == ["abc123secret"])
    }

    @Test func redactionFailsClosedOnABadRange() {
        let params: [String: JSONValue] = ["a": "short", "b": "untouched"]
        let bogus = DLPFinding(detector: .jwt, path: "a", utf8Range: 3..<99)
        let red = DLPScanner().redact(params, findings: [bogus]) { f, _ in "[redacted:\(f.detector.rawValue)]" }
        #expect(red == ["a": "[redacted:jwt]", "b": "untouched"])
    }

    @Test func redactedKeysDoNotCollide() {
        let params: [String: JSONValue] = [
            .init(stringLiteral: Sample.awsKeyID): 1, "AKIAZZZZZZZZZZZZZZZZ": 2, "[redacted:aws_access_key]": 3,
        ]
        let scanner = DLPScanner()
        let red = scanner.redact(params, findings: scanner.scan(params)) { f, _ in "[redacted:\(f.detector.rawValue)]" }
        #expect(red.count == 3)
        #expect(red["[redacted:aws_access_key]"] == 3)  // an existing key keeps its name
        #expect(Set(red.keys) == ["[redacted:aws_access_key]", "[redacted:aws_access_key]#2", "[redacted:aws_access_key]#3"])
    }

    // MARK: Limits

    @Test func largeStringIsLinearAndFindsTheSecretAtTheEnd() {
        let filler = String(repeating: "lorem ipsum dolor sit amet ", count: 40_000)  // ~1 MB
        let s = filler + Sample.ghp
        let r = DLPScanner().scan(string: s)
        #expect(r.map(\.0) == [.githubToken])
        #expect(r.first?.1 == (filler.utf8.count..<s.utf8.count))
    }

    /// Inputs built to defeat the look-aheads (many triggers each of which could scan to the end).
    static let adversarial: [String] = [
        String(repeating: "-----BEGIN RSA PRIVATE KEY-----", count: 20_000),
        String(repeating: "-----BEGIN CERTIFICATE-----\n", count: 20_000),
        String(repeating: "eyJ", count: 200_000),
        String(repeating: "eyJhbGciOiJIUzI1NiJ9.", count: 20_000),
        String(repeating: "password=", count: 60_000),
        String(repeating: ";Password=\"", count: 40_000),
        String(repeating: "a://", count: 100_000),
        String(repeating: "x://u:p", count: 60_000),
        String(repeating: "AKIA", count: 100_000),
        String(repeating: "aws_secret_access_key=", count: 20_000),
        String(repeating: "ghp_", count: 100_000),
        String(repeating: "Ab1+", count: 100_000),
        String(repeating: "sha256:", count: 60_000),
    ]

    @Test("adversarial input completes", arguments: adversarial.indices)
    func adversarialInput(_ i: Int) {
        let s = Self.adversarial[i]
        let r = DLPScanner().scan(string: s)
        #expect(r.count <= DLPScanner.maxFindings)
    }

    @Test func findingCap() {
        let params: [String: JSONValue] = ["keys": .array((0..<200).map { _ in .string(Sample.awsKeyID) })]
        let found = DLPScanner().scan(params)
        #expect(found.count == DLPScanner.maxFindings)
        #expect(found.map(\.path) == (0..<64).map { "keys[\($0)]" })
        // Across object members: the first 64 in key order, whatever the dictionary's order.
        var object: [String: JSONValue] = [:]
        for i in 0..<100 { object[String(format3(i))] = .string(Sample.awsKeyID) }
        let f2 = DLPScanner().scan(object)
        #expect(f2.map(\.path) == (0..<64).map { format3($0) })
        // In one string.
        let many = Array(repeating: Sample.awsKeyID, count: 100).joined(separator: " ")
        #expect(DLPScanner().scan(string: many).count == 64)
    }

    @Test func depthCap() {
        func nest(_ v: JSONValue, _ levels: Int) -> JSONValue { levels == 0 ? v : .array([nest(v, levels - 1)]) }
        // "a" is at depth 1; each array adds one.
        let atLimit: [String: JSONValue] = ["a": nest(.string(Sample.awsKeyID), DLPScanner.maxDepth - 1)]
        let beyond: [String: JSONValue] = ["a": nest(.string(Sample.awsKeyID), DLPScanner.maxDepth)]
        #expect(DLPScanner().scan(atLimit).count == 1)
        #expect(DLPScanner().scan(beyond).isEmpty)
        let deepKey: [String: JSONValue] = ["a": nest([.init(stringLiteral: Sample.awsKeyID): 1], DLPScanner.maxDepth - 1)]
        #expect(DLPScanner().scan(deepKey).isEmpty)
    }

    @Test func allowlist() {
        let scanner = DLPScanner(allowlist: [Sample.awsKeyID, "postgres://u:pw@h/db"])
        #expect(scanner.scan(string: "id=\(Sample.awsKeyID)").isEmpty)
        #expect(scanner.scan(string: "postgres://u:pw@h/db").isEmpty)  // the whole value is allowlisted
        #expect(scanner.scan(string: "id=AKIAZZZZZZZZZZZZZZZZ").map(\.0) == [.awsAccessKey])
        #expect(scanner.scan(["k": .string(Sample.awsKeyID), .init(stringLiteral: Sample.awsKeyID): 1]).isEmpty)
    }

    @Test func detectorSelection() {
        let onlyJWT = DLPScanner(detectors: [.jwt])
        #expect(onlyJWT.scan(string: "\(Sample.awsKeyID) \(Sample.jwt)").map(\.0) == [.jwt])
        #expect(DLPScanner(detectors: []).scan(["a": .string(Sample.jwt)]).isEmpty)
        // Without the specific detector, high entropy still sees the PEM body.
        let noPEM = DLPScanner(detectors: [.highEntropy]).scan(string: Sample.pem("RSA PRIVATE KEY"))
        #expect(!noPEM.isEmpty)
        #expect(noPEM.allSatisfy { $0.0 == .highEntropy })
    }

    @Test func byteClassTable() {
        let table = dlpByteClasses.utf8Start
        for b in 0...255 {
            let cls = table[b] &- 0x40
            let trigger = Array("-Agxe:=".utf8).contains(UInt8(b))
            #expect((cls & 1 != 0) == dlpIsTokenChar(UInt8(b)), "byte \(b)")
            #expect((cls & 2 != 0) == trigger, "byte \(b)")
            #expect(cls < 4, "byte \(b)")
        }
    }

    @Test func jweIsOneFinding() {
        let jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZ.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ"
        #expect(matches("x \(jwe) y").map(\.1) == [jwe])  // RFC 7516 appendix A.1, shortened key
        // JWS with more dots after it: the token is the first three segments.
        #expect(matches("\(Sample.jwt).more").map(\.1) == [Sample.jwt])
    }

    @Test func hexLengthSetting() {
        let commit = "806319e6e2cf917ee9218fd3b3b2d308709544df"  // 40 hex
        #expect(DLPScanner().scan(string: commit).map(\.0) == [.highEntropy])
        #expect(DLPScanner(entropyMinLength: 41).scan(string: commit).isEmpty)
    }

    @Test func entropySettings() {
        let token = "Zx9Qw3Er7Ty1Ui5Op2As6Df4Gh8Jk0L"  // 31 chars
        #expect(DLPScanner().scan(string: token).map(\.0) == [.highEntropy])
        #expect(DLPScanner(entropyMinLength: 40).scan(string: token).isEmpty)
        #expect(DLPScanner(entropyThreshold: 5.5).scan(string: token).isEmpty)
        // Hex: 32 or more hex digits at >= 3.0 bits/char; shorter hex runs are not looked at.
        #expect(DLPScanner().scan(string: "8ea228e7e13374b410f5bc9a29d1b504").map(\.0) == [.highEntropy])
        #expect(DLPScanner(entropyMinLength: 8).scan(string: "8ea228e7e13374b410f5bc9a29d1b5").isEmpty)
        #expect(DLPScanner().scan(string: String(repeating: "ab", count: 20)).isEmpty)  // 1 bit/char
    }
}

private func format3(_ i: Int) -> String {
    let s = String(i)
    return String(repeating: "0", count: 3 - s.count) + s
}
