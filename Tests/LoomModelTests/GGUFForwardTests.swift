import Foundation
import Testing
import LoomFormats
import LoomModel
import LoomRuntime

/// GGUF copies of the goldens (tools/goldens/make_gguf_goldens.py: llama.cpp's names, layout and
/// q/k permutation) must give the transformers logits of the model they were converted from.
@Suite struct GGUFForwardTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gguf-goldens").path

    @Test(arguments: ["llama-gqa-f32", "qwen2-bias-tied-bf16", "qwen3-qknorm-bf16"], ["f32", "f16"])
    func ggufLogitsMatchTransformers(_ name: String, type: String) throws {
        let golden = try #require(Golden.all.first { $0.name == name })
        let engine = try Engine(path: Self.root + "/\(name)-\(type).gguf",
                                options: EngineOptions(maxSequenceLength: 32, cacheType: .f32, threads: 2, logitsRows: 4))
        #expect(engine.config.architecture.rawValue == (try ModelConfig.load(directory: golden.directory)).architecture.rawValue)
        let logits = try engine.evaluate(golden.tokens, allPositions: true)
        let error = relativeMaxError(logits, golden.logits)
        // f32 GGUF holds the very weights transformers used; f16 rounds each weight once more
        // (the goldens are bf16 or f32), which the bound allows.
        let bound: Float = type == "f32" ? 1e-4 : 5e-3
        #expect(error <= bound, "\(name) \(type): \(error)")
        print("GGUF \(name) \(type): max|Δ|/max|ref| = \(error)")
    }
}
