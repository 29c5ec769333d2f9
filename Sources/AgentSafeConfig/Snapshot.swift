import AgentSafeCore
import AgentSafeTickets
import Crypto
import Foundation

/// Where to load from. Flags win over agent-safe.yaml, which wins over the defaults (`./actions`, `./policies`,
/// `./inventory.yaml`, relative to the working directory), as upstream.
public struct LoadOptions: Sendable {
    public var configPath: String?
    public var registry: String?
    public var policies: String?
    public var inventory: String?
    public var workingDirectory: String
    /// Look for agent-safe.yaml upward from the working directory when no config path is given.
    public var discoverConfig: Bool

    public init(
        configPath: String? = nil, registry: String? = nil, policies: String? = nil, inventory: String? = nil,
        workingDirectory: String = FileManager.default.currentDirectoryPath, discoverConfig: Bool = true
    ) {
        self.configPath = configPath
        self.registry = registry
        self.policies = policies
        self.inventory = inventory
        self.workingDirectory = workingDirectory
        self.discoverConfig = discoverConfig
    }
}

/// Everything loaded and validated, ready to decide: replaced whole, never patched.
public struct Snapshot: Sendable {
    public var config: ProjectConfig
    public var actions: [ActionDefinition]
    public var inventory: Inventory
    public var engine: PolicyEngine
    /// Chain rules from the policy files (`chains:`), in file order.
    public var chains: [ChainRule] = []
    public var warnings: [ConfigDiagnostic]
    public var files: [LoadedFile]
    public var paths: ResolvedPaths

    /// SHA-256 over every loaded file's role, name within its role and content digest: changes when any input
    /// changes (agent-safe.yaml included), and not with the directory the command runs from.
    public var digest: String {
        var hasher = SHA256()
        for file in files {
            hasher.update(data: Data("\(file.role.rawValue)\u{0}\(file.name)\u{0}\(file.sha256)\n".utf8))
        }
        return CatalogueLoader.hex(hasher.finalize())
    }
}

public struct LoadedFile: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable {
        case config, action, inventory, policy
    }
    /// As errors show it (relative to the working directory when below it).
    public var path: String
    public var sha256: String
    public var role: Role
    /// The file's path below its root (the registry or policy directory), or its file name.
    public var name: String
}

public struct ResolvedPaths: Sendable, Hashable {
    public var config: String?
    public var registry: String
    public var policies: String
    public var inventory: String?
    public var auditLog: String?
}

