import AgentSafeCore
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization

@testable import AgentSafeRunner

/// A fake Kubernetes API server for the kubectl binary: discovery, objects kept in memory, GET/LIST (with
/// field and label selectors), POST, PATCH (strategic-merge approximated by merge, merge, JSON patch), DELETE,
/// evictions, logs. It records every request.
final class FakeKubeAPI: Sendable {
    struct Recorded: Sendable, CustomStringConvertible {
        var method: String
        var path: String
        var query: String
        var contentType: String
        var authorization: String
        var body: String
        var description: String { "\(method) \(path)\(query.isEmpty ? "" : "?" + query) \(body)" }
    }

    struct State: Sendable {
        var objects: [String: JSONValue] = [:]
        var requests: [Recorded] = []
        var unknown: [String] = []
        var logText = "line 1\nline 2\n"
        /// Requests to these paths get no answer until released.
        var hanging: Set<String> = []
    }

    let state = Mutex(State())

    init(seed: Bool = true) {
        if seed { state.withLock { $0.objects = Self.seedObjects() } }
    }

    var requests: [Recorded] { state.withLock { $0.requests } }
    var unknown: [String] { state.withLock { $0.unknown } }
    func object(_ path: String) -> JSONValue? { state.withLock { $0.objects[path] } }
    func setObject(_ path: String, _ value: JSONValue?) { state.withLock { $0.objects[path] = value } }
    func setLog(_ text: String) { state.withLock { $0.logText = text } }
    func hang(_ path: String) { state.withLock { _ = $0.hanging.insert(path) } }
    func release(_ path: String) { state.withLock { _ = $0.hanging.remove(path) } }

    /// Requests other than discovery.
    var calls: [Recorded] {
        requests.filter { !Self.isDiscovery($0.path) }
    }

    static func isDiscovery(_ path: String) -> Bool {
        discovery[path] != nil || path.hasPrefix("/openapi")
    }

    /// Runs the server on 127.0.0.1 (a free port) for the duration of `body`.
    func run<T: Sendable>(_ body: @Sendable (Int) async throws -> T) async throws -> T {
        let responder = CallbackResponder<BasicRequestContext> { request, _ in try await self.respond(request) }
        let app = Application(responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            guard let port = client.port else { throw FakeError("no port") }
            return try await body(port)
        }
    }

    struct FakeError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    // MARK: Responding

