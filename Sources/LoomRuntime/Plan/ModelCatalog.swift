import Foundation
import LoomFormats
import LoomModel

/// Shapes of popular models, from their config.json files, for planning before a download.
public enum ModelCatalog {
    public static let entries: [String: ModelConfig] = [
        "llama-2-7b": llama(layers: 32, hidden: 4096, heads: 32, kv: 32, ffn: 11008, vocab: 32000, context: 4096),
        "llama-2-13b": llama(layers: 40, hidden: 5120, heads: 40, kv: 40, ffn: 13824, vocab: 32000, context: 4096),
        "llama-2-70b": llama(layers: 80, hidden: 8192, heads: 64, kv: 8, ffn: 28672, vocab: 32000, context: 4096),
        "llama-3-8b": llama(layers: 32, hidden: 4096, heads: 32, kv: 8, ffn: 14336, vocab: 128256, context: 8192, theta: 500000),
        "llama-3-70b": llama(layers: 80, hidden: 8192, heads: 64, kv: 8, ffn: 28672, vocab: 128256, context: 8192, theta: 500000),
        // Qwen-72B as Smaug ships it: Llama layout with attention biases, no GQA.
        "qwen-72b": llama(layers: 80, hidden: 8192, heads: 64, kv: 64, ffn: 24576, vocab: 152064, context: 32768,
                          theta: 1_000_000, bias: true, architecture: .qwen2),
        "qwen1.5-72b": llama(layers: 80, hidden: 8192, heads: 64, kv: 64, ffn: 24576, vocab: 152064, context: 32768,
                             theta: 1_000_000, bias: true, architecture: .qwen2),
        "smaug-72b": llama(layers: 80, hidden: 8192, heads: 64, kv: 64, ffn: 24576, vocab: 152064, context: 32768,
                           theta: 1_000_000, bias: true),
        "qwen2.5-0.5b": llama(layers: 24, hidden: 896, heads: 14, kv: 2, ffn: 4864, vocab: 151936, context: 32768,
                              theta: 1_000_000, bias: true, architecture: .qwen2, tied: true),
        "qwen2.5-7b": llama(layers: 28, hidden: 3584, heads: 28, kv: 4, ffn: 18944, vocab: 152064, context: 32768,
                            theta: 1_000_000, bias: true, architecture: .qwen2),
        "qwen2.5-72b": llama(layers: 80, hidden: 8192, heads: 64, kv: 8, ffn: 29568, vocab: 152064, context: 32768,
                             theta: 1_000_000, bias: true, architecture: .qwen2),
        "mistral-7b": llama(layers: 32, hidden: 4096, heads: 32, kv: 8, ffn: 14336, vocab: 32000, context: 32768,
                            architecture: .mistral),
        "miquliz-120b": llama(layers: 140, hidden: 8192, heads: 64, kv: 8, ffn: 28672, vocab: 32000, context: 32768),
        // Phi-3-mini-4k: no GQA, a 2047-token sliding window (the 128k variant: LongRoPE instead).
        "phi-3-mini": {
            var c = llama(layers: 32, hidden: 3072, heads: 32, kv: 32, ffn: 8192, vocab: 32064, context: 4096, architecture: .phi3)
            c.slidingWindow = 2047
            return c
        }(),
        // Gemma 3 27B (text): five local layers (window 1024, θ 10⁴) to each global one (θ 10⁶, linear 8).
        "gemma-3-27b": {
            var c = llama(layers: 62, hidden: 5376, heads: 32, kv: 16, ffn: 21504, vocab: 262208, context: 131072,
                          theta: 1_000_000, architecture: .gemma3, tied: true)
            c.headDim = 128
            c.ropeScaling = .linear(factor: 8)
            c.qkNorm = true
            c.sandwichNorms = true
            c.mlpActivation = .geluTanh
            c.slidingWindow = 1024
            c.slidingLayers = (0..<62).map { ($0 + 1) % 6 != 0 }
            c.localRopeTheta = 10000
            c.embeddingScale = Float(5376).squareRoot()
            c.attentionScale = 1 / Float(168).squareRoot()
            return c
        }(),
        // Mixture of experts: every expert's bytes are planned, a token reads k of them.
        "qwen3-30b-a3b": {
            var c = llama(layers: 48, hidden: 2048, heads: 32, kv: 4, ffn: 6144, vocab: 151936, context: 40960,
                          theta: 1_000_000, architecture: .qwen3Moe)
            c.headDim = 128
            c.qkNorm = true
            c.moe = MixtureOfExperts(expertCount: 128, expertsPerToken: 8, expertIntermediateSize: 768, normalizeTopK: true)
            return c
        }(),
        // gpt-oss-20b: 32 experts of width 2880, top 4, biases and sinks; alternating 128-token
        // windows and full layers; YaRN 32 over 4096.
        "gpt-oss-20b": {
            var c = llama(layers: 24, hidden: 2880, heads: 64, kv: 8, ffn: 2880, vocab: 201088, context: 131072,
                          theta: 150_000, bias: true, architecture: .gptOss)
            c.headDim = 64
            c.outputBias = true
            c.ropeScaling = .yarn(factor: 32, originalMaxPositions: 4096, betaFast: 32, betaSlow: 1,
                                  attentionFactor: 0.1 * log(32.0) + 1, truncate: false)
            c.attentionSinks = true
            c.mlpActivation = .clampedSwiGLU
            c.slidingWindow = 128
            c.slidingLayers = (0..<24).map { $0 % 2 == 0 }
            var moe = MixtureOfExperts(expertCount: 32, expertsPerToken: 4, expertIntermediateSize: 2880, normalizeTopK: true)
            moe.biases = true
            c.moe = moe
            return c
        }(),
        "mixtral-8x7b": {
            var c = llama(layers: 32, hidden: 4096, heads: 32, kv: 8, ffn: 14336, vocab: 32000, context: 32768,
                          theta: 1_000_000, architecture: .mixtral)
            c.moe = MixtureOfExperts(expertCount: 8, expertsPerToken: 2, expertIntermediateSize: 14336, normalizeTopK: true)
            return c
        }(),
    ]

    public static var names: [String] { entries.keys.sorted() }

    /// Parameters of a model of this shape: the elements of every tensor the loader binds.
    public static func parameterCount(_ config: ModelConfig) -> Int {
        ModelArchitectures.of(config).tensorInventory(config, separateHead: !config.tieWordEmbeddings)
            .reduce(0) { $0 + $1.elementCount }
    }

    /// Parameters one token's pass uses: all of them but the experts its router does not pick.
    public static func activeParameterCount(_ config: ModelConfig) -> Int {
        guard let moe = config.moe else { return parameterCount(config) }
        let perExpert = 3 * moe.expertIntermediateSize * config.hiddenSize
            + (moe.biases ? 2 * moe.expertIntermediateSize + config.hiddenSize : 0)
        return parameterCount(config) - moe.sparseLayerCount(of: config.layerCount) * (moe.expertCount - moe.expertsPerToken) * perExpert
    }

    private static func llama(layers: Int, hidden: Int, heads: Int, kv: Int, ffn: Int, vocab: Int, context: Int,
                              theta: Double = 10000, bias: Bool = false, architecture: Architecture = .llama,
                              tied: Bool = false) -> ModelConfig {
        ModelConfig(architecture: architecture, hiddenSize: hidden, layerCount: layers, headCount: heads, kvHeadCount: kv,
                    intermediateSize: ffn, vocabSize: vocab, maxPositionEmbeddings: context, ropeTheta: theta,
                    qkvBias: bias, outputBias: bias && architecture == .llama, tieWordEmbeddings: tied)
    }
}
