// A bare Hummingbird 2 server for the sidecar benchmark's baseline (see Package.swift).
//
//   sidecar-echo [port]      listens on 127.0.0.1:<port> (default 8788)
//
// POST /v1/check parses the body as JSON (an object with an "action" string, or a 400) and answers
// {"result":"allow","echo":<action>}; GET /healthz answers {"status":"ok"}. No logging per request, no metrics.
import Foundation
import Hummingbird
import Logging

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8788 : 8788

let router = Router()
router.get("/healthz") { _, _ -> Response in
    Response(status: .ok, headers: [.contentType: "application/json"],
             body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
}
router.post("/v1/check") { request, _ -> Response in
    let buffer = try await request.body.collect(upTo: 65536)
    let data = Data(buffer.readableBytesView)
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let action = object["action"] as? String else {
        throw HTTPError(.badRequest, message: "body must be a JSON object with an action")
    }
    let reply = try JSONSerialization.data(withJSONObject: ["result": "allow", "echo": action], options: [.sortedKeys])
    return Response(status: .ok, headers: [.contentType: "application/json"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply)))
}

var logger = Logger(label: "sidecar-echo")
logger.logLevel = .warning
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
try await app.runService()
