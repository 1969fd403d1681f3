import Foundation
import LoomFormats
import LoomKernels

extension Architecture {
    public static let gemma3 = Architecture(rawValue: "Gemma3ForCausalLM")
}

/// Gemma 3 (text): GeGLU (tanh GELU) MLPs, RMSNorms by 1 + w, norms before and after both the
/// attention and the MLP, q/k norms, embeddings scaled by √hidden, scores scaled by
/// `query_pre_attn_scalar`^-½, and local layers (a sliding window, RoPE θ
/// `rope_local_base_freq`, unscaled) between global ones (`layer_types`, or every
/// `sliding_window_pattern`-th layer global; RoPE θ and scaling of `full_attention`).
///
/// llama.cpp's converter adds the 1 to the norm weights and writes neither the layer pattern nor
/// the scalar: its loader takes every sixth layer as global, a local θ of 10000 and 1/√head_dim
/// (1/√(hidden/heads) for the 62-layer 27B), and so does this family for GGUF files.
public struct Gemma3: ModelArchitecture {
    public var architecture: Architecture { .gemma3 }
    public var ggufName: String { "gemma3" }
    public var ggufRopeLayout: RopeLayout { .halves }
    public var ggufTensorNames: [String: String] { GemmaBlocks.ggufTensorNames }
    public init() {}

    public func specialize(_ config: inout ModelConfig, fields: ConfigFields) throws {
        config.qkNorm = true
        try GemmaBlocks.specialize(&config, fields: fields, family: "Gemma 3", defaultPattern: 6)
        for key in ["attn_logit_softcapping", "final_logit_softcapping"] where try fields.optionalDouble(key) != nil {
            throw ConfigError.invalidField(file: fields.file, field: key, reason: "unsupported: soft-capping is Gemma 2's, not Gemma 3's")
        }
        if try fields.optionalBool("use_bidirectional_attention") == true {
            throw ConfigError.invalidField(file: fields.file, field: "use_bidirectional_attention", reason: "unsupported: Loom's decoders are causal")
        }
        // transformers 5 nests RoPE per layer type; older configs keep rope_theta, rope_scaling
        // (global layers) and rope_local_base_freq at the top level.
        if let perType = fields.object("rope_parameters"), let global = perType.object("full_attention") {
            config.ropeTheta = try global.optionalDouble("rope_theta") ?? 1_000_000
            config.ropeScaling = try ModelConfig.parseScaling(global, maxPositions: config.maxPositionEmbeddings, topLevel: fields)
            config.localRopeTheta = try perType.object("sliding_attention")?.optionalDouble("rope_theta") ?? 10000
        } else {
            config.localRopeTheta = try fields.optionalDouble("rope_local_base_freq") ?? 10000
        }
    }

    public func specialize(_ config: inout ModelConfig, gguf file: GGUFFile) throws {
        config.qkNorm = true
        GemmaBlocks.specialize(&config, largeLayerCount: 62)
        if let softcap = try file.float("gemma3.final_logit_softcapping"), softcap != 0 {
            throw ConfigError.invalidField(file: file.path, field: "gemma3.final_logit_softcapping", reason: "unsupported: soft-capping")
        }
        if let window = try file.integer("gemma3.attention.sliding_window"), window > 0 {
            config.slidingWindow = window
            config.slidingLayers = (0..<config.layerCount).map { $0 % 6 < 5 }
            config.localRopeTheta = try file.float("gemma3.rope.freq_base_swa") ?? 10000
        }
    }
}
