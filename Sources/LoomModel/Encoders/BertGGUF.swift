import LoomFormats

/// BERT encoders in GGUF files, as llama.cpp's `convert_hf_to_gguf.py` writes them
/// (`general.architecture` `bert`).
extension BertWeights {
    /// The GGUF name of a BERT tensor's Hugging Face name (without a `bert.` prefix).
    @Sendable public static func ggufName(_ hfName: String) -> String {
        if let name = ggufWholeNames[hfName] { return name }
        let parts = hfName.split(separator: ".")
        guard parts.count >= 4, parts[0] == "encoder", parts[1] == "layer" else { return hfName }
        let suffix = parts[3...].joined(separator: ".")
        let kind = suffix.hasSuffix(".bias") ? "bias" : "weight"
        guard let name = ggufLayerModules[String(suffix.dropLast(kind.count + 1))] else { return hfName }
        return "blk.\(parts[2]).\(name).\(kind)"
    }

    private static let ggufWholeNames = [
        "embeddings.word_embeddings.weight": "token_embd.weight",
        "embeddings.position_embeddings.weight": "position_embd.weight",
        "embeddings.token_type_embeddings.weight": "token_types.weight",
        "embeddings.LayerNorm.weight": "token_embd_norm.weight",
        "embeddings.LayerNorm.bias": "token_embd_norm.bias",
    ]

    /// A layer's HF module (`encoder.layer.N.` and `.weight`/`.bias` removed) → its GGUF name.
    private static let ggufLayerModules = [
        "attention.self.query": "attn_q", "attention.self.key": "attn_k", "attention.self.value": "attn_v",
        "attention.output.dense": "attn_output", "attention.output.LayerNorm": "attn_output_norm",
        "intermediate.dense": "ffn_up", "output.dense": "ffn_down", "output.LayerNorm": "layer_output_norm",
    ]
}

extension EncoderConfig {
    /// Whether a GGUF file holds a BERT encoder.
    public static func isEncoder(gguf file: GGUFFile) -> Bool {
        (try? file.string("general.architecture")) == "bert"
    }

    /// The config of a BERT GGUF file from its `bert.*` metadata. Sentences are cut at the
    /// trained context, pooled as `bert.pooling_type` says (mean when absent) and normalised, as
    /// llama.cpp's embeddings are by default.
    public static func load(gguf file: GGUFFile) throws -> EncoderConfig {
        let path = file.path
        let arch = try file.string("general.architecture") ?? "?"
        guard arch == "bert" else {
            throw ConfigError.unknownArchitecture(file: path, name: arch, supported: ["bert"])
        }
        func required(_ key: String) throws -> Int {
            guard let value = try file.integer("bert.\(key)") else { throw ConfigError.missingField(file: path, field: "bert.\(key)") }
            guard value > 0 else { throw ConfigError.invalidField(file: path, field: "bert.\(key)", reason: "must be positive") }
            return value
        }
        if try file.bool("bert.attention.causal") == true {
            throw ConfigError.invalidField(file: path, field: "bert.attention.causal", reason: "causal attention is not a BERT encoder")
        }
        let hidden = try required("embedding_length")
        let heads = try required("attention.head_count")
        guard hidden % heads == 0 else {
            throw ConfigError.invalidField(file: path, field: "bert.attention.head_count", reason: "\(heads) heads do not divide \(hidden)")
        }
        guard let embedding = file.tensor(named: "token_embd.weight"), embedding.dimensions.count == 2 else {
            throw SafeTensorsError.missingTensor(name: "token_embd.weight", searched: path)
        }
        let pooling: EmbeddingPooling
        switch try file.integer("bert.pooling_type") ?? 1 {
        case 1: pooling = .mean
        case 2: pooling = .cls
        case let other:
            throw ConfigError.invalidField(file: path, field: "bert.pooling_type", reason: "\(other) is not supported (1 mean, 2 cls)")
        }
        let context = try required("context_length")
        return EncoderConfig(
            hiddenSize: hidden, layerCount: try required("block_count"), headCount: heads,
            intermediateSize: try required("feed_forward_length"), vocabSize: embedding.dimensions[1],
            maxPositionEmbeddings: context, typeVocabSize: file.tensor(named: "token_types.weight")?.dimensions.last ?? 1,
            layerNormEps: Float(try file.float("bert.attention.layer_norm_epsilon") ?? 1e-12),
            maxSequenceLength: context, pooling: pooling, normalize: true)
    }
}
