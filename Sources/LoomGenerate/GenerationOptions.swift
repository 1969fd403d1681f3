/// What to generate and when to stop.
public struct GenerationOptions: Sendable {
    /// The most tokens to generate (finish reason `length`).
    public var maxTokens: Int = 256
    /// End tokens are suppressed, and stop strings not matched, before this many tokens.
    public var minTokens: Int = 0
    /// Once this many tokens are generated, generation ends at the next sentence end (finish
    /// reason `stop`), so that a reply cut short still reads as whole sentences; `maxTokens`
    /// stays the hard limit. nil: no such limit. See `SentenceEnd`.
    public var softMaxTokens: Int?
    public var sampling = SamplingParameters()
    /// Generation ends when the text contains one of these; the stop string and anything after
    /// it are never emitted. Text that might begin one is held back until it is resolved.
    public var stopStrings: [String] = []
    /// Strings that must never appear: when one does, the model is rewound to the token where
    /// it began and that token is resampled with the offending choice banned.
    public var bannedStrings: [String] = []
    /// Extra ids that end generation, beside the model's own end tokens.
    public var stopTokens: Set<Int32> = []
    /// Whether the model's own end tokens (EOS, end of turn) stop generation.
    public var stopAtModelEndTokens = true
    /// Report each generated token's log-probability (implied by `topLogprobs` > 0).
    public var logprobs = false
    /// The prefix-cache namespace: cached pages are shared only among requests with the same
    /// salt, so one tenant's prompts are never matched (and timed) by another's.
    public var cacheSalt: String?
    /// How many most likely alternatives (with log-probabilities) to report per token; 0 for none.
    public var topLogprobs: Int = 0
    /// Leave special tokens out of the text (they still come as token events).
    public var skipSpecialTokens = true
    /// Rewinds for banned strings allowed in one generation before it fails.
    public var maxRewinds = 256
    /// Propose tokens to verify several per pass (nil: one token per pass). Greedy tokens are the
    /// same either way, and seeded ones too but for a sampled draft model; see `Speculation`.
    public var speculation: Speculation?
    /// The grammar the reply must follow (GBNF, a JSON Schema, a regex: see `Grammar`); no
    /// token it refuses is ever sampled, and the reply ends once the grammar can take nothing
    /// more. nil: free text.
    public var grammar: Grammar?

    public init(maxTokens: Int = 256, sampling: SamplingParameters = SamplingParameters(), stopStrings: [String] = []) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopStrings = stopStrings
    }
}

/// Bad requests and failures during generation.
public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case emptyPrompt
    case invalidOption(name: String, reason: String)
    case vocabularyMismatch(tokenizer: Int, model: Int)
    case tooManyRewinds(Int)
    case promptTooLong(tokens: Int, context: Int)
    /// The grammar allows no token that is not banned (by banned strings, `minTokens` or a bias).
    case grammarDeadEnd(generated: Int)

    public var description: String {
        switch self {
        case .emptyPrompt: return "the prompt has no tokens"
        case let .invalidOption(name, reason): return "option \(name): \(reason)"
        case let .vocabularyMismatch(tokenizer, model):
            return "the tokenizer has \(tokenizer) ids but the model's vocabulary is \(model)"
        case let .tooManyRewinds(n): return "banned strings forced \(n) rewinds; giving up"
        case let .grammarDeadEnd(generated):
            return "after \(generated) generated tokens the grammar allows no token that is not banned (banned strings, min_tokens or logit_bias)"
        case let .promptTooLong(tokens, context):
            return "the prompt has \(tokens) tokens and the context holds \(context) (--max-seq-len)"
        }
    }
}
