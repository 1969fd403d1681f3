/// How a generation proposes tokens for the model to verify several at a time.
///
/// Decoding on a CPU is bound by reading the weights; a pass that checks k proposed tokens reads
/// them once for all k + 1 rows, and a rejected proposal only costs the rows it took.
///
/// - Prompt lookup, and a draft model under greedy decoding, propose deterministic tokens:
///   verifying one is sampling the model's own token at that position and comparing, so the
///   output is token for token that of a run without speculation, greedy or seeded.
/// - A draft model under sampling draws its proposals from its own distribution q, and each is
///   kept with probability min(1, p/q) under the model's p, else replaced by a draw from
///   normalize(max(0, p − q)) (the standard scheme): the output follows the model's
///   distribution and repeats for a seed, but is not the text the seed gives without the draft.
/// - Under a grammar, proposals keep to it: lookup's are cut at the first token it refuses, and
///   the draft chooses among the tokens it allows; p is then the distribution of the
///   constrained sampler's choice (the sampled token where the grammar takes it, else a draw
///   over the allowed tokens).
public struct Speculation: Sendable, Equatable {
    /// Where proposals come from.
    public enum Source: Sendable, Equatable {
        /// The continuation of the most recent earlier occurrence of the context's last n tokens
        /// (n from `maxNgram` down to `minNgram`), in the prompt or the text generated so far.
        case promptLookup(maxNgram: Int, minNgram: Int)
        /// The continuation by a smaller model with the same vocabulary: its greedy tokens, or for
        /// a sampled run tokens drawn from its distribution (see above).
        case draft(DraftModel)

        public static func == (a: Source, b: Source) -> Bool {
            switch (a, b) {
            case let (.promptLookup(x, y), .promptLookup(z, w)): return x == z && y == w
            case let (.draft(x), .draft(y)): return x === y
            default: return false
            }
        }
    }

    public var source: Source
    /// Tokens proposed per step at most.
    public var maxDraft: Int
    /// Propose only as many tokens as pay for their rows (see `draftLength`), from a running
    /// estimate of how often a proposal is right; false proposes all that are found.
    public var adaptive = true
    /// What one more row costs in a pass, as a fraction of a one-row pass, where `passCosts`
    /// has not been measured. A decode pass on a CPU reads the weights once for all its rows,
    /// and each row adds its arithmetic: 0.37 for a 346M-parameter Q8_0 model on 2 Zen 4 cores
    /// (a 5.5-row pass took 2.65 one-row passes), but from 0.2 to 1.0 on another such machine
    /// as the batch kernels changed; so a generator that can measure fills `passCosts` instead.
    public var rowCost = 0.37
    /// What passes cost on this model and machine, by proposals carried (`PassCosts.measure`);
    /// `Generator` fills it from `speculationPassCosts` where it is nil.
    public var passCosts: PassCosts?

    public init(source: Source, maxDraft: Int = Speculation.defaultMaxDraft, adaptive: Bool = true) {
        self.source = source
        self.maxDraft = maxDraft
        self.adaptive = adaptive
    }

    /// Prompt lookup with n-grams of `ngram` tokens down to one token.
    public static func promptLookup(ngram: Int = Speculation.defaultNgram, maxDraft: Int = Speculation.defaultMaxDraft,
                                    adaptive: Bool = true) -> Speculation {
        Speculation(source: .promptLookup(maxNgram: ngram, minNgram: 1), maxDraft: maxDraft, adaptive: adaptive)
    }

    /// How many of `available` proposals to send when each is right with probability
    /// `acceptance` (given the ones before it were): the k that maximises the tokens a pass
    /// yields per cost, (1 + a + a² + … + aᵏ) / (pass(k) + k · draftCost / sharers), where
    /// pass(k) is `passCosts`' figure or 1 + rowCost · k; 0 when no k beats one plain row.
    /// `sharers` generations draft in the same draft passes, so each pays that share of them.
    public func draftLength(acceptance: Double, available: Int, sharers: Int = 1) -> Int {
        guard adaptive else { return available }
        let draftShare = draftCost / Double(max(1, sharers))
        var best = 0, bestYield = 1.0, expected = 0.0, chain = 1.0
        for k in stride(from: 1, through: available, by: 1) {
            chain *= acceptance
            expected += chain
            let pass = passCosts?.cost(proposals: k) ?? 1 + rowCost * Double(k)
            let yield = (1 + expected) / (pass + draftShare * Double(k))
            if yield > bestYield { best = k; bestYield = yield }
        }
        return best
    }

    /// Proposals by `draft`; `draftCost` is one draft pass as a fraction of a target pass
    /// (about the ratio of their weight bytes, plus the per-pass overhead).
    public static func draftModel(_ draft: DraftModel, maxDraft: Int = Speculation.defaultMaxDraft, draftCost: Double) -> Speculation {
        var speculation = Speculation(source: .draft(draft), maxDraft: maxDraft)
        speculation.draftCost = draftCost
        return speculation
    }

    /// What proposing one token costs, as a fraction of a target pass: nothing for lookup, a
    /// draft pass for a draft model.
    public var draftCost = 0.0

    /// The draft model that proposes, when one does (nil for prompt lookup).
    public var draftModel: DraftModel? {
        if case let .draft(model) = source { return model }
        return nil
    }

    public static let defaultNgram = 3
    public static let defaultMaxDraft = 8

    /// Checks the sizes, naming the offending option.
    func validate() throws(GenerationError) {
        guard maxDraft >= 1 && maxDraft <= 64 else {
            throw .invalidOption(name: "draftMax", reason: "must be from 1 to 64, got \(maxDraft)")
        }
        switch source {
        case .draft: break
        case let .promptLookup(maxNgram, minNgram):
            guard minNgram >= 1 && maxNgram >= minNgram && maxNgram <= 64 else {
                throw .invalidOption(name: "lookup", reason: "n-gram sizes must satisfy 1 ≤ min ≤ max ≤ 64, got \(minNgram)…\(maxNgram)")
            }
        }
    }
}

/// Tokens proposed for verification, and what they rest on.
struct Proposal: Equatable {
    var tokens: [Int32]
    /// How many context tokens matched to find them (prompt lookup's n): longer matches are
    /// right more often, so acceptance is estimated for each length apart.
    var evidence: Int
}

/// Prompt-lookup proposals: what followed the last time the context's final tokens occurred.
enum PromptLookup {
    /// The tokens after the most recent earlier match of the longest suffix of `context` (of
    /// `maxNgram` tokens down to `minNgram`) that occurs earlier, at most `limit` of them.
    ///
    /// One backward scan per n: O(context × n) compares, microseconds against a decode step.
    static func propose(after context: [Int32], maxNgram: Int, minNgram: Int, limit: Int) -> Proposal? {
        let count = context.count
        return context.withUnsafeBufferPointer { tokens -> Proposal? in
            var n = min(maxNgram, count - 1)
            while n >= minNgram {
                let suffixStart = count - n
                // The match ends before the suffix starts, so at least one token follows it.
                var start = suffixStart - 1
                while start >= 0 {
                    if tokens[start] == tokens[suffixStart] {
                        var k = 1
                        while k < n && tokens[start + k] == tokens[suffixStart + k] { k += 1 }
                        if k == n {
                            let from = start + n
                            return Proposal(tokens: Array(tokens[from..<min(count, from + limit)]), evidence: n)
                        }
                    }
                    start -= 1
                }
                n -= 1
            }
            return nil
        }
    }
}
