import Foundation
import LoomRuntime
import LoomTokenizer
import Testing

/// Loom's strided perplexity against llama.cpp's on the committed demo model.
///
/// The oracle (`Fixtures/llamacpp-perplexity.json`) is tools/demo-model/perplexity-llamacpp.py
/// run through llama-cpp-python 0.3.36 on the same GGUF files and excerpt, with the same windows;
/// tools/demo-model/make-perplexity-expected.sh regenerates it.
struct PerplexityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/LoomPerplexityTests/Fixtures")
    static let model = root.appendingPathComponent("Models/loom-demo")

    struct Oracle: Decodable {
        let tokens: Int
        let scored: Int
        let windows: Int
        let perplexity: Double
        let ctx: Int
        let stride: Int
    }

    static func oracle(_ kind: String) throws -> Oracle {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("llamacpp-perplexity.json"))
        let all = try JSONDecoder().decode([String: Oracle].self, from: data)
        return try #require(all[kind])
    }

    static func excerptTokens() throws -> [Int] {
        let tokenizer = try Tokenizer.load(modelDirectory: model.appendingPathComponent("hf").path)
        let text = try String(contentsOf: fixtures.appendingPathComponent("excerpt.txt"), encoding: .utf8)
        return tokenizer.encode(text, parseSpecial: false, addBOS: false).map(Int.init)
    }

    /// The windows of Hugging Face's loop (docs "Perplexity of fixed-length models") for 10
    /// tokens, max_length 4, stride 2: begin 0, 2, 4, 6; trg_len 4, 2, 2, 2 (the first target of
    /// the first window is dropped by the label shift); the loop breaks when end reaches 10.
    @Test func windowsFollowHuggingFace() {
        let w = StridedPerplexity.windows(tokenCount: 10, context: 4, stride: 2)
        #expect(w == [PerplexityWindow(begin: 0, end: 4, scored: 3), PerplexityWindow(begin: 2, end: 6, scored: 2),
                      PerplexityWindow(begin: 4, end: 8, scored: 2), PerplexityWindow(begin: 6, end: 10, scored: 2)])
        #expect(w.map(\.scored).reduce(0, +) == 9)
        // A stride that does not divide evenly: the last window is short and scores the rest.
        let odd = StridedPerplexity.windows(tokenCount: 11, context: 4, stride: 3)
        #expect(odd.map(\.begin) == [0, 3, 6, 9])
        #expect(odd.map(\.scored).reduce(0, +) == 10)
    }

    @Test(arguments: ["F16", "Q8_0"])
    func ggufAgreesWithLlamaCpp(kind: String) throws {
        let expected = try Self.oracle(kind)
        let ids = try Self.excerptTokens()
        #expect(ids.count == expected.tokens, "Loom's tokenizer and llama.cpp's disagree on the excerpt")
        let path = Self.model.appendingPathComponent("gguf/loom-demo-\(kind).gguf").path
        let engine = try Engine(path: path, options: EngineOptions(maxSequenceLength: expected.ctx, chunkTokens: expected.ctx,
                                                                    threads: 2, logitsRows: 64))
        let result = try engine.perplexity(tokens: ids, context: expected.ctx, stride: expected.stride)
        #expect(result.scored == expected.scored)
        #expect(result.windows == expected.windows)
        let relative = abs(result.perplexity - expected.perplexity) / expected.perplexity
        #expect(relative < 0.01, "Loom \(result.perplexity) vs llama.cpp \(expected.perplexity)")
    }

    /// The bf16 safetensors directory holds the same weights as the F16 GGUF (bf16 widens to f16
    /// exactly at these magnitudes), so it must land on the same perplexity.
    @Test func huggingFaceDirectoryAgreesWithLlamaCpp() throws {
        let expected = try Self.oracle("F16")
        let ids = try Self.excerptTokens()
        let engine = try Engine(path: Self.model.appendingPathComponent("hf").path,
                                options: EngineOptions(maxSequenceLength: expected.ctx, chunkTokens: expected.ctx, threads: 2, logitsRows: 64))
        let result = try engine.perplexity(tokens: ids, context: expected.ctx, stride: expected.stride)
        let relative = abs(result.perplexity - expected.perplexity) / expected.perplexity
        #expect(relative < 0.01, "Loom \(result.perplexity) vs llama.cpp \(expected.perplexity)")
    }
}
