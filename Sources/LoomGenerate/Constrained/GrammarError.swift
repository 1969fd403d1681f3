/// Why a grammar, JSON schema or regular expression could not be turned into a `Grammar`.
public enum GrammarError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The GBNF text is malformed at `line`:`column` (both from 1).
    case syntax(message: String, line: Int, column: Int)
    /// A rule is referenced at `line`:`column` but never defined.
    case undefinedRule(name: String, line: Int, column: Int)
    /// `name` can reach itself without consuming input; a pushdown matcher would loop forever.
    case leftRecursion(rule: String)
    /// The start rule (usually `root`) is not defined.
    case missingRoot(name: String)
    /// A grammar feature Loom does not implement, such as llama.cpp's token references `<[1000]>`.
    case unsupportedSyntax(feature: String, line: Int, column: Int)
    /// A repetition count above `limit`, at `line`:`column`.
    case repetitionTooLarge(count: Int, limit: Int, line: Int, column: Int)
    /// The compiled grammar would exceed a size or nesting bound (`what` says which).
    case tooLarge(what: String, limit: Int)
    /// Matching the grammar needs more simultaneous parse stacks or expansion steps than allowed.
    case tooComplex(limit: Int)
    /// A JSON Schema keyword Loom does not implement, with the JSON pointer of the schema using it.
    case unsupportedSchemaKeyword(String, path: String)
    /// The schema is not valid JSON or not a valid schema (the pointer says where).
    case invalidSchema(message: String, path: String)
    /// A regular-expression construct Loom does not implement, at `offset` (in characters).
    case unsupportedRegex(feature: String, offset: Int)
    /// The regular expression is malformed at `offset` (in characters).
    case invalidRegex(message: String, offset: Int)

    public var description: String {
        switch self {
        case .syntax(let message, let line, let column): "grammar syntax error at \(line):\(column): \(message)"
        case .undefinedRule(let name, let line, let column): "undefined rule '\(name)' referenced at \(line):\(column)"
        case .leftRecursion(let rule): "rule '\(rule)' is left-recursive"
        case .missingRoot(let name): "the grammar has no rule '\(name)' to start from"
        case .unsupportedSyntax(let feature, let line, let column): "unsupported grammar feature at \(line):\(column): \(feature)"
        case .repetitionTooLarge(let count, let limit, let line, let column):
            "repetition count \(count) at \(line):\(column) exceeds the limit of \(limit)"
        case .tooLarge(let what, let limit): "grammar too large: \(what) exceeds \(limit)"
        case .tooComplex(let limit): "grammar too complex: matching needs more than \(limit) parse stacks or steps"
        case .unsupportedSchemaKeyword(let keyword, let path): "unsupported JSON Schema keyword '\(keyword)' at \(path.isEmpty ? "/" : path)"
        case .invalidSchema(let message, let path): "invalid JSON Schema at \(path.isEmpty ? "/" : path): \(message)"
        case .unsupportedRegex(let feature, let offset): "unsupported regular expression feature at \(offset): \(feature)"
        case .invalidRegex(let message, let offset): "invalid regular expression at \(offset): \(message)"
        }
    }
}
