import Foundation
import Testing
import LoomRuntime
import LoomTokenizer
@testable import LoomGenerate

/// Speculative decoding with prompt lookup: proposals are verified by sampling the model's own
/// token at each row, so the tokens are those of a run without speculation — greedy and seeded,
/// through the scheduler and the single-sequence driver, alone and among other requests — while
/// fewer passes are run. Sampled tokens follow the model's distribution (chi-square).
@Suite(.serialized) struct SpeculationTests {
    /// A sentence said four times, the fifth begun: the demo model goes on repeating what it has
    /// read (greedy: 25 of 27 lookup proposals accepted; at temperature 0.9 a few), which prompt
    /// lookup proposes.
    static let repetitive = "And he said, Let there be light. And he said, Let there be light. "
        + "And he said, Let there be light. And he said, Let there be light. And he said,"

    static func generator(_ path: String, parallel: Int = 1, chunk: Int = 64) throws -> Generator {
        let files = try ModelFiles(path: path)
        let tokenizer = try Generator.loadTokenizer(files)
        let engine = try BatchingTests.engine(path, length: 512, parallel: parallel, chunk: chunk)
        return try Generator(model: engine, tokenizer: tokenizer, endTokens: try StopTokens.of(files, tokenizer: tokenizer))
    }

    static func options(seed: UInt64?, lookup: Bool, maxTokens: Int = 48) -> GenerationOptions {
        var options = GenerationOptions(maxTokens: maxTokens, sampling: seed == nil ? .greedy : SamplingParameters())
        if let seed { options.sampling.seed = seed; options.sampling.temperature = 0.9 }
        options.stopAtModelEndTokens = false
        if lookup { options.speculation = .promptLookup(ngram: 3, maxDraft: 6) }
        return options
    }

    /// Tokens and timings of `prompts` submitted together.
    static func collect(_ generator: Generator, _ prompts: [String], _ options: [GenerationOptions]) throws -> [([Int32], GenerationTimings)] {
        let tokens = prompts.map { _ in LockedTokens() }
        let timings = prompts.map { _ in Locked(GenerationTimings()) }
        let handles = try prompts.indices.map { i in
            try generator.submit(prompt: generator.encode(prompts[i]), options: options[i]) { event in
                if case .token(let t) = event { tokens[i].append(t.id) }
                if case .finished(_, let t) = event { timings[i].withLock { $0 = t } }
            }
        }
        for handle in handles { try handle.wait() }
        return prompts.indices.map { (tokens[$0].tokens, timings[$0].withLock { $0 }) }
    }

    @Test func lookupProposesWhatFollowedTheLastMatch() {
        // The last two tokens, 7 8, occurred twice before; the later occurrence is followed by 5 6.
        let context: [Int32] = [7, 8, 1, 2, 7, 8, 5, 6, 9, 7, 8]
        #expect(PromptLookup.propose(after: context, maxNgram: 2, minNgram: 1, limit: 3)?.tokens ?? [] == [5, 6, 9])
        #expect(PromptLookup.propose(after: context, maxNgram: 2, minNgram: 1, limit: 1)?.tokens ?? [] == [5])
        #expect(PromptLookup.propose(after: context, maxNgram: 2, minNgram: 1, limit: 3)?.evidence == 2)
        // No earlier 3-gram 9 7 8: falls back to the 2-gram.
        #expect(PromptLookup.propose(after: context, maxNgram: 3, minNgram: 2, limit: 2)?.tokens ?? [] == [5, 6])
        // A token seen once has nothing to propose.
        #expect(PromptLookup.propose(after: [1, 2, 3], maxNgram: 3, minNgram: 1, limit: 4)?.tokens ?? [] == [])
        // A run of one token overlaps its own match and proposes more of it.
        #expect(PromptLookup.propose(after: [4, 4, 4, 4], maxNgram: 3, minNgram: 1, limit: 4)?.tokens ?? [] == [4])
        #expect(PromptLookup.propose(after: [3, 1, 2, 1, 2, 1, 2], maxNgram: 2, minNgram: 2, limit: 4)?.tokens ?? [] == [1, 2])
    }

