import AgentSafeConfig
import AgentSafeServer
import ArgumentParser
import Foundation
import Hummingbird
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the loopback sidecar: the HTTP API of docs/api.md.",
        discussion: """
            With no agent-safe.yaml it serves ./actions, ./policies and ./inventory.yaml, creates a development \
            ticket key, SQLite state and an audit log under ./.agent-safe/. SIGTERM or SIGINT drains requests, \
            writes a final checkpoint and exits 0; SIGHUP reloads the configuration.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Address to bind (default: server.host, 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "Port (default: server.port, 8787).")
    var port: Int?

    @Flag(name: .customLong("allow-remote"), help: "Allow binding an address other than loopback.")
    var allowRemote = false

    @Option(name: .customLong("log-format"), help: "json (default) or text.")
    var logFormat: LogFormat = .json

    @Option(name: .customLong("log-level"), help: "trace, debug, info (default), notice, warning, error.")
    var logLevel: String = "info"

    enum LogFormat: String, ExpressibleByArgument, CaseIterable { case json, text }

    func run() async throws {
        let format = logFormat
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "agent-safe")
        logger.logLevel = level
        let configuration = SidecarConfiguration(load: global.loadOptions, host: host, port: port, allowRemote: allowRemote,
                                                 logger: logger)
        let app: any ApplicationProtocol
        do {
            app = try buildApplication(configuration: configuration)
        } catch let error as SidecarStartError {
            for message in error.messages { Console.error(message) }
            Console.error("error: the sidecar did not start")
            throw ExitCode(1)
        }
        try await app.runService()
    }
}
