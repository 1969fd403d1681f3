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

    /// Quantized files (q8_0 and q4_0 repacked at load on AVX-512 machines) against an F32 file of
    /// the very weights they decode to: only the 8-bit activation rounding separates the two. The
    /// loaded model holds exactly the bytes it planned.
    @Test(arguments: ["q8_0", "q4_0"])
    func quantizedGGUFMatchesItsDequantizedWeights(_ type: String) throws {
        let golden = try #require(Golden.all.first { $0.name == "llama-gqa-f32" })
        let options = EngineOptions(maxSequenceLength: 32, cacheType: .f32, threads: 2, logitsRows: 4)
        let engine = try Engine(path: Self.root + "/llama-gqa-f32-\(type).gguf", options: options)
        let reference = try Engine(path: Self.root + "/llama-gqa-f32-\(type)-dequantized.gguf", options: options)
        let logits = try engine.evaluate(golden.tokens, allPositions: true)
        let error = relativeMaxError(logits, try reference.evaluate(golden.tokens, allPositions: true))
        print("GGUF llama-gqa-f32 \(type) vs its dequantized weights: max|Δ|/max|ref| = \(error)")
        // Measured 0.027 (q8_0) and 0.024 (q4_0) on this small, high-gain model: each block of 32
        // activations rounds to 1/254 of its largest value, and two layers compound it.
        #expect(error <= 0.05, "\(type): \(error)")
        for device in engine.usage { #expect(device.peakBytes == device.plannedBytes, "\(device.byLabel)") }
    }
}
