import AgentSafeCore
import HTTPTypes
import Hummingbird
import Logging

/// RFC 9457 problem details with a stable `code` (docs/api.md lists them).
public struct Problem: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var title: String
    public var detail: String
    public var extra: [String: JSONValue] = [:]
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ title: String, _ detail: String,
                extra: [String: JSONValue] = [:]) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = extra
    }

    public func response(requestID: String?) -> Response {
        var o = extra
        o["type"] = .string("https://agent-safe.dev/problems/\(code)")
        o["title"] = .string(title)
        o["status"] = .integer(Int64(status.code))
        o["code"] = .string(code)
        o["detail"] = .string(detail)
        if let requestID { o["request_id"] = .string(requestID) }
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: JSONValue.object(o).canonicalText)))
    }

    static func malformed(_ detail: String) -> Problem { Problem(.badRequest, "malformed_json", "Malformed JSON", detail) }
    static func wrongType(_ detail: String) -> Problem { Problem(.badRequest, "wrong_type", "Wrong type", detail) }
    static func missingField(_ detail: String) -> Problem { Problem(.badRequest, "missing_field", "Missing field", detail) }
    static func unknownField(_ detail: String) -> Problem {
        Problem(.unprocessableContent, "unknown_field", "Unknown field", detail)
    }
    static func invalid(_ code: String, _ detail: String) -> Problem {
        Problem(.unprocessableContent, code, "Invalid request", detail)
    }
    static func unauthorized(_ code: String, _ detail: String) -> Problem {
        var p = Problem(.unauthorized, code, "Unauthorized", detail)
        p.headers[.wwwAuthenticate] = "Bearer realm=\"agent-safe\""
        return p
    }
    static func forbidden(_ code: String, _ detail: String) -> Problem { Problem(.forbidden, code, "Forbidden", detail) }
}

/// Turns every error into problem+json (never a stack trace), and unknown routes into 404/405.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let knownPaths: [String: [HTTPRequest.Method]]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let requestID = request.headers[.requestID]
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return problem.response(requestID: requestID)
        } catch let error as HTTPError {
            if error.status == .notFound {
                let path = request.uri.path
                if let methods = knownPaths[path] ?? knownPaths.first(where: { Self.matches(pattern: $0.key, path: path) })?.value {
                    var p = Problem(.methodNotAllowed, "method_not_allowed", "Method not allowed",
                                    "\(request.method.rawValue) is not allowed on \(path)")
                    p.headers[.allow] = methods.map(\.rawValue).joined(separator: ", ")
                    return p.response(requestID: requestID)
                }
                return Problem(.notFound, "not_found", "Not found", "no route \(request.method.rawValue) \(path)")
                    .response(requestID: requestID)
            }
            if error.status == .contentTooLarge {
                return Problem(.contentTooLarge, "body_too_large", "Body too large", "the request body is over the limit")
                    .response(requestID: requestID)
            }
            return Problem(error.status, "http_\(error.status.code)", error.status.reasonPhrase, error.body ?? error.status.reasonPhrase)
                .response(requestID: requestID)
        } catch {
            context.logger.error("internal error", metadata: ["error": "\(type(of: error))"])
            return Problem(.internalServerError, "internal_error", "Internal error", "the sidecar failed to answer; see its log")
                .response(requestID: requestID)
        }
    }

    static func matches(pattern: String, path: String) -> Bool {
        let p = pattern.split(separator: "/"), q = path.split(separator: "/")
        guard p.count == q.count else { return false }
        return zip(p, q).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}
