import AgentSafeAWS
import AgentSafeConfig
import AgentSafeCore
import AgentSafeTestSupport
import Foundation
import NIOHTTP1
import Testing

@testable import AgentSafeRunner

/// The repository's own action definitions and request builders.
enum AWSFixtures {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static let actions: [String: ActionDefinition] = {
        guard let snapshot = try? CatalogueLoader.load(LoadOptions(workingDirectory: repoRoot)) else { return [:] }
        return Dictionary(snapshot.actions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }()

    static let secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
    static let sessionToken = "FwoGZXIvYXdzEXAMPLESESSIONTOKENxyz"

    static func credential(_ keys: AWSCredentials? = nil, token: String? = nil, type: String = "aws", expiresAt: Int64 = 0)
        -> Credential
    {
        var secret = [
            "access_key_id": keys?.accessKeyId ?? "AKIDEXAMPLE", "secret_access_key": keys?.secretAccessKey ?? secretKey,
        ]
        if let token { secret["session_token"] = token }
        return Credential(id: "cred-0123456789abcdef01234567", type: type, scope: [:], secret: secret, expiresAt: expiresAt)
    }

    static func request(
        _ action: String, _ params: [String: JSONValue], credential: Credential? = credential(),
        timeout: Duration = .seconds(30)
    ) throws -> ExecutionRequest {
        let definition = try #require(actions[action], "action \(action) not loaded from \(repoRoot)/actions")
        return ExecutionRequest(action: definition, target: "t", params: params, credential: credential, timeout: timeout)
    }
}

extension PrecheckOutcome {
    var line: String { "\(name): \(passed ? "pass" : "fail")\(advisory ? " (advisory)" : "") — \(message)" }
}

func outcome(_ outcomes: [PrecheckOutcome], _ name: String) -> PrecheckOutcome? {
    outcomes.first { $0.name == name }
}

func text(_ calls: [PlannedCall]) -> String {
    calls.map { "\($0) \($0.jsonValue.canonicalText)" }.joined(separator: "\n")
}

// MARK: - Without a server

@Suite("AWS executor: plans, credentials, errors, timeouts")
struct AWSExecutorOfflineTests {
    let executor = AWSExecutor()

    @Test func supportsExactlyTheThirteenAWSActions() {
        let aws = AWSFixtures.actions.values.filter { executor.supports($0) }.map(\.name).sorted()
        #expect(aws == AWSExecutor.actionNames.sorted())
        #expect(aws.count == 13)
        #expect(executor.supports(AWSFixtures.actions["scale-deployment"]!) == false)
    }

