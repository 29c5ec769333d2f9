import AgentSafeConfig
import AgentSafeCore
import AgentSafeTickets
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import AgentSafeServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sidecar project in a temporary directory: the starter catalogue of `agent-safe init` (3 actions, 4 rules,
/// 3 targets), an ES256 ticket key, an HS256 identity key, an admin token and optionally a checkpoint key.
struct Project: Sendable {
    struct Options: Sendable {
        var mode = "open"
        var boundAgent: String? = nil
        var boundRoles: [String] = []
        var maxBodyBytes: Int? = nil
        var strictFields: Bool? = nil
        var checkpoint = false
        var admin = true
        var maxDelegationDepth = 3
        /// Top-level YAML appended to agent-safe.yaml (before `server:`).
        var extra = ""
    }

    let dir: String
    let options: Options
    let ticketKey: SigningKey
    let identityKey: SigningKey
    let checkpointKey: SigningKey?
    let adminToken: String

    var configPath: String { dir + "/agent-safe.yaml" }
    var auditPath: String { dir + "/.agent-safe/audit.jsonl" }

    init(_ options: Options = Options()) throws {
        self.options = options
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-safe-server-\(UUID().uuidString)").path
        self.dir = dir
        let fm = FileManager.default
        for sub in ["actions", "policies", "keys"] {
            try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        func write(_ text: String, _ relative: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/" + relative))
        }
        for (name, text) in Starter.actions { try write(text, "actions/\(name).yaml") }
        try write(Starter.policy, "policies/default.yaml")
        try write(Starter.inventory, "inventory.yaml")
        let (ticketPEM, ticketKey) = KeyFile.generate(.es256)
        let (identityHex, identityKey) = KeyFile.generate(.hs256)
        try write(ticketPEM, "keys/tickets.pem")
        try write(identityHex, "keys/identity.key")
        self.ticketKey = ticketKey
        self.identityKey = identityKey
        if options.checkpoint {
            let (pem, key) = KeyFile.generate(.es256)
            try write(pem, "keys/checkpoint.pem")
            checkpointKey = key
        } else {
            checkpointKey = nil
        }
        adminToken = "admin-" + UUID().uuidString
        try write(adminToken + "\n", "keys/admin.token")
        try write(config(), "agent-safe.yaml")
    }

    func config(extraServer: String = "") -> String {
        var yaml = """
            registry: actions
            policies: policies
            inventory: inventory.yaml
            audit_log: .agent-safe/audit.jsonl
            tickets:
              algorithm: ES256
              keys: [./keys/tickets.pem]
            identity:
              mode: \(options.mode)
              keys: [./keys/identity.key]
              max_delegation_depth: \(options.maxDelegationDepth)

            """
        if let bound = options.boundAgent {
            yaml += "  bound:\n    agent_id: \(bound)\n    roles: [\(options.boundRoles.joined(separator: ", "))]\n"
        }
        if options.checkpoint {
            yaml += "audit:\n  checkpoint:\n    key_file: ./keys/checkpoint.pem\n    every_events: 0\n    every_seconds: 0\n"
        }
        yaml += options.extra
        if !options.extra.isEmpty, !options.extra.hasSuffix("\n") { yaml += "\n" }
        yaml += "server:\n"
        if options.admin { yaml += "  admin_token_file: ./keys/admin.token\n" }
        if let max = options.maxBodyBytes { yaml += "  max_body_bytes: \(max)\n" }
        if let strict = options.strictFields { yaml += "  strict_fields: \(strict)\n" }
        yaml += extraServer
        return yaml
    }

    func write(_ text: String, to relative: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/" + relative))
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    var sidecarConfiguration: SidecarConfiguration {
        SidecarConfiguration(load: LoadOptions(configPath: configPath, workingDirectory: dir), port: 0,
                             developmentKey: false, logger: Quiet.logger)
    }

    func app(port: Int = 0) throws -> some ApplicationProtocol {
        var configuration = sidecarConfiguration
        configuration.port = port
        return try buildApplication(configuration: configuration)
    }

    /// Builds the app, runs `body` against it with the `.router` test client, removes the directory.
    func withApp<T: Sendable>(_ setup: TestingSetup = .router, _ body: @Sendable (any TestClientProtocol) async throws -> T)
        async throws -> T
    {
        try await app().test(setup, body)
    }

    var identity: IdentityAuthority {
        IdentityAuthority(ring: try! KeyRing([identityKey]), settings: IdentitySettings(maxDelegationDepth: options.maxDelegationDepth))
    }

    func identityToken(_ agentID: String, roles: [String] = [], groups: [String] = [], ttl: Int64? = nil,
                       now: Int64 = Int64(Date().timeIntervalSince1970)) -> String {
        try! identity.issue(agentID: agentID, roles: roles, groups: groups, ttlSeconds: ttl, now: now).token
    }

    /// What an executor would use: the ticket ring's public half, without replay state.
    var ticketVerifier: TicketVerifier { TicketVerifier(ring: try! KeyRing([ticketKey]).publicRing) }
}

enum Quiet {
    static let logger = Logger(label: "agent-safe-test", factory: { _ in SwiftLogNoOpLogHandler() })
}

// MARK: - Requests

enum Bodies {
    static let restartDev = #"{"action":"restart-deployment","target":"dev/web","caller":"my-agent","params":{"namespace":"web","deployment":"web"}}"#
    static let restartDevAnonymous = #"{"action":"restart-deployment","target":"dev/web","params":{"namespace":"web","deployment":"web"}}"#
    static let scaleProdDeployer = #"{"action":"scale-deployment","target":"prod/web","caller":{"agent_id":"deploy-bot","roles":["deployer"]},"params":{"namespace":"web","deployment":"web","replicas":3}}"#
    static let logsStaging = #"{"action":"get-pod-logs","target":"staging/web","caller":"my-agent","params":{"namespace":"web","pod":"web-1"}}"#
    static let restartProd = #"{"action":"restart-deployment","target":"prod/web","caller":"my-agent","params":{"namespace":"web","deployment":"web"}}"#
    static let restartParams: [String: JSONValue] = ["namespace": "web", "deployment": "web"]
}

extension HTTPFields {
    static let json: HTTPFields = [.contentType: "application/json"]

    static func json(bearer: String) -> HTTPFields { [.contentType: "application/json", .authorization: "Bearer \(bearer)"] }
}

extension TestClientProtocol {
    func post(_ uri: String, _ body: String, headers: HTTPFields = .json) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    var json: JSONValue {
        get throws { try JSONValue.parse(text) }
    }

    /// Asserts an RFC 9457 problem with this status and code; returns the parsed body.
    @discardableResult
    func expectProblem(_ status: HTTPResponse.Status, _ code: String, sourceLocation: Testing.SourceLocation = #_sourceLocation)
        throws -> JSONValue
    {
        #expect(self.status == status, "\(text)", sourceLocation: sourceLocation)
        #expect(headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
        let value = try json
        #expect(value["code"] == .string(code), "\(text)", sourceLocation: sourceLocation)
        #expect(value["status"] == .integer(Int64(status.code)), sourceLocation: sourceLocation)
        #expect(value["type"] == .string("https://agent-safe.dev/problems/\(code)"), sourceLocation: sourceLocation)
        #expect(value["title"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(value["detail"]?.stringValue != nil, sourceLocation: sourceLocation)
        return value
    }
}

// MARK: - Raw sockets (for what the test clients hide: connection reuse, partial bodies, shutdown)

/// A blocking HTTP/1.1 connection on a POSIX socket; every call runs off the cooperative pool.
final class RawConnection: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []

    struct Response: Sendable {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    static func connect(port: Int, attempts: Int = 50) async throws -> RawConnection {
        for _ in 0..<attempts {
            if let c = await offPool({ RawConnection.tryConnect(port: port) }) { return c }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw RawError("cannot connect to 127.0.0.1:\(port)")
    }

    private static func tryConnect(port: Int) -> RawConnection? {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            return nil
        }
        return RawConnection(fd: fd)
    }

    func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) async throws {
        let fd = self.fd
        let ok = await offPool { () -> Bool in
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return false }
                sent += n
            }
            return true
        }
        if !ok { throw RawError("send failed: \(String(cString: strerror(errno)))") }
    }

    /// Reads one response (Content-Length bodies only, which is all the sidecar sends).
    func readResponse() async throws -> Response {
        try await offPool { () throws -> Response in try self.readResponseBlocking() }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { throw RawError(n == 0 ? "connection closed by the server" : "recv failed") }
        buffer.append(contentsOf: chunk[0..<n])
    }

    /// True when the server has closed the connection (reads EOF within `seconds`).
    func isClosed(within seconds: Int = 5) async -> Bool {
        let fd = self.fd
        return await offPool { () -> Bool in
            var timeout = timeval(tv_sec: seconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var byte: UInt8 = 0
            return recv(fd, &byte, 1, 0) == 0
        }
    }

    private func readResponseBlocking() throws -> Response {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            if buffer.count >= 4 {
                for i in 0...(buffer.count - 4) where Array(buffer[i..<(i + 4)]) == separator {
                    headEnd = i
                    break
                }
            }
            if headEnd == nil { try fill() }
        }
        let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
        buffer.removeFirst(headEnd! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw RawError("bad status line: \(head)") }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < length { try fill() }
        let body = String(decoding: buffer[0..<length], as: UTF8.self)
        buffer.removeFirst(length)
        return Response(status: status, headers: headers, body: body)
    }

    static func request(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        if let body {
            if headers["Content-Type"] == nil { text += "Content-Type: application/json\r\n" }
            text += "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        } else {
            text += "\r\n"
        }
        return text
    }
}

struct RawError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs blocking work on a Dispatch thread, not the (two-thread) cooperative pool the server also needs.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: work()) }
    }
}

