import Foundation
@testable import LoomRuntime
import LoomTokenizer
import Testing

/// `Engine.saveBaseLogProbs` / `klDivergence` against llama-perplexity's --kl-divergence-base and
/// --kl-divergence. The oracle (`Fixtures/llamacpp-kld.json`) is tools/quant/make-llamacpp-fixtures.sh:
/// llama.cpp from the llama-cpp-python 0.3.36 sdist, the F16 demo model as the base, -c 128,
/// 4 chunks of Models/loom-demo/eval.txt, then the Q8_0 file compared against it.
@Suite struct KLDivergenceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let model = root.appendingPathComponent("Models/loom-demo")

    struct Oracle: Decodable {
        let ctx: Int
        let chunks: Int
        let tokens: [Int]
        let base_perplexity: Double
        let q8_0_perplexity: Double
        let q8_0_base_perplexity: Double
        let q8_0_mean_kld: Double
        let q8_0_same_top_percent: Double
    }

    static func oracle() throws -> Oracle {
        let data = try Data(contentsOf: root.appendingPathComponent("Tests/LoomPerplexityTests/Fixtures/llamacpp-kld.json"))
        return try JSONDecoder().decode(Oracle.self, from: data)
    }

    static func engine(_ file: String, context: Int) throws -> Engine {
        try Engine(path: model.appendingPathComponent(file).path,
                   options: EngineOptions(maxSequenceLength: context, chunkTokens: context, threads: 2, logitsRows: 64))
    }

    /// Writes the F16 model's base the way the oracle's was made; returns its path.
    static func base(_ oracle: Oracle) throws -> (path: String, result: PerplexityResult) {
        let text = try String(contentsOf: model.appendingPathComponent("eval.txt"), encoding: .utf8)
        let ids = try Tokenizer(ggufFile: model.appendingPathComponent("gguf/loom-demo-F16.gguf").path).encode(text).map(Int.init)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("loom-kld-\(getpid())-\(UUID().uuidString).bin").path
        let result = try engine("gguf/loom-demo-F16.gguf", context: oracle.ctx)
            .saveBaseLogProbs(tokens: ids, context: oracle.ctx, bos: nil, maxChunks: oracle.chunks, to: path)
        return (path, result)
    }

    @Test func baseFileMatchesLlamaCpps() throws {
        let oracle = try Self.oracle()
        let (path, result) = try Self.base(oracle)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let header = try BaseLogProbsHeader(path: path)
        #expect(header == BaseLogProbsHeader(context: oracle.ctx, vocabSize: 8192, chunks: oracle.chunks))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let tokens = (0..<(oracle.ctx * oracle.chunks)).map { i in
            Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 20 + 4 * i, as: Int32.self) })
        }
        #expect(tokens == oracle.tokens)
        #expect(abs(result.perplexity - oracle.base_perplexity) / oracle.base_perplexity < 1e-3,
                "Loom \(result.perplexity) vs llama.cpp \(oracle.base_perplexity)")
    }

    @Test func modelAgainstItselfIsZero() throws {
        let oracle = try Self.oracle()
        let (path, _) = try Self.base(oracle)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try Self.engine("gguf/loom-demo-F16.gguf", context: oracle.ctx).klDivergence(basePath: path, bos: nil)
        #expect(r.tokens == oracle.chunks * (oracle.ctx - 1 - oracle.ctx / 2))
        // The stored log-probabilities are rounded to 16/65535 nats, so "zero" is within that.
        #expect(abs(r.meanKLD) < 1e-6)
        #expect(r.sameTop == 1)
        #expect(abs(r.perplexity - r.perplexityBase) / r.perplexity < 1e-4)
    }

    /// llama.cpp and Loom run Q8_0 with different arithmetic (llama.cpp rounds the activations
    /// to 8 bits as well), so the divergence is compared by magnitude, and the perplexities
    /// agree to within twice the shift quantizing to Q8_0 makes in llama.cpp's (on these 252
    /// tokens 0.17%; the engines differ by 0.20%).
    @Test func q8_0AgainstTheF16Base() throws {
        let oracle = try Self.oracle()
        let (path, _) = try Self.base(oracle)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try Self.engine("gguf/loom-demo-Q8_0.gguf", context: oracle.ctx).klDivergence(basePath: path, bos: nil)
        #expect(r.meanKLD > 0)
        #expect(r.meanKLD > oracle.q8_0_mean_kld / 4 && r.meanKLD < oracle.q8_0_mean_kld * 4,
                "Loom \(r.meanKLD) vs llama.cpp \(oracle.q8_0_mean_kld)")
        #expect(abs(100 * r.sameTop - oracle.q8_0_same_top_percent) < 1.5)
        let shift = abs(oracle.q8_0_perplexity - oracle.q8_0_base_perplexity)
        #expect(abs(r.perplexity - oracle.q8_0_perplexity) < 2 * shift, "Loom \(r.perplexity), llama.cpp \(oracle.q8_0_perplexity)")
    }

    @Test func truncatedBaseIsRejectedByName() throws {
        let oracle = try Self.oracle()
        let (path, _) = try Self.base(oracle)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.truncate(atOffset: 5000)
        try handle.close()
        #expect(throws: BaseLogProbsError.self) { try BaseLogProbsHeader(path: path) }
        do {
            _ = try Self.engine("gguf/loom-demo-F16.gguf", context: oracle.ctx).klDivergence(basePath: path, bos: nil)
            Issue.record("a truncated base was accepted")
        } catch let error as BaseLogProbsError {
            #expect(error.path == path)
        }
    }
}