    @Test func everyActionPlansOneSignedHTTPSCallWithItsParamsAndNoSecrets() throws {
        let credential = AWSFixtures.credential(token: AWSFixtures.sessionToken)
        let cases: [(String, [String: JSONValue], String, String, [String])] = [
            ("ec2-stop-instance", ["instance_id": "i-0123456789abcdef0", "region": "eu-central-1"], "POST",
             "https://ec2.eu-central-1.amazonaws.com/", ["Action=StopInstances&InstanceId.1=i-0123456789abcdef0&Version=2016-11-15"]),
            ("ec2-start-instance", ["instance_id": "i-0123456789abcdef0", "region": "eu-central-1"], "POST",
             "https://ec2.eu-central-1.amazonaws.com/", ["Action=StartInstances&InstanceId.1=i-0123456789abcdef0&Version=2016-11-15"]),
            ("ec2-reboot-instance", ["instance_id": "i-01234567", "region": "us-west-2"], "POST",
             "https://ec2.us-west-2.amazonaws.com/", ["Action=RebootInstances&InstanceId.1=i-01234567&Version=2016-11-15"]),
            ("ec2-terminate-instance", ["instance_id": "i-01234567", "region": "us-west-2"], "POST",
             "https://ec2.us-west-2.amazonaws.com/", ["Action=TerminateInstances&InstanceId.1=i-01234567&Version=2016-11-15"]),
            ("iam-attach-role-policy", ["role_name": "web", "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "region": "eu-west-1"],
             "POST", "https://iam.amazonaws.com/",
             ["Action=AttachRolePolicy&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess&RoleName=web&Version=2010-05-08"]),
            ("iam-detach-role-policy", ["role_name": "web", "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"], "POST",
             "https://iam.amazonaws.com/", ["Action=DetachRolePolicy&"]),
            ("ecs-scale-service", ["cluster": "prod", "service": "web", "desired_count": 3, "region": "eu-central-1"], "POST",
             "https://ecs.eu-central-1.amazonaws.com/",
             [#"{"cluster":"prod","service":"web","desiredCount":3}"#, "AmazonEC2ContainerServiceV20141113.UpdateService",
              "application/x-amz-json-1.1"]),
            ("ecs-update-service", ["cluster": "prod", "service": "web", "desired_count": 2, "force_new_deployment": true,
                                    "region": "eu-central-1"], "POST", "https://ecs.eu-central-1.amazonaws.com/",
             [#"{"cluster":"prod","service":"web","desiredCount":2,"forceNewDeployment":true}"#]),
            ("ecs-stop-task", ["cluster": "prod", "task": "0123456789abcdef0123456789abcdef", "reason": "stuck", "region": "eu-central-1"],
             "POST", "https://ecs.eu-central-1.amazonaws.com/",
             [#"{"cluster":"prod","task":"0123456789abcdef0123456789abcdef","reason":"stuck"}"#,
              "AmazonEC2ContainerServiceV20141113.StopTask"]),
            ("lambda-invoke-function", ["function_name": "fn", "region": "eu-central-1", "payload": #"{"password":"hunter2"}"#,
                                        "qualifier": "live"], "POST",
             "https://lambda.eu-central-1.amazonaws.com/2015-03-31/functions/fn/invocations?Qualifier=live",
             ["<redacted: sensitive param payload", "RequestResponse"]),
            ("lambda-update-function-config", ["function_name": "fn", "region": "eu-central-1", "memory_size": 256, "timeout": 30,
                                               "environment_variables": #"{"DB_PASSWORD":"pw-123456"}"#], "PUT",
             "https://lambda.eu-central-1.amazonaws.com/2015-03-31/functions/fn/configuration",
             [#""MemorySize":256"#, #""Timeout":30"#, "<redacted: sensitive param environment_variables>"]),
            ("s3-delete-object", ["bucket": "my-bucket", "key": "logs/2024/app.log", "version_id": "v1", "region": "eu-central-1"],
             "DELETE", "https://my-bucket.s3.eu-central-1.amazonaws.com/logs/2024/app.log?versionId=v1", []),
            ("s3-put-bucket-policy", ["bucket": "my.dotted.bucket", "policy": #"{"Version":"2012-10-17","Statement":[]}"#,
                                      "region": "eu-central-1"], "PUT",
             "https://s3.eu-central-1.amazonaws.com/my.dotted.bucket?policy", ["Content-MD5", #"{"Version":"2012-10-17""#]),
        ]
        #expect(Set(cases.map(\.0)) == AWSExecutor.actionNames)
        for (action, params, method, url, fragments) in cases {
            let calls = try executor.plan(try AWSFixtures.request(action, params, credential: credential))
            #expect(calls.count == 1)
            guard case .http(let m, let u, let headers, _) = calls.first else {
                Issue.record("\(action): not an HTTP call")
                continue
            }
            #expect(m == method, "\(action)")
            #expect(u == url, "\(action)")
            #expect(headers["Authorization"] == "<redacted>", "\(action)")
            #expect(headers["X-Amz-Security-Token"] == "<redacted>", "\(action)")
            let shown = text(calls)
            for fragment in fragments { #expect(shown.contains(fragment), "\(action): \(fragment) not in \(shown)") }
            for secret in [AWSFixtures.secretKey, AWSFixtures.sessionToken, "hunter2", "pw-123456"] {
                #expect(!shown.contains(secret), "\(action) plan shows a secret")
            }
        }
    }

    @Test func anEndpointOverrideMakesS3PathStyleAndSendsEveryServiceThere() throws {
        let executor = AWSExecutor(endpoint: URL(string: "http://127.0.0.1:9999")!)
        let delete = try executor.plan(try AWSFixtures.request(
            "s3-delete-object", ["bucket": "my-bucket", "key": "a/b.txt", "region": "eu-central-1"]))
        #expect(delete.first?.description == "DELETE http://127.0.0.1:9999/my-bucket/a/b.txt")
        let policy = try executor.plan(try AWSFixtures.request(
            "s3-put-bucket-policy", ["bucket": "my-bucket", "policy": "{}", "region": "eu-central-1"]))
        #expect(policy.first?.description.hasPrefix("PUT http://127.0.0.1:9999/my-bucket?policy") == true)
        let iam = try executor.plan(try AWSFixtures.request(
            "iam-attach-role-policy", ["role_name": "r", "policy_arn": "arn:aws:iam::aws:policy/X"]))
        #expect(iam.first?.description.hasPrefix("POST http://127.0.0.1:9999/ ") == true)
        // Per-service overrides win over the one for all.
        let mixed = AWSExecutor(endpoint: URL(string: "http://127.0.0.1:9999")!, endpoints: [.ec2: URL(string: "http://localhost:7000/base/")!])
        let stop = try mixed.plan(try AWSFixtures.request("ec2-stop-instance", ["instance_id": "i-01234567", "region": "eu-west-1"]))
        #expect(stop.first?.description.hasPrefix("POST http://localhost:7000/base/ ") == true)
    }

    @Test func paramsThatAreMissingOrMalformedAreRefusedBeforeAnythingIsSent() async throws {
        let listener = try SilentListener()
        let executor = AWSExecutor(endpoint: listener.url)
        let noChange = try AWSFixtures.request(
            "ecs-update-service", ["cluster": "c", "service": "s", "region": "eu-west-1"], timeout: .milliseconds(300))
        let out = await executor.execute(noChange)
        #expect(out.status == .refused)
        #expect(out.error?.hasPrefix("missing_param: ecs-update-service needs desired_count or force_new_deployment") == true)
        let checks = await executor.prechecks(noChange)
        #expect(outcome(checks, "change-requested")?.passed == false)
        #expect(outcome(checks, "change-requested")?.advisory == false)

        let env = try AWSFixtures.request(
            "lambda-update-function-config", ["function_name": "f", "region": "eu-west-1", "environment_variables": #"{"A": 1}"#])
        let refused = await executor.execute(env)
        #expect(refused.status == .refused)
        #expect(refused.error == "invalid_param: environment_variables must map names to string values")
        #expect(throws: ExecutorError.self) { try executor.plan(try AWSFixtures.request("ec2-stop-instance", ["instance_id": "i-01234567"])) }
        withExtendedLifetime(listener) {}
    }

    @Test func withoutACredentialNothingRunsUnlessAmbientCredentialsWereAllowed() async throws {
        let listener = try SilentListener()
        let executor = AWSExecutor(endpoint: listener.url)
        let request = try AWSFixtures.request(
            "ec2-stop-instance", ["instance_id": "i-01234567", "region": "eu-west-1"], credential: nil, timeout: .seconds(5))
        let out = await executor.execute(request)
        #expect(out.status == .refused)
        #expect(out.error?.hasPrefix("credential_required: ec2-stop-instance needs a resolved aws credential") == true)
        #expect(out.calls.isEmpty)
        await #expect(throws: ExecutorError("credential_required", "ec2-stop-instance needs a resolved aws credential and the request has none (ambient credentials are off)")) {
            try await executor.state(request)
        }
        let checks = await executor.prechecks(request)
        let running = try #require(outcome(checks, "instance-running"))
        #expect(!running.passed && !running.advisory && running.message.contains("credential_required"))

        // A credential of another type, or expired, or without keys, is refused too.
        for credential in [
            AWSFixtures.credential(type: "kubernetes"), AWSFixtures.credential(expiresAt: 1000),
            Credential(id: "cred-x", type: "aws", scope: [:], secret: ["access_key_id": "AKID"], expiresAt: 0),
        ] {
            var r = request
            r.credential = credential
            let refused = await executor.execute(r)
            #expect(refused.status == .refused && refused.error?.hasPrefix("credential_required") == true, "\(credential)")
        }

        // Ambient credentials are read from the environment only when allowed, and missing ones are named.
        let ambient = AWSExecutor(endpoint: listener.url, allowAmbientCredentials: true, environment: [:])
        let missing = await ambient.execute(request)
        #expect(missing.status == .refused)
        #expect(missing.error?.contains("AWS_ACCESS_KEY_ID") == true)
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let listener = try SilentListener()
        let executor = AWSExecutor(endpoint: listener.url)
        let request = try AWSFixtures.request(
            "ec2-stop-instance", ["instance_id": "i-01234567", "region": "eu-west-1"],
            credential: AWSFixtures.credential(token: AWSFixtures.sessionToken), timeout: .milliseconds(500))
        let out = await executor.execute(request)
        #expect(out.status == .timeout)
        #expect(out.error?.hasPrefix("timeout: ec2 StopInstances timed out after") == true, "\(out.error ?? "")")
        #expect(!text(out.calls).contains(AWSFixtures.secretKey) && !text(out.calls).contains(AWSFixtures.sessionToken))
        do {
            _ = try await executor.state(request)
            Issue.record("state answered")
        } catch let error as ExecutorError {
            #expect(error.code == "timeout")
        }
        let checks = await executor.prechecks(request)
        #expect(outcome(checks, "instance-running")?.passed == false)
        #expect(outcome(checks, "instance-running")?.message.contains("timed out") == true)
        withExtendedLifetime(listener) {}
    }

    @Test func anEndpointThatRefusesConnectionsFailsWithinTheDeadline() async throws {
        let port = try MotoServer.freePort()  // nothing listens there
        let executor = AWSExecutor(endpoint: URL(string: "http://127.0.0.1:\(port)")!)
        let request = try AWSFixtures.request(
            "ec2-stop-instance", ["instance_id": "i-01234567", "region": "eu-west-1"], timeout: .seconds(1))
        let out = await executor.execute(request)
        #expect(out.status == .timeout || out.status == .failure)
        #expect(out.error?.contains("ec2 StopInstances") == true, "\(out.error ?? "")")
        #expect(!(out.error ?? "").contains(AWSFixtures.secretKey))
        print("refused connection: \(out.status): \(out.error ?? "")")
    }

    @Test func awsErrorAnswersBecomeOneClearLine() {
        func response(_ status: Int, _ body: String, headers: [(String, String)] = []) -> AWSResponse {
            AWSResponse(status: status, headers: headers.map { (name: $0.0, value: $0.1) }, body: Array(body.utf8), truncated: false)
        }
        let ec2 = response(400, """
            <?xml version="1.0" encoding="UTF-8"?>
            <Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID &apos;i-0123&apos; does not exist</Message></Error></Errors><RequestID>r</RequestID></Response>
            """)
        #expect(AWSErrorText.describe(.ec2("StopInstances", []), ec2)
            == "ec2 StopInstances failed (400 InvalidInstanceID.NotFound): The instance ID 'i-0123' does not exist")
        let iam = response(404, "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>Role a&amp;b &lt;x&gt; not found</Message></Error></ErrorResponse>")
        #expect(AWSErrorText.describe(.iam("AttachRolePolicy", []), iam) == "iam AttachRolePolicy failed (404 NoSuchEntity): Role a&b <x> not found")
        let s3 = response(403, "<Error><Code>AccessDenied</Code><Message><![CDATA[Access <Denied>]]></Message></Error>")
        #expect(AWSErrorText.parse(s3) == ("AccessDenied", "Access <Denied>"))
        let ecs = response(400, #"{"__type":"com.amazonaws.ecs#ClusterNotFoundException","message":"Cluster not found."}"#)
        #expect(AWSErrorText.parse(ecs) == ("ClusterNotFoundException", "Cluster not found."))
        let lambda = response(404, #"{"Type":"User","Message":"Function not found: arn:aws:lambda:us-east-1:1:function:x"}"#,
                              headers: [("x-amzn-ErrorType", "ResourceNotFoundException:http://internal")])
        #expect(AWSErrorText.parse(lambda) == ("ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:1:function:x"))
        #expect(AWSErrorText.parse(response(404, "")) == ("NotFound", ""))
    }

    @Test func theXMLReaderHandlesEntitiesCDATASelfClosingAndNesting() throws {
        let xml = """
            <?xml version="1.0"?><!-- note --><R xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
              <set><item><id>a&#39;1&#x41;</id><empty/><attr k="v>w">x</attr></item><item><id>b</id></item></set>
              <t><![CDATA[<raw> & ]]></t>
            </R>
            """
        let root = try #require(AWSXMLElement.parse(xml))
        #expect(root.name == "R")
        #expect(root.child("set")?.items.compactMap { $0.value("id") } == ["a'1A", "b"])
        #expect(root.first("empty")?.text == "")
        #expect(root.first("attr")?.text == "x")
        #expect(root.value("t") == "<raw> &")
        #expect(AWSXMLElement.parse("no xml") == nil)
        #expect(AWSXMLElement.parse("<a><b>unclosed")?.value("b") == "unclosed")
    }

    @Test func thePolicyDocumentIsCheckedLocallyAndBlocks() async throws {
        let executor = AWSExecutor()
        func check(_ policy: String) async throws -> PrecheckOutcome? {
            let request = try AWSFixtures.request(
                "s3-put-bucket-policy", ["bucket": "b-b-b", "policy": .string(policy), "region": "eu-west-1"], credential: nil)
            return outcome(await executor.prechecks(request), "policy-valid")
        }
        let good = #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b-b-b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#
        #expect(try await check(good)?.passed == true)
        for bad in ["{", "[]", #"{"Statement":[]}"#, #"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
                    #"{"Statement":{"Effect":"Maybe","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
                    #"{"Version":"2020-01-01","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#] {
            let result = try await check(bad)
            #expect(result?.passed == false && result?.advisory == false, "\(bad): \(result?.message ?? "")")
        }
    }
}

// MARK: - Against moto

/// Every action end to end against a real `moto_server`. For EC2, IAM, ECS and S3 moto runs with IAM auth on, so
/// every request must carry a valid SigV4 signature of the admin key created at start; Lambda runs without (see
/// its test).
@Suite(
    "AWS executor against moto", .serialized,
    .enabled("needs moto_server (PyPI moto[server]); required when CI=true") { MotoServer.shouldRun("AWS executor moto tests") })
struct AWSExecutorMotoTests {
    let region = "us-east-1"

    /// Starts moto, and runs `body` with an executor pointed at it. With `auth`, moto checks every signature and
    /// `body` gets the key of an admin user; without, any dummy key is accepted.
    func withMoto(auth: Bool = true, _ body: (MotoServer, AWSCredentials, AWSExecutor) async throws -> Void) async throws {
        if let reason = MotoServer.unavailableReason {
            Issue.record("CI=true but \(reason)")
            return
        }
        try await MotoServer.with(environment: auth ? ["INITIAL_NO_AUTH_ACTION_COUNT": "3"] : [:]) { moto in
            let keys =
                auth
                ? try await moto.createAdmin()
                : AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: AWSFixtures.secretKey)
            try await body(moto, keys, AWSExecutor(endpoint: moto.url))
        }
    }

    func request(_ action: String, _ params: [String: JSONValue], _ keys: AWSCredentials) throws -> ExecutionRequest {
        try AWSFixtures.request(action, params, credential: AWSFixtures.credential(keys))
    }

    /// No secret of `keys` in anything the executor returned.
    func expectNoSecrets(_ out: ExecutionOutput, _ keys: AWSCredentials, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let everything = out.output + (out.error ?? "") + text(out.calls)
        #expect(!everything.contains(keys.secretAccessKey), "secret key in output", sourceLocation: sourceLocation)
        #expect(text(out.calls).contains("\"Authorization\":\"<redacted>\""), sourceLocation: sourceLocation)
    }

    func instanceState(_ moto: MotoServer, _ admin: AWSCredentials, _ id: String) async throws -> String? {
        let xml = try await moto.ec2(admin, [("Action", "DescribeInstances"), ("InstanceId.1", id)])
        return AWSXMLElement.parse(xml)?.first("instancesSet")?.items.first?.value("instanceState", "name")
    }

    @Test func ec2StopStartRebootTerminate() async throws {
        try await withMoto { moto, admin, executor in
            let run = try await moto.ec2(admin, [
                ("Action", "RunInstances"), ("ImageId", "ami-12c6146b"), ("MinCount", "1"), ("MaxCount", "1"),
                ("InstanceType", "t3.micro"),
            ])
            let id = try #require(MotoServer.element("instanceId", in: run))
            let params: [String: JSONValue] = ["instance_id": .string(id), "region": .string(region)]

            // Stop: real prechecks, state before/after, the change observed through moto.
            let stop = try request("ec2-stop-instance", params, admin)
            let before = try await executor.state(stop)
            #expect(before["state"] == "running")
            #expect(before["instance_type"] == "t3.micro")
            #expect(Set(before.keys).isSubset(of: ["state", "instance_type", "public_ip"]))
            let stopChecks = await executor.prechecks(stop)
            #expect(outcome(stopChecks, "instance-running")?.passed == true, "\(stopChecks.map(\.line))")
            #expect(outcome(stopChecks, "not-in-autoscaling-group")?.passed == true)
            #expect(outcome(stopChecks, "no-instance-store-volumes")?.advisory == true)
            let startWhileRunning = await executor.prechecks(try request("ec2-start-instance", params, admin))
            #expect(outcome(startWhileRunning, "instance-stopped").map { !$0.passed && !$0.advisory } == true)
            let stopped = await executor.execute(stop)
            #expect(stopped.status == .success, "\(stopped.error ?? "")")
            #expect(stopped.output.contains("\(id): running → stopping"), "\(stopped.output)")
            #expect(stopped.httpStatus == 200)
            expectNoSecrets(stopped, admin)
            #expect(try await instanceState(moto, admin, id) == "stopped")
            let after = try await executor.state(stop)
            #expect(after["state"] == "stopped" && after["state"] != before["state"])

            // Start.
            let start = try request("ec2-start-instance", params, admin)
            #expect(outcome(await executor.prechecks(start), "instance-stopped")?.passed == true)
            let started = await executor.execute(start)
            #expect(started.status == .success, "\(started.error ?? "")")
            #expect(try await instanceState(moto, admin, id) == "running")
            #expect(try await executor.state(start)["state"] == "running")

            // Reboot: its status checks are read for real.
            let reboot = try request("ec2-reboot-instance", params, admin)
            let rebootChecks = await executor.prechecks(reboot)
            #expect(outcome(rebootChecks, "instance-running")?.passed == true)
            #expect(outcome(rebootChecks, "status-checks-known")?.passed == true, "\(rebootChecks.map(\.line))")
            let rebootState = try await executor.state(reboot)
            #expect(rebootState["system_status"] == "ok" && rebootState["instance_status"] == "ok", "\(rebootState)")
            let rebooted = await executor.execute(reboot)
            #expect(rebooted.status == .success && rebooted.output == "reboot of \(id) requested", "\(rebooted)")
            #expect(try await instanceState(moto, admin, id) == "running")

            // Terminate: termination protection blocks until it is lifted (by someone else).
            let terminate = try request("ec2-terminate-instance", params, admin)
            try await moto.ec2(admin, [("Action", "ModifyInstanceAttribute"), ("InstanceId", id), ("DisableApiTermination.Value", "true")])
            let protected = await executor.prechecks(terminate)
            #expect(outcome(protected, "termination-protection-off").map { !$0.passed && !$0.advisory } == true, "\(protected.map(\.line))")
            #expect(outcome(protected, "instance-exists")?.passed == true)
            #expect(outcome(protected, "volumes-snapshotted")?.advisory == true)
            try await moto.ec2(admin, [("Action", "ModifyInstanceAttribute"), ("InstanceId", id), ("DisableApiTermination.Value", "false")])
            #expect(outcome(await executor.prechecks(terminate), "termination-protection-off")?.passed == true)
            let terminateBefore = try await executor.state(terminate)
            #expect(terminateBefore["volumes"]?.arrayValue?.isEmpty == false, "\(terminateBefore)")
            let terminated = await executor.execute(terminate)
            #expect(terminated.status == .success, "\(terminated.error ?? "")")
            #expect(try await instanceState(moto, admin, id) == "terminated")
            #expect(try await executor.state(terminate)["state"] == "terminated")
            #expect(outcome(await executor.prechecks(terminate), "instance-exists")?.passed == false)

            // An unknown instance: one clear line, and the precheck says so.
            let unknown = try request("ec2-stop-instance", ["instance_id": "i-0000000000000000f", "region": .string(region)], admin)
            let failed = await executor.execute(unknown)
            #expect(failed.status == .failure)
            #expect(failed.httpStatus == 400)
            #expect(failed.error == "ec2 StopInstances failed (400 InvalidInstanceID.NotFound): The instance ID 'i-0000000000000000f' does not exist")
            expectNoSecrets(failed, admin)
            #expect(outcome(await executor.prechecks(unknown), "instance-running")?.message == "instance i-0000000000000000f not found in us-east-1")

            // A wrong secret: moto's signature check refuses, the error names the code and shows no secret.
            let forged = AWSCredentials(accessKeyId: admin.accessKeyId, secretAccessKey: "not-the-secret-key")
            let refused = await executor.execute(try request("ec2-stop-instance", params, forged))
            #expect(refused.status == .failure)
            #expect(refused.error?.contains("SignatureDoesNotMatch") == true || refused.error?.contains("AuthFailure") == true, "\(refused.error ?? "")")
            #expect(!(refused.error ?? "").contains("not-the-secret-key") && !refused.output.contains("not-the-secret-key"))

            // Ambient credentials, when explicitly allowed, come from the given environment.
            let ambient = AWSExecutor(
                endpoint: moto.url, allowAmbientCredentials: true,
                environment: ["AWS_ACCESS_KEY_ID": admin.accessKeyId, "AWS_SECRET_ACCESS_KEY": admin.secretAccessKey])
            var noCredential = stop
            noCredential.credential = nil
            #expect(try await ambient.state(noCredential)["state"] == "terminated")
        }
    }

    @Test func iamAttachAndDetachRolePolicy() async throws {
        try await withMoto { moto, admin, executor in
            let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
            try await moto.iam(admin, [("Action", "CreateRole"), ("RoleName", "app-role"), ("AssumeRolePolicyDocument", trust)])
            let document = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#
            let created = try await moto.iam(admin, [("Action", "CreatePolicy"), ("PolicyName", "app-read"), ("PolicyDocument", document)])
            let arn = try #require(MotoServer.element("Arn", in: created))
            let params: [String: JSONValue] = ["role_name": "app-role", "policy_arn": .string(arn)]
            func attached() async throws -> [String] {
                MotoServer.elements("PolicyArn", in: try await moto.iam(admin, [("Action", "ListAttachedRolePolicies"), ("RoleName", "app-role")]))
            }

            let attach = try request("iam-attach-role-policy", params, admin)
            let checks = await executor.prechecks(attach)
            for name in ["role-exists", "policy-exists", "attachment-quota", "not-already-attached"] {
                #expect(outcome(checks, name)?.passed == true, "\(checks.map(\.line))")
            }
            #expect(try await executor.state(attach) == ["attached_policies": []])
            let out = await executor.execute(attach)
            #expect(out.status == .success, "\(out.error ?? "")")
            #expect(out.output == "\(arn) attached to role app-role")
            expectNoSecrets(out, admin)
            #expect(try await attached() == [arn])
            #expect(try await executor.state(attach) == ["attached_policies": [.string(arn)]])
            #expect(outcome(await executor.prechecks(attach), "not-already-attached").map { !$0.passed && !$0.advisory } == true)

            let detach = try request("iam-detach-role-policy", params, admin)
            let detachChecks = await executor.prechecks(detach)
            #expect(outcome(detachChecks, "policy-attached")?.passed == true)
            // The only managed policy: detaching it leaves the role without access, and that blocks.
            #expect(outcome(detachChecks, "role-keeps-access").map { !$0.passed && !$0.advisory } == true, "\(detachChecks.map(\.line))")
            let detached = await executor.execute(detach)
            #expect(detached.status == .success, "\(detached.error ?? "")")
            #expect(try await attached() == [])
            #expect(try await executor.state(detach) == ["attached_policies": []])

            let noRole = try request("iam-attach-role-policy", ["role_name": "ghost", "policy_arn": .string(arn)], admin)
            #expect(outcome(await executor.prechecks(noRole), "role-exists")?.message == "role ghost not found")
            let noPolicy = try request("iam-attach-role-policy", ["role_name": "app-role", "policy_arn": "arn:aws:iam::123456789012:policy/ghost"], admin)
            #expect(outcome(await executor.prechecks(noPolicy), "policy-exists")?.passed == false)
            let failed = await executor.execute(noRole)
            #expect(failed.status == .failure)
            #expect(failed.error?.hasPrefix("iam AttachRolePolicy failed (404 NoSuchEntity): ") == true, "\(failed.error ?? "")")
        }
    }

    @Test func s3DeleteObjectAndPutBucketPolicy() async throws {
        try await withMoto { moto, admin, executor in
            let bucket = "agent-safe-test"
            #expect(try await moto.signed(admin, service: "s3", method: "PUT", path: "/\(bucket)").status == 200)
            let put = try await moto.signed(
                admin, service: "s3", method: "PUT", path: "/\(bucket)/logs/2024/app.log",
                headers: [SigV4Header("Content-Type", "text/plain")], body: Array("hello".utf8))
            #expect(put.status == 200)

            let delete = try request("s3-delete-object", ["bucket": .string(bucket), "key": "logs/2024/app.log", "region": .string(region)], admin)
            let checks = await executor.prechecks(delete)
            #expect(outcome(checks, "object-exists")?.passed == true, "\(checks.map(\.line))")
            #expect(outcome(checks, "no-object-lock")?.passed == true)
            let before = try await executor.state(delete)
            #expect(before["content_length"] == 5 && before["content_type"] == "text/plain" && before["etag"] != nil, "\(before)")
            let out = await executor.execute(delete)
            #expect(out.status == .success, "\(out.error ?? "")")
            #expect(out.output.hasPrefix("deleted s3://\(bucket)/logs/2024/app.log"))
            expectNoSecrets(out, admin)
            #expect(try await moto.signed(admin, service: "s3", method: "GET", path: "/\(bucket)/logs/2024/app.log").status == 404)
            #expect(try await executor.state(delete) == [:])
            #expect(outcome(await executor.prechecks(delete), "object-exists")?.passed == false)

            let policy = #"{"Version":"2012-10-17","Statement":[{"Sid":"TLS","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::agent-safe-test/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#
            let putPolicy = try request("s3-put-bucket-policy", ["bucket": .string(bucket), "policy": .string(policy), "region": .string(region)], admin)
            var policyChecks = await executor.prechecks(putPolicy)
            #expect(outcome(policyChecks, "bucket-exists")?.passed == true, "\(policyChecks.map(\.line))")
            #expect(outcome(policyChecks, "policy-valid")?.passed == true)
            #expect(outcome(policyChecks, "public-access-block-on").map { !$0.passed && !$0.advisory } == true, "\(policyChecks.map(\.line))")
            let block = "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>"
            let blocked = try await moto.signed(admin, service: "s3", method: "PUT", path: "/\(bucket)?publicAccessBlock", body: Array(block.utf8))
            #expect(blocked.status == 200, "\(blocked.text)")
            policyChecks = await executor.prechecks(putPolicy)
            #expect(outcome(policyChecks, "public-access-block-on")?.passed == true, "\(policyChecks.map(\.line))")
            #expect(try await executor.state(putPolicy)["policy"] == nil)
            let replaced = await executor.execute(putPolicy)
            #expect(replaced.status == .success, "\(replaced.error ?? "")")
            #expect(replaced.output == "bucket policy of \(bucket) replaced")
            let stored = try await moto.signed(admin, service: "s3", method: "GET", path: "/\(bucket)?policy")
            #expect(stored.status == 200)
            #expect((try? JSONValue.parse(stored.text)) == (try? JSONValue.parse(policy)))
            let after = try await executor.state(putPolicy)
            #expect(after["policy"].flatMap { $0.stringValue }.flatMap { try? JSONValue.parse($0) } == (try? JSONValue.parse(policy)))

            let noBucket = try request("s3-put-bucket-policy", ["bucket": "no-such-bucket-here", "policy": .string(policy), "region": .string(region)], admin)
            #expect(outcome(await executor.prechecks(noBucket), "bucket-exists")?.message == "bucket no-such-bucket-here not found")
            let failed = await executor.execute(noBucket)
            #expect(failed.status == .failure)
            #expect(failed.error?.hasPrefix("s3 PutBucketPolicy failed (404 NoSuchBucket): ") == true, "\(failed.error ?? "")")
        }
    }

    @Test func ecsScaleUpdateAndStopTask() async throws {
        try await withMoto { moto, admin, executor in
            // Keep moto's tasks RUNNING until stopped (by default they advance a state on every describe).
            let transition = #"{"model_name":"ecs::task","transition":{"progression":"manual","times":1000000}}"#
            #expect(try await moto.raw(method: .POST, path: "/moto-api/state-manager/set-transition", body: transition).status == 201)
            try await moto.ecs(admin, "CreateCluster", #"{"clusterName":"prod"}"#)
            try await moto.ecs(admin, "RegisterTaskDefinition", #"{"family":"web","requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"nginx","memory":128}]}"#)
            try await moto.ecs(admin, "CreateService", #"{"cluster":"prod","serviceName":"web","taskDefinition":"web","desiredCount":1,"launchType":"FARGATE"}"#)
            let subnets = try await moto.ec2(admin, [("Action", "DescribeSubnets")])
            let subnet = try #require(MotoServer.element("subnetId", in: subnets))
            let run = try await moto.ecs(admin, "RunTask", #"{"cluster":"prod","taskDefinition":"web","group":"service:web","launchType":"FARGATE","networkConfiguration":{"awsvpcConfiguration":{"subnets":["\#(subnet)"],"securityGroups":["sg-12345678"]}}}"#)
            let taskARN = try #require((try JSONValue.parse(run))["tasks"]?.arrayValue?.first?["taskArn"]?.stringValue)
            let taskID = String(taskARN.split(separator: "/").last!)
            func desiredCount() async throws -> JSONValue? {
                try JSONValue.parse(try await moto.ecs(admin, "DescribeServices", #"{"cluster":"prod","services":["web"]}"#))["services"]?.arrayValue?.first?["desiredCount"]
            }

            let scale = try request("ecs-scale-service", ["cluster": "prod", "service": "web", "desired_count": 3, "region": .string(region)], admin)
            let checks = await executor.prechecks(scale)
            #expect(outcome(checks, "service-active")?.passed == true, "\(checks.map(\.line))")
            #expect(outcome(checks, "no-autoscaling-conflict")?.advisory == true)
            let before = try await executor.state(scale)
            #expect(before["desired_count"] == 1, "\(before)")
            #expect(Set(before.keys).isSubset(of: ["desired_count", "running_count", "pending_count"]))
            let scaled = await executor.execute(scale)
            #expect(scaled.status == .success, "\(scaled.error ?? "")")
            #expect(scaled.output.contains("desiredCount 3"))
            expectNoSecrets(scaled, admin)
            #expect(try await desiredCount() == 3)
            #expect(try await executor.state(scale)["desired_count"] == 3)

            let update = try request("ecs-update-service", ["cluster": "prod", "service": "web", "desired_count": 0, "force_new_deployment": true, "region": .string(region)], admin)
            let updateChecks = await executor.prechecks(update)
            #expect(outcome(updateChecks, "service-active")?.passed == true)
            #expect(outcome(updateChecks, "change-requested")?.passed == true)
            #expect(outcome(updateChecks, "no-deployment-in-progress")?.advisory == false, "\(updateChecks.map(\.line))")
            let updateBefore = try await executor.state(update)
            #expect(updateBefore["desired_count"] == 3 && updateBefore["task_definition"]?.stringValue?.contains("task-definition/web") == true, "\(updateBefore)")
            let updated = await executor.execute(update)
            #expect(updated.status == .success, "\(updated.error ?? "")")
            #expect(try await desiredCount() == 0)
            #expect(try await executor.state(update)["desired_count"] == 0)

            let stop = try request("ecs-stop-task", ["cluster": "prod", "task": .string(taskID), "reason": "agent-safe test", "region": .string(region)], admin)
            let stopChecks = await executor.prechecks(stop)
            #expect(outcome(stopChecks, "task-running")?.passed == true, "\(stopChecks.map(\.line))")
            #expect(outcome(stopChecks, "task-owned-by-service")?.passed == true)
            let stopBefore = try await executor.state(stop)
            #expect(stopBefore["last_status"] == "RUNNING" && stopBefore["group"] == "service:web", "\(stopBefore)")
            let stopped = await executor.execute(stop)
            #expect(stopped.status == .success, "\(stopped.error ?? "")")
            let stopAfter = try await executor.state(stop)
            #expect(stopAfter["last_status"] == "STOPPED" && stopAfter["stopped_reason"] == "agent-safe test", "\(stopAfter)")

            let ghost = try request("ecs-scale-service", ["cluster": "prod", "service": "ghost", "desired_count": 1, "region": .string(region)], admin)
            #expect(outcome(await executor.prechecks(ghost), "service-active")?.message == "service ghost in cluster prod not found")
            let failed = await executor.execute(ghost)
            #expect(failed.status == .failure)
            #expect(failed.error?.hasPrefix("ecs UpdateService failed (400 ServiceNotFoundException)") == true, "\(failed.error ?? "")")
        }
    }

    /// Without moto's signature check: moto 5.2.1 rejects every signed Lambda GET with SignatureDoesNotMatch when
    /// auth is on, botocore's own GetFunction and GetFunctionConfiguration included (its check hashes the parsed
    /// query dict as the body of a GET). Its PUTs and POSTs pass the check.
    @Test func lambdaUpdateConfigurationAndInvoke() async throws {
        try await withMoto(auth: false) { moto, admin, executor in
            let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
            let role = try await moto.iam(admin, [("Action", "CreateRole"), ("RoleName", "fn-role"), ("AssumeRolePolicyDocument", trust)])
            let roleARN = try #require(MotoServer.element("Arn", in: role))
            // An empty zip archive: moto stores the code and never runs it here.
            let create = #"{"FunctionName":"resize","Runtime":"python3.12","Role":"\#(roleARN)","Handler":"app.handler","Code":{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="},"MemorySize":128,"Timeout":3}"#
            let created = try await moto.signed(
                admin, service: "lambda", method: "POST", path: "/2015-03-31/functions",
                headers: [SigV4Header("Content-Type", "application/json")], body: Array(create.utf8))
            #expect(created.status == 201, "\(created.text)")

            let update = try request("lambda-update-function-config", [
                "function_name": "resize", "region": .string(region), "memory_size": 256, "timeout": 30,
                "environment_variables": #"{"MODE":"safe","API_TOKEN":"tok-987654321"}"#,
            ], admin)
            let checks = await executor.prechecks(update)
            for name in ["function-exists", "no-update-in-progress", "change-requested"] {
                #expect(outcome(checks, name)?.passed == true, "\(checks.map(\.line))")
            }
            let before = try await executor.state(update)
            #expect(before["memory_size"] == 128 && before["timeout"] == 3 && before["environment_variables"] == nil, "\(before)")
            let out = await executor.execute(update)
            #expect(out.status == .success, "\(out.error ?? "")")
            #expect(out.output.contains("MemorySize 256") && out.output.contains("Timeout 30"), "\(out.output)")
            #expect(!out.output.contains("tok-987654321") && !text(out.calls).contains("tok-987654321"))
            expectNoSecrets(out, admin)
            let config = try JSONValue.parse(try await moto.signed(admin, service: "lambda", method: "GET", path: "/2015-03-31/functions/resize/configuration").text)
            #expect(config["MemorySize"] == 256 && config["Timeout"] == 30)
            #expect(config["Environment"]?["Variables"] == ["MODE": "safe", "API_TOKEN": "tok-987654321"])
            let after = try await executor.state(update)
            #expect(after["memory_size"] == 256 && after["timeout"] == 30)
            #expect(after["environment_variables"] == #"{"API_TOKEN":"tok-987654321","MODE":"safe"}"#)

            let invoke = try request("lambda-invoke-function", ["function_name": "resize", "region": .string(region), "payload": #"{"size":64}"#], admin)
            let invokeChecks = await executor.prechecks(invoke)
            #expect(outcome(invokeChecks, "function-exists")?.passed == true, "\(invokeChecks.map(\.line))")
            #expect(outcome(invokeChecks, "concurrency-available")?.advisory == true)
            let invokeState = try await executor.state(invoke)
            #expect(invokeState["state"] == "Active" && invokeState["version"] == "$LATEST", "\(invokeState)")
            let invoked = await executor.execute(invoke)
            expectNoSecrets(invoked, admin)
            if invoked.status == .success {
                print("moto ran the Lambda function: \(invoked.output)")
            } else {
                // moto runs functions in Docker; without a Docker daemon it answers 200 with a function error
                // whose payload says so, and the executor reports that as a failure.
                #expect(invoked.status == .failure)
                #expect(invoked.error?.hasPrefix("lambda Invoke: the function returned an error (") == true, "\(invoked.error ?? "")")
                print("moto could not run the Lambda function (no Docker daemon): \(invoked.error ?? "")")
            }

            let ghost = try request("lambda-invoke-function", ["function_name": "ghost", "region": .string(region)], admin)
            #expect(outcome(await executor.prechecks(ghost), "function-exists")?.message == "function ghost not found in us-east-1")
            let failed = await executor.execute(ghost)
            #expect(failed.status == .failure && failed.httpStatus == 404)
            #expect(failed.error?.hasPrefix("lambda Invoke failed (404 ResourceNotFoundException): ") == true, "\(failed.error ?? "")")
        }
    }
}
