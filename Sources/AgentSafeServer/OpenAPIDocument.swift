import Foundation

/// docs/openapi.yaml, bundled as a resource and served at `GET /openapi.yaml`.
enum OpenAPIDocument {
    static let text: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return "openapi: 3.1.0\ninfo: {title: agent-safe, version: unknown}\npaths: {}\n" }
        return text
    }()
}
