import Foundation

/// The shape and numerics of a decoder, read from a Hugging Face config.json (and
/// generation_config.json for special token ids), or built from GGUF metadata or a catalog.
///
/// `parse` reads the fields every decoder shares; what a family means beyond them (Qwen2's
/// QKV biases, Qwen3's q/k norms, Mistral's default window) is set by its architecture type in
/// LoomModel through the `specialize` step.
public struct ModelConfig: Sendable, Equatable {
    public var architecture: Architecture
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    /// Per-head width; explicit in Qwen3 configs, otherwise hidden / heads.
    public var headDim: Int
    public var intermediateSize: Int
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling
    /// Biases on the q, k and v projections (`attention_bias`, or always for some families).
    public var qkvBias: Bool
    /// A bias on the output projection (Llama `attention_bias` covers o_proj too).
    public var outputBias: Bool
    /// RMSNorm over each q and k head before RoPE (set by families that have it).
    public var qkNorm: Bool
    public var tieWordEmbeddings: Bool
    /// Attention window for Mistral-style sliding-window attention; nil for full attention.
    public var slidingWindow: Int?
    /// The sparse feed-forward of mixture-of-experts families; nil for a dense MLP in every layer.
    public var moe: MixtureOfExperts?
    /// Which layers attend within `slidingWindow` (Gemma's alternating local and global layers);
    /// nil when the window, if any, applies to every layer.
    public var slidingLayers: [Bool]?
    /// RoPE θ of the sliding-window layers, unscaled (Gemma 3's local base); nil when they share `ropeTheta`.
    public var localRopeTheta: Double?
    /// Multiplies the embedding rows (Gemma: √hidden); nil for none.
    public var embeddingScale: Float?
    /// Attention scores' scale when it is not 1/√head_dim (Gemma's `query_pre_attn_scalar`^-½).
    public var attentionScale: Float?
    /// Added to every RMSNorm weight at load (Gemma's checkpoints store w for a norm by 1 + w).
    public var normWeightOffset: Float = 0
    /// Norms after the attention and MLP outputs too, before each joins the residual (Gemma 2 and 3).
    public var sandwichNorms = false
    /// The gated MLP's activation.
    public var mlpActivation: GatedActivationKind = .silu
    /// Attention scores become cap · tanh(score / cap) (Gemma 2's `attn_logit_softcapping`).
    public var attentionSoftcap: Float?
    /// Logits become cap · tanh(logit / cap) (Gemma 2's `final_logit_softcapping`).
    public var finalLogitSoftcap: Float?
    /// Every attention layer has a learned sink logit per head that joins the softmax (gpt-oss).
    public var attentionSinks = false
    /// The clamp of `.clampedSwiGLU` (gpt-oss's `swiglu_limit`).
    public var swigluLimit: Float = 7
    /// The sigmoid's slope in `.clampedSwiGLU` (gpt-oss's α).
    public var swigluAlpha: Float = 1.702
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]

    public init(architecture: Architecture, hiddenSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int,
                headDim: Int? = nil, intermediateSize: Int, vocabSize: Int, maxPositionEmbeddings: Int,
                rmsNormEps: Float = 1e-6, ropeTheta: Double = 10000, ropeScaling: RopeScaling = .none,
                qkvBias: Bool = false, outputBias: Bool = false, qkNorm: Bool = false,
                tieWordEmbeddings: Bool = false, slidingWindow: Int? = nil, moe: MixtureOfExperts? = nil,
                bosTokenId: Int? = nil, eosTokenIds: [Int] = []) {
        self.architecture = architecture
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim ?? hiddenSize / max(1, headCount)
        self.intermediateSize = intermediateSize
        self.vocabSize = vocabSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.qkvBias = qkvBias
        self.outputBias = outputBias
        self.qkNorm = qkNorm
        self.tieWordEmbeddings = tieWordEmbeddings
        self.slidingWindow = slidingWindow
        self.moe = moe
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
    }

    /// The attention window of layer `layer`, if it has one.
    public func window(layer: Int) -> Int? {
        guard let slidingLayers else { return slidingWindow }
        return slidingLayers[layer] ? slidingWindow : nil
    }

    /// Width of all query heads together.
    public var queryWidth: Int { headCount * headDim }
    /// Width of all key (or value) heads together.
    public var kvWidth: Int { kvHeadCount * headDim }

    /// Bytes of fp16 K and V for one token across all layers.
    public var fp16CacheBytesPerToken: Int { 2 * layerCount * kvWidth * 2 }

    /// The family-specific step of parsing: sets what `config` means for its architecture from
    /// the file's fields, or throws (an unknown architecture, a bad family field).
    public typealias Specialize = (_ config: inout ModelConfig, _ fields: ConfigFields) throws -> Void

    /// Reads `config.json` in `directory`, and `generation_config.json` beside it if present.
    public static func load(directory: String, specialize: Specialize = { _, _ in }) throws -> ModelConfig {
        let path = directory + "/config.json"
        var config = try parse(json: readObject(path), file: path, specialize: specialize)
        let generationPath = directory + "/generation_config.json"
        if FileManager.default.fileExists(atPath: generationPath) {
            let generation = try readObject(generationPath)
            let fields = ConfigFields(json: generation, file: generationPath)
            if let bos = try fields.optionalInt("bos_token_id") { config.bosTokenId = bos }
            let eos = try fields.intOrIntList("eos_token_id")
            if !eos.isEmpty { config.eosTokenIds = eos }
        }
        return config
    }

    /// Bounds on a config's sizes, far beyond every released model (the deepest has about 130
    /// layers, the widest a hidden size of 25,600 and a vocabulary of about a million), so that a
    /// lying header fails by name before anything is sized from it, and so that the planner's
    /// byte counts (layers × width × width × 4, layers × query width × positions × 8) fit in 63 bits.
    public enum Bounds {
        public static let layers = 1024
        public static let hiddenSize = 1 << 17
        public static let intermediateSize = 1 << 20
        public static let heads = 1 << 12
        public static let headDim = 1 << 12
        public static let queryWidth = 1 << 18
        public static let vocabSize = 1 << 24
        public static let positions = 1 << 28
    }

    /// `value` when it is positive and at most `limit`, else an error naming `field` of `file`.
    public static func plausible(_ value: Int, atMost limit: Int, file: String, field: String) throws -> Int {
        guard value > 0 else { throw ConfigError.invalidField(file: file, field: field, reason: "must be positive, got \(value)") }
        guard value <= limit else {
            throw ConfigError.invalidField(file: file, field: field, reason: "\(value) is more than the \(limit) Loom accepts")
        }
        return value
    }

    /// Parses a config.json object; `file` names it in errors.
    public static func parse(json: [String: Any], file: String, specialize: Specialize = { _, _ in }) throws -> ModelConfig {
        let fields = ConfigFields(json: json, file: file)
        guard let names = json["architectures"] as? [String], let name = names.first else {
            throw ConfigError.missingField(file: file, field: "architectures")
        }
        let architecture = Architecture(rawValue: name)
        if json["vision_config"] != nil {
            throw ConfigError.invalidField(file: file, field: "vision_config", reason:
                "\(name) is a vision-language model; Loom runs text decoders only (for Gemma 3, a Gemma3ForCausalLM checkpoint)")
        }
        // Checkpoints quantized by other tools keep their weights in tensors of their own
        // (GPTQ's qweight, AWQ's qzeros, FP8 scales): say so before a tensor goes missing.
        if let quantization = json["quantization_config"] as? [String: Any] {
            let method = quantization["quant_method"] as? String ?? "(none given)"
            guard method == "mxfp4" || method == "exl2" else {
                throw ConfigError.invalidField(file: file, field: "quantization_config.quant_method", reason:
                    "'\(method)' checkpoints are not read; Loom reads unquantized safetensors, EXL2, MXFP4 experts (gpt-oss) and GGUF files")
            }
        }
        let hidden = try plausible(fields.requiredInt("hidden_size"), atMost: Bounds.hiddenSize, file: file, field: "hidden_size")
        let heads = try plausible(fields.requiredInt("num_attention_heads"), atMost: Bounds.heads, file: file, field: "num_attention_heads")
        let kvHeads = try fields.optionalInt("num_key_value_heads") ?? heads
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw ConfigError.invalidField(file: file, field: "num_key_value_heads", reason: "\(kvHeads) does not divide \(heads) heads")
        }
        let headDim = try fields.optionalInt("head_dim") ?? hidden / heads
        guard headDim > 0, headDim % 2 == 0 else {
            throw ConfigError.invalidField(file: file, field: "head_dim", reason: "must be a positive even number")
        }
        _ = try plausible(headDim, atMost: Bounds.headDim, file: file, field: "head_dim")
        _ = try plausible(heads * headDim, atMost: Bounds.queryWidth, file: file, field: "num_attention_heads × head_dim")
        let maxPositions = try plausible(fields.optionalInt("max_position_embeddings") ?? 2048, atMost: Bounds.positions,
                                         file: file, field: "max_position_embeddings")

        // transformers 5 nests θ and the scaling under rope_parameters; older files use
        // rope_theta and rope_scaling at the top level.
        let ropeParameters = json["rope_parameters"] as? [String: Any]
        let ropeFields = ropeParameters.map { ConfigFields(json: $0, file: file, prefix: "rope_parameters.") }
        let theta = try ropeFields?.optionalDouble("rope_theta") ?? fields.optionalDouble("rope_theta") ?? 10000
        let scalingObject = (json["rope_scaling"] as? [String: Any]) ?? ropeParameters
        let scaling = try scalingObject.map {
            try parseScaling(ConfigFields(json: $0, file: file, prefix: json["rope_scaling"] is [String: Any] ? "rope_scaling." : "rope_parameters."),
                             maxPositions: maxPositions, topLevel: fields)
        } ?? RopeScaling.none
        if case let .longRope(short, _, _, _) = scaling, short.count != headDim / 2 {
            throw ConfigError.invalidField(file: file, field: "short_factor",
                                           reason: "\(short.count) factors for \(headDim / 2) rotation pairs (head_dim \(headDim))")
        }
        if let partial = try ropeFields?.optionalDouble("partial_rotary_factor") ?? fields.optionalDouble("partial_rotary_factor"), partial != 1 {
            throw ConfigError.invalidField(file: file, field: "partial_rotary_factor",
                                           reason: "unsupported: RoPE on part of each head (\(partial)); Loom rotates whole heads")
        }

        let attentionBias = try fields.optionalBool("attention_bias") ?? false
        var slidingWindow: Int? = nil
        if try fields.optionalBool("use_sliding_window") == true { slidingWindow = try fields.optionalInt("sliding_window") }

        var config = ModelConfig(
            architecture: architecture,
            hiddenSize: hidden,
            layerCount: try plausible(fields.requiredInt("num_hidden_layers"), atMost: Bounds.layers, file: file, field: "num_hidden_layers"),
            headCount: heads,
            kvHeadCount: kvHeads,
            headDim: headDim,
            intermediateSize: try plausible(fields.requiredInt("intermediate_size"), atMost: Bounds.intermediateSize, file: file,
                                            field: "intermediate_size"),
            vocabSize: try plausible(fields.requiredInt("vocab_size"), atMost: Bounds.vocabSize, file: file, field: "vocab_size"),
            maxPositionEmbeddings: maxPositions,
            rmsNormEps: Float(try fields.optionalDouble("rms_norm_eps") ?? 1e-6),
            ropeTheta: theta,
            ropeScaling: scaling,
            qkvBias: attentionBias,
            outputBias: attentionBias,
            qkNorm: false,
            tieWordEmbeddings: try fields.optionalBool("tie_word_embeddings") ?? false,
            slidingWindow: slidingWindow,
            bosTokenId: try fields.optionalInt("bos_token_id"),
            eosTokenIds: try fields.intOrIntList("eos_token_id")
        )
        try specialize(&config, fields)
        return config
    }

    /// The RoPE scaling an object of rope fields (`rope_scaling`, `rope_parameters` or one of its
    /// per-layer-type entries) describes; `topLevel` supplies what older configs keep outside it.
    public static func parseScaling(_ fields: ConfigFields, maxPositions: Int, topLevel: ConfigFields) throws -> RopeScaling {
        let type = try fields.optionalString("rope_type") ?? fields.optionalString("type") ?? "default"
        switch type {
        case "longrope", "su":
            // Phi-3 keeps original_max_position_embeddings at the top level; transformers 5 moves it in.
            guard let original = try fields.optionalInt("original_max_position_embeddings")
                    ?? topLevel.optionalInt("original_max_position_embeddings"), original > 0 else {
                throw ConfigError.missingField(file: fields.file, field: "original_max_position_embeddings")
            }
            let short = try fields.requiredDoubleList("short_factor"), long = try fields.requiredDoubleList("long_factor")
            guard short.count == long.count else {
                throw ConfigError.invalidField(file: fields.file, field: fields.prefix + "long_factor",
                                               reason: "\(long.count) factors against \(short.count) short ones")
            }
            let factor = try fields.optionalDouble("factor") ?? Double(maxPositions) / Double(original)
            let attention = try fields.optionalDouble("attention_factor")
                ?? (factor <= 1 ? 1 : (1 + log(factor) / log(Double(original))).squareRoot())
            return .longRope(shortFactors: short, longFactors: long, originalMaxPositions: original, attentionFactor: attention)
        case "default": return .none
        case "linear":
            return .linear(factor: try fields.requiredDouble("factor"))
        case "llama3":
            return .llama3(factor: try fields.requiredDouble("factor"),
                           lowFreqFactor: try fields.requiredDouble("low_freq_factor"),
                           highFreqFactor: try fields.requiredDouble("high_freq_factor"),
                           originalMaxPositions: try fields.optionalInt("original_max_position_embeddings") ?? maxPositions)
        case "yarn":
            let original = try fields.optionalInt("original_max_position_embeddings") ?? maxPositions
            let factor = try fields.optionalDouble("factor") ?? Double(maxPositions) / Double(original)
            func mscale(_ scale: Double, _ m: Double) -> Double { scale <= 1 ? 1 : 0.1 * m * log(scale) + 1 }
            var attention = try fields.optionalDouble("attention_factor")
            if attention == nil {
                if let m = try fields.optionalDouble("mscale"), let mAll = try fields.optionalDouble("mscale_all_dim"), m != 0, mAll != 0 {
                    attention = mscale(factor, m) / mscale(factor, mAll)
                } else {
                    attention = mscale(factor, 1)
                }
            }
            let betaFast = try fields.optionalDouble("beta_fast").flatMap { $0 == 0 ? nil : $0 } ?? 32
            let betaSlow = try fields.optionalDouble("beta_slow").flatMap { $0 == 0 ? nil : $0 } ?? 1
            return .yarn(factor: factor, originalMaxPositions: original, betaFast: betaFast, betaSlow: betaSlow,
                         attentionFactor: attention!, truncate: try fields.optionalBool("truncate") ?? true)
        default:
            throw ConfigError.invalidField(file: fields.file, field: fields.prefix + "rope_type",
                                           reason: "unsupported RoPE type '\(type)' (supported: default, linear, llama3, yarn, longrope)")
        }
    }

    static func readObject(_ path: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError.unreadable(file: path) }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw ConfigError.invalidJSON(file: path, reason: error.localizedDescription)
        }
        guard let dict = object as? [String: Any] else { throw ConfigError.invalidJSON(file: path, reason: "top level is not an object") }
        return dict
    }
}

