/// Why a tokenizer file could not be loaded. Every case names the file and the place in it.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// A malformed line, field or value, with its line number or JSON path.
    case malformed(file: String, location: String, reason: String)
    /// A pre-tokenizer regular expression that no Loom scanner implements.
    case unsupportedPattern(file: String, regex: String)
    /// A format feature Loom does not implement, named as the file names it.
    case unsupported(file: String, feature: String)
    /// A model directory without any tokenizer file Loom reads.
    case noTokenizer(directory: String)
    /// An unknown pre-tokenizer preset name.
    case unknownPattern(name: String)

    public var description: String {
        switch self {
        case let .malformed(file, location, reason): return "\(file): \(location): \(reason)"
        case let .unsupportedPattern(file, regex): return "\(file): unsupported pre-tokenizer pattern \(regex)"
        case let .unsupported(file, feature): return "\(file): unsupported \(feature)"
        case let .noTokenizer(directory): return "\(directory): no tokenizer.json, tekken.json or *.tiktoken"
        case let .unknownPattern(name):
            return "unknown pattern \(name) (known: \(PreTokenizerPattern.allCases.map(\.rawValue).joined(separator: ", ")))"
        }
    }
}