    /// Greedy and seeded tokens through the scheduler are those of a run without lookup, with
    /// fewer passes, on both kernel families.
    @Test(arguments: BatchingTests.models)
    func tokensAreUnchangedAndPassesFewer(_ path: String) throws {
        for seed in [nil, 11] as [UInt64?] {
            let plain = try Self.generator(path)
            let (expected, _) = try Self.collect(plain, [Self.repetitive], [Self.options(seed: seed, lookup: false)])[0]
            let speculative = try Self.generator(path)
            let (tokens, timings) = try Self.collect(speculative, [Self.repetitive], [Self.options(seed: seed, lookup: true)])[0]
            #expect(tokens == expected, "seed \(String(describing: seed)), \(path)")
            #expect(tokens.count == 48)
            #expect(timings.proposedTokens > 0 && timings.acceptedTokens > 0, "\(timings)")
            #expect(timings.acceptedTokens <= timings.proposedTokens)
            if seed == nil {
                #expect(speculative.scheduler!.passes < plain.scheduler!.passes,
                        "\(speculative.scheduler!.passes) passes with lookup, \(plain.scheduler!.passes) without")
            }
            let engine = speculative.model as! Engine
            #expect(engine.pages.isConsistent())
            #expect(engine.pages.referencedPageCount <= 1, "only the default sequence's pages")
        }
    }

    /// The single-sequence driver (`makeRun`/`next`) verifies proposals in one evaluation too.
    @Test func driverRunsVerifyProposals() throws {
        let generator = try Self.generator(BatchingTests.models[0])
        func run(_ options: GenerationOptions) throws -> ([Int32], GenerationTimings) {
            let run = try generator.makeRun(prompt: generator.encode(Self.repetitive), options: options)
            var tokens: [Int32] = []
            var timings = GenerationTimings()
            while !run.isFinished {
                for event in try run.next() {
                    if case .token(let t) = event { tokens.append(t.id) }
                    if case .finished(_, let t) = event { timings = t }
                }
            }
            return (tokens, timings)
        }
        for seed in [nil, 5] as [UInt64?] {
            let (expected, _) = try run(Self.options(seed: seed, lookup: false))
            var speculative = Self.options(seed: seed, lookup: true)
            speculative.speculation?.adaptive = false
            let (tokens, timings) = try run(speculative)
            #expect(tokens == expected)
            #expect(timings.acceptedTokens > 0)
        }
    }

    /// Eight requests with lookup running together, some greedy and some seeded, get the tokens
    /// each gets alone without lookup; a small pass budget drops proposals that do not fit.
    @Test func requestsWithLookupAmongOthersMatchEachAloneWithout() throws {
        let path = BatchingTests.models[1]
        let others = ["The people of the city", "And the word of the Lord came"]
        let prompts: [String] = (0..<8).map { (i: Int) -> String in i % 2 == 0 ? Self.repetitive : others[(i % 4) / 2] }
        let options: [GenerationOptions] = (0..<8).map { (i: Int) -> GenerationOptions in
            Self.options(seed: i % 3 == 0 ? nil : UInt64(i), lookup: i % 4 != 3, maxTokens: 32)
        }
        let together = try Self.generator(path, parallel: 8, chunk: 24)
        let all = try Self.collect(together, prompts, options)
        let alone = try Self.generator(path)
        for i in 0..<8 {
            var plain = options[i]
            plain.speculation = nil
            let (expected, _) = try Self.collect(alone, [prompts[i]], [plain])[0]
            #expect(all[i].0 == expected, "request \(i)")
        }
        #expect(all.map { (result: ([Int32], GenerationTimings)) in result.1.acceptedTokens }.reduce(0, +) > 0)
        let engine = together.model as! Engine
        #expect(engine.pages.isConsistent())
        #expect(engine.pages.referencedPageCount <= 1)
    }

    /// Banned strings rewind a run in the middle of accepted proposals; the text is still that
    /// of a run without lookup.
    @Test func bannedStringRewindsThroughProposals() throws {
        let path = BatchingTests.models[0]
        var plain = Self.options(seed: nil, lookup: false)
        plain.bannedStrings = [" light"]
        var speculative = plain
        speculative.speculation = .promptLookup()
        let (expected, _) = try Self.collect(try Self.generator(path), [Self.repetitive], [plain])[0]
        let (tokens, timings) = try Self.collect(try Self.generator(path), [Self.repetitive], [speculative])[0]
        #expect(tokens == expected)
        #expect(timings.proposedTokens > 0)
    }

    /// Sampled tokens follow the model's distribution when proposals are often wrong: a
    /// stand-in model gives every position the same three-token distribution, the prompt makes
    /// lookup propose on every step, and the draws are tested against it by chi-square.
    @Test func sampledTokensFollowTheModelsDistribution() throws {
        let probabilities: [Double] = [0.5, 0.3, 0.2]
        let model = FixedDistributionModel(probabilities: probabilities)
        let generator = try Generator(model: model, tokenizer: ByteTokenizer.shared, endTokens: [])
        var parameters = SamplingParameters.untruncated
        var counts = [Int](repeating: 0, count: 3)
        var proposed = 0, accepted = 0
        for seed in 0..<60 {
            parameters.seed = UInt64(seed)
            var options = GenerationOptions(maxTokens: 40, sampling: parameters)
            // Every proposal sent, so that many are rejected.
            options.speculation = .promptLookup(ngram: 2, maxDraft: 4, adaptive: false)
            let run = try generator.makeRun(prompt: [0, 1, 0, 2, 0, 1, 1, 0], options: options)
            while !run.isFinished {
                for event in try run.next() {
                    if case .token(let t) = event { counts[Int(t.id)] += 1 }
                    if case .finished(_, let t) = event { proposed += t.proposedTokens; accepted += t.acceptedTokens }
                }
            }
        }
        let draws = Double(counts.reduce(0, +))
        #expect(draws == 60 * 40)
        let chi2 = zip(counts, probabilities).reduce(0.0) { sum, pair in
            let expected = pair.1 * draws
            return sum + (Double(pair.0) - expected) * (Double(pair.0) - expected) / expected
        }
        // 2 degrees of freedom, p = 0.001.
        #expect(chi2 < 13.82, "chi-square \(chi2), counts \(counts)")
        // Proposals were made and were often wrong, so the scheme was exercised both ways.
        #expect(proposed > 1000 && accepted > 200 && accepted < proposed - 200, "\(accepted) of \(proposed) accepted")
    }

    /// Where proposals are seldom right, the adaptive length stops sending them (its unsent
    /// proposals keep the estimate current); sending every proposal would make most rows waste.
    @Test func adaptiveLookupStopsProposingWhenProposalsAreWrong() throws {
        let generator = try Generator(model: FixedDistributionModel(probabilities: [0.2, 0.2, 0.2, 0.2, 0.2]), tokenizer: ByteTokenizer.shared, endTokens: [])
        func proposed(adaptive: Bool) throws -> Int {
            var parameters = SamplingParameters.untruncated
            parameters.seed = 4
            var options = GenerationOptions(maxTokens: 400, sampling: parameters)
            options.speculation = .promptLookup(ngram: 2, maxDraft: 4, adaptive: adaptive)
            let run = try generator.makeRun(prompt: [0, 1, 2, 3, 4, 0, 1, 2, 3, 4], options: options)
            var count = 0
            while !run.isFinished {
                for event in try run.next() { if case .finished(_, let t) = event { count = t.proposedTokens } }
            }
            return count
        }
        let all = try proposed(adaptive: false), adaptive = try proposed(adaptive: true)
        #expect(all > 400, "\(all) proposals sent without adaptation")
        #expect(adaptive < 40, "\(adaptive) proposals sent with adaptation")
        // The yield model: a proposal right half the time is worth one row at the default cost;
        // one right a third of the time is not; one almost always right is worth several.
        let lookup = Speculation.promptLookup()
        #expect(lookup.draftLength(acceptance: 0.5, available: 8) == 1)
        #expect(lookup.draftLength(acceptance: 0.33, available: 8) == 0)
        #expect(lookup.draftLength(acceptance: 0.95, available: 8) >= 5)
        // A draft pass half a target pass: one proposal right 70% of the time costs more than it
        // yields for a generation drafting alone (1.7 / 1.87 tokens per pass), not for one of four
        // sharing the draft's passes (1.7 / 1.495).
        var drafted = Speculation.promptLookup()
        drafted.draftCost = 0.5
        #expect(drafted.draftLength(acceptance: 0.7, available: 8) == 0)
        #expect(drafted.draftLength(acceptance: 0.7, available: 8, sharers: 4) >= 1)
    }

    /// A draft model (the demo's Q8_0 file drafting for its bf16 weights, on the target's
    /// threads) proposes its greedy tokens; through the scheduler, four requests at once, greedy
    /// and seeded, the tokens are those without a draft, and both engines' pages are released.
    /// The four requests' proposals share the draft's passes: one pass per proposal depth
    /// carries every request, where drafting each request alone takes a pass per proposal.
    @Test func draftModelProposalsLeaveTheTokensUnchanged() throws {
        let target = try Self.generator(BatchingTests.models[0], parallel: 4)
        let engine = target.model as! Engine
        let draftEngine = try Engine(path: BatchingTests.models[1], options: EngineOptions(maxSequenceLength: 512, chunkTokens: 64, threads: 2, parallel: 4),
                                     pool: engine.pool)
        let counted = CountingBatchModel(draftEngine)
        let draft = try DraftModel(engine: counted, targetVocabularySize: engine.config.vocabSize)
        let prompts = [Self.repetitive, "The people of the city", Self.repetitive, "And the word of the Lord came"]
        let plain = (0..<4).map { _ in Self.options(seed: nil, lookup: false) }
        let drafted = plain.map { o -> GenerationOptions in
            var o = o
            o.speculation = .draftModel(draft, maxDraft: 4, draftCost: 0.1)
            o.speculation?.adaptive = false
            return o
        }
        let expected = try Self.collect(try Self.generator(BatchingTests.models[0]), prompts, plain)
        let results = try Self.collect(target, prompts, drafted)
        for i in 0..<4 { #expect(results[i].0 == expected[i].0, "request \(i)") }
        #expect(results[0].1.acceptedTokens > 0 && results[0].1.proposedTokens >= results[0].1.acceptedTokens)
        let proposed = results.reduce(0) { $0 + $1.1.proposedTokens }
        #expect(counted.widestPass == 4, "no draft pass carried all four requests")
        #expect(counted.passes * 2 < proposed, "\(counted.passes) draft passes for \(proposed) proposals")
        for pages in [engine.pages, draftEngine.pages] {
            #expect(pages.isConsistent())
            #expect(pages.referencedPageCount <= 1, "only the default sequence's pages")
        }
        // Sampled requests draw the draft's proposals too: the same seed gives the same tokens again.
        var seeded = Self.options(seed: 21, lookup: false)
        seeded.speculation = .draftModel(draft, maxDraft: 4, draftCost: 0.1)
        let twice = try Self.collect(target, [prompts[1], prompts[1]], [seeded, seeded])
        #expect(twice[0].0 == twice[1].0 && twice[0].0.count == 48)
        #expect(twice[0].1.proposedTokens > 0)
        #expect(throws: GenerationError.self) { _ = try DraftModel(engine: draftEngine, targetVocabularySize: 999) }
        #expect(try draft.passCost(comparedTo: engine) > 0)
    }

    /// Sampled drafts follow the standard scheme: a draft whose distribution q differs from the
    /// model's p proposes, each proposal is kept with probability min(1, p/q) and otherwise
    /// replaced from normalize(max(0, p − q)), and the tokens follow p (chi-square), accepted
    /// as often as the theory says.
    @Test func sampledDraftProposalsFollowTheModelsDistribution() throws {
        let p: [Double] = [0.5, 0.3, 0.2], q: [Double] = [0.2, 0.3, 0.5]
        let generator = try Generator(model: FixedDistributionModel(probabilities: p), tokenizer: ByteTokenizer.shared, endTokens: [])
        let draft = try DraftModel(engine: FixedDistributionBatchModel(probabilities: q), targetVocabularySize: 257)
        var counts = [Int](repeating: 0, count: 3)
        var proposed = 0, accepted = 0
        for seed in 0..<80 {
            var parameters = SamplingParameters.untruncated
            parameters.seed = UInt64(seed)
            var options = GenerationOptions(maxTokens: 40, sampling: parameters)
            options.speculation = .draftModel(draft, maxDraft: 3, draftCost: 0)
            options.speculation?.adaptive = false
            let run = try generator.makeRun(prompt: [0, 1, 2], options: options)
            while !run.isFinished {
                for event in try run.next() {
                    if case .token(let t) = event { counts[Int(t.id)] += 1 }
                    if case .finished(_, let t) = event { proposed += t.proposedTokens; accepted += t.acceptedTokens }
                }
            }
        }
        let draws = Double(counts.reduce(0, +))
        #expect(draws == 80 * 40)
        func chiSquare(_ expected: [Double]) -> Double {
            zip(counts, expected).reduce(0.0) { sum, pair in
                let e = pair.1 * draws
                return sum + (Double(pair.0) - e) * (Double(pair.0) - e) / e
            }
        }
        // 2 degrees of freedom, p = 0.001; the draft's own distribution must be rejected.
        #expect(chiSquare(p) < 13.82, "chi-square \(chiSquare(p)) against the model, counts \(counts)")
        #expect(chiSquare(q) > 13.82, "the draws look like the draft's distribution: \(counts)")
        let rate = Double(accepted) / Double(max(1, proposed))
        #expect(proposed > 1000, "\(proposed) proposals")
        // Each proposal is kept with probability a = Σ min(p, q) = 0.7 once the ones before it
        // were; of 3 proposals a pass keeps a + a² + a³ = 1.533 on average, 0.511 of them.
        #expect(rate > 0.46 && rate < 0.56, "\(accepted) of \(proposed) accepted, counts \(counts)")
    }

    /// A generator whose model gives a 0.5, b 0.3, c 0.2 at every position, and a draft that gives
    /// them `draft`.
    static func lettersModel(draft: [Double]) throws -> (Generator, DraftModel) {
        let a = Int(UInt8(ascii: "a"))
        let generator = try Generator(model: FixedDistributionModel(probabilities: [0.5, 0.3, 0.2], firstID: a),
                                      tokenizer: ByteTokenizer.shared, endTokens: [])
        return (generator, try DraftModel(engine: FixedDistributionBatchModel(probabilities: draft, firstID: a), targetVocabularySize: 257))
    }

    /// Under a grammar, sampled drafts are drawn from the draft's distribution over the tokens the
    /// grammar allows and verified against the distribution of the constrained sampler's own
    /// choice, which truncation makes differ from "mask, then sample". The model gives a 0.5,
    /// b 0.3, c 0.2 and the grammar allows b and c; with top-k 2 the sampler keeps a and b
    /// (0.625, 0.375), takes b when it draws b, and otherwise draws top-2 over b and c alone
    /// (0.6, 0.4): b 0.375 + 0.625 × 0.6 = 0.75, c 0.25. Runs without a draft and with one both
    /// follow that (chi-square), and neither follows the masked distribution (0.6, 0.4).
    @Test func sampledDraftsUnderAGrammarFollowTheConstrainedDistribution() throws {
        let a = Int(UInt8(ascii: "a"))
        // The draft over b and c after top-2: 0.3 / 0.8, 0.5 / 0.8.
        let (generator, draft) = try Self.lettersModel(draft: [0.2, 0.3, 0.5])
        let grammar = try Grammar.regex("[bc]+")
        func run(drafted: Bool) throws -> (counts: [Int], proposed: Int, accepted: Int) {
            var counts = [0, 0], proposed = 0, accepted = 0
            for seed in 0..<80 {
                var parameters = SamplingParameters.untruncated
                parameters.topK = 2
                parameters.seed = UInt64(seed)
                var options = GenerationOptions(maxTokens: 40, sampling: parameters)
                options.grammar = grammar
                if drafted {
                    options.speculation = .draftModel(draft, maxDraft: 3, draftCost: 0)
                    options.speculation?.adaptive = false
                }
                let run = try generator.makeRun(prompt: ByteTokenizer.ids("bc"), options: options)
                while !run.isFinished {
                    for event in try run.next() {
                        if case .token(let t) = event { counts[Int(t.id) - a - 1] += 1 }
                        if case .finished(_, let t) = event { proposed += t.proposedTokens; accepted += t.acceptedTokens }
                    }
                }
            }
            return (counts, proposed, accepted)
        }
        func chiSquare(_ counts: [Int], _ expected: [Double]) -> Double {
            let draws = Double(counts.reduce(0, +))
            return zip(counts, expected).reduce(0.0) { sum, pair in
                let e = pair.1 * draws
                return sum + (Double(pair.0) - e) * (Double(pair.0) - e) / e
            }
        }
        for drafted in [false, true] {
            let (counts, proposed, accepted) = try run(drafted: drafted)
            #expect(counts.reduce(0, +) == 80 * 40)
            // 1 degree of freedom, p = 0.001.
            #expect(chiSquare(counts, [0.75, 0.25]) < 10.83, "drafted \(drafted): counts \(counts)")
            #expect(chiSquare(counts, [0.6, 0.4]) > 10.83, "drafted \(drafted): the draws look masked, then sampled: \(counts)")
            guard drafted else { continue }
            // Kept with probability Σ min(p, q) = 0.375 + 0.25 = 0.625 once the ones before were;
            // of 3 proposals a pass keeps 0.625 + 0.625² + 0.625³ = 1.26, 0.42 of them.
            let rate = Double(accepted) / Double(max(1, proposed))
            #expect(proposed > 1000 && rate > 0.37 && rate < 0.47, "\(accepted) of \(proposed) accepted")
        }
    }

    /// Proposals keep to the grammar: under "(bc)+" one token is allowed at each step, so every
    /// proposal that keeps to it is the model's choice. A greedy draft whose favourite (a) the
    /// grammar refuses proposes the allowed token instead, and lookup cuts its proposal at the
    /// first refused token ("…a b" is followed by "c a b" in the prompt; the grammar takes only
    /// the c): every proposal is kept.
    @Test func proposalsKeepToTheGrammar() throws {
        let (generator, draft) = try Self.lettersModel(draft: [0.6, 0.3, 0.1])
        let grammar = try Grammar.regex("(bc)+")
        for speculation in [Speculation.draftModel(draft, maxDraft: 3, draftCost: 0), .promptLookup(ngram: 2, maxDraft: 4)] {
            var options = GenerationOptions(maxTokens: 24, sampling: .greedy)
            options.grammar = grammar
            options.speculation = speculation
            options.speculation?.adaptive = false
            let run = try generator.makeRun(prompt: ByteTokenizer.ids("bcabca"), options: options)
            var tokens: [Int32] = [], timings = GenerationTimings()
            while !run.isFinished {
                for event in try run.next() {
                    if case .token(let t) = event { tokens.append(t.id) }
                    if case .finished(_, let t) = event { timings = t }
                }
            }
            #expect(tokens == ByteTokenizer.ids(String(repeating: "bc", count: 12)), "\(speculation.source)")
            #expect(timings.proposedTokens > 4 && timings.acceptedTokens == timings.proposedTokens, "\(speculation.source): \(timings)")
        }
    }

    /// Measured pass costs decide the proposal length: interpolated between measured widths and
    /// extended along the last slope, never falling; where an extra row costs nearly a whole
    /// pass, a proposal right half the time is not worth sending (one right 95% of the time, one
    /// at a time), and a cheap row makes several worth it. Measured on a real engine, they start at one plain pass and do not fall.
    @Test func measuredPassCostsDecideTheProposalLength() throws {
        let costs = PassCosts(points: [(1, 1.5), (2, 1.4), (4, 2.5)])
        #expect(costs.points.map(\.cost) == [1, 1.5, 1.5, 2.5])
        #expect(costs.cost(proposals: 3) == 2.0 && costs.cost(proposals: 6) == 3.5 && costs.cost(proposals: 0) == 1)
        var lookup = Speculation.promptLookup()
        lookup.passCosts = PassCosts(points: [(1, 1.9), (8, 8.2)])
        #expect(lookup.draftLength(acceptance: 0.5, available: 8) == 0)
        #expect(lookup.draftLength(acceptance: 0.95, available: 8) == 1)
        lookup.passCosts = PassCosts(points: [(1, 1.05), (8, 1.4)])
        #expect(lookup.draftLength(acceptance: 0.5, available: 8) >= 1)
        #expect(lookup.draftLength(acceptance: 0.95, available: 8) == 8)

        let generator = try Self.generator(BatchingTests.models[1])
        try generator.measureSpeculationCosts(maxProposals: 4)
        let measured = try #require(generator.speculationPassCosts)
        #expect(measured.points.map(\.proposals) == [0, 1, 2, 4])
        #expect(measured.points[0].cost == 1 && zip(measured.points, measured.points.dropFirst()).allSatisfy { $0.cost <= $1.cost }, "\(measured.points)")
        let engine = generator.model as! Engine
        #expect(engine.pages.referencedPageCount <= 1, "the scratch sequence's pages are freed")
        // A request brings the generator's figures unless it has its own.
        let run = try generator.makeRun(prompt: [1, 2, 3], options: Self.options(seed: nil, lookup: true))
        #expect(run.options.speculation?.passCosts == measured)
        _ = run.finishCancelled()
        var own = Self.options(seed: nil, lookup: true)
        own.speculation?.passCosts = PassCosts(points: [(1, 3)])
        let ownRun = try generator.makeRun(prompt: [1, 2, 3], options: own)
        #expect(ownRun.options.speculation?.passCosts == own.speculation?.passCosts)
        _ = ownRun.finishCancelled()
    }

    @Test func badSpeculationOptionsAreNamed() throws {
        let generator = try Generator(model: FixedDistributionModel(probabilities: [1]), tokenizer: ByteTokenizer.shared, endTokens: [])
        var options = GenerationOptions()
        options.speculation = .promptLookup(ngram: 3, maxDraft: 0)
        #expect(throws: GenerationError.invalidOption(name: "draftMax", reason: "must be from 1 to 64, got 0")) {
            _ = try generator.makeRun(prompt: [1], options: options)
        }
        options.speculation = Speculation(source: .promptLookup(maxNgram: 1, minNgram: 2))
        #expect(throws: GenerationError.self) { _ = try generator.makeRun(prompt: [1], options: options) }
    }
}

