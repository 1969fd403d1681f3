/// Why a chat template could not be parsed or rendered. Every case carries the template line.
public enum ChatTemplateError: Error, CustomStringConvertible, Equatable {
    /// The template text is not valid Jinja (jinja2 would raise TemplateSyntaxError).
    case syntax(message: String, line: Int)
    /// The template uses a Jinja feature Loom does not implement.
    case unsupportedFeature(feature: String, line: Int)
    /// The template called `raise_exception(message)`.
    case raised(message: String, line: Int)
    /// A value was used in a way jinja2 rejects (UndefinedError, TypeError, SecurityError, ...).
    case runtime(kind: String, message: String, line: Int)
    /// Parsing or rendering reached one of its `ChatTemplateLimits` (`limit` names it: steps,
    /// depth, output bytes, value bytes; `value` is the bound).
    case limitExceeded(limit: String, value: Int, line: Int)

    public var description: String {
        switch self {
        case let .syntax(message, line): return "chat template line \(line): syntax error: \(message)"
        case let .unsupportedFeature(feature, line):
            return "chat template line \(line): unsupported Jinja feature: \(feature)"
        case let .raised(message, line): return "chat template line \(line): raise_exception: \(message)"
        case let .runtime(kind, message, line): return "chat template line \(line): \(kind): \(message)"
        case let .limitExceeded(limit, value, line):
            return "chat template line \(line): stopped at the limit of \(value) \(limit) (ChatTemplateLimits)"
        }
    }
}

/// A runtime failure before the evaluator attaches the line it happened on.
struct JinjaRuntimeError: Error {
    let kind: String
    let message: String

    static func type(_ message: String) -> JinjaRuntimeError { .init(kind: "TypeError", message: message) }
    static func undefined(_ message: String) -> JinjaRuntimeError { .init(kind: "UndefinedError", message: message) }
    static func value(_ message: String) -> JinjaRuntimeError { .init(kind: "ValueError", message: message) }
    static func security(_ message: String) -> JinjaRuntimeError { .init(kind: "SecurityError", message: message) }
    static func runtime(_ message: String) -> JinjaRuntimeError { .init(kind: "TemplateRuntimeError", message: message) }
}

/// `raise_exception(message)` from the template, before the line is attached.
struct JinjaRaisedError: Error {
    let message: String
}

/// A feature Loom lacks, met while evaluating (the parser reports the ones it sees).
struct JinjaUnsupportedError: Error {
    let feature: String
}
