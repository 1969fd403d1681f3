import Foundation
import LoomTokenizer
import Synchronization

/// One generation as a state machine: it says which tokens it needs evaluated next
/// (`pending`), and `advance(logits:)` takes their logits, samples, and returns what happened.
///
/// The scheduler drives many at once, evaluating every run's pending tokens in one batched
/// pass. A run made by `Generator.makeRun` over a single-sequence model drives itself with
/// `next()`.
///
/// Text is decoded incrementally (whole characters only). Text that might be the beginning of a
/// stop or banned string is held back until it is resolved; tokens are released with their text,
/// so a banned-string rewind never retracts anything already reported.
public final class GenerationRun: @unchecked Sendable {
    let tokenizer: Tokenizer
    let sampler: Sampler
    let options: GenerationOptions
    let prompt: [Int32]
    let endTokens: Set<Int32>
    let stops: StringWatch
    /// Stop and banned strings together: both hold text back.
    let watched: StringWatch
    let banned: StringWatch
    /// Positions the model's sequence can hold.
    let capacity: Int
    /// Drives the run itself (`next()`), when it was made for a single-sequence model.
    private let driver: SingleSequenceDriver?
    /// The grammar the reply follows, and where the reply stands in it.
    private let constraint: TokenConstraint?
    private var matcher: GrammarMatcher?
    /// [generated] the matcher before each token, to rewind it.
    private var matcherBefore: [GrammarMatcher] = []
    private var grammarCost = GrammarCost()
    private let cancelled = Atomic<Bool>(false)
    private let onClose: () -> Void

    /// Prompt and generated tokens, for the penalties.
    private var context: [Int32]
    /// [generated] each token with its logprobs.
    private var generated: [GeneratedToken] = []
    /// [generated] byte length of `text` after each token.
    private var tokenEnds: [Int] = []
    /// [generated] the decoder before each token, to rewind it.
    private var decoderBefore: [StreamingDecoder] = []
    private var decoder: StreamingDecoder
    /// [bytes] all text decoded so far (emitted and held).
    private var text: [UInt8] = []
    private var emittedBytes = 0
    private var emittedTokens = 0
    /// Position in the reply → ids banned there by banned strings.
    private var bans: [Int: Set<Int32>] = [:]
    private var rewinds = 0
    private var sentenceEnd = SentenceEnd()
    /// [vocab] the model's logits for the next position.
    private var logits: [Float] = []
    private var reporter = LogprobReporter()
    private var started = false
    /// What this run proposes for verification, when it speculates.
    private let proposer: Proposer?
    /// The sampled proposal the next `step` verifies instead of sampling, and the distribution
    /// it was drawn from.
    private var verifying: (proposal: Int32, drafted: TokenDistribution)?
    /// The generations drafting in the same draft passes as this one, as the scheduler counts them.
    var draftSharers = 1
    /// What this run asks of the draft model for its pending decode token, until the scheduler
    /// answers with `receiveDraftProposals`.
    private(set) var draftRequest: DraftModel.Request?
    /// The tokens the run needs evaluated before it can sample again; nil once finished.
    public private(set) var pending: Evaluation?
    public private(set) var isFinished = false
    public private(set) var timings = GenerationTimings()
    /// Tokens generated so far (rewound ones are not counted).
    var generatedCount: Int { generated.count }
    private var startTime = Date()
    private var firstTokenTime: Date?

    init(tokenizer: Tokenizer, sampler: Sampler, options: GenerationOptions, prompt: [Int32],
         endTokens: Set<Int32>, capacity: Int, constraint: TokenConstraint? = nil, driver: SingleSequenceDriver? = nil,
         onClose: @escaping () -> Void = {}) {
        self.tokenizer = tokenizer
        self.sampler = sampler
        self.options = options
        self.prompt = prompt
        self.endTokens = endTokens
        self.capacity = capacity
        self.driver = driver
        self.constraint = constraint
        matcher = constraint.map { GrammarMatcher($0.grammar) }
        proposer = options.speculation.map { Proposer($0, sampler: sampler) }
        self.onClose = onClose
        pending = Evaluation(position: 0, tokens: prompt)
        stops = StringWatch(options.stopStrings)
        banned = StringWatch(options.bannedStrings)
        watched = StringWatch(options.stopStrings + options.bannedStrings)
        context = prompt
        decoder = tokenizer.makeStreamingDecoder(skipSpecial: options.skipSpecialTokens)
    }

