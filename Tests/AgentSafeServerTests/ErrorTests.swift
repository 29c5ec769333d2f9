import AgentSafeCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentSafeServer

/// Every error class: problem+json with a stable code, never a 500 for bad input.
@Suite("Sidecar: errors")
struct ErrorTests {
    @Test func badRequests() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let malformed = try await client.post("/v1/check", #"{"action":"#).expectProblem(.badRequest, "malformed_json")
            #expect(malformed["detail"]?.stringValue?.contains("offset") == true)
            try await client.post("/v1/check", "").expectProblem(.badRequest, "malformed_json")
            try await client.post("/v1/check", #"{"action":"a",}"#).expectProblem(.badRequest, "malformed_json")
            try await client.post("/v1/check", #"{"action":"a","action":"b"}"#).expectProblem(.badRequest, "malformed_json")
            try await client.post("/v1/check", "[1,2]").expectProblem(.badRequest, "wrong_type")
            try await client.post("/v1/check", #"{"action":5}"#).expectProblem(.badRequest, "wrong_type")
            try await client.post("/v1/check", #"{"action":"a","params":[1]}"#).expectProblem(.badRequest, "wrong_type")
            try await client.post("/v1/check", #"{"action":"a","caller":7}"#).expectProblem(.badRequest, "wrong_type")
            try await client.post("/v1/check", #"{"action":"a","caller":{"agent_id":"x","roles":"r"}}"#)
                .expectProblem(.badRequest, "wrong_type")
            let missing = try await client.post("/v1/check", #"{"target":"dev/web"}"#).expectProblem(.badRequest, "missing_field")
            #expect(missing["detail"] == "'action' (a string) is required")
            try await client.post("/v1/check", #"{"action":"a","caller":{"roles":[]}}"#).expectProblem(.badRequest, "missing_field")
        }
    }

    @Test func unknownFieldsAreRefusedWithASuggestionUnlessStrictIsOff() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let p = try await client.post("/v1/check", #"{"action":"get-pod-logs","tagret":"dev/web"}"#)
                .expectProblem(.unprocessableContent, "unknown_field")
            #expect(p["detail"] == "unknown field 'tagret' (did you mean 'target'?)")
            let nested = try await client.post("/v1/check", #"{"action":"a","caller":{"agent_id":"a","role":["x"]}}"#)
                .expectProblem(.unprocessableContent, "unknown_field")
            #expect(nested["detail"] == "unknown field 'caller.role' (did you mean 'roles'?)")
            try await client.post("/v1/check", #"{"action":""}"#).expectProblem(.unprocessableContent, "invalid_value")
            try await client.post("/v1/check", #"{"action":"a","caller":""}"#).expectProblem(.unprocessableContent, "invalid_value")
        }
        let lax = try Project(.init(strictFields: false))
        defer { lax.remove() }
        try await lax.withApp { client in
            let r = try await client.post("/v1/check", #"{"action":"restart-deployment","target":"dev/web","caller":"me","extra":1,"params":{"namespace":"web","deployment":"web"}}"#)
            #expect(r.status == .ok)
            #expect(try r.json["result"] == "allow")
        }
    }

    @Test func notFoundAndMethodNotAllowed() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let nf = try await client.get("/v2/nothing").expectProblem(.notFound, "not_found")
            #expect(nf["detail"] == "no route GET /v2/nothing")
            try await client.get("/v1/actions/a/b").expectProblem(.notFound, "not_found")
            let action = try await client.get("/v1/actions/restart-deploymnt").expectProblem(.notFound, "unknown_action")
            #expect(action["detail"] == "no action named 'restart-deploymnt' (did you mean 'restart-deployment'?)")

            let r = try await client.execute(uri: "/v1/check", method: .delete)
            try r.expectProblem(.methodNotAllowed, "method_not_allowed")
            #expect(r.headers[.allow] == "POST")
            let g = try await client.get("/v1/check")
            try g.expectProblem(.methodNotAllowed, "method_not_allowed")
            #expect(g.headers[.allow] == "POST")
            let p = try await client.post("/healthz", "{}")
            try p.expectProblem(.methodNotAllowed, "method_not_allowed")
            #expect(p.headers[.allow] == "GET, HEAD")
            // Probes may use HEAD.
            #expect(try await client.execute(uri: "/healthz", method: .head).status == .ok)
            #expect(try await client.execute(uri: "/readyz", method: .head).status == .ok)
            let param = try await client.post("/v1/actions/anything", "{}")
            try param.expectProblem(.methodNotAllowed, "method_not_allowed")
            #expect(param.headers[.allow] == "GET")
            let put = try await client.execute(uri: "/v1/admin/reload", method: .put)
            try put.expectProblem(.methodNotAllowed, "method_not_allowed")
            #expect(put.headers[.allow] == "POST")
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        let project = try Project(.init(maxBodyBytes: 2048))
        defer { project.remove() }
        try await project.withApp { client in
            let big = #"{"action":"restart-deployment","params":{"pad":""# + String(repeating: "a", count: 4000) + #""}}"#
            let p = try await client.post("/v1/check", big).expectProblem(.contentTooLarge, "body_too_large")
            #expect(p["detail"]?.stringValue?.contains("2048") == true)
            for path in ["/v1/check-plan", "/v1/tickets/verify", "/v1/tickets/introspect", "/v1/delegations"] {
                try await client.post(path, big).expectProblem(.contentTooLarge, "body_too_large")
            }
            // Just under the limit is read (and then judged on its content).
            let fits = #"{"action":"get-pod-logs","x":""# + String(repeating: "a", count: 1900) + #""}"#
            try await client.post("/v1/check", fits).expectProblem(.unprocessableContent, "unknown_field")
        }
    }

    @Test func wrongContentTypeIs415() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx-nope"] {
                try await client.post("/v1/check", Bodies.restartDev, headers: [.contentType: type]).expectProblem(.unsupportedMediaType, "unsupported_media_type")
            }
            try await client.post("/v1/check", Bodies.restartDev, headers: [:]).expectProblem(.unsupportedMediaType, "unsupported_media_type")
            let charset = try await client.post("/v1/check", Bodies.restartDev, headers: [.contentType: "application/json; charset=utf-8"])
            #expect(charset.status == .ok)
            let upper = try await client.post("/v1/check", Bodies.restartDev, headers: [.contentType: "Application/JSON"])
            #expect(upper.status == .ok)
            for path in ["/v1/check-plan", "/v1/tickets/verify", "/v1/tickets/introspect", "/v1/delegations"] {
                try await client.post(path, "{}", headers: [.contentType: "text/plain"]).expectProblem(.unsupportedMediaType, "unsupported_media_type")
            }
        }
    }

    @Test func requestIDIsEchoedOrGenerated() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let given = try await client.get("/healthz", headers: [.requestID: "req-42"])
            #expect(given.headers[.requestID] == "req-42")
            let made = try await client.get("/healthz")
            let id = try #require(made.headers[.requestID])
            #expect(id.count >= 8)
            #expect(try await client.get("/healthz").headers[.requestID] != id)
            // Problems carry the same id in their body, given or generated.
            let p1 = try await client.get("/nope", headers: [.requestID: "req-43"])
            #expect(try p1.json["request_id"] == "req-43")
            let p2 = try await client.get("/nope")
            #expect(try p2.json["request_id"]?.stringValue == p2.headers[.requestID])
            // An over-long id is replaced, not echoed.
            let long = String(repeating: "x", count: 200)
            let replaced = try await client.get("/healthz", headers: [.requestID: long])
            #expect(replaced.headers[.requestID] != long)
            #expect(replaced.headers[.requestID]?.isEmpty == false)
        }
    }

    /// A few dozen malformed bodies on every POST endpoint: always a 4xx problem, never a 500.
    @Test func fuzzedBodiesNeverCause500() async throws {
        let project = try Project()
        defer { project.remove() }
        let token = project.identityToken("me")
        var bodies: [String] = [
            "", " ", "null", "true", "0", "-1", "1e999", "\"str\"", "[]", "{}", "{", "}", "[", "{{}}", "{\"a\"}", "{\"a\":}",
            "{'action':'a'}", "{\"action\":\"a\"", "{\"action\":\"\\ud800\"}", "{\"action\":\"\\u0000\"}", "{\"action\":\"\u{1}\"}",
            "{\"action\":NaN}", "{\"action\":Infinity}", "{\"action\":1e400}", "{\"action\":-0}", "{\"action\":[]}",
            "{\"action\":{}}", "{\"action\":\"a\",\"params\":null,\"caller\":null,\"target\":null}",
            "{\"action\":\"a\",\"target\":1}", "{\"action\":\"a\",\"ticket_id\":[]}", "{\"action\":\"a\",\"correlation_id\":{}}",
            "{\"action\":\"a\",\"params\":{\"x\":" + String(repeating: "[", count: 100) + "}}",
            String(repeating: "[", count: 5000), String(repeating: "{\"a\":", count: 500),
            "{\"steps\":null}", "{\"steps\":[null]}", "{\"steps\":[[]]}", "{\"steps\":[{}]}", "{\"steps\":\"x\"}",
            "{\"token\":null}", "{\"token\":\"a.b.c\"}", "{\"token\":\"...\"}", "{\"token\":\"\(token)\"}",
            "{\"token\":\"x\",\"expect\":{\"params\":1}}", "{\"token\":\"x\",\"expect\":null}",
            "{\"parent_token\":\"\",\"child_id\":\"\"}", "{\"parent_token\":\"\(token)\",\"child_id\":\"\"}",
            "{\"parent_token\":\"\(token)\",\"child_id\":\"c\",\"ttl\":-5}", "{\"parent_token\":\"\(token)\",\"child_id\":\"c\",\"ttl\":1.5}",
            "{\"parent_token\":\"\(token)\",\"child_id\":\"c\",\"ttl\":9223372036854775807}",
            "{\"parent_token\":\"\(token)\",\"child_id\":\"c\",\"roles\":[1]}",
            "\u{FEFF}{}", "{\"action\":\"a\"} trailing", "{\"action\":\"a\"}{\"action\":\"b\"}",
            "{\"action\":\"" + String(repeating: "é", count: 3000) + "\"}",
            "{\"action\":\"get-pod-logs\",\"target\":\"dev/web\",\"caller\":{\"agent_id\":\"a\",\"delegation_chain\":[\"x\",\"y\"]},\"params\":{\"namespace\":\"web\",\"pod\":\"p\"}}",
        ]
        bodies.append(String(decoding: [0xFF, 0xFE, 0x7B, 0x7D], as: UTF8.self))
        let all = bodies
        try await project.withApp { client in
            for path in ["/v1/check", "/v1/check-plan", "/v1/tickets/verify", "/v1/tickets/introspect", "/v1/delegations"] {
                for body in all {
                    let r = try await client.post(path, body)
                    #expect(r.status.code < 500, "\(path) \(body.prefix(80)): \(r.status) \(r.text)")
                    if r.status.code >= 400 {
                        #expect(r.headers[.contentType] == "application/problem+json", "\(path) \(body.prefix(80))")
                        #expect((try? r.json["code"]?.stringValue) != nil, "\(path) \(body.prefix(80))")
                    }
                    #expect(!r.text.contains("Swift/"), "no stack traces")
                }
                let invalid = try await client.execute(uri: path, method: .post, headers: .json,
                                                       body: ByteBuffer(bytes: [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]))
                #expect(invalid.status.code < 500)
            }
            for (method, path) in [(HTTPRequest.Method.get, "/v1/actions/%00"), (.get, "/v1/actions/" + String(repeating: "a", count: 2000)),
                                   (.get, "/v1/actions/..%2F..%2Fetc"), (.get, "/.well-known/../healthz"), (.options, "/v1/check"),
                                   (.patch, "/v1/check"), (.head, "/healthz"), (.get, "/v1//check"), (.get, "//"), (.get, "/v1/check?x=%ZZ")]
            {
                let r = try await client.execute(uri: path, method: method)
                #expect(r.status.code < 500, "\(method) \(path): \(r.status)")
            }
        }
    }
}
