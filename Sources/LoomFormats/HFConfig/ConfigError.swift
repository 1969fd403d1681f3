/// Why a model's config.json (or generation_config.json) was rejected.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String)
    case invalidJSON(file: String, reason: String)
    case missingField(file: String, field: String)
    case invalidField(file: String, field: String, reason: String)
    case unknownArchitecture(file: String, name: String, supported: [String])

    public var description: String {
        switch self {
        case let .unreadable(file): return "\(file): cannot be read"
        case let .invalidJSON(file, reason): return "\(file): not valid JSON: \(reason)"
        case let .missingField(file, field): return "\(file): missing required field '\(field)'"
        case let .invalidField(file, field, reason): return "\(file): field '\(field)': \(reason)"
        case let .unknownArchitecture(file, name, supported):
            return "\(file): unsupported architecture '\(name)'; supported: \(supported.joined(separator: ", "))"
        }
    }
}