/// The same stand-in as a paged, batched model (a draft for the scheduler's and the driver's
/// runs): every row of every sequence is the distribution, whatever came before.
/// Another model's passes, counted: how many, and the most sequences one carried.
final class CountingBatchModel: BatchEvaluator, @unchecked Sendable {
    let base: any BatchEvaluator
    private(set) var passes = 0
    private(set) var widestPass = 0
    init(_ base: any BatchEvaluator) { self.base = base }
    var vocabularySize: Int { base.vocabularySize }
    var capacity: Int { base.capacity }
    var chunkTokens: Int { base.chunkTokens }
    var pages: PagePool { base.pages }
    func createSequence(cacheSalt: String?) -> SequenceID { base.createSequence(cacheSalt: cacheSalt) }
    func mapCachedPrefix(_ id: SequenceID, prompt: [Int]) throws -> Int { try base.mapCachedPrefix(id, prompt: prompt) }
    func truncate(_ id: SequenceID, to length: Int) throws { try base.truncate(id, to: length) }
    func free(_ id: SequenceID) { base.free(id) }
    func length(_ id: SequenceID) throws -> Int { try base.length(id) }
    func forward(_ chunks: [SequenceChunk]) throws -> [[[Float]]] {
        passes += 1
        widestPass = max(widestPass, chunks.count)
        return try base.forward(chunks)
    }
}

