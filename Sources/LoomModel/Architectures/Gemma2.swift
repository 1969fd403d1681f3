import Foundation
import LoomFormats
import LoomKernels

extension Architecture {
    public static let gemma2 = Architecture(rawValue: "Gemma2ForCausalLM")
}

/// Gemma 2: Gemma 3's blocks without q/k norms, one RoPE θ for all layers, local (sliding
/// window) and global layers alternating from a local first, and soft-capping of attention
/// scores (`attn_logit_softcapping`) and of the logits (`final_logit_softcapping`).
///
/// llama.cpp's converter adds the 1 to the norm weights and writes both caps and the window; its
/// loader takes every other layer as local, and 1/√head_dim (1/√(hidden/heads) for the 46-layer
/// 27B), as this family does for GGUF files.
public struct Gemma2: ModelArchitecture {
    public var architecture: Architecture { .gemma2 }
    public var ggufName: String { "gemma2" }
    public var ggufRopeLayout: RopeLayout { .halves }
    public var ggufTensorNames: [String: String] { GemmaBlocks.ggufTensorNames }
    public init() {}

    public func specialize(_ config: inout ModelConfig, fields: ConfigFields) throws {
        try GemmaBlocks.specialize(&config, fields: fields, family: "Gemma 2", defaultPattern: 2)
        config.attentionSoftcap = try fields.optionalDouble("attn_logit_softcapping").map(Float.init)
        config.finalLogitSoftcap = try fields.optionalDouble("final_logit_softcapping").map(Float.init)
    }

    public func specialize(_ config: inout ModelConfig, gguf file: GGUFFile) throws {
        GemmaBlocks.specialize(&config, largeLayerCount: 46)
        // Absent keys take llama.cpp's Gemma 2 defaults: caps 50 and 30, a window of 4096.
        config.attentionSoftcap = Float(try file.float("gemma2.attn_logit_softcapping") ?? 50)
        config.finalLogitSoftcap = Float(try file.float("gemma2.final_logit_softcapping") ?? 30)
        config.slidingWindow = try file.integer("gemma2.attention.sliding_window") ?? 4096
        config.slidingLayers = (0..<config.layerCount).map { $0 % 2 == 0 }
    }
}
