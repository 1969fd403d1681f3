/// Errors in a planning request, or a plan that does not fit when asked to run.
public enum PlanError: Error, CustomStringConvertible, Equatable {
    case invalidDevices(text: String, reason: String)
    case invalidSplit(text: String, reason: String)
    case unknownModel(name: String, known: [String])
    case unknownQuantization(name: String, known: [String])
    case doesNotFit(summary: String)

    public var description: String {
        switch self {
        case let .invalidDevices(text, reason): return "--devices '\(text)': \(reason)"
        case let .invalidSplit(text, reason): return "--split '\(text)': \(reason)"
        case let .unknownModel(name, known):
            return "\(name): no such file or directory, nor a catalog name (the catalog has: \(known.joined(separator: ", ")))"
        case let .unknownQuantization(name, known): return "unknown quantization '\(name)'; known: \(known.joined(separator: ", "))"
        case let .doesNotFit(summary): return "the plan does not fit: \(summary)"
        }
    }
}
