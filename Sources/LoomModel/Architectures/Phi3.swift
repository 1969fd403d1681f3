import LoomFormats
import LoomKernels

extension Architecture {
    public static let phi3 = Architecture(rawValue: "Phi3ForCausalLM")
}

/// Phi-3 (mini, medium; 4k and 128k): Llama blocks with q, k and v stored as one `qkv_proj` and
/// gate and up as one `gate_up_proj` (gate rows first), each part bound as a matrix of its own;
/// LongRoPE for the 128k models; a sliding window where `sliding_window` is set. llama.cpp's
/// converter keeps both fusions (`attn_qkv`, a gate-then-up `ffn_up`) and rotate-half RoPE.
public struct Phi3: ModelArchitecture {
    public var architecture: Architecture { .phi3 }
    public var ggufName: String { "phi3" }
    public var ggufRopeLayout: RopeLayout { .halves }
    public init() {}

    public func specialize(_ config: inout ModelConfig, fields: ConfigFields) throws {
        config.slidingWindow = try fields.optionalInt("sliding_window")
    }

    /// llama.cpp's converter writes the window (0 for none), the LongRoPE factors as two f32
    /// tensors and the attention factor it computed.
    public func specialize(_ config: inout ModelConfig, gguf file: GGUFFile) throws {
        if let window = try file.integer("phi3.attention.sliding_window"), window > 0 { config.slidingWindow = window }
        guard let long = try file.floats("rope_factors_long.weight") else { return }
        guard let short = try file.floats("rope_factors_short.weight"), short.count == long.count, long.count == config.headDim / 2 else {
            throw ConfigError.invalidField(file: file.path, field: "rope_factors_short.weight",
                                           reason: "LongRoPE needs short and long factors for each of the \(config.headDim / 2) rotation pairs")
        }
        let original = try file.integer("phi3.rope.scaling.original_context_length") ?? config.maxPositionEmbeddings
        config.ropeScaling = .longRope(shortFactors: short.map(Double.init), longFactors: long.map(Double.init),
                                       originalMaxPositions: original,
                                       attentionFactor: try file.float("phi3.rope.scaling.attn_factor") ?? 1)
    }

    public func tensorInventory(_ config: ModelConfig, separateHead: Bool) -> [TensorSpec] {
        let q = config.queryWidth, kv = config.kvWidth, ffn = config.intermediateSize
        // (stored tensor, first row, its rows) of each part, by the part's suffix.
        let parts: [String: (String, Int, Int)] = [
            "self_attn.q_proj.weight": ("self_attn.qkv_proj.weight", 0, q + 2 * kv),
            "self_attn.k_proj.weight": ("self_attn.qkv_proj.weight", q, q + 2 * kv),
            "self_attn.v_proj.weight": ("self_attn.qkv_proj.weight", q + kv, q + 2 * kv),
            "mlp.gate_proj.weight": ("mlp.gate_up_proj.weight", 0, 2 * ffn),
            "mlp.up_proj.weight": ("mlp.gate_up_proj.weight", ffn, 2 * ffn),
        ]
        return decoderInventory(config: config, separateHead: separateHead).map { spec in
            guard case let .layer(i) = spec.placement,
                  let part = parts[String(spec.name.dropFirst(HFTensorName.layer(i, "").count))] else { return spec }
            var fused = spec
            fused.fused = TensorSpec.FusedRows(stored: HFTensorName.layer(i, part.0), offset: part.1, storedRows: part.2)
            return fused
        }
    }
}
