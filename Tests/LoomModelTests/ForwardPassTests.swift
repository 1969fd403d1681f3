import Testing
import LoomFormats
import LoomModel
import LoomRuntime

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
        let logits = try engine(golden).evaluate(golden.tokens, allPositions: true)
        #expect(logits.count == golden.tokens.count)
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

    @Test func chunkedPromptEqualsOneChunk() throws {
        let golden = try #require(Golden.all.first)
        let chunked = try Engine(directory: golden.directory,
                                 options: EngineOptions(maxSequenceLength: 64, maxBatch: 5, cacheType: .f32, threads: 2))
        let logits = try chunked.evaluate(golden.tokens, allPositions: true)
        #expect(relativeMaxError(logits, golden.logits) <= Self.bound)
    }
}
