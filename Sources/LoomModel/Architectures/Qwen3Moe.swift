import LoomFormats
import LoomKernels

extension Architecture {
    public static let qwen3Moe = Architecture(rawValue: "Qwen3MoeForCausalLM")
}

/// Qwen3-MoE (Qwen3-30B-A3B, Qwen3-235B-A22B): Qwen3 attention (q/k norms, explicit head_dim)
/// with a sparse MLP: a softmax router over `num_experts` (`num_local_experts` as transformers 5 writes it), the top `num_experts_per_tok` of
/// `moe_intermediate_size` each, renormalized when `norm_topk_prob`. Layers in `mlp_only_layers`,
/// or off the `decoder_sparse_step` stride, keep a dense MLP of `intermediate_size`.
public struct Qwen3Moe: ModelArchitecture {
    public var architecture: Architecture { .qwen3Moe }
    public var ggufName: String { "qwen3moe" }
    public var ggufRopeLayout: RopeLayout { .halves }
    public init() {}

    public func specialize(_ config: inout ModelConfig, fields: ConfigFields) throws {
        config.qkNorm = true
        let step = try fields.optionalInt("decoder_sparse_step") ?? 1
        guard step > 0 else { throw ConfigError.invalidField(file: fields.file, field: "decoder_sparse_step", reason: "must be positive") }
        let mlpOnly = try fields.optionalIntList("mlp_only_layers") ?? []
        let dense = (0..<config.layerCount).filter { mlpOnly.contains($0) || ($0 + 1) % step != 0 }
        // Hub checkpoints say num_experts; transformers 5 writes num_local_experts.
        let experts = try fields.optionalInt("num_experts") ?? fields.requiredInt("num_local_experts")
        config.moe = MixtureOfExperts(expertCount: experts,
                                      expertsPerToken: try fields.requiredInt("num_experts_per_tok"),
                                      expertIntermediateSize: try fields.requiredInt("moe_intermediate_size"),
                                      normalizeTopK: try fields.optionalBool("norm_topk_prob") ?? false,
                                      denseLayers: dense)
    }
}
