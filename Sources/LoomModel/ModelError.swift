/// Errors binding weights to an architecture or running it.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(source: String, tensor: String, expected: [Int], actual: [Int])
    case unsupportedDType(source: String, tensor: String, dtype: String)
    case tokenOutOfRange(token: Int, vocabSize: Int)
    case contextFull(position: Int, capacity: Int)
    case unsupportedArchitecture(source: String, name: String, supported: [String])

    public var description: String {
        switch self {
        case let .shapeMismatch(source, tensor, expected, actual):
            return "\(source): tensor '\(tensor)' has shape \(actual), expected \(expected)"
        case let .unsupportedDType(source, tensor, dtype):
            return "\(source): tensor '\(tensor)' has type \(dtype), which cannot be used as a weight"
        case let .tokenOutOfRange(token, vocab):
            return "token id \(token) is outside the vocabulary (0..<\(vocab))"
        case let .contextFull(position, capacity):
            return "position \(position) is past the cache capacity of \(capacity) tokens"
        case let .unsupportedArchitecture(source, name, supported):
            return "\(source): unsupported architecture '\(name)'; supported: \(supported.joined(separator: ", "))"
        }
    }
}
