/// The shape of the ids given to tool calls.
public enum ToolCallIDStyle: Sendable {
    /// `call_` and 24 letters and digits, as OpenAI's ids look.
    case openAI
    /// Nine letters and digits: Mistral's templates reject any other id.
    case nineAlphanumerics
}

/// Makes the `id` of each tool call in a reply. With a seed the ids repeat from run to run, so
/// tests and reproducible runs can compare them; without one they come from the system's
/// entropy.
public struct ToolCallIDGenerator: Sendable {
    public let style: ToolCallIDStyle
    private var random: RandomSource
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    public init(style: ToolCallIDStyle, seed: UInt64? = nil) {
        self.style = style
        random = seed.map { RandomSource(seed: $0) } ?? .random()
    }

    /// The next id.
    public mutating func next() -> String {
        switch style {
        case .openAI: return "call_" + characters(24)
        case .nineAlphanumerics: return characters(9)
        }
    }

    private mutating func characters(_ count: Int) -> String {
        String((0..<count).map { _ in Self.alphabet[Int(random.next() % UInt64(Self.alphabet.count))] })
    }
}