final class FixedDistributionBatchModel: BatchEvaluator, @unchecked Sendable {
    let row: [Float]
    let vocabularySize = 257
    let capacity = 4096
    let chunkTokens = 64
    let pages = PagePool(pageTokens: 16, pageCount: 64, maxSequenceLength: 4096)
    private var lengths: [SequenceID: Int] = [:]
    private var next = 0

    init(probabilities: [Double], firstID: Int = 0) { row = FixedDistributionModel(probabilities: probabilities, firstID: firstID).row }

    func createSequence(cacheSalt: String?) -> SequenceID {
        next += 1
        lengths[SequenceID(next)] = 0
        return SequenceID(next)
    }
    func mapCachedPrefix(_ id: SequenceID, prompt: [Int]) throws -> Int { 0 }
    func truncate(_ id: SequenceID, to length: Int) throws { lengths[id] = min(lengths[id] ?? 0, length) }
    func free(_ id: SequenceID) { lengths[id] = nil }
    func length(_ id: SequenceID) throws -> Int { lengths[id] ?? 0 }
    func forward(_ chunks: [SequenceChunk]) throws -> [[[Float]]] {
        chunks.map { chunk in
            lengths[chunk.sequence, default: 0] += chunk.tokens.count
            switch chunk.logits {
            case .none: return []
            case .last: return [row]
            case .all: return [[Float]](repeating: row, count: chunk.tokens.count)
            }
        }
    }
}

/// A stand-in model whose every row is the same distribution over ids `firstID`, `firstID` + 1, …
/// (log-probability logits; other ids far below), whatever the context; it answers every
/// position when asked.
final class FixedDistributionModel: TokenEvaluator, @unchecked Sendable {
    let row: [Float]
    let vocabularySize = 257
    let capacity = 4096
    private(set) var position = 0

    init(probabilities: [Double], firstID: Int = 0) {
        var row = [Float](repeating: -60, count: vocabularySize)
        for (k, p) in probabilities.enumerated() { row[firstID + k] = Float(log(p)) }
        self.row = row
    }

    func evaluate(_ tokens: [Int], allPositions: Bool) throws -> [[Float]] {
        position += tokens.count
        return [[Float]](repeating: row, count: allPositions ? tokens.count : 1)
    }

    func rewind(to position: Int) { self.position = min(self.position, position) }
}

extension SamplingParameters {
    /// Temperature 1 and no truncation: draws follow the softmax of the logits exactly.
    static var untruncated: SamplingParameters {
        var parameters = SamplingParameters()
        parameters.temperature = 1
        parameters.topK = 0
        parameters.topP = 1
        parameters.minP = 0
        return parameters
    }
}
