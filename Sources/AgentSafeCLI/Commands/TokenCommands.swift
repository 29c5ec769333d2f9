import AgentSafeConfig
import AgentSafeCore
import AgentSafeTickets
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension JWSAlgorithm: ExpressibleByArgument {}

/// Loads agent-safe.yaml only (keys don't need the catalogue).
func loadProjectConfig(_ global: GlobalOptions) throws -> ProjectConfig {
    let cwd = FileManager.default.currentDirectoryPath
    let path: String?
    if let explicit = global.config {
        path = explicit.hasPrefix("/") ? explicit : cwd + "/" + explicit
        guard FileManager.default.fileExists(atPath: path!) else { throw Console.fail("\(explicit): config file not found") }
    } else {
        path = ProjectConfig.discover(from: cwd)
    }
    guard let path else { return ProjectConfig() }
    let result = Result { () throws(ConfigLoadError) in try ProjectConfig.load(path: path, displayPath: CatalogueLoader.display(path, cwd: cwd)) }
    switch result {
    case .success(let config): return config
    case .failure(let error):
        for d in error.diagnostics { Console.error(d.description) }
        throw ExitCode(1)
    }
}

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Generate signing keys and export the public ones as JWKS.",
        subcommands: [Generate.self, JWKS.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new key file (mode 0600): ES256 as PEM, HS256 as 32 random bytes in hex.",
            discussion: "Prints the key id and the path, never the key. Refuses to overwrite an existing file.")

        @Option(name: .long, help: "ES256 (default) or HS256.")
        var alg: JWSAlgorithm = .es256

        @Option(name: .long, help: "The file to write.")
        var out: String

        func run() throws {
            guard !FileManager.default.fileExists(atPath: out) else {
                throw Console.fail("\(out) already exists; keys are never overwritten (remove it first to replace it)")
            }
            let (contents, key) = KeyFile.generate(alg)
            let directory = URL(fileURLWithPath: out).deletingLastPathComponent().path
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
            guard FileManager.default.createFile(atPath: out, contents: Data(contents.utf8),
                                                 attributes: [.posixPermissions: 0o600])
            else { throw Console.fail("cannot write \(out)") }
            print("wrote \(alg.rawValue) key \(key.kid) to \(out)")
        }
    }

    struct JWKS: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "jwks", abstract: "Print the JWKS of the ES256 ticket keys (public halves only).")

        @OptionGroup var global: GlobalOptions

        @Flag(name: .long, help: "Export the identity-token keys instead of the ticket keys.")
        var identity = false

        func run() throws {
            let setup = try TokenContext.load(try loadProjectConfig(global)).required()
            let ring = identity ? setup.identityRing : setup.ticketRing
            let jwks = JWK.set(ring)
            if jwks["keys"]?.arrayValue?.isEmpty ?? true {
                Console.error("warning: no ES256 keys configured; HMAC keys are secrets and are never exported")
            }
            print(jwks.prettyText)
        }
    }
}

