import AgentSafeConfig
import AgentSafeCore
import AgentSafeTickets
import ArgumentParser
import Foundation

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Ask for a decision: exit 0 allow, 2 deny, 3 require_approval, 1 error.",
        discussion: """
            With --batch FILE (or - for stdin), reads one JSON request per line and writes one JSON decision per \
            line, in order; a bad line gets an error object instead of stopping the run.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var request: RequestOptions

    @Argument(help: "The action to check, e.g. restart-deployment.")
    var action: String?

    @Option(name: .long, help: "JSON lines of requests to decide (a file, or - for stdin).")
    var batch: String?

    @Option(name: [.customShort("o"), .long], help: "text or json.")
    var output: OutputFormat = .text

    @Option(name: .customLong("audit-log"), help: "Append decisions to this audit log (default: audit.path or audit_log from agent-safe.yaml).")
    var auditLog: String?

    @Flag(name: .customLong("json-output"), help: .hidden)
    var jsonOutput = false

    func validate() throws {
        if batch == nil, action == nil { throw ValidationError("give an ACTION, or --batch FILE") }
        if batch != nil, action != nil { throw ValidationError("give either an ACTION or --batch, not both") }
        if batch != nil, let flag = request.singleRequestFlags.first {
            throw ValidationError("\(flag) describes one request; with --batch every line carries its own fields")
        }
    }

    func run() throws {
        let snapshot = try global.loadSnapshot()
        let tokens = try TokenContext.load(snapshot.config)
        let audit = try AuditContext.open(snapshot.config, override: auditLog, actions: snapshot.actions)
        defer { audit?.close() }
        if let batch {
            try runBatch(batch, engine: snapshot.engine, tokens: tokens, audit: audit)
            return
        }
        let req = try request.request(action: action!, tokens: tokens)
        let decision = snapshot.engine.evaluate(req)
        // A what-if at another time never yields a usable ticket.
        let ticket = request.at == nil ? try tokens.ticket(for: decision, request: req, now: Clock.now()) : nil
        try audit?.record(decision, request: req, ticket: ticket)
        if output == .json || jsonOutput {
            print(Self.json(decision, ticket: ticket).prettyText)
        } else {
            print(DecisionText.render(decision, ticket: ticket))
        }
        if decision.result != .allow { throw ExitCode(decision.result.exitCode) }
    }

    static func json(_ decision: Decision, ticket: ExecutionTicket?) -> JSONValue {
        guard let ticket, case .object(var o) = decision.jsonValue else { return decision.jsonValue }
        o["ticket"] = ticket.summaryJSON
        return .object(o)
    }

    func runBatch(_ source: String, engine: PolicyEngine, tokens: TokenContext, audit: AuditContext?) throws {
        let handle: FileHandle
        if source == "-" {
            handle = .standardInput
        } else {
            guard let h = FileHandle(forReadingAtPath: source) else {
                Console.error("error: \(source): cannot open batch file")
                throw ExitCode(1)
            }
            handle = h
        }
        let now = Timestamps.now()
        var failed = 0
        var lineNumber = 0
        var out = ""
        func flush() {
            FileHandle.standardOutput.write(Data(out.utf8))
            out = ""
        }
        for line in LineReader(handle: handle) {
            lineNumber += 1
            if line.allSatisfy(\.isWhitespace) { continue }
            switch BatchRequest.parse(line, lineNumber: lineNumber, now: now, tokens: tokens) {
            case .success(let (req, whatIf)):
                let decision = engine.evaluate(req)
                let ticket = whatIf ? nil : try tokens.ticket(for: decision, request: req, now: now.secondsSinceEpoch)
                try audit?.record(decision, request: req, ticket: ticket)
                out += Self.json(decision, ticket: ticket).canonicalText + "\n"
            case .failure(let error):
                failed += 1
                out += JSONValue.object([
                    "line": .integer(Int64(lineNumber)), "error": .object(["code": .string(error.code), "message": .string(error.message)]),
                ]).canonicalText + "\n"
            }
            flush()  // each decision is printed as soon as it is durable (a pipeline sees it at once)
        }
        flush()
        if failed > 0 { throw ExitCode(1) }
    }
}

/// One line of `check --batch` input.
enum BatchRequest {
    struct Failure: Error {
        var code: String
        var message: String
    }

    static let keys: Set<String> = ["action", "target", "params", "caller", "identity_token", "ticket_id", "timestamp",
                                    "correlation_id"]

    /// The request, and whether it is a what-if at another time (then no ticket is issued).
    static func parse(_ line: String, lineNumber: Int, now: Instant, tokens: TokenContext) -> Result<(DecisionRequest, Bool), Failure> {
        let value: JSONValue
        do {
            value = try JSONValue.parse(line)
        } catch {
            return .failure(Failure(code: "malformed_json", message: error.description))
        }
        guard case .object(let o) = value else {
            return .failure(Failure(code: "wrong_type", message: "each line must be a JSON object, got \(value.kindName)"))
        }
        if let unknown = o.keys.sorted().first(where: { !keys.contains($0) }) {
            let hint = Suggest.closest(to: unknown, in: keys).map { " (did you mean '\($0)'?)" } ?? ""
            return .failure(Failure(code: "unknown_field", message: "unknown field '\(unknown)'\(hint)"))
        }
        guard case .string(let action)? = o["action"], !action.isEmpty else {
            return .failure(Failure(code: "missing_field", message: "'action' (a non-empty string) is required"))
        }
        func optionalString(_ key: String) -> Result<String?, Failure> {
            switch o[key] {
            case nil, .null?: return .success(nil)
            case .string(let s)?: return .success(s)
            case let other?: return .failure(Failure(code: "wrong_type", message: "'\(key)' must be a string, got \(other.kindName)"))
            }
        }
        let target: String?, ticket: String?, correlation: String?, timestamp: String?
        switch (optionalString("target"), optionalString("ticket_id"), optionalString("correlation_id"), optionalString("timestamp")) {
        case (.success(let a), .success(let b), .success(let c), .success(let d)): (target, ticket, correlation, timestamp) = (a, b, c, d)
        case (.failure(let e), _, _, _), (_, .failure(let e), _, _), (_, _, .failure(let e), _), (_, _, _, .failure(let e)):
            return .failure(e)
        }
        var params: [String: JSONValue] = [:]
        switch o["params"] {
        case nil, .null?: break
        case .object(let p)?: params = p
        case let other?: return .failure(Failure(code: "wrong_type", message: "'params' must be an object, got \(other.kindName)"))
        }
        var caller: Caller?
        switch o["caller"] {
        case nil, .null?: break
        case .string(let id)?: caller = Caller(agentID: id)
        case .object(let c)?:
            guard case .string(let id)? = c["agent_id"], !id.isEmpty else {
                return .failure(Failure(code: "wrong_type", message: "'caller.agent_id' (a non-empty string) is required"))
            }
            func strings(_ key: String) -> [String]? {
                switch c[key] {
                case nil, .null?: return []
                case .array(let items)?:
                    let s = items.compactMap(\.stringValue)
                    return s.count == items.count ? s : nil
                default: return nil
                }
            }
            guard let roles = strings("roles"), let groups = strings("groups"), let chain = strings("delegation_chain") else {
                return .failure(Failure(code: "wrong_type", message: "'caller.roles', 'groups' and 'delegation_chain' must be lists of strings"))
            }
            let known = ["agent_id", "agent_name", "roles", "groups", "delegation_chain"]
            if let u = c.keys.filter({ !known.contains($0) }).sorted().first {
                let hint = Suggest.closest(to: u, in: known).map { " (did you mean '\($0)'?)" } ?? ""
                return .failure(Failure(code: "unknown_field", message: "unknown field 'caller.\(u)'\(hint)"))
            }
            let name: String
            switch c["agent_name"] {
            case nil, .null?: name = ""
            case .string(let s)?: name = s
            case let other?:
                return .failure(Failure(code: "wrong_type", message: "'caller.agent_name' must be a string, got \(other.kindName)"))
            }
            caller = Caller(agentID: id, agentName: name, roles: roles, groups: groups,
                            delegationChain: chain.map { DelegationLink(agentID: $0) }, delegationVerified: true)
        case let other?:
            return .failure(Failure(code: "wrong_type", message: "'caller' must be a string or an object, got \(other.kindName)"))
        }
        switch o["identity_token"] {
        case nil, .null?: break
        case .string(let token)?:
            guard caller == nil else {
                return .failure(Failure(code: "invalid_value", message: "give either 'caller' or 'identity_token', not both"))
            }
            guard let setup = tokens.setup else {
                return .failure(Failure(code: "invalid_value", message: "'identity_token' needs keys in agent-safe.yaml"))
            }
            do {
                caller = try setup.identity.verify(token, now: now.secondsSinceEpoch).caller
            } catch {
                return .failure(Failure(code: "identity_\(error.code.rawValue)", message: "identity token refused: \(error.message)"))
            }
        case let other?:
            return .failure(Failure(code: "wrong_type", message: "'identity_token' must be a string, got \(other.kindName)"))
        }
        var instant = now
        if let timestamp {
            guard let t = Timestamps.parse(timestamp) else {
                return .failure(Failure(code: "invalid_value", message: "'timestamp' is not an ISO 8601 date-time"))
            }
            instant = t
        }
        return .success((DecisionRequest(action: action, target: target, caller: caller, params: params, ticketID: ticket,
                                         correlationID: correlation, instant: instant, auditID: EventID.random()),
                         timestamp != nil))
    }
}

/// Lines of a file handle, read in chunks (a batch can be larger than memory should hold at once).
struct LineReader: Sequence, IteratorProtocol {
    let handle: FileHandle
    var buffer = Data()
    var done = false

    init(handle: FileHandle) { self.handle = handle }

    mutating func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = buffer[buffer.startIndex..<newline]
                buffer.removeSubrange(buffer.startIndex...newline)
                return String(decoding: line, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            }
            if done {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
            let chunk = handle.readData(ofLength: 64 << 10)
            if chunk.isEmpty { done = true } else { buffer.append(chunk) }
        }
    }
}
