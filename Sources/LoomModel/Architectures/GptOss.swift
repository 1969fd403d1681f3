import LoomFormats
import LoomKernels

extension Architecture {
    public static let gptOss = Architecture(rawValue: "GptOssForCausalLM")
}

/// gpt-oss (gpt-oss-20b, gpt-oss-120b): attention with biases and a learned sink logit per
/// head, alternating sliding-window (`layer_types`, the first layer local) and full layers,
/// YaRN; a sparse MLP in every layer whose router has a bias and keeps the softmax of its top k
/// logits (the top k of the softmax, renormalized), and whose experts have biases and the
/// clamped SwiGLU: g·σ(1.702·g)·(u + 1), g = min(gate, limit), u = up clamped to ±limit.
///
/// Checkpoints store each layer's experts as one input-major tensor
/// (`mlp.experts.gate_up_proj` [experts, hidden, 2·width] with gate and up interleaved,
/// `down_proj` [experts, width, hidden], and their biases), which the loader transposes per
/// expert (`TensorSpec.ExpertSlice`). openai's own checkpoints store those two as MXFP4 instead
/// (`gate_up_proj_blocks` and `_scales`, output-major), which the safetensors source rewrites into
/// GGML MXFP4 blocks. llama.cpp's converter already splits and transposes them into
/// `ffn_{gate,up,down}_exps`. llama.cpp reads neither the clamp nor the layer pattern from
/// its files: its loader uses a limit of 7 and makes every even layer local, and so does this
/// family for GGUF files.
public struct GptOss: ModelArchitecture {
    public var architecture: Architecture { .gptOss }
    public var ggufName: String { "gpt-oss" }
    public var ggufRopeLayout: RopeLayout { .halves }
    public var expertNames: ExpertTensorNames { .gptOss }
    public var ggufTensorNames: [String: String] {
        ["mlp.router.weight": "ffn_gate_inp.weight", "mlp.router.bias": "ffn_gate_inp.bias", "self_attn.sinks": "attn_sinks.weight",
         "post_attention_layernorm.weight": "post_attention_norm.weight"]
    }
    public init() {}

    public func specialize(_ config: inout ModelConfig, fields: ConfigFields) throws {
        let bias = try fields.optionalBool("attention_bias") ?? true
        config.qkvBias = bias
        config.outputBias = bias
        config.attentionSinks = true
        config.mlpActivation = .clampedSwiGLU
        config.swigluLimit = Float(try fields.optionalDouble("swiglu_limit") ?? 7)
        config.swigluAlpha = Float(try fields.optionalDouble("swiglu_alpha") ?? 1.702)
        guard config.swigluLimit > 0, config.swigluAlpha > 0 else {
            throw ConfigError.invalidField(file: fields.file, field: "swiglu_limit", reason: "the clamp and slope must be positive")
        }
        var moe = MixtureOfExperts(expertCount: try fields.requiredInt("num_local_experts"),
                                   expertsPerToken: try fields.requiredInt("num_experts_per_tok"),
                                   expertIntermediateSize: config.intermediateSize, normalizeTopK: true)
        moe.biases = true
        config.moe = moe
        config.slidingWindow = try fields.optionalInt("sliding_window")
        let types = try fields.optionalStringList("layer_types")
            ?? (0..<config.layerCount).map { $0 % 2 == 0 ? "sliding_attention" : "full_attention" }
        guard types.count == config.layerCount, types.allSatisfy({ $0 == "full_attention" || $0 == "sliding_attention" }) else {
            throw ConfigError.invalidField(file: fields.file, field: "layer_types",
                                           reason: "expected \(config.layerCount) of full_attention or sliding_attention")
        }
        config.slidingLayers = config.slidingWindow == nil ? nil : types.map { $0 == "sliding_attention" }
    }

    public func specialize(_ config: inout ModelConfig, gguf file: GGUFFile) throws {
        config.attentionSinks = true
        config.mlpActivation = .clampedSwiGLU
        config.moe?.biases = true
        if let window = try file.integer("gpt-oss.attention.sliding_window"), window > 0 {
            config.slidingWindow = window
            config.slidingLayers = (0..<config.layerCount).map { $0 % 2 == 0 }
        }
    }

    public func tensorInventory(_ config: ModelConfig, separateHead: Bool) -> [TensorSpec] {
        var specs = decoderInventory(config: config, separateHead: separateHead, expertNames: expertNames)
        guard let moe = config.moe else { return specs }
        let (hidden, width, experts) = (config.hiddenSize, moe.expertIntermediateSize, moe.expertCount)
        for layer in (0..<config.layerCount).reversed() {
            let p = WeightPlacement.layer(layer), n = { HFTensorName.layer(layer, $0) }
            func slice(_ stored: String, _ e: Int, first: Int, stride: Int, columns: Int) -> TensorSpec.ExpertSlice {
                TensorSpec.ExpertSlice(stored: n("mlp.experts." + stored), expert: e, experts: experts, first: first, stride: stride,
                                       storedColumns: columns)
            }
            // Each expert's matrices: the input-major parts of the stored tensors.
            for i in specs.indices where specs[i].placement == p {
                guard let e = Self.expert(of: specs[i].name) else { continue }
                if specs[i].name.hasSuffix(".gate_proj.weight") { specs[i].expertSlice = slice("gate_up_proj", e, first: 0, stride: 2, columns: 2 * width) }
                if specs[i].name.hasSuffix(".up_proj.weight") { specs[i].expertSlice = slice("gate_up_proj", e, first: 1, stride: 2, columns: 2 * width) }
                if specs[i].name.hasSuffix(".down_proj.weight") { specs[i].expertSlice = slice("down_proj", e, first: 0, stride: 1, columns: hidden) }
            }
            // The sinks, the router's bias and every expert's biases, after the layer's tensors.
            var extra = [TensorSpec(name: n("self_attn.sinks"), placement: p, kind: .vector(count: config.headCount)),
                         TensorSpec(name: n(expertNames.routerBias), placement: p, kind: .vector(count: experts))]
            for e in 0..<experts {
                let prefix = expertNames.expertPrefix(e)
                var gate = TensorSpec(name: n(prefix + expertNames.gateBias), placement: p, kind: .vector(count: width))
                gate.expertSlice = slice("gate_up_proj_bias", e, first: 0, stride: 2, columns: 2 * width)
                var up = TensorSpec(name: n(prefix + expertNames.upBias), placement: p, kind: .vector(count: width))
                up.expertSlice = slice("gate_up_proj_bias", e, first: 1, stride: 2, columns: 2 * width)
                var down = TensorSpec(name: n(prefix + expertNames.downBias), placement: p, kind: .vector(count: hidden))
                down.expertSlice = slice("down_proj_bias", e, first: 0, stride: 1, columns: hidden)
                extra += [gate, up, down]
            }
            let end = (specs.lastIndex { $0.placement == p } ?? specs.count - 1) + 1
            specs.insert(contentsOf: extra, at: end)
        }
        return specs
    }

    /// The expert of a per-expert name (`model.layers.N.mlp.experts.E.…`).
    static func expert(of name: String) -> Int? {
        let parts = name.split(separator: ".")
        guard parts.count == 8, parts[3] == "mlp", parts[4] == "experts" else { return nil }
        return Int(parts[5])
    }
}

extension ExpertTensorNames {
    /// gpt-oss: `mlp.router`, and per-expert names that its all-experts tensors are sliced into.
    public static let gptOss = ExpertTensorNames(router: "mlp.router.weight", expertPrefix: { "mlp.experts.\($0)." },
                                                 gate: "gate_proj.weight", up: "up_proj.weight", down: "down_proj.weight")
}