    /// Asks the run to stop; the next step (or the current one's end) reports `cancelled`.
    /// Safe to call from any thread.
    public func cancel() { cancelled.store(true, ordering: .relaxed) }

    /// Whether `cancel()` was called.
    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    /// The prompt and the tokens generated so far: what the model's sequence holds, once the
    /// pending evaluation is done.
    public var contextTokens: [Int32] { context }

    /// Runs one step and returns what it produced (possibly nothing, while text is held back or
    /// after a rewind). The last call returns a `.finished` event; later calls return nothing.
    /// Only for runs made by `Generator.makeRun`, which evaluate their own tokens.
    public func next() throws -> [GenerationEvent] {
        guard !isFinished, let driver else { return [] }
        if isCancelled { return finishCancelled() }
        do {
            let (rows, reused) = try driver.evaluate(pending!)
            return try advance(rows: rows, reused: reused)
        } catch {
            close()
            throw error
        }
    }

    /// Ends the run as cancelled (its driver frees what the model held).
    public func finishCancelled() -> [GenerationEvent] {
        guard !isFinished else { return [] }
        return finish(.cancelled)
    }

    /// Ends the run with an error (the driver reports it).
    func fail() { close() }

    /// Takes the logits of the last pending token (`reused` of the pending tokens were found
    /// already in the cache, for the timings) and runs one sampling step.
    public func advance(logits: [Float], reused: Int = 0) throws -> [GenerationEvent] {
        try advance(rows: [logits], reused: reused)
    }

    /// Takes the logits of the pending evaluation's last `logitRows` tokens: the last real token
    /// and each proposed one. Samples at each row in turn, as a step without speculation would,
    /// and goes on to the next row while the sampled token is the one proposed there; the first
    /// mismatch ends the step (the tokens after it are discarded: the caller rewinds the cache to
    /// the next `pending.position`).
    public func advance(rows: [[Float]], reused: Int = 0) throws -> [GenerationEvent] {
        guard !isFinished else { return [] }
        guard let evaluation = pending else { return [] }
        precondition(rows.count == evaluation.logitRows, "\(rows.count) logit rows for an evaluation that needs \(evaluation.logitRows)")
        let proposals = evaluation.tokens.suffix(evaluation.proposed)
        // The position the token sampled at row 0 goes to.
        let firstPosition = evaluation.position + evaluation.tokens.count - evaluation.proposed
        pending = nil
        if !started {
            started = true
            timings.reusedPromptTokens = reused
            timings.promptTokens = prompt.count - reused
            timings.promptSeconds = Date().timeIntervalSince(startTime)
        }
        do {
            var events: [GenerationEvent] = []
            var firstSampled: Int32?
            var checks: [Bool] = []
            let distributions = proposer?.distributions ?? []
            for (row, logits) in rows.enumerated() {
                self.logits = logits
                pending = nil
                if row < distributions.count {
                    let proposal = proposals[proposals.startIndex + row], q = distributions[row]
                    verifying = (proposal, q)
                }
                defer { verifying = nil }
                events += try step()
                let sampled = pending.flatMap { $0.position == firstPosition + row ? $0.tokens.first : nil }
                if row == 0 { firstSampled = sampled }
                guard row < proposals.count, !isFinished, let sampled else { break }
                let right = sampled == proposals[proposals.startIndex + row]
                checks.append(right)
                guard right else { break }
            }
            // The checks stop at the first wrong proposal.
            let accepted = checks.filter { $0 }.count
            timings.proposedTokens += proposals.count
            timings.acceptedTokens += accepted
            proposer?.verified(firstSampled: firstSampled, checks: checks)
            if !isFinished { propose() }
            return events
        } catch {
            close()
            throw error
        }
    }

