import ArgumentParser
import Foundation
import LoomFormats
import LoomKernels
import LoomRuntime

/// Writes a GGUF of random weights shaped like a catalog model, to measure speed without a
/// download (tools/gpu-check makes its Llama-3-8B-shaped Q4_0 file this way).
struct SynthesizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "synthesize",
        abstract: "Write a GGUF of random weights shaped like a catalog model (for benchmarks; the output means nothing).")

    @Argument(help: "A catalog model with a dense Llama or Qwen2 layout, such as llama-3-8b.") var model: String
    @Option(help: "Weight type: q4_0, q8_0 or f16.") var type = "q4_0"
    @Option(help: "The GGUF file to write.") var out: String
    @Option(help: "Keep only this many layers (a smaller file of the same widths).") var layers: Int?
    @Option(help: "Use this vocabulary size instead of the model's.") var vocab: Int?
    @Option(help: "Seed of the random weights.") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("Copy the tokenizer of this GGUF (its tokenizer.* keys), so that the file generates text.",
                               discussion: "The model's vocabulary must hold the tokenizer's tokens.", valueName: "gguf"))
    var tokenizerFrom: String?

    func run() throws {
        guard var config = ModelCatalog.entries[model.lowercased()] else {
            throw ValidationError("unknown model '\(model)'; the catalog has \(ModelCatalog.entries.keys.sorted().joined(separator: ", "))")
        }
        guard let weightType = SyntheticModel.types.first(where: { $0.name == type.lowercased() }) else {
            throw ValidationError("--type \(type): choose \(SyntheticModel.types.map(\.name).joined(separator: ", "))")
        }
        if let layers {
            guard layers > 0, layers <= config.layerCount else { throw ValidationError("--layers: 1 to \(config.layerCount)") }
            config.layerCount = layers
        }
        if let vocab {
            guard vocab > 0, vocab <= 1 << 20 else { throw ValidationError("--vocab: 1 to \(1 << 20)") }
            config.vocabSize = vocab
        }
        var tokenizer: [String: GGUFValue] = [:]
        if let tokenizerFrom {
            let (values, tokens) = try SyntheticModel.tokenizerMetadata(of: try GGUFFile(path: tokenizerFrom))
            guard tokens <= config.vocabSize else {
                throw ValidationError("--tokenizer-from: \(tokens) tokens, more than the model's \(config.vocabSize)-row vocabulary (raise it with --vocab)")
            }
            tokenizer = values
        }
        let start = Date()
        let bar = ProgressBar(label: "synthesize")
        let bytes = try SyntheticModel.write(config, type: weightType, to: out, seed: seed, tokenizer: tokenizer) { done, total in
            bar.update(done: done >> 20, total: total >> 20, note: "MiB")
        }
        bar.finish()
        printError(String(format: "wrote %@: %d bytes in %.1f s", out, bytes, Date().timeIntervalSince(start)))
    }
}
