/// Qwen2 and Qwen2.5: biases on q, k and v (never on o), rotate-half RoPE in GGUF too.
let qwen2Traits = ArchitectureTraits(architecture: .qwen2, ggufName: "qwen2", ggufRopeLayout: .halves)
