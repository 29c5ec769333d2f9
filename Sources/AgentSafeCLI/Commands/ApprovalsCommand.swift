import AgentSafeConfig
import AgentSafeCore
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `agent-safe approvals list|show|approve|deny`: a human resolves approval requests through the running sidecar
/// (the sidecar is the audit log's one writer, so every transition is recorded there).
struct ApprovalsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approvals", abstract: "List, show and resolve approval requests (through the running sidecar).",
        discussion: """
            Authenticates with an approver's bearer token (approvals.approvers in agent-safe.yaml) read from \
            --token-file or AGENT_SAFE_APPROVER_TOKEN_FILE; the sidecar records who resolved what. A requester \
            can't resolve its own request, and an agent identity can't resolve any.
            """,
        subcommands: [List.self, Show.self, Approve.self, Deny.self])

    struct Connection: ParsableArguments {
        @OptionGroup var global: GlobalOptions

        @Option(name: .long, help: "The sidecar's base URL (default: server.host and server.port of agent-safe.yaml, else http://127.0.0.1:8787).")
        var url: String?

        @Option(name: .customLong("token-file"), help: "File holding the approver's bearer token.")
        var tokenFile: String?

        @Flag(name: .long, help: "Print the sidecar's JSON answer.")
        var json = false

        func baseURL() throws -> String {
            if let url { return url.hasSuffix("/") ? String(url.dropLast()) : url }
            let config = try loadProjectConfig(global)
            let host = config.server.host.contains(":") ? "[\(config.server.host)]" : config.server.host
            return "http://\(host):\(config.server.port)"
        }

        func token() throws -> String {
            guard let path = tokenFile ?? ProcessInfo.processInfo.environment["AGENT_SAFE_APPROVER_TOKEN_FILE"] else {
                throw Console.fail("an approver token is needed: --token-file FILE (or AGENT_SAFE_APPROVER_TOKEN_FILE)")
            }
            guard let data = FileManager.default.contents(atPath: path) else { throw Console.fail("\(path): cannot read the token file") }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw Console.fail("\(path): the token file is empty") }
            return token
        }

        /// Sends one request; prints the problem and exits 1 on an error answer.
        func call(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws -> JSONValue {
            let base = try baseURL()
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            request.headers.add(name: "Authorization", value: "Bearer \(try token())")
            if let body {
                var text = ""
                body.appendCompact(to: &text)
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: text))
            }
            let response: HTTPClientResponse
            let collected: ByteBuffer
            do {
                response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
                collected = try await response.body.collect(upTo: 8 << 20)
            } catch {
                throw Console.fail("cannot reach the sidecar at \(base): \(error)")
            }
            let text = String(buffer: collected)
            let value = (try? JSONValue.parse(text)) ?? .string(text)
            guard (200..<300).contains(Int(response.status.code)) else {
                let code = value["code"]?.stringValue ?? "http_\(response.status.code)"
                let detail = value["detail"]?.stringValue ?? text
                throw Console.fail("\(code): \(detail)")
            }
            return value
        }
    }

    static func line(_ a: JSONValue) -> String {
        let s = { (k: String) in a[k]?.stringValue ?? "-" }
        return "\(s("id"))  \(s("status").padding(toLength: 8, withPad: " ", startingAt: 0))  \(s("action")) on \(s("target"))"
            + "  caller=\(s("caller"))  risk=\(s("effective_risk"))  expires=\(s("expires_at"))"
    }

    static func describe(_ a: JSONValue) -> String {
        var lines = [line(a)]
        for key in ["reason", "policy_matched", "code", "ticket_id", "resolved_by", "resolved_at", "resolution_reason"] {
            if let v = a[key]?.stringValue { lines.append("  \(key): \(v)") }
        }
        if let params = a["params"], case .object(let o) = params, !o.isEmpty { lines.append("  params: \(params.prettyText)") }
        return lines.joined(separator: "\n")
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List approval requests, newest first.")
        @OptionGroup var connection: Connection
        @Option(name: .long, help: "pending (default), approved, denied, expired or all.")
        var status: String = "pending"

        func run() async throws {
            guard ["pending", "approved", "denied", "expired", "all"].contains(status) else {
                throw Console.fail("--status must be pending, approved, denied, expired or all")
            }
            let answer = try await connection.call(.GET, "/v1/approvals" + (status == "all" ? "" : "?status=\(status)"))
            if connection.json { print(answer.prettyText); return }
            let items = answer["approvals"]?.arrayValue ?? []
            if items.isEmpty { print("no \(status == "all" ? "" : status + " ")approval requests") }
            for item in items { print(ApprovalsCommand.line(item)) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one approval request.")
        @OptionGroup var connection: Connection
        @Argument(help: "The request id (apr-…).") var id: String

        func run() async throws {
            let answer = try await connection.call(.GET, "/v1/approvals/\(id)")
            if connection.json { print(answer.prettyText); return }
            print(ApprovalsCommand.describe(answer["approval"] ?? .null))
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a pending request; the requester then fetches its ticket once.")
        @OptionGroup var connection: Connection
        @Argument(help: "The request id (apr-…).") var id: String
        @Option(name: .long, help: "Why (recorded in the audit log).") var reason: String

        func run() async throws {
            let answer = try await connection.call(.POST, "/v1/approvals/\(id)/approve", body: .object(["reason": .string(reason)]))
            if connection.json { print(answer.prettyText); return }
            print("approved \(id) as \(answer["approval"]?["resolved_by"]?.stringValue ?? "?")")
        }
    }

    struct Deny: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deny a pending request.")
        @OptionGroup var connection: Connection
        @Argument(help: "The request id (apr-…).") var id: String
        @Option(name: .long, help: "Why (recorded in the audit log).") var reason: String

        func run() async throws {
            let answer = try await connection.call(.POST, "/v1/approvals/\(id)/deny", body: .object(["reason": .string(reason)]))
            if connection.json { print(answer.prettyText); return }
            print("denied \(id) as \(answer["approval"]?["resolved_by"]?.stringValue ?? "?")")
        }
    }
}
