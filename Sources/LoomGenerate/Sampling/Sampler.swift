import LoomTokenizer

/// Chooses next tokens: logit bias, then the configured chain of stages, then a seeded draw
/// from what is left (llama.cpp's sampler chain, with its default order and settings).
///
/// A sampler keeps its candidate storage and random state between steps; one sampler serves
/// one generation at a time.
public final class Sampler {
    public let parameters: SamplingParameters
    /// Tokens whose text contains a DRY sequence breaker.
    public let breakerTokens: Set<Int32>
    private var random: RandomSource
    /// Storage reused by every step.
    public internal(set) var candidates = Candidates()

    /// - Parameters:
    ///   - breakerTokens: ids that end DRY repeats; `Sampler.breakerTokens(_:tokenizer:)` finds them.
    public init(parameters: SamplingParameters, breakerTokens: Set<Int32> = []) throws {
        try parameters.validate()
        self.parameters = parameters
        self.breakerTokens = breakerTokens
        random = parameters.seed.map(RandomSource.init(seed:)) ?? .random()
    }

    /// A sampler whose DRY breakers come from `tokenizer`'s vocabulary.
    public convenience init(parameters: SamplingParameters, tokenizer: Tokenizer) throws {
        let breakers = parameters.dryMultiplier > 0 ? Sampler.breakerTokens(parameters.drySequenceBreakers, tokenizer: tokenizer) : []
        try self.init(parameters: parameters, breakerTokens: breakers)
    }

    /// The ids whose text contains any of `strings` (a scan of the vocabulary, done once).
    public static func breakerTokens(_ strings: [String], tokenizer: Tokenizer) -> Set<Int32> {
        let needles = strings.map { Array($0.utf8) }.filter { !$0.isEmpty }
        guard !needles.isEmpty else { return [] }
        var result: Set<Int32> = []
        for id in 0..<Int32(tokenizer.vocabularySize) {
            let bytes = tokenizer.bytes(of: id)[...]
            if needles.contains(where: { bytes.containsSequence($0) }) { result.insert(id) }
        }
        return result
    }

    /// Picks the next token.
    /// - Parameters:
    ///   - logits: [vocab] the model's scores for the next position.
    ///   - context: every token in the context so far (prompt and generated), for the penalties.
    ///   - bias: extra additive bias for this step only (−∞ bans a token: banned strings, min_tokens).
    public func sample(logits: [Float], context: [Int32], bias: [Int32: Float] = [:]) -> Int32 {
        candidates.load(logits)
        candidates.applyLogitBias(parameters.logitBias)
        candidates.applyLogitBias(bias)
        applyChain(context: context)
        return draw()
    }

    /// The distribution `sample` would draw from: each live candidate's probability after the
    /// whole chain (one id with all the mass for greedy). Consumes the same random draws as
    /// `sample` does before its final draw (XTC's).
    public func distribution(logits: [Float], context: [Int32], bias: [Int32: Float] = [:]) -> TokenDistribution {
        candidates.load(logits)
        candidates.applyLogitBias(parameters.logitBias)
        candidates.applyLogitBias(bias)
        applyChain(context: context)
        if candidates.count == 1 { return .certain(candidates.ids[0]) }
        if parameters.temperature <= 0 && !parameters.order.contains(.temperature) { return .certain(candidates.ids[candidates.argmax()]) }
        candidates.softmax()
        return TokenDistribution(ids: Array(candidates.ids.prefix(candidates.count)), probabilities: Array(candidates.probs.prefix(candidates.count)),
                                 ascending: candidates.isIdentity)
    }

    /// A draw in proportion to the weights of `distribution`, from this sampler's random stream;
    /// nil when it has no mass.
    public func draw(from distribution: TokenDistribution) -> Int32? {
        let total = distribution.probabilities.reduce(0) { $0 + Double($1) }
        guard total > 0 else { return nil }
        let target = random.unit() * total
        var cumulative = 0.0
        for (id, weight) in zip(distribution.ids, distribution.probabilities) {
            cumulative += Double(weight)
            if target < cumulative { return id }
        }
        return distribution.ids.last
    }

    /// A uniform draw in [0, 1) from this sampler's random stream.
    public func uniform() -> Double { random.unit() }

    /// Runs the configured stages on `candidates`.
    func applyChain(context: [Int32]) {
        let p = parameters
        for stage in p.order {
            switch stage {
            case .penalties:
                if p.penaltyLastN != 0 {
                    candidates.applyPenalties(recent: recentTokens(context, lastN: p.penaltyLastN), repetition: p.repetitionPenalty,
                                              frequency: p.frequencyPenalty, presence: p.presencePenalty)
                }
            case .dry:
                if p.dryPenaltyLastN != 0 {
                    candidates.applyDRY(recent: recentTokens(context, lastN: p.dryPenaltyLastN), multiplier: p.dryMultiplier,
                                        base: p.dryBase, allowedLength: p.dryAllowedLength, breakers: breakerTokens)
                }
            case .topK: candidates.applyTopK(p.topK, minKeep: p.minKeep)
            case .typicalP: candidates.applyTypicalP(p.typicalP, minKeep: p.minKeep)
            case .topP: candidates.applyTopP(p.topP, minKeep: p.minKeep)
            case .minP: candidates.applyMinP(p.minP, minKeep: p.minKeep)
            case .xtc:
                if p.xtcProbability > 0 {
                    candidates.applyXTC(probability: p.xtcProbability, threshold: p.xtcThreshold, minKeep: p.minKeep, draw: random.unit())
                }
            case .temperature: candidates.applyTemperature(p.temperature)
            }
        }
    }

    /// Draws one live candidate in proportion to its softmax probability.
    func draw() -> Int32 {
        if candidates.count == 1 { return candidates.ids[0] }
        if parameters.temperature <= 0 && !parameters.order.contains(.temperature) {
            return candidates.ids[candidates.argmax()]
        }
        candidates.softmax()
        let target = Float(random.unit())
        var cumulative: Float = 0
        var lastPossible = 0
        for i in 0..<candidates.count where candidates.probs[i] > 0 {
            cumulative += candidates.probs[i]
            lastPossible = i
            if target < cumulative { return candidates.ids[i] }
        }
        // Rounding left the total a hair under the draw.
        return candidates.ids[lastPossible]
    }
}

extension ArraySlice where Element == UInt8 {
    func containsSequence(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        var start = startIndex
        while start + needle.count <= endIndex {
            if self[start] == needle[0] && self[start..<(start + needle.count)].elementsEqual(needle) { return true }
            start += 1
        }
        return false
    }
}