    func respond(_ request: Request) async throws -> Response {
        let bodyBuffer = try await request.body.collect(upTo: 16 << 20)
        let body = String(buffer: bodyBuffer)
        let path = request.uri.path
        let query = request.uri.query ?? ""
        let method = request.method.rawValue
        let recorded = Recorded(method: method, path: path, query: query,
                                contentType: request.headers[.contentType] ?? "", authorization: request.headers[.authorization] ?? "",
                                body: body)
        state.withLock { $0.requests.append(recorded) }
        let params = Self.queryItems(query)
        for _ in 0..<1200 where state.withLock({ $0.hanging.contains(path) }) {
            try await Task.sleep(for: .milliseconds(50))
        }

        if let discovery = Self.discovery[path] { return Self.json(.ok, discovery) }
        if path.hasPrefix("/openapi") { return Self.json(.notFound, Self.status(404, "NotFound", "no openapi here")) }
        guard let route = Route(path) else {
            state.withLock { $0.unknown.append("\(method) \(path)") }
            return Self.json(.notFound, Self.status(404, "NotFound", "unknown path \(path)"))
        }
        if params["watch"] == "true" || params["watch"] == "1" {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init())
        }
        switch (method, route.subresource) {
        case ("GET", "log"?):
            return Response(status: .ok, headers: [.contentType: "text/plain"],
                            body: .init(byteBuffer: ByteBuffer(string: state.withLock { $0.logText })))
        case ("POST", "eviction"?):
            let removed = state.withLock { $0.objects.removeValue(forKey: route.objectKey) }
            return removed == nil ? Self.json(.notFound, Self.status(404, "NotFound", "pods \"\(route.name ?? "")\" not found"))
                : Self.json(.created, ["kind": "Status", "apiVersion": "v1", "status": "Success"])
        case ("GET", "scale"?), ("PATCH", "scale"?):
            return try scale(route, method: method, body: body, contentType: recorded.contentType)
        case ("GET", nil):
            if route.name != nil {
                guard let object = object(route.objectKey) else { return notFound(route) }
                return Self.json(.ok, object)
            }
            return Self.json(.ok, list(route, params))
        case ("POST", nil):
            guard var object = try? JSONValue.parse(body), case .object(var meta) = object["metadata"] ?? [:],
                  let name = meta["name"]?.stringValue else {
                return Self.json(.badRequest, Self.status(400, "BadRequest", "no metadata.name"))
            }
            var created = route
            created.name = name
            if let existing = self.object(created.objectKey), existing != .null {
                return Self.json(.conflict, Self.status(409, "AlreadyExists", "\(route.resource) \"\(name)\" already exists"))
            }
            meta["uid"] = .string("uid-\(name)")
            meta["resourceVersion"] = "1"
            if let ns = route.namespace { meta["namespace"] = .string(ns) }
            if case .object(var o) = object {
                o["metadata"] = .object(meta)
                if route.resource == "namespaces" { o["status"] = ["phase": "Active"] }
                object = .object(o)
            }
            setObject(created.objectKey, object)
            return Self.json(.created, object)
        case ("PATCH", nil):
            guard let existing = object(route.objectKey) else { return notFound(route) }
            guard let patched = Self.patch(existing, body: body, contentType: recorded.contentType) else {
                return Self.json(.unprocessableContent, Self.status(422, "Invalid", "patch failed"))
            }
            let bumped = Self.bumpGeneration(old: existing, new: patched)
            setObject(route.objectKey, bumped)
            return Self.json(.ok, bumped)
        case ("DELETE", nil):
            guard let existing = state.withLock({ $0.objects.removeValue(forKey: route.objectKey) }) else { return notFound(route) }
            return Self.json(.ok, existing)
        default:
            state.withLock { $0.unknown.append("\(method) \(path)") }
            return Self.json(.methodNotAllowed, Self.status(405, "MethodNotAllowed", "\(method) \(path)"))
        }
    }

    func notFound(_ route: Route) -> Response {
        Self.json(.notFound, Self.status(404, "NotFound", "\(route.resource) \"\(route.name ?? "")\" not found",
                                         details: ["name": .string(route.name ?? ""), "kind": .string(route.resource)]))
    }

    func scale(_ route: Route, method: String, body: String, contentType: String) throws -> Response {
        guard var deployment = object(route.objectKey) else { return notFound(route) }
        if method == "PATCH" {
            guard let patch = try? JSONValue.parse(body), let replicas = patch.at("spec", "replicas") else {
                return Self.json(.badRequest, Self.status(400, "BadRequest", "bad scale patch"))
            }
            deployment = Self.merge(deployment, ["spec": ["replicas": replicas]])
            setObject(route.objectKey, deployment)
        }
        let replicas = deployment.at("spec", "replicas") ?? 1
        return Self.json(.ok, [
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": ["name": .string(route.name ?? ""), "namespace": .string(route.namespace ?? ""), "resourceVersion": "2"],
            "spec": ["replicas": replicas], "status": ["replicas": replicas, "selector": "app=web"],
        ])
    }

    func list(_ route: Route, _ params: [String: String]) -> JSONValue {
        let prefix = route.base + "/"
        let items = state.withLock { state in
            state.objects.filter { key, _ in
                guard key.hasPrefix(prefix), let r = Route(key), r.name != nil, r.resource == route.resource else { return false }
                return route.namespace == nil || r.namespace == route.namespace
            }.sorted { $0.key < $1.key }.map(\.value)
        }.filter { Self.matches($0, fieldSelector: params["fieldSelector"], labelSelector: params["labelSelector"]) }
        let kind = (items.first?["kind"]?.stringValue ?? "Object") + "List"
        let version = route.base.hasPrefix("/apis/") ? String(route.base.dropFirst(6)) : "v1"
        return ["kind": .string(kind), "apiVersion": .string(version), "metadata": ["resourceVersion": "1"], "items": .array(items)]
    }

    static func matches(_ object: JSONValue, fieldSelector: String?, labelSelector: String?) -> Bool {
        for term in (fieldSelector ?? "").split(separator: ",") {
            let parts = term.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            let value: JSONValue? = switch parts[0] {
            case "metadata.name": object.at("metadata", "name")
            case "metadata.namespace": object.at("metadata", "namespace")
            case "spec.nodeName": object.at("spec", "nodeName")
            default: nil
            }
            if value?.stringValue != parts[1] { return false }
        }
        for term in (labelSelector ?? "").split(separator: ",") {
            let parts = term.replacing("==", with: "=").split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else { continue }
            if object.at("metadata", "labels")?[parts[0]]?.stringValue != parts[1] { return false }
        }
        return true
    }

    // MARK: Patching

    static func patch(_ object: JSONValue, body: String, contentType: String) -> JSONValue? {
        guard let patch = try? JSONValue.parse(body) else { return nil }
        if contentType.contains("json-patch") { return jsonPatch(object, patch) }
        return merge(object, patch, strategic: contentType.contains("strategic"))
    }

    /// RFC 7386 merge; `strategic` also merges lists of objects by `name` and drops `$` directives.
    static func merge(_ target: JSONValue, _ patch: JSONValue, strategic: Bool = false) -> JSONValue {
        guard case .object(let p) = patch else { return patch }
        var t = target.objectValue ?? [:]
        for (key, value) in p {
            if key.hasPrefix("$") { continue }
            if value == .null {
                t.removeValue(forKey: key)
            } else if strategic, case .array(let new) = value, case .array(let old)? = t[key],
                      new.allSatisfy({ $0["name"] != nil }) {
                var merged = old
                for item in new {
                    if let i = merged.firstIndex(where: { $0["name"] == item["name"] }) {
                        merged[i] = merge(merged[i], item, strategic: true)
                    } else {
                        merged.append(item)
                    }
                }
                t[key] = .array(merged)
            } else {
                t[key] = merge(t[key] ?? .null, value, strategic: strategic)
            }
        }
        return .object(t)
    }

    /// RFC 6902 (add, replace, remove, test) on objects and arrays.
    static func jsonPatch(_ object: JSONValue, _ patch: JSONValue) -> JSONValue? {
        var doc = object
        for op in patch.arrayValue ?? [] {
            guard let kind = op["op"]?.stringValue, let path = op["path"]?.stringValue else { return nil }
            let tokens = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
                .map { String($0).replacing("~1", with: "/").replacing("~0", with: "~") }
            switch kind {
            case "test":
                if value(doc, Array(tokens)) != op["value"] { return nil }
            case "add", "replace":
                guard let new = set(doc, Array(tokens), op["value"] ?? .null) else { return nil }
                doc = new
            case "remove":
                guard let new = set(doc, Array(tokens), nil) else { return nil }
                doc = new
            default:
                return nil
            }
        }
        return doc
    }

    static func value(_ doc: JSONValue, _ tokens: [String]) -> JSONValue? {
        var current: JSONValue? = doc
        for token in tokens {
            switch current {
            case .object(let o)?: current = o[token]
            case .array(let a)?: current = Int(token).flatMap { a.indices.contains($0) ? a[$0] : nil }
            default: return nil
            }
        }
        return current
    }

    static func set(_ doc: JSONValue, _ tokens: [String], _ new: JSONValue?) -> JSONValue? {
        guard let first = tokens.first else { return new }
        let rest = Array(tokens.dropFirst())
        switch doc {
        case .object(var o):
            if rest.isEmpty {
                o[first] = new
            } else {
                guard let child = o[first], let updated = set(child, rest, new) else { return nil }
                o[first] = updated
            }
            return .object(o)
        case .array(var a):
            guard let i = Int(first), a.indices.contains(i) else { return nil }
            if rest.isEmpty {
                if let new { a[i] = new } else { a.remove(at: i) }
            } else {
                guard let updated = set(a[i], rest, new) else { return nil }
                a[i] = updated
            }
            return .array(a)
        default:
            return nil
        }
    }

    static func bumpGeneration(old: JSONValue, new: JSONValue) -> JSONValue {
        guard old["spec"] != new["spec"], let generation = old.at("metadata", "generation")?.int64Value,
              case .object(var o) = new, case .object(var meta)? = o["metadata"] else { return new }
        meta["generation"] = .integer(generation + 1)
        o["metadata"] = .object(meta)
        return .object(o)
    }

    // MARK: Encoding

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: value.canonicalText)))
    }

    static func status(_ code: Int64, _ reason: String, _ message: String, details: [String: JSONValue] = [:]) -> JSONValue {
        ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure", "message": .string(message),
         "reason": .string(reason), "code": .integer(code), "details": .object(details)]
    }

    static func queryItems(_ query: String) -> [String: String] {
        var items: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let decode = { (s: String) in s.replacing("+", with: " ").removingPercentEncoding ?? s }
            items[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return items
    }
}