/// A port nobody listens on right now (bind to 0, read it, close).
func freePort() -> Int {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
            _ = bind(fd, p, len)
            return getsockname(fd, p, &len)
        }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

// MARK: - The starter project of `agent-safe init`

enum Starter {
    static let namespace = """
          - name: namespace
            type: string
            description: Namespace of the deployment
            constraints:
              max_length: 63
              pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
        """

    static let actions: [(String, String)] = [
        ("restart-deployment", """
            name: restart-deployment
            version: "1.0.0"
            description: Rolling restart of a Kubernetes deployment.
            parameters:
            \(namespace)
              - name: deployment
                type: string
                description: Name of the deployment
                constraints:
                  max_length: 253
                  pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
            risk_class: medium
            target_types: [k8s-deployment]
            reversible: false
            required_privileges: ["apps/deployments:get", "apps/deployments:patch"]
            tags: [kubernetes, deployment]

            """),
        ("scale-deployment", """
            name: scale-deployment
            version: "1.0.0"
            description: Scale a Kubernetes deployment to a replica count.
            parameters:
            \(namespace)
              - name: deployment
                type: string
                description: Name of the deployment
              - name: replicas
                type: integer
                description: Target replica count
                constraints:
                  min_value: 0
                  max_value: 50
            risk_class: medium
            target_types: [k8s-deployment]
            reversible: true
            rollback_action: scale-deployment
            required_privileges: ["apps/deployments/scale:patch"]
            tags: [kubernetes, deployment, scaling]
            risk_modifiers:
              - when:
                  replicas: {equals: 0}
                raise: 1
                reason: Scaling to zero takes the workload offline

            """),
        ("get-pod-logs", """
            name: get-pod-logs
            version: "1.0.0"
            description: Read recent log lines of a pod.
            parameters:
              - name: namespace
                type: string
                description: Namespace of the pod
              - name: pod
                type: string
                description: Name of the pod
              - name: tail_lines
                type: integer
                required: false
                default: 100
                description: How many recent lines
                constraints:
                  min_value: 1
                  max_value: 5000
            risk_class: low
            target_types: [k8s-pod, k8s-deployment]
            reversible: false
            tags: [kubernetes, pod, read-only]

            """),
    ]

    static let policy = """
        rules:
          - name: approve-critical
            priority: 1000
            match:
              risk_classes: [critical]
            decision: require_approval
            reason: Critical-risk actions require human approval

          - name: approve-prod
            priority: 500
            match:
              targets: {environments: [prod]}
              callers: {roles: [deployer]}
            decision: require_approval
            reason: Production changes by deployers require approval

          - name: allow-reads
            priority: 200
            match:
              actions: [get-pod-logs]
              targets: {environments: [dev, staging]}
              callers: {}
            decision: allow
            reason: Reading logs outside production is safe for identified agents

          - name: allow-dev
            priority: 10
            match:
              targets: {environments: [dev]}
              callers: {}
            decision: allow
            reason: Identified agents may act on dev

        """

    static let inventory = """
        targets:
          - id: dev/web
            type: k8s-deployment
            environment: dev
            sensitivity: public
            owner: web-team
          - id: staging/web
            type: k8s-deployment
            environment: staging
            sensitivity: internal
            owner: web-team
          - id: prod/web
            type: k8s-deployment
            environment: prod
            sensitivity: restricted
            owner: web-team

        """
}
