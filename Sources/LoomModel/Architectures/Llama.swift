/// Llama 1–3: the reference shape. Biases only when `attention_bias` (Smaug-72B ships that way);
/// llama.cpp's converter permutes q/k rows so RoPE pairs are adjacent.
let llamaTraits = ArchitectureTraits(architecture: .llama, ggufName: "llama", ggufRopeLayout: .adjacentPairs)
