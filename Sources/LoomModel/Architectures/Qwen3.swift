/// Qwen3: no QKV bias, RMSNorm on each q and k head before RoPE, and an explicit head_dim that
/// may differ from hidden / heads.
let qwen3Traits = ArchitectureTraits(architecture: .qwen3, ggufName: "qwen3", ggufRopeLayout: .halves)