    /// Appends proposals to a pending decode token, within the tokens left and the context. A
    /// run without a driver is the scheduler's: a draft model's proposals are left asked for
    /// (`draftRequest`) for the scheduler to make with the other requests' in the same draft passes.
    private func propose() {
        guard let proposer, let next = pending, next.proposed == 0, next.tokens.count == 1 else { return }
        // k proposals make k + 1 rows, each of which samples a token at the next position.
        let limit = min(proposer.speculation.maxDraft, options.maxTokens - generated.count - 1, capacity - 1 - next.position)
        let grammar = constraint.flatMap { constraint in matcher.map { Proposer.GrammarPosition(constraint: constraint, matcher: $0) } }
        if driver == nil && proposer.speculation.draftModel != nil {
            draftRequest = proposer.draftRequest(after: context, limit: limit, cacheSalt: options.cacheSalt, sharers: draftSharers, grammar: grammar)
            return
        }
        append(proposer.propose(after: context, limit: limit, cacheSalt: options.cacheSalt, grammar: grammar))
    }

    private func append(_ proposals: [Int32]) {
        guard !proposals.isEmpty, var next = pending, next.proposed == 0, next.tokens.count == 1 else { return }
        next.tokens += proposals
        next.proposed = proposals.count
        pending = next
    }

    /// Takes the draft's answer to `draftRequest` (empty when the draft could not run): the
    /// proposals join the pending decode token.
    func receiveDraftProposals(_ tokens: [Int32]) {
        guard draftRequest != nil, let proposer else { return }
        draftRequest = nil
        append(proposer.drafted(tokens))
    }

    /// Takes back the proposals of the pending evaluation, leaving its real token alone (for a
    /// scheduler that cannot fit them in a pass, or must evaluate the context again).
    public func dropProposals() {
        draftRequest = nil
        proposer?.drop()
        guard var next = pending, next.proposed > 0 else { return }
        next.tokens.removeLast(next.proposed)
        next.proposed = 0
        pending = next
    }

    private func step() throws -> [GenerationEvent] {
        if isCancelled { return finish(.cancelled) }
        if generated.count >= options.maxTokens { return flush() + finish(.length) }
        let index = generated.count
        var bias: [Int32: Float] = [:]
        for id in bans[index] ?? [] { bias[id] = -.infinity }
        if index < options.minTokens { for id in endTokens { bias[id] = -.infinity } }
        let id = try verifying.map { try acceptOrResample($0.proposal, draftedFrom: $0.drafted, bias: bias) } ?? sampleAllowed(bias: bias)
        if firstTokenTime == nil {
            firstTokenTime = Date()
            timings.timeToFirstToken = firstTokenTime!.timeIntervalSince(startTime)
        }
        if endTokens.contains(id) && index >= options.minTokens { return flush() + finish(.stop) }

        let token = options.logprobs || options.topLogprobs > 0 ? reporter.report(logits: logits, id: id, top: options.topLogprobs)
                                            : GeneratedToken(id: id, logprob: nil, topLogprobs: [])
        decoderBefore.append(decoder)
        if let constraint, var state = matcher {
            matcherBefore.append(state)
            grammarCost.measure { _ = constraint.advance(&state, by: id) }
            matcher = state
        }
        text.append(contentsOf: decoder.push(id).utf8)
        tokenEnds.append(text.count)
        generated.append(token)
        context.append(id)

        if let start = banned.firstMatch(in: text, from: emittedBytes) {
            try rewind(toTokenAt: tokenEnds.firstIndex { $0 > start }!)
            return []
        }
        if generated.count >= options.minTokens, let start = stops.firstMatch(in: text, from: emittedBytes) {
            return release(upTo: start, stopping: true) + finish(.stop)
        }
        // A grammar that can take nothing more has ended the reply.
        if let matcher, matcher.canEnd && !matcher.canContinue { return flush() + finish(.stop) }
        if let soft = options.softMaxTokens, generated.count >= soft,
           let end = sentenceEnd.stop(in: text, tokenStart: tokenEnds.count > 1 ? tokenEnds[tokenEnds.count - 2] : 0) {
            return release(upTo: end, stopping: true) + finish(.stop)
        }
        var events = release(upTo: text.count - watched.heldTail(of: text, from: emittedBytes), stopping: false)
        if generated.count >= options.maxTokens { return events + flush() + finish(.length) }
        // The sampled token would be evaluated at position prompt + generated - 1.
        if prompt.count + generated.count - 1 >= capacity {
            events += flush() + finish(.length)
            return events
        }
        pending = Evaluation(position: prompt.count + generated.count - 1, tokens: [id])
        return events
    }