struct TicketCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticket", abstract: "Verify execution tickets.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a ticket; with --consume also spend it (single use). Exit 0 valid, 1 invalid.",
            discussion: """
                Without --key or --jwks, the keys come from agent-safe.yaml. Without --consume the ticket is only \
                inspected: an executor must consume it. TOKEN may be - to read it from stdin.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The ticket (a JWS), or - for stdin.")
        var token: String

        @Option(name: .customLong("expect-action"), help: "Refuse a ticket for another action.")
        var expectAction: String?

        @Option(name: .customLong("expect-target"), help: "Refuse a ticket for another target.")
        var expectTarget: String?

        @Option(name: .customLong("expect-params"), help: "Refuse a ticket for other params (JSON object).")
        var expectParams: String?

        @Option(name: .long, help: "Verify with this key file (PEM public or private key, or an HMAC key file).")
        var key: String?

        @Option(name: .long, help: "Verify with the keys of this JWKS (a file or an http(s) URL).")
        var jwks: String?

        @Option(name: .long, help: "Expected audience (default: tickets.audience from agent-safe.yaml).")
        var audience: String?

        @Flag(name: .long, help: "Consume the ticket in the state store: a second use is 'replayed'.")
        var consume = false

        @Option(name: [.customShort("o"), .long], help: "text or json.")
        var output: OutputFormat = .text

        func validate() throws {
            if key != nil, jwks != nil { throw ValidationError("give either --key or --jwks, not both") }
        }

        func run() async throws {
            let config = try loadProjectConfig(global)
            // With --key or --jwks the configured keys aren't needed (nor loaded): an executor may not hold them.
            let tokens = key == nil && jwks == nil ? try TokenContext.load(config) : TokenContext(setup: nil, config: config)
            var settings = tokens.setup?.ticketSettings
                ?? TicketSettings(issuer: config.issuer, audience: config.tickets?.audience,
                                  ttlSeconds: config.tickets?.ttlSeconds ?? 300, leewaySeconds: config.tickets?.leewaySeconds ?? 30)
            if let audience { settings.audience = audience }
            let ring: KeyRing
            if let key {
                do {
                    ring = try KeyRing([try KeyFile.load(source: key)])
                } catch {
                    throw Console.fail(error.description)
                }
            } else if let jwks {
                ring = try await Self.fetchJWKS(jwks)
            } else {
                ring = try tokens.required().ticketRing
            }
            var expectation = TicketExpectation(action: expectAction, target: expectTarget)
            if let expectParams {
                guard case .object(let p)? = try? JSONValue.parse(expectParams) else {
                    throw Console.fail("--expect-params must be a JSON object")
                }
                expectation.params = p
            }
            let verifier = TicketVerifier(ring: ring, settings: settings,
                                          replayGuard: consume ? try tokens.replayStore() : nil)
            let text = try readToken(token)
            let now = Clock.now()
            let result = Result { () throws(TokenError) in
                consume ? try verifier.verifyAndConsume(text, expect: expectation, now: now)
                    : try verifier.inspect(text, expect: expectation, now: now)
            }
            switch result {
            case .success(let claims):
                if output == .json {
                    print(JSONValue.object(["valid": true, "code": "valid", "consumed": .bool(consume),
                                            "claims": JWS.unverifiedPayload(text) ?? .null]).prettyText)
                } else {
                    print("\(Console.paint("VALID", "32;1")) — \(claims.action) on \(claims.target) for \(claims.caller)"
                          + (consume ? " (consumed)" : " (inspected, not consumed)"))
                    print("  jti:     \(claims.jti)")
                    print("  expires: \(Instant(secondsSinceEpoch: claims.expires).iso8601)")
                    print("  audit:   \(claims.auditID)")
                    if !claims.delegationChain.isEmpty {
                        print("  chain:   \(claims.delegationChain.map(\.agentID).joined(separator: " → ")) → \(claims.caller)")
                    }
                }
            case .failure(let error):
                if output == .json {
                    print(JSONValue.object(["valid": false, "code": .string(error.code.rawValue),
                                            "message": .string(error.message)]).prettyText)
                } else {
                    print("\(Console.paint("INVALID", "31;1")) — \(error.code.rawValue): \(error.message)")
                }
                throw ExitCode(1)
            }
        }

        /// A JWKS from a file or an http(s) URL (AsyncHTTPClient: the binary links no libcurl).
        static func fetchJWKS(_ location: String) async throws -> KeyRing {
            let text: String
            if location.hasPrefix("http://") || location.hasPrefix("https://") {
                do {
                    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: location), timeout: .seconds(15))
                    guard response.status == .ok else {
                        throw Console.fail("--jwks: \(location) answered \(response.status.code)")
                    }
                    text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                } catch let error as ExitCode {
                    throw error
                } catch {
                    throw Console.fail("--jwks: cannot fetch \(location): \(error)")
                }
            } else {
                guard let data = FileManager.default.contents(atPath: location) else {
                    throw Console.fail("--jwks: cannot read \(location)")
                }
                text = String(decoding: data, as: UTF8.self)
            }
            do {
                return try JWK.parseSet(text)
            } catch {
                throw Console.fail("--jwks \(location): \(error.description)")
            }
        }
    }
}

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Issue and delegate agent identity tokens.", subcommands: [Issue.self, Delegate.self])

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue an identity token for an agent (printed on stdout).")

        @OptionGroup var global: GlobalOptions

        @Option(name: .customLong("agent-id"), help: "The agent's id.")
        var agentID: String

        @Option(name: .customLong("agent-name"), help: "A display name.")
        var agentName = ""

        @Option(name: .customLong("role"), help: "A role (repeatable).")
        var roles: [String] = []

        @Option(name: .customLong("group"), help: "A group (repeatable).")
        var groups: [String] = []

        @Option(name: .long, help: "Lifetime in seconds (default: identity.ttl_seconds, 3600).")
        var ttl: Int64?

        func run() throws {
            let setup = try TokenContext.load(try loadProjectConfig(global)).required()
            if let ttl, ttl <= 0 { throw Console.fail("--ttl must be positive") }
            do {
                print(try setup.identity.issue(agentID: agentID, agentName: agentName, roles: roles, groups: groups,
                                               ttlSeconds: ttl, now: Clock.now()).token)
            } catch {
                throw Console.fail(error.description)
            }
        }
    }

    struct Delegate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Derive a child identity token from a parent's: scope only narrows, never outlives the parent.",
            discussion: "The depth limit is identity.max_delegation_depth from agent-safe.yaml (default 3).")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The parent's identity token, or - for stdin.")
        var parentToken: String

        @Option(name: .customLong("child-id"), help: "The sub-agent's id.")
        var childID: String

        @Option(name: .customLong("child-name"), help: "A display name.")
        var childName = ""

        @Option(name: .customLong("role"), help: "A role for the child, held by the parent (repeatable).")
        var roles: [String] = []

        @Option(name: .customLong("group"), help: "A group for the child, held by the parent (repeatable).")
        var groups: [String] = []

        @Option(name: .long, help: "Lifetime in seconds (default and maximum: the parent's remaining lifetime).")
        var ttl: Int64?

        func run() throws {
            let setup = try TokenContext.load(try loadProjectConfig(global)).required()
            let parent = try readToken(parentToken)
            let result = Result { () throws(TokenError) in
                try setup.identity.delegate(parentToken: parent, childID: childID, childName: childName,
                                            roles: roles, groups: groups, ttlSeconds: ttl, now: Clock.now())
            }
            switch result {
            case .success(let child): print(child.token)
            case .failure(let error): throw Console.fail("delegation refused: \(error.code.rawValue): \(error.message)")
            }
        }
    }
}
