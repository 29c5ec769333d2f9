import AgentSafeAWS
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

public var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

/// Shared by the shipping and runner tests (a target of its own: test targets can't share files).
///
/// `moto_server` (PyPI `moto[server]`) started on a free 127.0.0.1 port for one test, and stopped by it; with
/// signed-request helpers for creating fixtures and observing changes independently of the executor.
public final class MotoServer: @unchecked Sendable {
    // Safety: `process` is only touched by the test that owns this server, one call at a time.
    public let process: Process
    public let port: Int

    public var endpoint: String { "http://127.0.0.1:\(port)" }
    public var url: URL { URL(string: endpoint)! }

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    /// How to start moto: a `moto_server` executable on `PATH`, else `python3 -m moto.server` when python3 has
    /// the module; nil when neither exists.
    public static let command: [String]? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        if let executable = path.split(separator: ":").map({ "\($0)/moto_server" }).first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }) {
            return [executable]
        }
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", "import moto.server"]
        python.standardOutput = FileHandle.nullDevice
        python.standardError = FileHandle.nullDevice
        if (try? python.run()) != nil {
            python.waitUntilExit()
            if python.terminationStatus == 0 { return ["/usr/bin/env", "python3", "-m", "moto.server"] }
        }
        return nil
    }()

    /// Why moto cannot run here, or nil when it can.
    public static var unavailableReason: String? {
        command == nil ? "neither moto_server on PATH nor python3 with moto.server (python3 -m pip install 'moto[server]')" : nil
    }

    /// For a suite's `.enabled` trait: whether its moto tests run. Without moto they are skipped with a printed
    /// reason, except under `CI=true`, where they run and record the missing tool as a failure.
    public static func shouldRun(_ suite: String) -> Bool {
        guard let reason = unavailableReason else { return true }
        if isCI { return true }
        print("skipping \(suite): \(reason)")
        return false
    }

    /// Starts moto with `environment` added and waits until it answers HTTP (at most 30 s).
    public static func start(environment: [String: String] = [:]) async throws -> MotoServer {
        guard let command else { throw MotoError(message: unavailableReason ?? "moto not found") }
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst()) + ["-H", "127.0.0.1", "-p", String(port)]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let server = MotoServer(process: process, port: port)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw MotoError(message: "moto_server exited with status \(process.terminationStatus)")
            }
            if canConnect(port: port), (try? await server.raw(method: .GET, path: "/moto-api/")) != nil { return server }
            try await Task.sleep(for: .milliseconds(100))
        }
        await server.stop()
        throw MotoError(message: "moto_server did not answer on port \(port) within 30 s")
    }

    /// Starts moto, runs `body`, and stops moto whatever happens.
    public static func with(environment: [String: String] = [:], _ body: (MotoServer) async throws -> Void) async throws {
        let moto = try await start(environment: environment)
        do {
            try await body(moto)
        } catch {
            await moto.stop()
            throw error
        }
        await moto.stop()
    }

    /// Stops moto: SIGINT (werkzeug ignores SIGTERM here), then SIGKILL after 3 s; waits for it to exit.
    public func stop() async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGINT)
        let deadline = ContinuousClock.now + .seconds(3)
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        while process.isRunning {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    public struct MotoError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

    // MARK: Signed requests (fixtures and observation)

    public struct Answer: Sendable {
        public var status: Int
        public var text: String
        public var headers: HTTPHeaders
    }

    /// An unsigned request to moto's own API (`/moto-api/…`).
    public func raw(method: HTTPMethod, path: String, body: String? = nil) async throws -> Answer {
        var http = HTTPClientRequest(url: endpoint + path)
        http.method = method
        if let body {
            http.headers.add(name: "Content-Type", value: "application/json")
            http.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(http, timeout: .seconds(10))
        return Answer(
            status: Int(response.status.code), text: String(buffer: try await response.body.collect(upTo: 1 << 22)),
            headers: response.headers)
    }

    /// A SigV4-signed request to moto as `service` in `region`.
    public func signed(
        _ credentials: AWSCredentials, service: String, region: String = "us-east-1", method: String, path: String,
        headers: [SigV4Header] = [], body: [UInt8] = []
    ) async throws -> Answer {
        let request = SigV4Request(
            method: method, path: path, host: "127.0.0.1:\(port)", headers: headers, payload: .bytes(body))
        let signed = try SigV4Signer(credentials: credentials, region: region, service: service).sign(request, at: .now())
        var http = HTTPClientRequest(url: endpoint + path)
        http.method = HTTPMethod(rawValue: method)
        for header in signed.applied(to: headers) { http.headers.add(name: header.name, value: header.value) }
        if !body.isEmpty || method == "POST" || method == "PUT" { http.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(http, timeout: .seconds(30))
        return Answer(
            status: Int(response.status.code), text: String(buffer: try await response.body.collect(upTo: 1 << 22)),
            headers: response.headers)
    }

    /// A query-API call (EC2, IAM); throws unless it answers 200.
    @discardableResult
    public func query(
        _ credentials: AWSCredentials, service: String, version: String, _ parameters: [(String, String)],
        region: String = "us-east-1"
    ) async throws -> String {
        let body = AWSPercentEncoding.queryString(parameters.map { (name: $0.0, value: $0.1) } + [(name: "Version", value: version)])
        let answer = try await signed(
            credentials, service: service, region: region, method: "POST", path: "/",
            headers: [SigV4Header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: Array(body.utf8))
        guard answer.status == 200 else {
            throw MotoError(message: "\(service) \(parameters.first?.1 ?? ""): HTTP \(answer.status) \(answer.text.prefix(500))")
        }
        return answer.text
    }

    @discardableResult
    public func ec2(_ credentials: AWSCredentials, _ parameters: [(String, String)], region: String = "us-east-1") async throws -> String {
        try await query(credentials, service: "ec2", version: "2016-11-15", parameters, region: region)
    }

    @discardableResult
    public func iam(_ credentials: AWSCredentials, _ parameters: [(String, String)]) async throws -> String {
        try await query(credentials, service: "iam", version: "2010-05-08", parameters)
    }

    /// An ECS JSON 1.1 call; throws unless it answers 200.
    @discardableResult
    public func ecs(_ credentials: AWSCredentials, _ operation: String, _ json: String, region: String = "us-east-1") async throws -> String {
        let answer = try await signed(
            credentials, service: "ecs", region: region, method: "POST", path: "/",
            headers: [
                SigV4Header("Content-Type", "application/x-amz-json-1.1"),
                SigV4Header("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.\(operation)"),
            ], body: Array(json.utf8))
        guard answer.status == 200 else { throw MotoError(message: "ecs \(operation): HTTP \(answer.status) \(answer.text.prefix(500))") }
        return answer.text
    }

    /// Creates an IAM user allowed `s3:*` (the audit shipper's tests), as ``createAdmin()`` does for everything.
    public func createS3User() async throws -> AWSCredentials {
        try await createUser("shipper", allowing: "s3:*")
    }

    /// Creates an IAM user allowed everything and returns its new access key. Start moto with
    /// `INITIAL_NO_AUTH_ACTION_COUNT=3` so that these three calls pass and every later request (EC2, IAM, ECS,
    /// S3) must carry a valid signature of that key: moto then checks the executor's SigV4 for real.
    public func createAdmin() async throws -> AWSCredentials {
        try await createUser("runner", allowing: "*")
    }

    func createUser(_ name: String, allowing action: String) async throws -> AWSCredentials {
        let bootstrap = AWSCredentials(accessKeyId: "AKIDBOOTSTRAP", secretAccessKey: "bootstrap")
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"\#(action)","Resource":"*"}]}"#
        try await iam(bootstrap, [("Action", "CreateUser"), ("UserName", name)])
        let created = try await iam(bootstrap, [("Action", "CreateAccessKey"), ("UserName", name)])
        try await iam(
            bootstrap, [("Action", "PutUserPolicy"), ("UserName", name), ("PolicyName", "policy"), ("PolicyDocument", policy)])
        guard let id = Self.element("AccessKeyId", in: created), let secret = Self.element("SecretAccessKey", in: created)
        else { throw MotoError(message: "CreateAccessKey answered without a key") }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret)
    }

    public static func element(_ name: String, in xml: String) -> String? {
        elements(name, in: xml).first
    }

    public static func elements(_ name: String, in xml: String) -> [String] {
        var found: [String] = []
        var rest = xml[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) {
            found.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return found
    }

    // MARK: Sockets

    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                bind(fd, sockaddrPointer, length) == 0 && getsockname(fd, sockaddrPointer, &length) == 0
            }
        }
        guard bound else { throw MotoError(message: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// A TCP listener on 127.0.0.1 that never accepts: the kernel completes the handshake and buffers the request,
/// and no answer ever comes (for timeout tests).
public final class SilentListener: Sendable {
    public let fd: Int32
    public let port: Int

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else {
            close(fd)
            throw MotoServer.MotoError(message: "cannot listen on 127.0.0.1")
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    public var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

    deinit { close(fd) }
}
