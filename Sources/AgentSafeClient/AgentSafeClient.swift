import AgentSafeCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// An async client of the sidecar's HTTP API (docs/api.md), for agents and executors written in Swift.
///
/// ```swift
/// let client = AgentSafeClient(baseURL: "http://127.0.0.1:8787")
/// let decision = try await client.check(action: "restart-deployment", target: "dev/shop-web",
///                                       params: ["namespace": "shop", "deployment": "web"])
/// if decision.result == "allow", let ticket = decision.ticketToken { … hand the ticket to the executor … }
/// ```
public struct AgentSafeClient: Sendable {
    public let baseURL: String
    /// An identity token sent as `Authorization: Bearer` (required in `identity.mode: token`).
    public var identityToken: String?
    public var timeout: TimeAmount
    let http: HTTPClient

    public init(baseURL: String = "http://127.0.0.1:8787", identityToken: String? = nil, timeout: TimeAmount = .seconds(10),
                httpClient: HTTPClient = .shared) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.identityToken = identityToken
        self.timeout = timeout
        self.http = httpClient
    }

    /// A decision as the sidecar answers it.
    public struct Decision: Sendable {
        public var json: JSONValue
        public var result: String { json["result"]?.stringValue ?? "" }
        public var reason: String { json["reason"]?.stringValue ?? "" }
        public var auditID: String { json["audit_id"]?.stringValue ?? "" }
        public var policyMatched: String? { json["policy_matched"]?.stringValue }
        public var effectiveRisk: String { json["effective_risk"]?.stringValue ?? "" }
        /// The execution ticket of an `allow`.
        public var ticketToken: String? { json["ticket"]?["token"]?.stringValue }
    }

    /// The outcome of a ticket verification.
    public struct TicketCheck: Sendable {
        public var valid: Bool
        /// `valid`, or the refusal code (`replayed`, `expired`, `target_mismatch`, …).
        public var code: String
        public var claims: JSONValue?
    }

    /// An error answer (RFC 9457 problem+json) or a transport failure.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var status: Int
        /// The stable problem code (`malformed_json`, `identity_required`, …), or `unavailable`.
        public var code: String
        public var detail: String
        public var description: String { "\(status) \(code): \(detail)" }
    }

    public func check(action: String, target: String? = nil, params: [String: JSONValue] = [:], caller: String? = nil,
                      ticketID: String? = nil, correlationID: String? = nil) async throws -> Decision {
        var body: [String: JSONValue] = ["action": .string(action), "params": .object(params)]
        if let target { body["target"] = .string(target) }
        if let caller { body["caller"] = .string(caller) }
        if let ticketID { body["ticket_id"] = .string(ticketID) }
        if let correlationID { body["correlation_id"] = .string(correlationID) }
        return Decision(json: try await post("/v1/check", .object(body)))
    }

    /// Verifies and consumes a ticket (single use), refusing it for anything but the expected action, target and
    /// params. Refusals are answered (`valid: false` with a code), not thrown.
    public func verifyTicket(_ token: String, action: String? = nil, target: String? = nil,
                             params: [String: JSONValue]? = nil, consume: Bool = true) async throws -> TicketCheck {
        var expect: [String: JSONValue] = [:]
        if let action { expect["action"] = .string(action) }
        if let target { expect["target"] = .string(target) }
        if let params { expect["params"] = .object(params) }
        let answer = try await post(consume ? "/v1/tickets/verify" : "/v1/tickets/introspect",
                                    .object(["token": .string(token), "expect": .object(expect)]))
        return TicketCheck(valid: answer["valid"] == .bool(true), code: answer["code"]?.stringValue ?? "",
                           claims: answer["claims"])
    }

    /// The sidecar's public ticket keys.
    public func jwks() async throws -> JSONValue { try await get("/.well-known/jwks.json") }

    /// A child identity token for a sub-agent (scope only narrows).
    public func delegate(parentToken: String, childID: String, roles: [String] = [], groups: [String] = [],
                         ttlSeconds: Int64? = nil) async throws -> String {
        var body: [String: JSONValue] = ["parent_token": .string(parentToken), "child_id": .string(childID),
                                         "roles": .array(roles.map(JSONValue.string)), "groups": .array(groups.map(JSONValue.string))]
        if let ttlSeconds { body["ttl"] = .integer(ttlSeconds) }
        return try await post("/v1/delegations", .object(body))["token"]?.stringValue ?? ""
    }

    func get(_ path: String) async throws -> JSONValue { try await send(path, method: .GET, body: nil) }

    func post(_ path: String, _ body: JSONValue) async throws -> JSONValue { try await send(path, method: .POST, body: body) }

    func send(_ path: String, method: HTTPMethod, body: JSONValue?) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let identityToken { request.headers.add(name: "Authorization", value: "Bearer \(identityToken)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.canonicalText))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw Failure(status: 0, code: "unavailable", detail: "the sidecar at \(baseURL) did not answer: \(error)")
        }
        let bytes = try await response.body.collect(upTo: 4 << 20)
        let value = (try? JSONValue.parse(String(buffer: bytes))) ?? .null
        guard (200..<300).contains(Int(response.status.code)) else {
            throw Failure(status: Int(response.status.code), code: value["code"]?.stringValue ?? "http_\(response.status.code)",
                          detail: value["detail"]?.stringValue ?? response.status.reasonPhrase)
        }
        return value
    }
}
