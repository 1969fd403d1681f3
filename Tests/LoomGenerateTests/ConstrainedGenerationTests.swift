import Foundation
import Testing
import LoomRuntime
import LoomTokenizer
@testable import LoomGenerate

/// Generation under a grammar, on the demo model through the scheduler: 100 replies sampled at
/// temperature 1 per JSON Schema are all valid by Python's `jsonschema` 4.26.0
/// (tools/fixtures/jsonschema-oracle.py); replies end when the grammar is complete; speculation
/// and banned strings keep to the grammar and to the unconstrained run's rules.
@Suite(.serialized) struct ConstrainedGenerationTests {
    /// Bounded schemas (strings have a maxLength, arrays a maxItems), so a reply completes well
    /// within its token budget.
    static let schemas = [
        #"{"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer", "minimum": 0, "maximum": 150}, "city": {"enum": ["Jerusalem", "Babylon", "Egypt"]}}, "required": ["name", "age", "city"]}"#,
        #"{"type": "array", "items": {"type": "object", "properties": {"word": {"type": "string", "minLength": 1, "maxLength": 8}, "count": {"type": "integer", "minimum": 1, "maximum": 99}}, "required": ["word"], "additionalProperties": false}, "minItems": 1, "maxItems": 3}"#,
        #"{"type": "object", "properties": {"ok": {"type": "boolean"}, "tag": {"type": ["string", "null"], "maxLength": 6}, "id": {"type": "string", "format": "uuid"}}, "required": ["ok", "id"], "additionalProperties": false}"#,
        #"{"anyOf": [{"type": "integer", "minimum": -20, "maximum": 20}, {"type": "string", "pattern": "^[A-Z][a-z]{1,6}$"}]}"#,
    ]

    static func generator(parallel: Int) throws -> Generator {
        let path = BatchingTests.models[1]
        let files = try ModelFiles(path: path)
        let tokenizer = try Generator.loadTokenizer(files)
        let engine = try BatchingTests.engine(path, length: 512, parallel: parallel, chunk: 128)
        return try Generator(model: engine, tokenizer: tokenizer, endTokens: try StopTokens.of(files, tokenizer: tokenizer))
    }

    /// Texts and finish reasons of `prompt` generated once per options entry, all submitted together.
    static func replies(_ generator: Generator, prompt: String, _ options: [GenerationOptions]) throws -> [(String, FinishReason?)] {
        let texts = options.map { _ in Locked("") }
        let reasons = options.map { _ in Locked<FinishReason?>(nil) }
        let handles = try options.indices.map { i in
            try generator.submit(prompt: generator.encode(prompt), options: options[i]) { event in
                if case .text(let t) = event { texts[i].withLock { $0 += t } }
                if case .finished(let reason, _) = event { reasons[i].withLock { $0 = reason } }
            }
        }
        for handle in handles { try handle.wait() }
        return options.indices.map { (texts[$0].withLock { $0 }, reasons[$0].withLock { $0 }) }
    }

    @Test(.enabled(if: JSONSchemaGrammarTests.oracleAvailable, "needs .fixtures/venv-jsonschema (run tools/fixtures/fetch-jsonschema)"))
    func sampledRepliesValidateWithJsonschema() throws {
        let generator = try Self.generator(parallel: 16)
        var request: [[String: Any]] = []
        for (k, schema) in Self.schemas.enumerated() {
            let grammar = try Grammar.jsonSchema(schema)
            let options: [GenerationOptions] = (0..<100).map { i in
                var o = GenerationOptions(maxTokens: 400, sampling: SamplingParameters())
                o.sampling.temperature = 1
                o.sampling.seed = UInt64(1000 * k + i)
                o.grammar = grammar
                return o
            }
            let replies = try Self.replies(generator, prompt: "The answer, as JSON:", options)
            for (text, reason) in replies {
                #expect(reason == .stop, "schema \(k): a reply ran out of tokens before the grammar ended: \(text.debugDescription)")
                #expect(matches(grammar, text), "schema \(k): the reply is not in the grammar: \(text.debugDescription)")
            }
            request.append(["schema": schema, "instances": replies.map(\.0)])
        }
        let results = try JSONSchemaGrammarTests().runOracle(request)
        for (k, result) in results.enumerated() {
            #expect(result["schema_error"] is NSNull, "schema \(k) is not valid JSON Schema: \(String(describing: result["schema_error"]))")
            let instances = request[k]["instances"] as! [String]
            for entry in (result["invalid"] as! [[Any]]).prefix(5) {
                Issue.record("schema \(k): jsonschema rejects \(instances[entry[0] as! Int].debugDescription): \(entry[1])")
            }
        }
        let engine = generator.model as! Engine
        #expect(engine.pages.isConsistent())
    }

