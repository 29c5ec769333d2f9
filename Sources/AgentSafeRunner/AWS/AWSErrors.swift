import AgentSafeCore

/// Turns AWS error answers into one clear line: `ec2 StopInstances failed (400 InvalidInstanceID.NotFound): The
/// instance ID 'i-…' does not exist`.
///
/// Query APIs and S3 answer XML (`<Error><Code>…</Code><Message>…</Message></Error>`, inside `<Response><Errors>`
/// for EC2 and `<ErrorResponse>` for IAM); ECS and Lambda answer JSON (`__type` / `message`, Lambda also
/// `x-amzn-ErrorType` and `Message`). HEAD answers have no body: the status stands in for the code.
enum AWSErrorText {
    /// The longest message kept from an error body.
    static let maxMessageLength = 1000

    static func parse(_ response: AWSResponse) -> (code: String, message: String) {
        var code: String?
        var message: String?
        let text = response.text
        let trimmed = text.trimmingWhitespace()
        if trimmed.hasPrefix("<") {
            if let root = AWSXMLElement.parse(trimmed), let error = root.first("Error") {
                code = error.value("Code")
                message = error.value("Message")
            }
        } else if trimmed.hasPrefix("{"), case .object(let object)? = try? JSONValue.parse(trimmed) {
            code = (object["__type"] ?? object["code"] ?? object["Code"])?.stringValue
            message = (object["message"] ?? object["Message"] ?? object["errorMessage"])?.stringValue
        }
        if code == nil, let header = response.header("x-amzn-ErrorType") {
            code = String(header.split(separator: ":", maxSplits: 1).first ?? "")
        }
        // `com.amazonaws.ecs#ClusterNotFoundException` → `ClusterNotFoundException`.
        if let c = code, let hash = c.lastIndex(of: "#") { code = String(c[c.index(after: hash)...]) }
        let finalCode = code.flatMap { $0.isEmpty ? nil : $0 } ?? Self.statusName(response.status)
        var finalMessage = message ?? ""
        if finalMessage.isEmpty, !trimmed.isEmpty, !trimmed.hasPrefix("<") {
            finalMessage = String(trimmed.prefix(200))
        }
        if finalMessage.count > maxMessageLength { finalMessage = String(finalMessage.prefix(maxMessageLength)) + "…" }
        return (finalCode, finalMessage)
    }

    /// `<service> <Operation> failed (<status> <Code>): <Message>`.
    static func describe(_ call: AWSCall, _ response: AWSResponse) -> String {
        let (code, message) = parse(response)
        let head = "\(call.service.rawValue) \(call.operation) failed (\(response.status) \(code))"
        return message.isEmpty ? head : head + ": " + message
    }

    static func statusName(_ status: Int) -> String {
        switch status {
        case 400: "BadRequest"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 409: "Conflict"
        case 412: "PreconditionFailed"
        case 429: "TooManyRequests"
        case 500: "InternalError"
        case 503: "ServiceUnavailable"
        default: "HTTP\(status)"
        }
    }
}