    /// The standard speculative-sampling test for a proposal drawn from `q`: keep it with
    /// probability min(1, p/q) under the model's distribution p, else draw from the part of p
    /// that q does not cover, normalize(max(0, p − q)), which never gives the proposal back.
    /// Under a grammar, p is the distribution `sampleAllowed` draws from.
    private func acceptOrResample(_ proposal: Int32, draftedFrom q: TokenDistribution, bias: [Int32: Float]) throws -> Int32 {
        let p = try allowedDistribution(bias: bias)
        let pt = Double(p.probability(of: proposal)), qt = Double(q.probability(of: proposal))
        if qt > 0 && sampler.uniform() < min(1, pt / qt) { return proposal }
        return sampler.draw(from: p.excess(over: q)) ?? sampler.draw(from: p) ?? proposal
    }

    /// A token the sampler picks, among those the grammar allows: the sampled token when the
    /// grammar takes it (the usual case, checked without a mask), else a draw from the logits
    /// with every refused token removed, as llama.cpp does.
    private func sampleAllowed(bias: [Int32: Float]) throws -> Int32 {
        let id = sampler.sample(logits: logits, context: context, bias: bias)
        guard let constraint, let matcher, !grammarCost.measure({ constraint.allows(id, after: matcher) }) else { return id }
        // The mask and the second draw are what the grammar costs.
        let mask = grammarCost.mask(constraint, after: matcher)
        return try grammarCost.measure { sampler.sample(logits: try allowedLogits(mask, bias: bias), context: context, bias: bias) }
    }

    /// The distribution of `sampleAllowed`'s choice: the sampler's distribution p over the
    /// logits where the grammar takes the token, and the mass p gives refused tokens spread as
    /// the sampler's distribution over the allowed tokens' logits alone. Without a grammar, p.
    private func allowedDistribution(bias: [Int32: Float]) throws -> TokenDistribution {
        let p = sampler.distribution(logits: logits, context: context, bias: bias)
        guard let constraint, let matcher else { return p }
        let mask = grammarCost.mask(constraint, after: matcher)
        let kept = p.filter { mask.contains($0) }
        let refused = p.total - kept.total
        guard refused > 0 else { return kept }
        let fallback = try grammarCost.measure { sampler.distribution(logits: try allowedLogits(mask, bias: bias), context: context, bias: bias) }
        return kept.adding(fallback, weight: Float(refused / max(Double.leastNonzeroMagnitude, fallback.total)))
    }

    /// The logits with every token `mask` refuses at −∞; a typed error when no token is left
    /// that the grammar allows and the bias does not ban.
    private func allowedLogits(_ mask: TokenMask, bias: [Int32: Float]) throws -> [Float] {
        var masked = logits
        mask.restrict(&masked)
        let banned = bias.filter { $0.value == -.infinity }
        let open = banned.isEmpty ? masked.contains { $0 != -.infinity }
                                  : masked.indices.contains { masked[$0] != -.infinity && banned[Int32($0)] == nil }
        guard open else { throw GenerationError.grammarDeadEnd(generated: generated.count) }
        return masked
    }

    /// Drops generated token `index` and everything after it, bans its id at that position, and
    /// asks for the logits there again.
    private func rewind(toTokenAt index: Int) throws {
        rewinds += 1
        guard rewinds <= options.maxRewinds else { throw GenerationError.tooManyRewinds(rewinds) }
        bans = bans.filter { $0.key < index }
        sentenceEnd = SentenceEnd()
        bans[index, default: []].insert(generated[index].id)
        let dropped = generated.count - index
        generated.removeLast(dropped)
        tokenEnds.removeLast(dropped)
        context.removeLast(dropped)
        decoder = decoderBefore[index]
        decoderBefore.removeLast(dropped)
        if matcher != nil {
            matcher = matcherBefore[index]
            matcherBefore.removeLast(dropped)
        }
        text.removeLast(text.count - (index == 0 ? 0 : tokenEnds[index - 1]))
        // The logits for position `index` come from evaluating the token before it again.
        let previous = index == 0 ? prompt[prompt.count - 1] : generated[index - 1].id
        pending = Evaluation(position: prompt.count + index - 1, tokens: [previous])
    }

