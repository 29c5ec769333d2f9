import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real HTTP/1.1 server on 127.0.0.1 (SwiftNIO), started and stopped by a test. It answers each request as
/// `respond` decides (by the request's 0-based index) and records every request.
final class TestHTTPReceiver: Sendable {
    struct Request: Sendable {
        var index: Int
        var method: HTTPMethod
        var uri: String
        var headers: HTTPHeaders
        var body: [UInt8]
        var status: HTTPResponseStatus
    }

    struct Answer: Sendable {
        var status: HTTPResponseStatus
        /// Wait this long before answering (to trigger client timeouts).
        var delay: TimeAmount? = nil
        /// A `Location` header (redirects).
        var location: String? = nil

        static let ok = Answer(status: .ok)
        static let unavailable = Answer(status: .serviceUnavailable)
    }

    let port: Int
    private let channel: any Channel
    private let state: Shared

    final class Shared: Sendable {
        let respond: @Sendable (Int, HTTPRequestHead) -> Answer
        let requests = Mutex<[Request]>([])

        init(respond: @escaping @Sendable (Int, HTTPRequestHead) -> Answer) {
            self.respond = respond
        }
    }

    private init(port: Int, channel: any Channel, state: Shared) {
        self.port = port
        self.channel = channel
        self.state = state
    }

    /// Starts listening on `127.0.0.1:port` (0 picks a free port).
    static func start(port: Int = 0, respond: @escaping @Sendable (Int, HTTPRequestHead) -> Answer) async throws
        -> TestHTTPReceiver
    {
        let state = Shared(respond: respond)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        return TestHTTPReceiver(port: channel.localAddress!.port!, channel: channel, state: state)
    }

    var url: String { "http://127.0.0.1:\(port)/ingest" }

    /// Every request received, in arrival order.
    var requests: [Request] { state.requests.withLock { $0 } }

    /// The requests answered with 2xx.
    var accepted: [Request] { requests.filter { (200..<300).contains($0.status.code) } }

    func stop() async throws {
        try await channel.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let state: Shared
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(state: Shared) {
            self.state = state
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(let buffer):
                body.append(contentsOf: buffer.readableBytesView)
            case .end:
                guard let head else { return }
                let (index, answer) = state.requests.withLock { requests -> (Int, Answer) in
                    let index = requests.count
                    let answer = state.respond(index, head)
                    requests.append(
                        Request(
                            index: index, method: head.method, uri: head.uri, headers: head.headers, body: body,
                            status: answer.status))
                    return (index, answer)
                }
                _ = index
                let keepAlive = head.isKeepAlive
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                let reply = { @Sendable in
                    let context = bound.value
                    var headers = HTTPHeaders([("content-length", "2")])
                    if !keepAlive { headers.add(name: "connection", value: "close") }
                    if let location = answer.location { headers.add(name: "location", value: location) }
                    context.write(
                        NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: head.version, status: answer.status, headers: headers))),
                        promise: nil)
                    context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
                    context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
                    if !keepAlive { context.close(promise: nil) }
                }
                if let delay = answer.delay {
                    context.eventLoop.scheduleTask(in: delay) { reply() }
                } else {
                    reply()
                }
                self.head = nil
            }
        }
    }
}
