import Foundation

/// How token vectors become one sentence vector (sentence-transformers' Pooling module).
public enum EmbeddingPooling: String, Sendable, Equatable, CaseIterable {
    /// The average of every token's vector, [CLS] and [SEP] included.
    case mean
    /// The vector of the first token ([CLS]).
    case cls
    /// The element-wise maximum over tokens.
    case max
}

/// The shape and numerics of a BERT-style encoder, read from a Hugging Face config.json, with
/// the sentence-transformers files beside it when present (modules.json, 1_Pooling/config.json,
/// sentence_bert_config.json), which say how the token vectors become a sentence embedding.
public struct EncoderConfig: Sendable, Equatable {
    public var architecture: Architecture
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var intermediateSize: Int
    public var vocabSize: Int
    /// Learned absolute positions: the longest input the model reads.
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float
    /// Tokens a sentence is cut to, [CLS] and [SEP] included (sentence-transformers'
    /// `max_seq_length`, else the position table's length).
    public var maxSequenceLength: Int
    public var pooling: EmbeddingPooling
    /// Whether the sentence vector is scaled to unit length (a Normalize module).
    public var normalize: Bool

    /// Per-head width.
    public var headDim: Int { hiddenSize / headCount }

    public init(architecture: Architecture = Architecture(rawValue: "BertModel"), hiddenSize: Int, layerCount: Int,
                headCount: Int, intermediateSize: Int, vocabSize: Int, maxPositionEmbeddings: Int,
                typeVocabSize: Int = 2, layerNormEps: Float = 1e-12, maxSequenceLength: Int? = nil,
                pooling: EmbeddingPooling = .mean, normalize: Bool = true) {
        self.architecture = architecture
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.intermediateSize = intermediateSize
        self.vocabSize = vocabSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.maxSequenceLength = min(maxSequenceLength ?? maxPositionEmbeddings, maxPositionEmbeddings)
        self.pooling = pooling
        self.normalize = normalize
    }

    /// The config.json `architectures` names read as BERT encoders.
    public static let architectures: Set<String> = ["BertModel", "BertForMaskedLM", "BertForPreTraining"]

    /// Whether `directory`'s config.json names a BERT encoder (without validating the rest).
    public static func isEncoder(directory: String) -> Bool {
        guard let json = try? ModelConfig.readObject(directory + "/config.json") else { return false }
        let names = json["architectures"] as? [String] ?? []
        return names.first.map(architectures.contains) ?? (json["model_type"] as? String == "bert")
    }

    /// Reads config.json in `directory` and the sentence-transformers files beside it.
    public static func load(directory: String) throws -> EncoderConfig {
        let path = directory + "/config.json"
        let json = try ModelConfig.readObject(path)
        let fields = ConfigFields(json: json, file: path)
        let name = (json["architectures"] as? [String])?.first ?? "BertModel"
        guard architectures.contains(name) else {
            throw ConfigError.unknownArchitecture(file: path, name: name, supported: architectures.sorted())
        }
        if let type = try fields.optionalString("position_embedding_type"), type != "absolute" {
            throw ConfigError.invalidField(file: path, field: "position_embedding_type",
                                           reason: "'\(type)' is not supported (only absolute)")
        }
        let activation = try fields.optionalString("hidden_act") ?? "gelu"
        guard activation == "gelu" else {
            throw ConfigError.invalidField(file: path, field: "hidden_act", reason: "'\(activation)' is not supported (only gelu)")
        }
        if try fields.optionalBool("is_decoder") == true {
            throw ConfigError.invalidField(file: path, field: "is_decoder", reason: "a BERT decoder is not supported")
        }
        let hidden = try fields.requiredInt("hidden_size")
        let heads = try fields.requiredInt("num_attention_heads")
        guard heads > 0, hidden > 0, hidden % heads == 0 else {
            throw ConfigError.invalidField(file: path, field: "num_attention_heads",
                                           reason: "\(heads) heads do not divide hidden_size \(hidden)")
        }
        let positions = try fields.optionalInt("max_position_embeddings") ?? 512
        guard positions > 2 else {
            throw ConfigError.invalidField(file: path, field: "max_position_embeddings", reason: "must be at least 3")
        }
        var config = EncoderConfig(
            architecture: Architecture(rawValue: name), hiddenSize: hidden,
            layerCount: try fields.requiredInt("num_hidden_layers"), headCount: heads,
            intermediateSize: try fields.requiredInt("intermediate_size"), vocabSize: try fields.requiredInt("vocab_size"),
            maxPositionEmbeddings: positions, typeVocabSize: max(1, try fields.optionalInt("type_vocab_size") ?? 2),
            layerNormEps: Float(try fields.optionalDouble("layer_norm_eps") ?? 1e-12))
        try config.readSentenceTransformers(directory: directory)
        return config
    }

