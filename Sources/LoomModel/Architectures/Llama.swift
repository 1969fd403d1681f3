import LoomFormats
import LoomKernels

extension Architecture {
    public static let llama = Architecture(rawValue: "LlamaForCausalLM")
}

/// Llama 1–3: the reference shape. Biases only when `attention_bias` (Smaug-72B ships that way);
/// llama.cpp's converter permutes q/k rows so RoPE pairs are adjacent.
public struct Llama: ModelArchitecture {
    public var architecture: Architecture { .llama }
    public var ggufName: String { "llama" }
    public var ggufRopeLayout: RopeLayout { .adjacentPairs }
    public init() {}
}
