/// One thing that happened during generation, in order.
public enum GenerationEvent: Sendable {
    /// New text: always whole characters, never any part of a stop string.
    case text(String)
    /// A generated token, released once its text has been (stop and end tokens are not reported).
    case token(GeneratedToken)
    /// The scheduler freed this request's cache pages to make room for older requests; it
    /// resumes later by evaluating its context again. Text already reported stands.
    case preempted
    /// The last event of a generation.
    case finished(FinishReason, GenerationTimings)
}

/// A generated token and, when asked for, how likely it and its alternatives were.
public struct GeneratedToken: Sendable, Equatable {
    public var id: Int32
    /// Natural log of its probability under the model (before the sampler's transforms); nil
    /// unless `logprobs` is set or `topLogprobs` > 0.
    public var logprob: Float?
    /// The most likely tokens at this step, most likely first.
    public var topLogprobs: [TokenLogprob]
}

public struct TokenLogprob: Sendable, Equatable {
    public var id: Int32
    public var logprob: Float
}

/// How long a generation took.
public struct GenerationTimings: Sendable, Equatable {
    /// Prompt tokens evaluated (after reusing a cached prefix).
    public var promptTokens = 0
    public var promptSeconds = 0.0
    /// Tokens generated (each sampled once; rewound tokens are not counted).
    public var generatedTokens = 0
    /// From the first generated token to the end.
    public var generationSeconds = 0.0
    /// From the start of the request to the first generated token.
    public var timeToFirstToken = 0.0
    /// Tokens the prompt shared with the context already evaluated.
    public var reusedPromptTokens = 0
    /// Tokens proposed for verification (`Speculation`), and how many of them the model's own
    /// sampling agreed with.
    public var proposedTokens = 0
    public var acceptedTokens = 0
    /// Time spent keeping to the grammar (checking sampled tokens, computing masks, advancing
    /// its state, for the run and its draft proposals), and how many full masks over the
    /// vocabulary that took.
    public var grammarSeconds = 0.0
    public var grammarMasks = 0

    public init() {}

    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    /// Tokens after the first, over the time after the first (the first one's cost is the prompt's).
    /// Accepted proposals over proposed ones (0 when nothing was proposed).
    public var acceptanceRate: Double { proposedTokens > 0 ? Double(acceptedTokens) / Double(proposedTokens) : 0 }
    public var generationTokensPerSecond: Double {
        generationSeconds > 0 && generatedTokens > 1 ? Double(generatedTokens - 1) / generationSeconds : 0
    }
}