/// `/api/v1/namespaces/web/pods/web-1/log` → base `/api/v1`, namespace `web`, resource `pods`, name `web-1`,
/// subresource `log`.
struct Route: Sendable {
    var base: String
    var namespace: String?
    var resource: String
    var name: String?
    var subresource: String?

    init?(_ path: String) {
        let parts = path.split(separator: "/").map(String.init)
        var rest: ArraySlice<String>
        if parts.first == "api", parts.count >= 2 {
            base = "/api/" + parts[1]
            rest = parts[2...]
        } else if parts.first == "apis", parts.count >= 3 {
            base = "/apis/\(parts[1])/\(parts[2])"
            rest = parts[3...]
        } else {
            return nil
        }
        if rest.first == "namespaces", rest.count >= 3 {
            namespace = rest.dropFirst().first
            rest = rest.dropFirst(2)
        }
        guard let resource = rest.first else { return nil }
        self.resource = resource
        name = rest.dropFirst().first
        subresource = rest.dropFirst(2).first
    }

    /// Where the object itself is kept.
    var objectKey: String {
        if resource == "namespaces" || namespace == nil { return "\(base)/\(resource)/\(name ?? "")" }
        return "\(base)/namespaces/\(namespace!)/\(resource)/\(name ?? "")"
    }
}
