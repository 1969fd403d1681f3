import Foundation
import HTTPTypes
import Hummingbird

/// An error answered in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with
/// the HTTP status that says what went wrong.
public struct APIError: Error, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// OpenAI's error type: `invalid_request_error`, `authentication_error`, `not_found_error`,
    /// `server_error`, `overloaded_error`.
    public var type: String
    /// The request field at fault, when one is.
    public var param: String?
    public var code: String?
    /// Extra response headers (`Retry-After`).
    public var headers: HTTPFields = [:]

    public init(status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    /// A request field that is missing, of the wrong type or out of range.
    static func invalid(_ param: String, _ message: String, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: "\(param): \(message)", type: "invalid_request_error", param: param, code: code)
    }

    static func badRequest(_ message: String, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", code: code)
    }

    static let unauthorized = APIError(status: .unauthorized, message: "a valid API key is required (Authorization: Bearer KEY, or x-api-key)",
                                       type: "authentication_error", code: "invalid_api_key")

    static func notFound(_ path: String) -> APIError {
        APIError(status: .notFound, message: "no such endpoint: \(path)", type: "not_found_error", code: "not_found")
    }

    static func methodNotAllowed(_ method: HTTPRequest.Method, _ path: String) -> APIError {
        APIError(status: .methodNotAllowed, message: "\(method.rawValue) is not allowed on \(path)", type: "invalid_request_error",
                 code: "method_not_allowed")
    }

    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, message: "the request body is larger than the server accepts (\(limit) bytes, --max-body-bytes)",
                 type: "invalid_request_error", code: "request_too_large")
    }

    /// The queue is full or the server is going away: come back later.
    static func unavailable(_ message: String, code: String, retryAfter: Int? = nil) -> APIError {
        var error = APIError(status: .serviceUnavailable, message: message, type: "overloaded_error", code: code)
        if let retryAfter { error.headers[.retryAfter] = String(retryAfter) }
        return error
    }

    static func server(_ message: String) -> APIError {
        APIError(status: .internalServerError, message: message, type: "server_error", code: "internal_error")
    }

    /// The error object (the value of `"error"`), also sent as the last event of a failed stream.
    var object: [String: Any] {
        ["message": message, "type": type, "param": param ?? NSNull(), "code": code ?? NSNull()]
    }

    func response() -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSON.bytes(["error": object]))))
    }
}
