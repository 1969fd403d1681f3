import Foundation
import Testing
import LoomFormats
import LoomRuntime

/// The bytes a decode step reads (what `loom bench` divides by the read bandwidth), counted
/// against the GGUF file's own tensor table.
@Suite struct DecodeReadBytesTests {
    static let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Models/loom-demo/gguf/loom-demo-Q8_0.gguf").path

    @Test func aStepReadsEveryMatrixOnceAndTheCacheSoFar() throws {
        let file = try GGUFFile(path: Self.demo)
        let engine = try Engine(path: Self.demo, options: EngineOptions(maxSequenceLength: 64, chunkTokens: 16, cacheType: .fp16, threads: 1))
        let config = engine.config
        // Every two-dimensional tensor is a matrix a step multiplies by, except the embedding,
        // which a step reads one row of; a tied model multiplies by it again as its LM head.
        let matrices = file.tensors.filter { $0.dimensions.filter { $0 > 1 }.count == 2 }
        let embedding = try #require(matrices.first { $0.name == "token_embd.weight" })
        let hasOutput = matrices.contains { $0.name == "output.weight" }
        let expected = matrices.reduce(0) { $0 + $1.byteCount } - (hasOutput ? embedding.byteCount : 0)
        #expect(engine.decodeReadBytes(context: 0) == expected)
        // An fp16 cache holds a key and a value of kvWidth halves per layer for each token.
        let perToken = 2 * config.kvWidth * 2 * config.layerCount
        #expect(engine.decodeReadBytes(context: 40) - engine.decodeReadBytes(context: 0) == 40 * perToken)
    }
}
