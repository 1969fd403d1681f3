import LoomFormats
import LoomKernels

extension Architecture {
    public static let qwen3 = Architecture(rawValue: "Qwen3ForCausalLM")
}

/// Qwen3: no QKV bias unless `attention_bias`, RMSNorm on each q and k head before RoPE, and an
/// explicit head_dim that may differ from hidden / heads.
public struct Qwen3: ModelArchitecture {
    public var architecture: Architecture { .qwen3 }
    public var ggufName: String { "qwen3" }
    public var ggufRopeLayout: RopeLayout { .halves }
    public init() {}

    public func specialize(_ config: inout ModelConfig, fields: ConfigFields) throws {
        config.qkNorm = true
    }
}
