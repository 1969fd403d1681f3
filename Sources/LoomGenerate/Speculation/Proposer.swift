/// One generation's side of speculation: what to propose after its context, and how often its
/// proposals have been right, which decides how many are worth a pass's rows.
final class Proposer {
    let speculation: Speculation
    /// Draft proposals are drawn from the draft's distribution (kept by the standard test)
    /// rather than its greedy choice: for sampled runs.
    private let samplesDrafts: Bool
    /// The run's sampler: the draft's chain copies its parameters.
    private let sampler: Sampler
    /// How often a proposal is the token sampled, by its evidence (lookup's n-gram length, 0 for a
    /// draft): running averages over every proposal checked, sent or not. Each starts where one
    /// proposal is barely worth a row.
    private var acceptance: [Int: Double] = [:]
    /// The evidence of the pending proposals.
    private var evidence = 0
    /// The first token of proposals judged not worth sending, and their evidence, checked against
    /// the token sampled instead, so the estimate stays current while nothing is sent.
    private var unsent: (token: Int32, evidence: Int)?
    /// [proposed] the distribution each pending proposal was drawn from; empty when the
    /// proposals are deterministic (lookup, greedy drafts).
    private(set) var distributions: [TokenDistribution] = []
    /// The run's sequence in the draft model, once the draft has proposed.
    private var cursor: DraftModel.Cursor?
    /// Steps since the draft last proposed: a draft judged not worth its passes still proposes one
    /// token every `probeInterval` steps, so its estimate can recover; the interval doubles (to
    /// 64) while those probes fail.
    private var stepsWithoutDraft = 0
    private var probeInterval = Proposer.firstProbeInterval
    private var probing = false
    /// Draws the draft's proposals, from a random stream of its own derived from the run's seed.
    private var draftSampler: Sampler?
    /// The distributions the draft's sampled proposals were drawn from, as the draft makes them.
    private var drawn: [TokenDistribution] = []
    /// What keeping the proposals to the grammar has cost.
    private(set) var grammarCost = GrammarCost()

    private static let initialAcceptance = 0.5
    private static let firstProbeInterval = 8

    init(_ speculation: Speculation, sampler: Sampler) {
        self.speculation = speculation
        self.sampler = sampler
        samplesDrafts = sampler.parameters.temperature > 0
    }

    /// A constrained run's grammar and where its reply stands in it when it proposes: proposals
    /// keep to the grammar, since the verification would refuse any other token.
    struct GrammarPosition {
        let constraint: TokenConstraint
        let matcher: GrammarMatcher
    }

    /// Up to `limit` tokens to propose after `context`; none when they would not pay.
    func propose(after context: [Int32], limit: Int, cacheSalt: String?, grammar: GrammarPosition? = nil) -> [Int32] {
        distributions = []
        guard limit > 0 else { return [] }
        switch speculation.source {
        case let .promptLookup(maxNgram, minNgram):
            guard var found = PromptLookup.propose(after: context, maxNgram: maxNgram, minNgram: minNgram, limit: limit) else { return [] }
            if let grammar {
                let allowed = grammarCost.measure { grammar.allowedPrefixLength(of: found.tokens) }
                found.tokens = Array(found.tokens.prefix(allowed))
                guard !found.tokens.isEmpty else { return [] }
            }
            let count = speculation.draftLength(acceptance: estimate(found.evidence), available: found.tokens.count)
            guard count > 0 else {
                unsent = (found.tokens[0], found.evidence)
                return []
            }
            evidence = found.evidence
            return Array(found.tokens.prefix(count))
        case .draft(let draft):
            guard let request = draftRequest(after: context, limit: limit, cacheSalt: cacheSalt, sharers: 1, grammar: grammar) else { return [] }
            // A draft that fails (its pool full, say) only costs this step's proposals.
            return drafted((try? draft.propose([request]))?.first ?? [])
        }
    }

