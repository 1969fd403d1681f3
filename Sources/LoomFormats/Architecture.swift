/// The model families Loom runs. All are Llama-shaped decoders; they differ in QKV bias,
/// q/k normalization and naming.
public enum Architecture: String, Sendable, CaseIterable, Codable {
    case llama = "LlamaForCausalLM"
    case mistral = "MistralForCausalLM"
    case qwen2 = "Qwen2ForCausalLM"
    case qwen3 = "Qwen3ForCausalLM"
}