    /// Under a grammar, lookup proposals are verified as every other token: the tokens are the
    /// same with and without speculation, greedy and seeded.
    @Test func speculationKeepsToTheGrammar() throws {
        let grammar = try Grammar.jsonSchema(Self.schemas[1])
        for seed in [nil, 3] as [UInt64?] {
            var plain = SpeculationTests.options(seed: seed, lookup: false, maxTokens: 400)
            plain.grammar = grammar
            var speculative = plain
            speculative.speculation = .promptLookup(ngram: 2, maxDraft: 6)
            let prompt = #"[{"word": "light", "count": 3}, {"word": "dark", "count": 4}] and again: "#
            let generator = try Self.generator(parallel: 2)
            let both = try Self.replies(generator, prompt: prompt, [plain, speculative])
            #expect(both[0].0 == both[1].0, "seed \(String(describing: seed))")
            #expect(both[0].1 == .stop && matches(grammar, both[0].0), "\(both[0].0.debugDescription)")
        }
    }

    /// Through the scheduler, a draft model's proposals keep to the grammar too (the demo's Q8_0
    /// file drafting for its bf16 weights, four requests sharing the draft's passes): greedy
    /// replies are token for token those without the draft, sampled ones (drafts drawn over the
    /// allowed tokens, kept by the standard test) are in the grammar, and proposals are made
    /// and mostly kept.
    @Test func draftProposalsKeepToTheGrammar() throws {
        let grammar = try Grammar.jsonSchema(Self.schemas[0])
        let target = try SpeculationTests.generator(BatchingTests.models[0], parallel: 4)
        let engine = target.model as! Engine
        let draftEngine = try Engine(path: BatchingTests.models[1], options: EngineOptions(maxSequenceLength: 512, chunkTokens: 64, threads: 2, parallel: 4),
                                     pool: engine.pool)
        let draft = try DraftModel(engine: draftEngine, targetVocabularySize: engine.config.vocabSize)
        let prompt = "The answer, as JSON:"
        let plain = [nil, nil, 5, 6].map { (seed: UInt64?) -> GenerationOptions in
            var o = SpeculationTests.options(seed: seed, lookup: false, maxTokens: 200)
            o.grammar = grammar
            return o
        }
        let drafted = plain.map { o -> GenerationOptions in
            var o = o
            o.speculation = .draftModel(draft, maxDraft: 4, draftCost: 0.1)
            o.speculation?.adaptive = false
            return o
        }
        let expected = try SpeculationTests.collect(try SpeculationTests.generator(BatchingTests.models[0]), [prompt], [plain[0]])[0]
        let results = try SpeculationTests.collect(target, Array(repeating: prompt, count: 4), drafted)
        let tokenizer = target.tokenizer
        #expect(results[0].0 == expected.0 && results[1].0 == expected.0)
        for (tokens, timings) in results {
            let text = tokenizer.decode(tokens)
            #expect(matches(grammar, text), "\(text.debugDescription)")
            #expect(timings.proposedTokens > 0 && timings.acceptedTokens * 2 > timings.proposedTokens, "\(timings)")
        }
        #expect(engine.pages.isConsistent() && draftEngine.pages.isConsistent())
    }

    /// A banned string rewinds the grammar's state with the text: the reply still matches.
    @Test func bannedStringsRewindTheGrammar() throws {
        let grammar = try Grammar.regex("(the|a|and|light|dark|[ ,.])+")
        var options = GenerationOptions(maxTokens: 40, sampling: SamplingParameters())
        options.sampling.seed = 9
        options.grammar = grammar
        options.bannedStrings = ["the the", "light"]
        let (text, _) = try Self.replies(try Self.generator(parallel: 1), prompt: "In the beginning", [options])[0]
        #expect(!text.isEmpty)
        var matcher = GrammarMatcher(grammar)
        let inGrammar = matcher.accept(Array(text.utf8))
        #expect(inGrammar, "every released byte is in the grammar: \(text.debugDescription)")
        #expect(!text.contains("the the") && !text.contains("light"))
    }

    /// A grammar whose only continuations are banned is a typed error, not a hang.
    @Test func aGrammarWithNothingLeftIsAnError() throws {
        var options = GenerationOptions(maxTokens: 8, sampling: .greedy)
        options.grammar = try Grammar.regex("ab")
        options.bannedStrings = ["a"]
        options.maxRewinds = 4
        let generator = try Self.generator(parallel: 1)
        let handle = try generator.submit(prompt: generator.encode("x"), options: options) { _ in }
        #expect(throws: GenerationError.self) { try handle.wait() }
    }
}
