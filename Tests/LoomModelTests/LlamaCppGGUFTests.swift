import Foundation
import Testing
import LoomFormats
import LoomModel
import LoomRuntime

/// GGUF files written by llama.cpp's own converter from the goldens
/// (tools/goldens/make_llamacpp_goldens.py), against llama.cpp's logits on the same file and
/// the transformers logits of the source model.
@Suite struct LlamaCppGGUFTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/llamacpp-goldens").path
    static let cases = ["llama-gqa-f32", "qwen3-qknorm-bf16", "qwen3moe-llamacpp-f32", "mixtral-llamacpp-f32", "phi3-longrope-bf16",
                        "gemma2-llamacpp-f32", "gemma3-llamacpp-f32", "gptoss-llamacpp-f32"]

    func engine(_ name: String, _ type: String) throws -> Engine {
        try Engine(path: Self.root + "/\(name)-\(type).gguf",
                   options: EngineOptions(maxSequenceLength: 48, cacheType: .f32, threads: 2, logitsRows: 4))
    }

    @Test(arguments: cases, ["f32", "f16"])
    func logitsMatchLlamaCppOnTheSameFile(_ name: String, type: String) throws {
        let golden = try #require(Golden.all.first { $0.name == name })
        let engine = try engine(name, type)
        #expect(engine.config.architecture == (try ModelArchitectures.loadConfig(directory: golden.directory)).architecture)
        let logits = try engine.evaluate(golden.tokens, allPositions: true)
        let raw = try Data(contentsOf: URL(fileURLWithPath: Self.root + "/\(name)-\(type).llama.f32"))
        let llama = float32Rows(raw, columns: golden.vocab)
        let error = relativeMaxError(logits, llama)
        // f32: the very weights and an f32 cache in both. f16: llama.cpp rounds the activations of
        // f16 matrices to f16 (ggml's f16 dot products), Loom keeps them f32; measured 2e-3.
        // Gemma: ggml's CPU GELU reads a table of f16 values (measured 5e-4 from transformers,
        // where Loom is within 1e-4 of transformers).
        let bound: Float = type == "f16" ? 5e-3 : name.hasPrefix("gemma") ? 1e-3 : 1e-4
        #expect(error <= bound, "\(name) \(type): Loom vs llama.cpp \(error)")
        print("llama.cpp GGUF \(name) \(type): Loom vs llama.cpp max|Δ|/max|ref| = \(error), vs transformers \(relativeMaxError(logits, golden.logits))")
        if type == "f32" { #expect(relativeMaxError(logits, golden.logits) <= 1e-4) }
        // Every family's buffers (experts and their lanes, fused parts, a second RoPE table) are
        // what the plan named, byte for byte.
        for device in engine.usage { #expect(device.peakBytes == device.plannedBytes, "\(name) \(type): \(device.byLabel)") }
    }

    /// The Q8_0 MoE file (experts repacked for the x8 kernels): Loom's logits are no further from
    /// transformers' than llama.cpp's are. Both round activations to 8 bits; on this small,
    /// high-gain model that is most of the error.
    @Test func quantizedMixtureOfExpertsIsAsCloseAsLlamaCpp() throws {
        let name = "qwen3moe-llamacpp-f32"
        let golden = try #require(Golden.all.first { $0.name == name })
        let logits = try engine(name, "q8_0").evaluate(golden.tokens, allPositions: true)
        let llama = float32Rows(try Data(contentsOf: URL(fileURLWithPath: Self.root + "/\(name)-q8_0.llama.f32")), columns: golden.vocab)
        let (loomError, llamaError) = (relativeMaxError(logits, golden.logits), relativeMaxError(llama, golden.logits))
        print("llama.cpp GGUF \(name) q8_0: vs transformers Loom \(loomError), llama.cpp \(llamaError)")
        // Measured on AVX-512: Loom 0.072, llama.cpp 0.076. Each kernel path rounds activations its
        // own way (blocks of 32 or 16), which draws its own rounding noise, ±10% on one sequence.
        #expect(loomError <= 1.25 * llamaError, "Loom \(loomError) against llama.cpp \(llamaError)")
    }

    /// gpt-oss's MXFP4 file (experts MXFP4, attention and embeddings Q8_0, as llama-quantize's
    /// MXFP4_MOE writes them) against float64 logits over the file's own decoded weights: Loom is
    /// no further from them than llama.cpp is. Both round the activations of quantized products
    /// to 8 bits, which on this small, high-gain model is most of the error.
    @Test func mxfp4ExpertsAreAsCloseAsLlamaCpp() throws {
        let name = "gptoss-llamacpp-f32"
        let golden = try #require(Golden.all.first { $0.name == name })
        let engine = try engine(name, "mxfp4")
        let logits = try engine.evaluate(golden.tokens, allPositions: true)
        func rows(_ file: String) throws -> [[Float]] {
            float32Rows(try Data(contentsOf: URL(fileURLWithPath: Self.root + "/\(name)-\(file)")), columns: golden.vocab)
        }
        let exact = try rows("mxfp4.dequantized.f32"), llama = try rows("mxfp4.llama.f32")
        let (loomError, llamaError) = (relativeMaxError(logits, exact), relativeMaxError(llama, exact))
        print("llama.cpp GGUF \(name) mxfp4: vs the decoded weights' float64 logits Loom \(loomError), llama.cpp \(llamaError)")
        #expect(loomError <= 1.25 * llamaError, "Loom \(loomError) against llama.cpp \(llamaError)")
        for device in engine.usage { #expect(device.peakBytes == device.plannedBytes, "\(name) mxfp4: \(device.byLabel)") }
    }

    @Test(arguments: cases)
    func greedyContinuationOfTheF32FileIsTransformers(_ name: String) throws {
        let golden = try #require(Golden.all.first { $0.name == name })
        let engine = try engine(name, "f32")
        var last = try engine.evaluate(golden.tokens)[0]
        var produced: [Int] = []
        for _ in golden.greedy {
            produced.append(argmax(last))
            last = try engine.evaluate([produced.last!])[0]
        }
        #expect(produced == golden.greedy)
    }
}