    /// Releases held text up to byte `end`, and the tokens whose text is now all out (or, when
    /// stopping, every token whose text began before `end`).
    private func release(upTo end: Int, stopping: Bool) -> [GenerationEvent] {
        var events: [GenerationEvent] = []
        if end > emittedBytes {
            events.append(.text(String(decoding: text[emittedBytes..<end], as: UTF8.self)))
            emittedBytes = end
        }
        while emittedTokens < generated.count {
            let tokenStart = emittedTokens == 0 ? 0 : tokenEnds[emittedTokens - 1]
            let done = stopping ? tokenStart < end : tokenEnds[emittedTokens] <= end
            if !done { break }
            events.append(.token(generated[emittedTokens]))
            emittedTokens += 1
        }
        return events
    }

    /// Releases everything: the decoder's unfinished character and all held text.
    private func flush() -> [GenerationEvent] {
        text.append(contentsOf: decoder.finish().utf8)
        if let last = tokenEnds.indices.last { tokenEnds[last] = text.count }
        return release(upTo: text.count, stopping: false)
    }

    private func finish(_ reason: FinishReason) -> [GenerationEvent] {
        timings.generatedTokens = generated.count
        timings.grammarSeconds = grammarCost.seconds + (proposer?.grammarCost.seconds ?? 0)
        timings.grammarMasks = grammarCost.masks + (proposer?.grammarCost.masks ?? 0)
        if let first = firstTokenTime { timings.generationSeconds = Date().timeIntervalSince(first) }
        close()
        return [.finished(reason, timings)]
    }

    private func close() {
        guard !isFinished else { return }
        isFinished = true
        pending = nil
        draftRequest = nil
        proposer?.release()
        onClose()
    }
}

/// Tokens a run needs evaluated: the model's sequence must hold exactly `position` tokens (the
/// run's context before them), then `tokens` are appended and the logits of the last
/// `logitRows` of them returned.
public struct Evaluation: Sendable, Equatable {
    public var position: Int
    public var tokens: [Int32]
    /// How many of `tokens`, at the end, are proposals to verify (see `Speculation`).
    public var proposed = 0

    public init(position: Int, tokens: [Int32], proposed: Int = 0) {
        self.position = position
        self.tokens = tokens
        self.proposed = proposed
    }

    /// Logit rows the run needs: the last real token's and each proposal's.
    public var logitRows: Int { proposed + 1 }
}

/// Evaluates a run's pending tokens on a single-sequence model, reusing what the model already
/// holds: a chat growing turn by turn evaluates only its new tokens.
final class SingleSequenceDriver {
    let model: any TokenEvaluator
    let mirror: EvaluatedContext

    init(model: any TokenEvaluator, mirror: EvaluatedContext) {
        self.model = model
        self.mirror = mirror
    }

    /// The logit rows `evaluation` asks for, and how many of its tokens the model already held.
    func evaluate(_ evaluation: Evaluation) throws -> (rows: [[Float]], reused: Int) {
        let wanted = Array(mirror.tokens.prefix(evaluation.position)) + evaluation.tokens
        precondition(mirror.tokens.count >= evaluation.position, "an evaluation past the model's context")
        var shared = evaluation.position
        let cached = mirror.tokens
        while shared < min(cached.count, wanted.count) && cached[shared] == wanted[shared] { shared += 1 }
        // The tokens whose logits are needed are always evaluated again.
        shared = min(shared, wanted.count - evaluation.logitRows)
        rewind(to: shared)
        let tokens = Array(wanted[shared...])
        let rows: [[Float]]
        do {
            rows = try model.evaluate(tokens.map(Int.init), allPositions: evaluation.logitRows > 1)
        } catch {
            // A failed chunk may have advanced the model part-way: forget it.
            model.rewind(to: mirror.tokens.count)
            throw error
        }
        mirror.tokens.append(contentsOf: tokens)
        return (Array(rows.suffix(evaluation.logitRows)), shared - evaluation.position)
    }

    private func rewind(to position: Int) {
        model.rewind(to: position)
        mirror.tokens.removeLast(max(0, mirror.tokens.count - position))
    }
}

/// The tokens a model's cache holds, as far as generation knows.
final class EvaluatedContext: @unchecked Sendable {
    var tokens: [Int32] = []
}
