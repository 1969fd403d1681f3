import LoomRuntime

/// What generation needs from a model: evaluate tokens after the current context, rewind it,
/// and say how much room is left. `Engine` is one; tests drive a scripted one.
public protocol TokenEvaluator: AnyObject {
    /// Tokens in the context.
    var position: Int { get }
    /// Tokens the context can hold.
    var capacity: Int { get }
    /// Length of each logits row.
    var vocabularySize: Int { get }
    /// Appends `tokens` and returns the logits of the last ([1][vocab]) or of every one.
    func evaluate(_ tokens: [Int], allPositions: Bool) throws -> [[Float]]
    /// Forgets the context after `position` tokens.
    func rewind(to position: Int)
}

extension Engine: TokenEvaluator {
    public var vocabularySize: Int { config.vocabSize }
}