public enum CatalogueLoader {
    /// Loads config, actions, inventory and policies. On any error nothing is returned and every problem found
    /// is listed in the thrown ``ConfigLoadError``.
    public static func load(_ options: LoadOptions) throws(ConfigLoadError) -> Snapshot {
        let cwd = options.workingDirectory
        func absolute(_ p: String) -> String {
            p.hasPrefix("/") ? p : URL(fileURLWithPath: cwd).appendingPathComponent(p).standardizedFileURL.path
        }
        var config = ProjectConfig()
        var configPath: String?
        if let explicit = options.configPath {
            configPath = absolute(explicit)
            guard FileManager.default.fileExists(atPath: configPath!) else {
                throw ConfigLoadError([ConfigDiagnostic(code: .fileNotFound, file: explicit, line: 0, column: 0,
                                                        fieldPath: "", message: "config file not found")])
            }
        } else if options.discoverConfig {
            configPath = ProjectConfig.discover(from: cwd)
        }
        var files: [LoadedFile] = []
        if let configPath {
            config = try ProjectConfig.load(path: configPath, displayPath: display(configPath, cwd: cwd))
            if let data = FileManager.default.contents(atPath: configPath) {
                files.append(LoadedFile(path: display(configPath, cwd: cwd), sha256: hex(SHA256.hash(data: data)),
                                        role: .config, name: "agent-safe.yaml"))
            }
        }
        let registry = options.registry.map(absolute) ?? config.registry.map(config.resolve) ?? absolute("actions")
        let policies = options.policies.map(absolute) ?? config.policies.map(config.resolve) ?? absolute("policies")
        let inventoryExplicit = options.inventory.map(absolute) ?? config.inventory.map(config.resolve)
        let inventoryPath = inventoryExplicit ?? absolute("inventory.yaml")
        let paths = ResolvedPaths(
            config: configPath, registry: registry, policies: policies,
            inventory: FileManager.default.fileExists(atPath: inventoryPath) ? inventoryPath : nil,
            auditLog: config.auditLog.map(config.resolve))

        var diagnostics = config.warnings
        let reader = YAMLFileReader()
        let zones = ZoneResolver()

        // Actions: one per file.
        var actions: [ActionDefinition] = []
        var actionFiles: [String: (String, YAMLNode?)] = [:]
        let actionPaths = yamlFiles(in: registry, what: "actions", cwd: cwd, diagnostics: &diagnostics)
        let parsedActions = parseAll(actionPaths, cwd: cwd, reader: reader)
        for (index, file) in actionPaths.enumerated() {
            let shown = display(file, cwd: cwd)
            do {
                let (node, digest) = try parsedActions[index].get()
                files.append(LoadedFile(path: shown, sha256: digest, role: .action, name: below(file, registry)))
                guard let node else {
                    diagnostics.append(ConfigDiagnostic(code: .emptyFile, file: shown, line: 1, column: 1, fieldPath: "",
                                                        message: "file is empty; an action file holds one action mapping"))
                    continue
                }
                let ctx = DecodeContext(file: shown, unknownKeys: config.unknownKeys)
                let action = ActionDecoder(ctx: ctx).decode(node)
                diagnostics += ctx.diagnostics
                guard let action else { continue }
                if let (firstFile, _) = actionFiles[action.name] {
                    let nameNode = nameNode(of: node)
                    diagnostics.append(ConfigDiagnostic(
                        code: .duplicateName, file: shown, line: nameNode?.line ?? 1, column: nameNode?.column ?? 1,
                        fieldPath: "name", message: "duplicate action name '\(action.name)' (already defined in \(firstFile))"))
                    continue
                }
                actionFiles[action.name] = (shown, node)
                actions.append(action)
            } catch {
                diagnostics += error.diagnostics
            }
        }
        let names = Set(actions.map(\.name))
        for action in actions {
            guard let rollback = action.rollbackAction, !rollback.isEmpty, !names.contains(rollback) else { continue }
            let (file, node) = actionFiles[action.name]!
            let at = node.flatMap { fieldNode(of: $0, "rollback_action") }
            let hint = Suggest.closest(to: rollback, in: names).map { " (did you mean '\($0)'?)" } ?? ""
            diagnostics.append(ConfigDiagnostic(
                code: .unknownReference, file: file, line: at?.line ?? 1, column: at?.column ?? 1,
                fieldPath: "rollback_action", message: "rollback action '\(rollback)' is not in the catalogue\(hint)"))
        }

        // Inventory.
        var targets: [Target] = []
        if FileManager.default.fileExists(atPath: inventoryPath) {
            let shown = display(inventoryPath, cwd: cwd)
            do {
                let (node, digest) = try readHashed(inventoryPath, shown: shown, reader: reader)
                files.append(LoadedFile(path: shown, sha256: digest, role: .inventory, name: "inventory"))
                if let node {
                    let ctx = DecodeContext(file: shown, unknownKeys: config.unknownKeys)
                    targets = PolicyDecoder(ctx: ctx, zones: zones).targets(node)
                    diagnostics += ctx.diagnostics
                } else {
                    diagnostics.append(ConfigDiagnostic(code: .emptyFile, file: shown, line: 1, column: 1, fieldPath: "",
                                                        message: "inventory file is empty; expected a 'targets' list"))
                }
            } catch {
                diagnostics += error.diagnostics
            }
        } else if inventoryExplicit != nil {
            diagnostics.append(ConfigDiagnostic(code: .fileNotFound, file: display(inventoryPath, cwd: cwd), line: 0,
                                                column: 0, fieldPath: "", message: "inventory file not found"))
        } else {
            diagnostics.append(ConfigDiagnostic(
                severity: .warning, code: .fileNotFound, file: display(inventoryPath, cwd: cwd), line: 0, column: 0,
                fieldPath: "", message: "no inventory: every target is unknown and treated as critical"))
        }

        // Policies: every file merged in path order.
        var rules: [PolicyRule] = []
        var chains: [ChainRule] = []
        var isDirectory: ObjCBool = false
        let policyFiles: [String]
        if FileManager.default.fileExists(atPath: policies, isDirectory: &isDirectory), !isDirectory.boolValue {
            policyFiles = [policies]
        } else {
            policyFiles = yamlFiles(in: policies, what: "policies", cwd: cwd, diagnostics: &diagnostics)
        }
        let parsedPolicies = parseAll(policyFiles, cwd: cwd, reader: reader)
        for (index, file) in policyFiles.enumerated() {
            let shown = display(file, cwd: cwd)
            do {
                let (node, digest) = try parsedPolicies[index].get()
                files.append(LoadedFile(path: shown, sha256: digest, role: .policy, name: below(file, policies)))
                guard let node else {
                    diagnostics.append(ConfigDiagnostic(code: .emptyFile, file: shown, line: 1, column: 1, fieldPath: "",
                                                        message: "policy file is empty; expected a 'rules' list"))
                    continue
                }
                let ctx = DecodeContext(file: shown, unknownKeys: config.unknownKeys)
                let (fileRules, fileChains) = PolicyDecoder(ctx: ctx, zones: zones).policyFile(node)
                rules += fileRules
                chains += fileChains
                diagnostics += ctx.diagnostics
            } catch {
                diagnostics += error.diagnostics
            }
        }
        var ruleNames: [String: SourceLocation] = [:]
        for rule in rules {
            if let first = ruleNames[rule.name] {
                let at = rule.source ?? SourceLocation(file: "", line: 0, column: 0)
                diagnostics.append(ConfigDiagnostic(
                    severity: config.duplicateRuleNames == .warn ? .warning : .error, code: .duplicateName,
                    file: at.file, line: at.line, column: at.column, fieldPath: "name",
                    message: "duplicate rule name '\(rule.name)' (first defined at \(first))"))
            } else if let source = rule.source {
                ruleNames[rule.name] = source
            }
        }

        var chainNames: [String: SourceLocation] = [:]
        for chain in chains {
            let at = chain.source ?? SourceLocation(file: "", line: 0, column: 0)
            if let first = chainNames[chain.name] {
                diagnostics.append(ConfigDiagnostic(
                    code: .duplicateName, file: at.file, line: at.line, column: at.column, fieldPath: "name",
                    message: "duplicate chain name '\(chain.name)' (first defined at \(first))"))
                continue
            }
            chainNames[chain.name] = at
            // A step that names no action in the catalogue can never match: almost always a typo.
            for (i, step) in chain.steps.enumerated() where !names.contains(where: step.matches) {
                let hint = step.isLiteral ? Suggest.closest(to: step.pattern, in: names).map { " (did you mean '\($0)'?)" } ?? "" : ""
                diagnostics.append(ConfigDiagnostic(
                    code: .unknownReference, file: at.file, line: at.line, column: at.column,
                    fieldPath: "chains.\(chain.name).steps[\(i)]",
                    message: "step '\(step.pattern)' matches no action in the catalogue\(hint)"))
            }
        }

        if diagnostics.contains(where: { $0.severity == .error }) {
            throw ConfigLoadError(diagnostics)
        }
        let inventory = Inventory(targets: targets)
        let engine = PolicyEngine(actions: actions, inventory: inventory, rules: rules, risk: config.risk)
        return Snapshot(config: config, actions: actions.sorted { $0.name < $1.name }, inventory: inventory,
                        engine: engine, chains: chains, warnings: diagnostics, files: files, paths: paths)
    }

