import AgentSafeCore
import Foundation
import Hummingbird

/// Reads a JSON object body: content type, size limit, strict JSON, object at the top.
func readObject(_ request: Request, limit: Int) async throws -> [String: JSONValue] {
    let type = request.headers[.contentType]?.lowercased() ?? ""
    // The media type before any parameters (`; charset=utf-8`), compared whole: `application/jsonx` is not JSON.
    let mediaType = type.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    guard mediaType == "application/json" || mediaType == "application/problem+json" else {
        throw Problem(.unsupportedMediaType, "unsupported_media_type", "Unsupported media type",
                      type.isEmpty ? "send Content-Type: application/json" : "'\(type)' is not application/json")
    }
    if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
        throw Problem(.contentTooLarge, "body_too_large", "Body too large", "the body is \(length) bytes; the limit is \(limit)")
    }
    var request = request
    let buffer: ByteBuffer
    do {
        buffer = try await request.collectBody(upTo: limit)
    } catch {
        throw Problem(.contentTooLarge, "body_too_large", "Body too large", "the body is over the \(limit)-byte limit")
    }
    let text = String(buffer: buffer)
    let value: JSONValue
    do {
        value = try JSONValue.parse(text)
    } catch {
        throw Problem.malformed(error.description)
    }
    guard case .object(let o) = value else { throw Problem.wrongType("the body must be a JSON object, got \(value.kindName)") }
    return o
}

/// Typed access to body fields; unknown fields are refused (422) when strict.
struct BodyFields {
    let values: [String: JSONValue]
    let prefix: String

    init(_ values: [String: JSONValue], allowed: Set<String>, strict: Bool, prefix: String = "") throws {
        self.values = values
        self.prefix = prefix
        if strict, let unknown = values.keys.sorted().first(where: { !allowed.contains($0) }) {
            let hint = Suggest.closest(to: unknown, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
            throw Problem.unknownField("unknown field '\(prefix)\(unknown)'\(hint)")
        }
    }

    func string(_ key: String) throws -> String {
        guard let v = try optionalString(key) else { throw Problem.missingField("'\(prefix)\(key)' (a string) is required") }
        return v
    }

    func optionalString(_ key: String) throws -> String? {
        switch values[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let other?: throw Problem.wrongType("'\(prefix)\(key)' must be a string, got \(other.kindName)")
        }
    }

    func object(_ key: String) throws -> [String: JSONValue]? {
        switch values[key] {
        case nil, .null?: return nil
        case .object(let o)?: return o
        case let other?: throw Problem.wrongType("'\(prefix)\(key)' must be an object, got \(other.kindName)")
        }
    }

    func strings(_ key: String) throws -> [String]? {
        switch values[key] {
        case nil, .null?: return nil
        case .array(let items)?:
            let s = items.compactMap(\.stringValue)
            guard s.count == items.count else { throw Problem.wrongType("'\(prefix)\(key)' must be a list of strings") }
            return s
        case let other?: throw Problem.wrongType("'\(prefix)\(key)' must be a list of strings, got \(other.kindName)")
        }
    }

    func bool(_ key: String) throws -> Bool? {
        switch values[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case let other?: throw Problem.wrongType("'\(prefix)\(key)' must be true or false, got \(other.kindName)")
        }
    }

    func integer(_ key: String) throws -> Int64? {
        switch values[key] {
        case nil, .null?: return nil
        case .integer(let i)?: return i
        case let other?: throw Problem.wrongType("'\(prefix)\(key)' must be an integer, got \(other.kindName)")
        }
    }
}

func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
    // Written as bytes with sorted keys, so every answer reads the same from one process to the next (a dictionary's
    // own order changes with its per-process hash seed). `/v1/check` writes its members in its own order instead
    // (JSONObjectWriter): sorting every object there cost about a tenth of its CPU.
    var bytes: [UInt8] = []
    bytes.reserveCapacity(2048)
    value.appendCanonical(to: &bytes)
    return json(bytes: bytes, status: status)
}

/// A JSON answer already written as bytes (``JSONObjectWriter``).
func json(bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
}
