import LoomFormats
import LoomKernels

extension Architecture {
    public static let mixtral = Architecture(rawValue: "MixtralForCausalLM")
}

/// Mixtral: Mistral attention with a sparse MLP in every layer: a softmax router over
/// `num_local_experts`, the top `num_experts_per_tok` renormalized, each expert a gated MLP of
/// `intermediate_size`. The sliding window applies when `sliding_window` is set. llama.cpp's
/// converter writes it as a "llama" GGUF with `llama.expert_count`.
public struct Mixtral: ModelArchitecture {
    public var architecture: Architecture { .mixtral }
    public var ggufName: String { "llama" }
    public var ggufRopeLayout: RopeLayout { .adjacentPairs }
    public var expertNames: ExpertTensorNames { .mixtral }
    public init() {}

    public func specialize(_ config: inout ModelConfig, fields: ConfigFields) throws {
        config.slidingWindow = try fields.optionalInt("sliding_window")
        config.moe = MixtureOfExperts(expertCount: try fields.requiredInt("num_local_experts"),
                                      expertsPerToken: try fields.requiredInt("num_experts_per_tok"),
                                      expertIntermediateSize: config.intermediateSize, normalizeTopK: true)
    }
}