/// The activation between a gated MLP's gate and up projections.
public enum GatedActivationKind: String, Sendable, Equatable {
    /// SiLU(gate) · up (SwiGLU): Llama, Qwen, Mistral, Phi-3.
    case silu
    /// GELU with the tanh approximation (`gelu_pytorch_tanh`) of gate, times up (GeGLU): Gemma.
    case geluTanh
    /// gpt-oss: g · σ(α·g) · (u + 1) with g = min(gate, limit) and u = up clamped to ±limit
    /// (`ModelConfig.swigluLimit`, `swigluAlpha`).
    case clampedSwiGLU
}

/// Typed access to JSON fields with errors that name the file and field.
public struct ConfigFields {
    let json: [String: Any]
    /// The file, for messages.
    public let file: String
    var prefix = ""

    /// The fields of the object at `key`, or nil when it is absent or not an object.
    public func object(_ key: String) -> ConfigFields? {
        (json[key] as? [String: Any]).map { ConfigFields(json: $0, file: file, prefix: prefix + key + ".") }
    }

    /// The strings of the list at `key`, or nil when absent.
    public func optionalStringList(_ key: String) throws -> [String]? {
        guard let value = json[key], !(value is NSNull) else { return nil }
        guard let list = value as? [String] else {
            throw ConfigError.invalidField(file: file, field: prefix + key, reason: "expected a list of strings")
        }
        return list
    }

