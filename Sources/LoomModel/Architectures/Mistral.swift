import LoomFormats
import LoomKernels

extension Architecture {
    public static let mistral = Architecture(rawValue: "MistralForCausalLM")
}

/// Mistral: Llama with sliding-window attention (`sliding_window`, on unless `use_sliding_window`
/// says otherwise). GGUF files call it "llama" unless written by newer converters.
public struct Mistral: ModelArchitecture {
    public var architecture: Architecture { .mistral }
    public var ggufName: String { "mistral" }
    public var ggufRopeLayout: RopeLayout { .adjacentPairs }
    public init() {}

    public func specialize(_ config: inout ModelConfig, fields: ConfigFields) throws {
        if try fields.optionalBool("use_sliding_window") ?? true { config.slidingWindow = try fields.optionalInt("sliding_window") }
    }
}
