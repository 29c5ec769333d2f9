import AgentSafeAWS
import Foundation

/// The official SigV4 test suite in `../shared/vectors/sigv4` beside the repository.
enum VectorSuite {
    /// `<repo>/../shared/vectors/sigv4`; the repository root is three levels up from this file.
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // AgentSafeAWSTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .deletingLastPathComponent()  // beside the repository
        .appendingPathComponent("shared/vectors/sigv4", isDirectory: true)

    static let headerFiles = [
        "request.txt", "context.json", "header-canonical-request.txt", "header-string-to-sign.txt",
        "header-signature.txt",
    ]

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static var isAvailable: Bool { !caseNames().isEmpty }

    /// Every case directory that has the header-signing files, sorted.
    static func caseNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { name in
            let caseDirectory = directory.appendingPathComponent(name)
            return headerFiles.allSatisfy {
                FileManager.default.fileExists(atPath: caseDirectory.appendingPathComponent($0).path)
            }
        }.sorted()
    }

    static func text(_ name: String, _ file: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name).appendingPathComponent(file), encoding: .utf8)
    }

    static func bytes(_ name: String, _ file: String) throws -> [UInt8] {
        try Array(Data(contentsOf: directory.appendingPathComponent(name).appendingPathComponent(file)))
    }

    /// `context.json` of one case.
    struct Context: Decodable {
        struct Credentials: Decodable {
            var accessKeyId: String
            var secretAccessKey: String
            var token: String?

            enum CodingKeys: String, CodingKey {
                case accessKeyId = "access_key_id"
                case secretAccessKey = "secret_access_key"
                case token
            }
        }

        var credentials: Credentials
        var normalize: Bool
        var region: String
        var service: String
        var signBody: Bool
        var timestamp: String
        var omitSessionToken: Bool?

        enum CodingKeys: String, CodingKey {
            case credentials, normalize, region, service, timestamp
            case signBody = "sign_body"
            case omitSessionToken = "omit_session_token"
        }
    }

    static func context(_ name: String) throws -> Context {
        let url = directory.appendingPathComponent(name).appendingPathComponent("context.json")
        return try JSONDecoder().decode(Context.self, from: Data(contentsOf: url))
    }
}

struct VectorError: Error, CustomStringConvertible {
    var description: String
}

/// Parses a raw HTTP/1.1 request as the suite writes it: request line, header lines (a line starting with a
/// space or tab continues the previous value, kept with its line break so the signer's folding is exercised),
/// a blank line, then the body.
enum RawHTTPRequest {
    static func parse(_ bytes: [UInt8]) throws -> SigV4Request {
        var head = bytes[...]
        var body: [UInt8] = []
        if let split = find([0x0A, 0x0A], in: bytes) {
            head = bytes[..<split]
            body = Array(bytes[(split + 2)...])
        } else if let split = find([0x0D, 0x0A, 0x0D, 0x0A], in: bytes) {
            head = bytes[..<split]
            body = Array(bytes[(split + 4)...])
        }
        var lines = String(decoding: head, as: UTF8.self)
            .split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map(String.init)
        while lines.last == "" { lines.removeLast() }
        guard let requestLine = lines.first,
            let firstSpace = requestLine.firstIndex(of: " "),
            let lastSpace = requestLine.lastIndex(of: " "), firstSpace < lastSpace
        else { throw VectorError(description: "bad request line") }
        let method = String(requestLine[..<firstSpace])
        let target = String(requestLine[requestLine.index(after: firstSpace)..<lastSpace])
        var headers: [SigV4Header] = []
        for line in lines.dropFirst() {
            if line.first == " " || line.first == "\t" {
                guard !headers.isEmpty else { throw VectorError(description: "continuation before any header") }
                headers[headers.count - 1].value += "\n" + line
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { throw VectorError(description: "bad header line") }
            headers.append(SigV4Header(String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        return SigV4Request(method: method, path: target, headers: headers, payload: .bytes(body))
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first {
            haystack[$0..<$0 + needle.count].elementsEqual(needle)
        }
    }
}
