/// Mistral: Llama with sliding-window attention (`sliding_window` in config.json). GGUF files
/// call it "llama" unless written by newer converters.
let mistralTraits = ArchitectureTraits(architecture: .mistral, ggufName: "mistral", ggufRopeLayout: .adjacentPairs)
