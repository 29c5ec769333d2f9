import Foundation

/// An endpoint URL that replaces AWS's own (`endpoint:` in the executor and S3 shipper settings; moto, MinIO,
/// LocalStack): the origin (scheme and host with a non-default port), the `Host` value, and the base path
/// without a trailing slash. `nil` for anything but an http(s) URL with a host.
public struct AWSEndpointOverride: Sendable, Hashable {
    public var origin: String
    public var host: String
    public var basePath: String

    public init?(_ url: URL) {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return nil }
        self.init(components)
    }

    public init?(string: String) {
        guard let components = URLComponents(string: string) else { return nil }
        self.init(components)
    }

    private init?(_ components: URLComponents) {
        guard let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let rawHost = components.host, !rawHost.isEmpty
        else { return nil }
        var host = rawHost.contains(":") && !rawHost.hasPrefix("[") ? "[\(rawHost)]" : rawHost
        if let port = components.port, !(scheme == "http" && port == 80), !(scheme == "https" && port == 443) {
            host += ":\(port)"
        }
        var base = components.percentEncodedPath
        while base.hasSuffix("/") { base.removeLast() }
        origin = "\(scheme)://\(host)"
        self.host = host
        basePath = base
    }
}