    init(json: [String: Any], file: String, prefix: String = "") {
        self.json = json
        self.file = file
        self.prefix = prefix
    }

    private func number(_ key: String) throws -> NSNumber? {
        guard let value = json[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber else {
            throw ConfigError.invalidField(file: file, field: prefix + key, reason: "expected a number")
        }
        return number
    }

    public func optionalInt(_ key: String) throws -> Int? {
        guard let number = try number(key) else { return nil }
        let double = number.doubleValue
        guard double == double.rounded(), abs(double) < 1e15 else {
            throw ConfigError.invalidField(file: file, field: prefix + key, reason: "expected an integer")
        }
        return number.intValue
    }

    public func requiredInt(_ key: String) throws -> Int {
        guard let value = try optionalInt(key) else { throw ConfigError.missingField(file: file, field: prefix + key) }
        guard value >= 0 else { throw ConfigError.invalidField(file: file, field: prefix + key, reason: "must not be negative") }
        return value
    }

    public func optionalDouble(_ key: String) throws -> Double? { try number(key)?.doubleValue }

    public func requiredDouble(_ key: String) throws -> Double {
        guard let value = try optionalDouble(key) else { throw ConfigError.missingField(file: file, field: prefix + key) }
        return value
    }

    public func optionalBool(_ key: String) throws -> Bool? {
        guard let value = json[key], !(value is NSNull) else { return nil }
        guard let flag = value as? Bool else {
            throw ConfigError.invalidField(file: file, field: prefix + key, reason: "expected true or false")
        }
        return flag
    }

    public func optionalString(_ key: String) throws -> String? {
        guard let value = json[key], !(value is NSNull) else { return nil }
        guard let string = value as? String else {
            throw ConfigError.invalidField(file: file, field: prefix + key, reason: "expected a string")
        }
        return string
    }

    /// A list of numbers, which must be present.
    public func requiredDoubleList(_ key: String) throws -> [Double] {
        guard let list = json[key] as? [Any] else {
            throw json[key] == nil ? ConfigError.missingField(file: file, field: prefix + key)
                                   : ConfigError.invalidField(file: file, field: prefix + key, reason: "expected a list of numbers")
        }
        return try list.map { item in
            guard let n = item as? NSNumber else {
                throw ConfigError.invalidField(file: file, field: prefix + key, reason: "expected a list of numbers")
            }
            return n.doubleValue
        }
    }

    /// A list of integers, or nil when absent.
    public func optionalIntList(_ key: String) throws -> [Int]? {
        guard let value = json[key], !(value is NSNull) else { return nil }
        guard value is [Any] else { throw ConfigError.invalidField(file: file, field: prefix + key, reason: "expected a list of integers") }
        return try intOrIntList(key)
    }

    public func intOrIntList(_ key: String) throws -> [Int] {
        if let list = json[key] as? [Any] {
            return try list.map { item in
                guard let n = item as? NSNumber else {
                    throw ConfigError.invalidField(file: file, field: prefix + key, reason: "expected integers")
                }
                return n.intValue
            }
        }
        return try optionalInt(key).map { [$0] } ?? []
    }
}