    /// What to ask of the draft after `context` (nil: nothing this step), for a caller that puts
    /// several generations' requests in the same draft passes; `drafted` takes the answer.
    /// `sharers`: the generations whose requests go into the same draft passes. Under a grammar
    /// the draft chooses among the tokens the grammar allows after the proposals before.
    func draftRequest(after context: [Int32], limit: Int, cacheSalt: String?, sharers: Int,
                      grammar: GrammarPosition? = nil) -> DraftModel.Request? {
        distributions = []
        guard limit > 0, let draft = speculation.draftModel else { return nil }
        var count = speculation.draftLength(acceptance: estimate(0), available: limit, sharers: sharers)
        probing = count == 0
        if probing {
            stepsWithoutDraft += 1
            guard stepsWithoutDraft >= probeInterval else { return nil }
            count = 1
        } else {
            probeInterval = Self.firstProbeInterval
        }
        stepsWithoutDraft = 0
        let cursor = self.cursor ?? draft.makeCursor(cacheSalt: cacheSalt)
        self.cursor = cursor
        drawn = []
        if samplesDrafts && draftSampler == nil {
            var parameters = sampler.parameters
            parameters.seed = parameters.seed.map { $0 &+ 0x9E37_79B9_7F4A_7C15 }
            draftSampler = try? Sampler(parameters: parameters, breakerTokens: sampler.breakerTokens)
        }
        let draws = samplesDrafts ? draftSampler : nil
        guard draws != nil || grammar != nil else { return DraftModel.Request(cursor: cursor, context: context, count: count, choose: nil) }
        // Where the proposals so far leave the reply in the grammar.
        var matcher = grammar?.matcher
        let choose = { [weak self] (logits: [Float], proposed: [Int32]) -> Int32? in
            guard let self else { return nil }
            var row = logits
            if let grammar, var state = matcher {
                if let last = proposed.last {
                    // Nothing is proposed past the end of the reply.
                    guard !grammar.constraint.endTokens.contains(last),
                          self.grammarCost.measure({ grammar.constraint.advance(&state, by: last) }) else { return nil }
                    matcher = state
                }
                let allowed = self.grammarCost.mask(grammar.constraint, after: state)
                guard allowed.count > 0 else { return nil }
                self.grammarCost.measure { allowed.restrict(&row) }
            }
            guard let draws else { return DraftModel.greedy(row) }
            let q = draws.distribution(logits: row, context: context + proposed)
            guard let token = draws.draw(from: q) else { return nil }
            self.drawn.append(q)
            return token
        }
        return DraftModel.Request(cursor: cursor, context: context, count: count, choose: choose)
    }

    /// Takes the draft's answer to `draftRequest`: the proposals to send.
    func drafted(_ tokens: [Int32]) -> [Int32] {
        distributions = Array(drawn.prefix(tokens.count))
        drawn = []
        evidence = 0
        return tokens
    }

    /// Forgets the pending proposals (the scheduler dropped them).
    func drop() { distributions = [] }

    /// What the verification of the pending proposals found: the token sampled at the first row
    /// (nil if the step ended otherwise) and, for each proposal checked, whether it was the token
    /// sampled there.
    func verified(firstSampled: Int32?, checks: [Bool]) {
        if let unsent, let firstSampled { learn(firstSampled == unsent.token, evidence: unsent.evidence) }
        unsent = nil
        distributions = []
        for right in checks { learn(right, evidence: evidence) }
        if probing && !checks.isEmpty {
            probeInterval = checks[0] ? Self.firstProbeInterval : min(64, probeInterval * 2)
            probing = false
        }
    }

    /// Frees the run's sequence in the draft.
    func release() {
        if let cursor, case .draft(let draft) = speculation.source { draft.release(cursor) }
        cursor = nil
    }

    private func estimate(_ evidence: Int) -> Double { acceptance[evidence] ?? Self.initialAcceptance }

    /// Folds one checked proposal into the estimate for its evidence (about the last ten count).
    private func learn(_ right: Bool, evidence: Int) {
        let old = estimate(evidence)
        acceptance[evidence] = old + 0.1 * ((right ? 1 : 0) - old)
    }
}

extension Proposer.GrammarPosition {
    /// How many of `tokens`, from the first, the grammar takes in turn.
    func allowedPrefixLength(of tokens: [Int32]) -> Int {
        var state = matcher
        for (i, token) in tokens.enumerated() {
            if constraint.endTokens.contains(token) { return state.canEnd ? i + 1 : i }
            guard constraint.advance(&state, by: token) else { return i }
        }
        return tokens.count
    }
}