    static func hex(_ digest: SHA256.Digest) -> String { digest.withUnsafeBytes(Hex.encode(raw:)) }

    /// `file` relative to the directory `root` (its last component when `root` is the file itself).
    static func below(_ file: String, _ root: String) -> String {
        let prefix = root.hasSuffix("/") ? root : root + "/"
        if file.hasPrefix(prefix) { return String(file.dropFirst(prefix.count)) }
        return (file as NSString).lastPathComponent
    }

    /// Reads, hashes and parses files on every core (libyaml and the typing of scalars dominate a load); results
    /// keep the files' order, so diagnostics come out as from a sequential load.
    static func parseAll(_ paths: [String], cwd: String, reader: YAMLFileReader) -> [Result<(YAMLNode?, String), ConfigLoadError>] {
        let results = ResultSlots<Result<(YAMLNode?, String), ConfigLoadError>>(count: paths.count)
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            let shown = display(paths[i], cwd: cwd)
            results[i] = Result { () throws(ConfigLoadError) in try readHashed(paths[i], shown: shown, reader: reader) }
        }
        return results.values
    }

    static func readHashed(_ path: String, shown: String, reader: YAMLFileReader) throws(ConfigLoadError) -> (YAMLNode?, String) {
        let data: Data
        do {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            if size > reader.maxFileBytes {
                throw ConfigLoadError([ConfigDiagnostic(
                    code: .fileTooLarge, file: shown, line: 1, column: 1, fieldPath: "",
                    message: "file is \(size) bytes, over the \(reader.maxFileBytes)-byte limit for configuration files")])
            }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as ConfigLoadError {
            throw error
        } catch {
            throw ConfigLoadError([ConfigDiagnostic(code: .fileNotFound, file: shown, line: 0, column: 0, fieldPath: "",
                                                    message: "cannot read file: \(YAMLFileReader.describe(error))")])
        }
        let digest = hex(SHA256.hash(data: data))
        return (try reader.parse(data: data, displayPath: shown), digest)
    }

    /// `*.yaml` and `*.yml` directly in `directory` (not recursive), sorted by path.
    static func yamlFiles(in directory: String, what: String, cwd: String, diagnostics: inout [ConfigDiagnostic]) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            diagnostics.append(ConfigDiagnostic(code: .fileNotFound, file: display(directory, cwd: cwd), line: 0, column: 0,
                                                fieldPath: "", message: "\(what) directory not found"))
            return []
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .map { URL(fileURLWithPath: directory).appendingPathComponent($0).path }
            .filter { path in
                var dir: ObjCBool = false
                return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && !dir.boolValue
            }
            .sorted()
    }

    /// A path as people should see it: relative to the working directory when inside it.
    public static func display(_ path: String, cwd: String) -> String {
        let base = URL(fileURLWithPath: cwd).standardizedFileURL.path
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    static func nameNode(of node: YAMLNode) -> YAMLNode? { fieldNode(of: node, "name") }

    static func fieldNode(of node: YAMLNode, _ key: String) -> YAMLNode? {
        guard case .mapping(let pairs) = node.kind else { return nil }
        return pairs.first { $0.key.scalarText == key }?.value
    }
}

/// Fixed slots written once each from concurrent iterations (distinct indices), read after they all finished.
final class ResultSlots<Value>: @unchecked Sendable {
    private var slots: [Value?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    subscript(index: Int) -> Value? {
        get { lock.withLock { slots[index] } }
        set { lock.withLock { slots[index] = newValue } }
    }

    var values: [Value] { lock.withLock { slots.map { $0! } } }
}
