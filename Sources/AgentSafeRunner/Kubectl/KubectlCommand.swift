import AgentSafeCore

/// One kubectl invocation without the global flags (`--kubeconfig`, `--context`, `--request-timeout`, which
/// come from the credential and the request).
struct KubectlCommand: Sendable, Hashable {
    enum Argument: Sendable, Hashable {
        case plain(String)
        /// `<flag>=<path>` of a temporary file (mode 0600, in the run's private directory, removed after the run)
        /// holding `content`. Plans show `<file name: shown>` instead, so a sensitive value never reaches a plan.
        case file(flag: String, name: String, content: String, shown: String)
    }

    /// `-n <namespace>`, for namespaced commands.
    var namespace: String?
    var arguments: [Argument]

    init(namespace: String? = nil, _ arguments: [Argument]) {
        self.namespace = namespace
        self.arguments = arguments
    }

    init(namespace: String? = nil, _ plain: [String]) {
        self.init(namespace: namespace, plain.map(Argument.plain))
    }

    /// The argv after the global flags; files are rendered by `file(name, content)` (a path, or a placeholder).
    func render(file: (String, String) -> String) -> [String] {
        var argv: [String] = []
        if let namespace { argv += ["-n", namespace] }
        for argument in arguments {
            switch argument {
            case .plain(let s): argv.append(s)
            case .file(let flag, let name, let content, _): argv.append(flag + "=" + file(name, content))
            }
        }
        return argv
    }

    /// The argv as a plan shows it.
    var planned: [String] {
        var argv: [String] = []
        if let namespace { argv += ["-n", namespace] }
        for argument in arguments {
            switch argument {
            case .plain(let s): argv.append(s)
            case .file(let flag, let name, _, let shown): argv.append("\(flag)=<file \(name): \(shown)>")
            }
        }
        return argv
    }

    var files: [(name: String, content: String)] {
        arguments.compactMap {
            if case .file(_, let name, let content, _) = $0 { return (name, content) }
            return nil
        }
    }
}

/// What the executor does for one action: its commands and how their outcome is read.
struct KubectlOperation: Sendable {
    enum Kind: Sendable, Hashable {
        /// Run the command; exit 0 is success.
        case plain
        /// get-secret: decode the Secret's base64 data (and keep only `key`, when given).
        case secret(key: String?)
        /// port-forward: the tunnel stays up until `seconds` pass, then it is closed; that is a success.
        case tunnel(seconds: Int64)
        /// update-hpa-limits: read the HPA, find the metric indices, then send a JSON patch guarded by `test` ops.
        case hpaTargets(namespace: String, hpa: String, cpu: Int64?, memory: Int64?)
    }

    var kind: Kind
    var commands: [KubectlCommand]
    /// A deadline of the action's own (exec-pod's timeout, port-forward's duration), capped by the request's.
    var ownTimeout: Duration?

    init(_ commands: [KubectlCommand]) {
        self.init(.plain, commands)
    }

    init(_ kind: Kind, _ commands: [KubectlCommand], ownTimeout: Duration? = nil) {
        self.kind = kind
        self.commands = commands
        self.ownTimeout = ownTimeout
    }
}
