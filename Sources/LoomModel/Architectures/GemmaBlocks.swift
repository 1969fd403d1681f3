import Foundation
import LoomFormats

/// What Gemma 2 and Gemma 3 share: GeGLU (tanh) MLPs, sandwich norms, √hidden embeddings, the
/// norm names of llama.cpp's files, and the config fields that say which layers are local.
enum GemmaBlocks {
    /// llama.cpp's names of the sandwich norms.
    static let ggufTensorNames = [
        "post_attention_layernorm.weight": "post_attention_norm.weight", "pre_feedforward_layernorm.weight": "ffn_norm.weight",
        "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
    ]

    /// The blocks both families are built from, whatever the file format.
    static func shared(_ config: inout ModelConfig) {
        config.sandwichNorms = true
        config.mlpActivation = .geluTanh
        config.embeddingScale = Float(config.hiddenSize).squareRoot()
    }

    /// The config.json fields both read: norms by 1 + w, tied embeddings by default, the tanh GELU
    /// only, `query_pre_attn_scalar`, and the window of the local layers, which are `layer_types`'s
    /// `sliding_attention` entries or, without it, all but every `defaultPattern`-th layer.
    static func specialize(_ config: inout ModelConfig, fields: ConfigFields, family: String, defaultPattern: Int) throws {
        shared(&config)
        config.normWeightOffset = 1
        config.tieWordEmbeddings = try fields.optionalBool("tie_word_embeddings") ?? true
        if let activation = try fields.optionalString("hidden_activation") ?? fields.optionalString("hidden_act"),
           activation != "gelu_pytorch_tanh" {
            throw ConfigError.invalidField(file: fields.file, field: "hidden_activation",
                                           reason: "unsupported '\(activation)' (\(family) uses gelu_pytorch_tanh)")
        }
        config.attentionScale = Float(1 / (try fields.optionalDouble("query_pre_attn_scalar") ?? 256).squareRoot())
        config.slidingWindow = try fields.optionalInt("sliding_window")
        let pattern = max(1, try fields.optionalInt("sliding_window_pattern") ?? defaultPattern)
        let types = try fields.optionalStringList("layer_types")
            ?? (0..<config.layerCount).map { ($0 + 1) % pattern == 0 ? "full_attention" : "sliding_attention" }
        guard types.count == config.layerCount, types.allSatisfy({ $0 == "full_attention" || $0 == "sliding_attention" }) else {
            throw ConfigError.invalidField(file: fields.file, field: "layer_types",
                                           reason: "expected \(config.layerCount) of full_attention or sliding_attention")
        }
        config.slidingLayers = config.slidingWindow == nil ? nil : types.map { $0 == "sliding_attention" }
    }

    /// What both read from GGUF files, as llama.cpp's loaders set it: the shared blocks, and the
    /// attention scale, which the files do not carry (`query_pre_attn_scalar`): 1/√(hidden/heads)
    /// for the 27B models (`largeLayerCount` layers), else 1/√head_dim.
    static func specialize(_ config: inout ModelConfig, largeLayerCount: Int) {
        shared(&config)
        config.attentionScale = 1 / Float(config.layerCount == largeLayerCount ? config.hiddenSize / config.headCount : config.headDim).squareRoot()
    }
}
