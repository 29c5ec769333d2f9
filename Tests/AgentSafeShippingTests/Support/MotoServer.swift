import AgentSafeAWS
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `moto_server` (PyPI `moto[server]`) started on a free 127.0.0.1 port for one test, and stopped by it.
final class MotoServer: @unchecked Sendable {
    // Safety: `process` is only touched by the test that owns this server, one call at a time.
    let process: Process
    let port: Int

    var endpoint: String { "http://127.0.0.1:\(port)" }

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    /// How to start moto: `python3 -m moto.server` when python3 has the module (no PATH or pyenv-shim issues),
    /// else a `moto_server` executable on `PATH`; nil when neither exists.
    static let command: [String]? = {
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", "import moto.server"]
        python.standardOutput = FileHandle.nullDevice
        python.standardError = FileHandle.nullDevice
        if (try? python.run()) != nil {
            python.waitUntilExit()
            if python.terminationStatus == 0 { return ["/usr/bin/env", "python3", "-m", "moto.server"] }
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let executable = path.split(separator: ":").map { "\($0)/moto_server" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        return executable.map { [$0] }
    }()

    /// Why moto cannot run here, or nil when it can.
    static var unavailableReason: String? {
        command == nil
            ? "neither python3 with moto.server nor moto_server on PATH (python3 -m pip install 'moto[server]')" : nil
    }

    /// Starts moto with `environment` added and waits until it accepts connections (at most 20 s).
    static func start(environment: [String: String] = [:]) async throws -> MotoServer {
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
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw MotoError(message: "moto_server exited with status \(process.terminationStatus)")
            }
            if canConnect(port: port) { return server }
            try await Task.sleep(for: .milliseconds(50))
        }
        await server.stop()
        throw MotoError(message: "moto_server did not listen on port \(port) within 20 s")
    }

    /// Starts moto, runs `body`, and stops moto whatever happens.
    static func with(environment: [String: String] = [:], _ body: (MotoServer) async throws -> Void) async throws {
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
    func stop() async {
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

    struct MotoError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    private static func freePort() throws -> Int {
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

    private static func canConnect(port: Int) -> Bool {
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

    /// Creates an IAM user allowed `s3:*` and returns its new access key, with requests signed by AgentSafeAWS
    /// (IAM's query API). Start moto with `INITIAL_NO_AUTH_ACTION_COUNT=3` so that these three calls pass and
    /// every later request must carry a valid signature of that key.
    func createS3User() async throws -> AWSCredentials {
        let bootstrap = AWSCredentials(accessKeyId: "AKIDBOOTSTRAP", secretAccessKey: "bootstrap")
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
        _ = try await iam([("Action", "CreateUser"), ("UserName", "shipper")], bootstrap)
        let created = try await iam([("Action", "CreateAccessKey"), ("UserName", "shipper")], bootstrap)
        _ = try await iam(
            [("Action", "PutUserPolicy"), ("UserName", "shipper"), ("PolicyName", "s3"), ("PolicyDocument", policy)],
            bootstrap)
        guard let id = Self.element("AccessKeyId", in: created), let secret = Self.element("SecretAccessKey", in: created)
        else { throw MotoError(message: "CreateAccessKey answered without a key") }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret)
    }

    private func iam(_ parameters: [(String, String)], _ credentials: AWSCredentials) async throws -> String {
        let body = AWSPercentEncoding.queryString((parameters + [("Version", "2010-05-08")]).map { (name: $0.0, value: $0.1) })
        let headers = [SigV4Header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
        let request = SigV4Request(
            method: "POST", path: "/", host: "127.0.0.1:\(port)", headers: headers, payload: .text(body))
        let signed = try SigV4Signer(credentials: credentials, region: "us-east-1", service: "iam")
            .sign(request, at: .now())
        var http = HTTPClientRequest(url: endpoint + "/")
        http.method = .POST
        for header in signed.applied(to: headers) { http.headers.add(name: header.name, value: header.value) }
        http.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(http, timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status == .ok else { throw MotoError(message: "IAM \(parameters[0].1): HTTP \(response.status.code)") }
        return text
    }

    static func element(_ name: String, in xml: String) -> String? {
        elements(name, in: xml).first
    }

    static func elements(_ name: String, in xml: String) -> [String] {
        var found: [String] = []
        var rest = xml[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) {
            found.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return found
    }
}