    /// Applies modules.json, the pooling config and sentence_bert_config.json when present. A
    /// plain BERT directory (no modules.json) is mean-pooled and normalised, as
    /// sentence-transformers does when it wraps one.
    private mutating func readSentenceTransformers(directory: String) throws {
        let fileManager = FileManager.default
        let modulesPath = directory + "/modules.json"
        var poolingDirectory = directory + "/1_Pooling"
        if fileManager.fileExists(atPath: modulesPath) {
            guard let data = fileManager.contents(atPath: modulesPath),
                  let modules = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
                throw ConfigError.invalidJSON(file: modulesPath, reason: "expected a list of modules")
            }
            let types = modules.compactMap { $0["type"] as? String }
            normalize = types.contains { $0.hasSuffix(".Normalize") }
            for (i, module) in modules.enumerated() {
                guard let type = module["type"] as? String else {
                    throw ConfigError.missingField(file: modulesPath, field: "[\(i)].type")
                }
                let known = [".Transformer", ".Pooling", ".Normalize"]
                guard known.contains(where: type.hasSuffix) else {
                    throw ConfigError.invalidField(file: modulesPath, field: "[\(i)].type",
                                                   reason: "module '\(type)' is not supported (Transformer, Pooling, Normalize)")
                }
                if type.hasSuffix(".Pooling"), let sub = module["path"] as? String, !sub.isEmpty {
                    poolingDirectory = directory + "/" + sub
                }
            }
        }
        let poolingPath = poolingDirectory + "/config.json"
        if fileManager.fileExists(atPath: poolingPath) {
            let json = try ModelConfig.readObject(poolingPath)
            let fields = ConfigFields(json: json, file: poolingPath)
            let modes: [(String, EmbeddingPooling?)] = [
                ("pooling_mode_mean_tokens", .mean), ("pooling_mode_cls_token", .cls), ("pooling_mode_max_tokens", .max),
                ("pooling_mode_mean_sqrt_len_tokens", nil), ("pooling_mode_weightedmean_tokens", nil),
                ("pooling_mode_lasttoken", nil),
            ]
            var chosen: [(String, EmbeddingPooling?)] = []
            for mode in modes where try fields.optionalBool(mode.0) == true { chosen.append(mode) }
            if let named = try fields.optionalString("pooling_mode") {
                guard let mode = EmbeddingPooling(rawValue: named) else {
                    throw ConfigError.invalidField(file: poolingPath, field: "pooling_mode",
                                                   reason: "'\(named)' is not supported (mean, cls, max)")
                }
                chosen = [("pooling_mode", mode)]
            }
            guard chosen.count == 1, let mode = chosen[0].1 else {
                throw ConfigError.invalidField(file: poolingPath, field: chosen.first?.0 ?? "pooling_mode_mean_tokens",
                                               reason: "exactly one of mean, cls or max pooling must be on")
            }
            pooling = mode
        }
        let sentencePath = directory + "/sentence_bert_config.json"
        if fileManager.fileExists(atPath: sentencePath) {
            let fields = ConfigFields(json: try ModelConfig.readObject(sentencePath), file: sentencePath)
            if let length = try fields.optionalInt("max_seq_length") {
                guard length > 2 else {
                    throw ConfigError.invalidField(file: sentencePath, field: "max_seq_length", reason: "must be at least 3")
                }
                maxSequenceLength = min(length, maxPositionEmbeddings)
            }
        }
    }
}
