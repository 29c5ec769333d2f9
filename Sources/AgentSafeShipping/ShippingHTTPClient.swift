import AsyncHTTPClient
import NIOCore

/// The HTTP client shippers use unless given another one.
public enum ShippingHTTPClient {
    /// Process-wide and never shut down (like `HTTPClient.shared`), with async-http-client's default TLS (system
    /// trust roots, hostname verification), and **without following redirects**: async-http-client turns a POST
    /// redirected with 301/302 into a GET, and a 200 for that GET would acknowledge a batch that never arrived.
    /// A 3xx is therefore a failure like any other non-2xx answer.
    public static let shared = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: HTTPClient.Configuration.Timeout(connect: .seconds(10), read: .seconds(60)),
            decompression: .disabled))
}
