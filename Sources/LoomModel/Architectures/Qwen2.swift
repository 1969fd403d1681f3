import LoomFormats
import LoomKernels

extension Architecture {
    public static let qwen2 = Architecture(rawValue: "Qwen2ForCausalLM")
}

/// Qwen2 and Qwen2.5: biases on q, k and v (never on o), rotate-half RoPE in GGUF too.
public struct Qwen2: ModelArchitecture {
    public var architecture: Architecture { .qwen2 }
    public var ggufName: String { "qwen2" }
    public var ggufRopeLayout: RopeLayout { .halves }
    public init() {}

    public func specialize(_ config: inout ModelConfig, fields: ConfigFields) throws {
        config.qkvBias = true
        config.outputBias = false
    }
}
