import Foundation
import Testing
import LoomFormats
import LoomModel
import LoomRuntime
import LoomCore

@Suite struct ForwardPassTests {
    static let bound: Float = 1e-4

    func engine(_ golden: Golden, threads: Int = 2) throws -> Engine {
        try Engine(directory: golden.directory,
                   options: EngineOptions(maxSequenceLength: golden.tokens.count + 32, cacheType: .f32, threads: threads))
    }

    @Test func fixturesArePresent() {
        #expect(Golden.all.count >= 9, "expected the committed goldens in \(Golden.root)")
    }

    @Test(arguments: Golden.all)
    func allPositionLogitsMatchTransformers(_ golden: Golden) throws {
        let model = try engine(golden)
        let logits = try model.evaluate(golden.tokens, allPositions: true)
        #expect(logits.count == golden.tokens.count)
        for device in model.usage { #expect(device.peakBytes == device.plannedBytes, "\(golden.name): \(device.byLabel)") }
        let error = relativeMaxError(logits, golden.logits)
        #expect(error <= Self.bound, "\(golden.name): max|Δ|/max|ref| = \(error)")
    }

    @Test(arguments: Golden.all)
    func incrementalDecodingMatchesFullPass(_ golden: Golden) throws {
        let full = try engine(golden).evaluate(golden.tokens, allPositions: true)
        let stepwise = try engine(golden, threads: 1)
        var incremental: [[Float]] = []
        for token in golden.tokens { incremental += try stepwise.evaluate([token]) }
        let error = relativeMaxError(incremental, full)
        #expect(error <= Self.bound, "\(golden.name): incremental vs full \(error)")
        #expect(relativeMaxError(incremental, golden.logits) <= Self.bound)
    }

    @Test(arguments: Golden.all)
    func greedyContinuationIsIdentical(_ golden: Golden) throws {
        let model = try engine(golden)
        var last = try model.evaluate(golden.tokens)[0]
        var produced: [Int] = []
        for _ in 0..<golden.greedy.count {
            let next = argmax(last)
            produced.append(next)
            last = try model.evaluate([next])[0]
        }
        #expect(produced == golden.greedy, "\(golden.name)")
    }

    /// LongRoPE with a context within the original one takes the short factors: transformers'
    /// logits of the first original-context positions alone (the golden's logits-short.f32).
    @Test func longRopeWithinTheOriginalContextTakesTheShortFactors() throws {
        let golden = try #require(Golden.all.first { $0.name == "phi3-longrope-bf16" })
        let inputs = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: golden.directory + "/inputs.json"))) as! [String: Any]
        let short = inputs["short_factor_logits"] as! [String: Any]
        let tokens = (short["tokens"] as! [NSNumber]).map(\.intValue)
        let expected = float32Rows(try Data(contentsOf: URL(fileURLWithPath: golden.directory + "/logits-short.f32")), columns: golden.vocab)
        let within = try Engine(directory: golden.directory,
                                options: EngineOptions(maxSequenceLength: tokens.count, cacheType: .f32, threads: 2))
        let logits = try within.evaluate(tokens, allPositions: true)
        #expect(relativeMaxError(logits, expected) <= Self.bound)
        // The long factors give other logits there: the fixture tells the two apart.
        let beyond = try engine(golden).evaluate(tokens, allPositions: true)
        #expect(relativeMaxError(beyond, expected) > 100 * Self.bound)
    }

    @Test func chunkedPromptEqualsOneChunk() throws {
        let golden = try #require(Golden.all.first)
        let chunked = try Engine(directory: golden.directory,
                                 options: EngineOptions(maxSequenceLength: 64, chunkTokens: 5, cacheType: .f32, threads: 2))
        let logits = try chunked.evaluate(golden.tokens, allPositions: true)
        #expect(relativeMaxError(logits, golden.logits) <= Self.bound)
    }
}

@Suite struct EngineBadRequestTests {
    @Test func outOfRangeTokensAndOverlongPromptsAreTypedErrorsThatChangeNothing() throws {
        let golden = try #require(Golden.all.first)
        let engine = try Engine(directory: golden.directory, options: EngineOptions(maxSequenceLength: 16, cacheType: .f32, threads: 1))
        _ = try engine.evaluate([1, 2, 3])
        #expect(throws: ModelError.tokenOutOfRange(token: golden.vocab, vocabSize: golden.vocab)) {
            try engine.evaluate([4, golden.vocab])
        }
        #expect(throws: ModelError.tokenOutOfRange(token: -1, vocabSize: golden.vocab)) { try engine.evaluate([-1]) }
        #expect(throws: ModelError.contextFull(position: 3 + 14 - 1, capacity: 16)) {
            try engine.evaluate(Array(repeating: 1, count: 14))
        }
        #expect(engine.position == 3)
        // The cache still holds the first three tokens: continuing equals a fresh full pass.
        let continued = try engine.evaluate([4])[0]
        let fresh = try Engine(directory: golden.directory, options: EngineOptions(maxSequenceLength: 16, cacheType: .f32, threads: 1))
        // Batched and single-token kernels sum in different orders, so equal within rounding.
        #expect(relativeMaxError([continued], try fresh.evaluate([1, 2, 3, 4])) <= ForwardPassTests.bound)
    }

    @Test func unknownArchitectureAndMissingTensorAreNamed() throws {
        let golden = try #require(Golden.all.first { $0.name == "llama-gqa-f32" })
        let source = SafeTensorsWeightSource(archive: try SafeTensorsArchive(directory: golden.directory))
        var config = try ModelArchitectures.loadConfig(directory: golden.directory)
        config.qkNorm = true   // asks for q_norm/k_norm tensors the file does not have
        #expect(throws: SafeTensorsError.missingTensor(name: "model.layers.0.self_attn.q_norm.weight", searched: golden.directory)) {
            _ = try DecoderWeights.load(config: config, source: source) { _ in MemoryArena(name: "cpu0") }
        }
    }
}
