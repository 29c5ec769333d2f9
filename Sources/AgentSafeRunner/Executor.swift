import AgentSafeCore

/// A secret-bearing credential resolved for one execution (docs/executors.md). Its description never shows the
/// secret; it expires no later than the ticket it was resolved for.
public struct Credential: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// `cred-` and 24 hex digits.
    public var id: String
    /// The action's `credentials.type` (`kubernetes`, `aws`, …).
    public var type: String
    /// The action's scope with `{{ params.x }}` rendered (validated: nothing in it widens the scope).
    public var scope: [String: JSONValue]
    /// What the executor authenticates with. Keys by type:
    /// - `kubernetes`: `kubeconfig` (a file path), optional `context`;
    /// - `aws`: `access_key_id`, `secret_access_key`, optional `session_token`.
    public var secret: [String: String]
    /// Seconds since the Unix epoch.
    public var expiresAt: Int64

    public init(id: String, type: String, scope: [String: JSONValue], secret: [String: String], expiresAt: Int64) {
        self.id = id
        self.type = type
        self.scope = scope
        self.secret = secret
        self.expiresAt = expiresAt
    }

    public var description: String { "Credential(\(id), \(type), expires \(expiresAt), secret: <redacted>)" }
    public var debugDescription: String { description }
}

/// What an executor is asked to run: the verified ticket's action, target and params.
public struct ExecutionRequest: Sendable {
    public var action: ActionDefinition
    /// The ticket's target id.
    public var target: String
    /// The inventory's entry for the target, when known.
    public var targetInfo: Target?
    /// The ticket's params (already validated against the action's constraints by the policy engine).
    public var params: [String: JSONValue]
    public var credential: Credential?
    /// The ticket's `audit_id` (the allowing decision) and `jti`.
    public var auditID: String
    public var jti: String
    public var timeout: Duration

    public init(action: ActionDefinition, target: String, targetInfo: Target? = nil, params: [String: JSONValue],
                credential: Credential? = nil, auditID: String = "", jti: String = "", timeout: Duration = .seconds(300)) {
        self.action = action
        self.target = target
        self.targetInfo = targetInfo
        self.params = params
        self.credential = credential
        self.auditID = auditID
        self.jti = jti
        self.timeout = timeout
    }

    /// A param as a string (strings as they are; integers, numbers and booleans in their JSON form).
    public func string(_ name: String) -> String? {
        switch params[name] ?? action.parameter(named: name)?.defaultValue {
        case .string(let s)?: return s
        case .integer(let i)?: return String(i)
        case .number(let d)?: return String(d)
        case .bool(let b)?: return b ? "true" : "false"
        default: return nil
        }
    }
}

/// One call an executor would make, for dry runs and for the audit line (credentials never included).
public enum PlannedCall: Sendable, Hashable, CustomStringConvertible {
    /// A subprocess: argv[0] is the program.
    case argv([String])
    /// An HTTP request (headers that carry credentials are shown as `<redacted>`).
    case http(method: String, url: String, headers: [String: String], body: String?)

    public var description: String {
        switch self {
        case .argv(let argv): argv.map(Self.quote).joined(separator: " ")
        case .http(let method, let url, _, let body): "\(method) \(url)" + (body.map { " " + $0 } ?? "")
        }
    }

    public var jsonValue: JSONValue {
        switch self {
        case .argv(let argv): .object(["argv": .array(argv.map(JSONValue.string))])
        case .http(let method, let url, let headers, let body):
            .object(["method": .string(method), "url": .string(url), "headers": .object(headers.mapValues(JSONValue.string)),
                     "body": body.map(JSONValue.string) ?? .null])
        }
    }

    static func quote(_ s: String) -> String {
        s.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:@,".contains($0) } && !s.isEmpty ? s : "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}

/// A precheck's result. A failed blocking precheck stops the execution.
public struct PrecheckOutcome: Sendable, Hashable {
    public var name: String
    public var passed: Bool
    public var message: String
    /// Advisory checks are reported but never block (unknown prechecks, checks an executor can't evaluate).
    public var advisory: Bool

    public init(name: String, passed: Bool, message: String, advisory: Bool = false) {
        self.name = name
        self.passed = passed
        self.message = message
        self.advisory = advisory
    }
}

/// How an execution ended.
public enum ExecutionStatus: String, Sendable, Hashable {
    case success, failure, timeout
    /// Refused before running: a failed precheck, a refused ticket, no credential.
    case refused
    /// Dry run: nothing was sent.
    case dryRun = "dry_run"
}

/// What the executor did.
public struct ExecutionOutput: Sendable, Hashable {
    public var status: ExecutionStatus
    /// Bounded output (stdout, or a response body), secrets scrubbed.
    public var output: String
    public var error: String?
    public var exitCode: Int32?
    public var httpStatus: Int?
    /// The calls made (as planned; credentials redacted).
    public var calls: [PlannedCall]

    public init(status: ExecutionStatus, output: String = "", error: String? = nil, exitCode: Int32? = nil,
                httpStatus: Int? = nil, calls: [PlannedCall] = []) {
        self.status = status
        self.output = output
        self.error = error
        self.exitCode = exitCode
        self.httpStatus = httpStatus
        self.calls = calls
    }
}

/// An executor error with a stable code (`unsupported_action`, `missing_param`, `invalid_param`,
/// `credential_required`, `api_error`, `timeout`, `io`).
public struct ExecutorError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }
}

/// Runs actions of one kind (kubectl, AWS, …). Implementations never use ambient credentials unless configured
/// to, never build a shell command line, and bound their output and time.
public protocol Executor: Sendable {
    /// `kubectl`, `aws`, `dry-run`.
    var name: String { get }
    /// Whether this executor has a mapping for the action.
    func supports(_ action: ActionDefinition) -> Bool
    /// The calls `execute` would make, credentials redacted (dry runs and audit lines).
    func plan(_ request: ExecutionRequest) throws -> [PlannedCall]
    /// Evaluates the action's prechecks against the real system. A check the executor doesn't know is advisory.
    func prechecks(_ request: ExecutionRequest) async -> [PrecheckOutcome]
    /// The action's `state_fields`, read from the real system (missing ones omitted).
    func state(_ request: ExecutionRequest) async throws -> [String: JSONValue]
    /// Makes the change, within `request.timeout`.
    func execute(_ request: ExecutionRequest) async -> ExecutionOutput
}
