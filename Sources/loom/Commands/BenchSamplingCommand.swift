import ArgumentParser
import Foundation
import LoomGenerate

/// Times the sampler chain on a vocabulary-sized logits vector, to compare with a decode step.
struct BenchSamplingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-sampling",
        abstract: "Time one sampling step (llama.cpp's default chain) on random logits.")

    @Option(parsing: .unconditional, help: "Vocabulary size (Qwen2.5: 151936).")
    var vocab = 151_936
    @Option(parsing: .unconditional, help: "Steps to time.")
    var steps = 200
    @Option(parsing: .unconditional, help: "Context length the penalties see.")
    var context = 512
    @OptionGroup var sampling: SamplingFlags

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        try requireAtLeast(1, vocab, "--vocab")
        try requireAtLeast(1, steps, "--steps")
        try requireAtLeast(0, context, "--context")
    }

    func run() throws {
        let params = try sampling.parameters()
        var random = RandomSource(seed: 7)
        // Logits shaped like a model's: a broad normal body (Box-Muller) with a few strong tokens.
        var logits = (0..<vocab).map { _ in Float(sqrt(-2 * log(max(random.unit(), 1e-12))) * cos(2 * .pi * random.unit())) * 2.5 }
        for _ in 0..<8 { logits[Int(random.next() % UInt64(vocab))] += 12 }
        let history = (0..<context).map { _ in Int32(random.next() % UInt64(vocab)) }
        let sampler = try Sampler(parameters: params, breakerTokens: [])
        _ = sampler.sample(logits: logits, context: history)
        let start = Date()
        var sink: Int32 = 0
        for _ in 0..<steps { sink ^= sampler.sample(logits: logits, context: history) }
        let perStep = Date().timeIntervalSince(start) / Double(steps)
        print(String(format: "sampling: %.3f ms per token (vocab %d, context %d, order %@)", perStep * 1000, vocab, context,
                     counted(params.order.count, "stage")) + (sink == -1 ? "" : ""))
    }
}
