import LoomCore
import LoomFormats
import LoomKernels

/// Where a group of weights lives; the loader asks the runtime for the arena of each.
public enum WeightPlacement: Hashable, Sendable {
    case embedding
    case layer(Int)
    case head
}

/// The weights of one decoder layer.
public struct DecoderLayerWeights: @unchecked Sendable {
    public let attentionNorm: ArenaBuffer<Float>   // [hidden]
    public let query: any WeightMatrix             // [heads * headDim, hidden]
    public let key: any WeightMatrix               // [kvHeads * headDim, hidden]
    public let value: any WeightMatrix             // [kvHeads * headDim, hidden]
    public let output: any WeightMatrix            // [hidden, heads * headDim]
    public let queryBias: ArenaBuffer<Float>?      // [heads * headDim]
    public let keyBias: ArenaBuffer<Float>?        // [kvHeads * headDim]
    public let valueBias: ArenaBuffer<Float>?      // [kvHeads * headDim]
    public let outputBias: ArenaBuffer<Float>?     // [hidden]
    public let queryNorm: ArenaBuffer<Float>?      // [headDim]
    public let keyNorm: ArenaBuffer<Float>?        // [headDim]
    public let mlpNorm: ArenaBuffer<Float>         // [hidden]
    /// Sandwich norms: on the attention output and on the MLP output, before each residual add.
    public let postAttentionNorm: ArenaBuffer<Float>?  // [hidden]
    public let postMLPNorm: ArenaBuffer<Float>?        // [hidden]
    /// A sink logit per query head (gpt-oss).
    public var sinks: ArenaBuffer<Float>? = nil        // [heads]
    /// The dense MLP, in layers without experts.
    public let mlp: GatedMLPWeights?
    /// The router and experts, in layers with a sparse MLP.
    public let experts: SparseMLPWeights?

    /// Every matrix of the layer, each expert's included.
    var matrices: [any WeightMatrix] {
        [query, key, value, output] + (mlp?.matrices ?? []) + (experts?.matrices ?? [])
    }

    /// Bytes one token's pass reads: a sparse MLP reads its router and `expertsPerToken` experts
    /// (each expert counted at the experts' mean size).
    func tokenReadBytes(expertsPerToken: Int) -> Int {
        let attention = [query, key, value, output].reduce(0) { $0 + $1.byteCount }
        if let mlp { return attention + mlp.byteCount }
        guard let experts else { return attention }
        let all = experts.experts.reduce(0) { $0 + $1.byteCount }
        return attention + experts.router.byteCount + all * expertsPerToken / max(1, experts.experts.count)
    }
}

/// A gated MLP: down(SwiGLU(gate·x, up·x)); a dense layer's MLP, or one expert.
public struct GatedMLPWeights: @unchecked Sendable {
    public let gate: any WeightMatrix              // [width, hidden]
    public let up: any WeightMatrix                // [width, hidden]
    public let down: any WeightMatrix              // [hidden, width]
    /// Biases of the three projections (gpt-oss's experts).
    public var gateBias: ArenaBuffer<Float>? = nil    // [width]
    public var upBias: ArenaBuffer<Float>? = nil      // [width]
    public var downBias: ArenaBuffer<Float>? = nil    // [hidden]

    var matrices: [any WeightMatrix] { [gate, up, down] }
    public var byteCount: Int { gate.byteCount + up.byteCount + down.byteCount }
}

/// A sparse MLP: the router and every expert of one layer.
public struct SparseMLPWeights: @unchecked Sendable {
    public let router: any WeightMatrix            // [experts, hidden]
    public let experts: [GatedMLPWeights]          // [experts] of [expertWidth, hidden] ×2, [hidden, expertWidth]
    public var routerBias: ArenaBuffer<Float>? = nil  // [experts]

    var matrices: [any WeightMatrix] { [router] + experts.flatMap(\.matrices) }
}

/// Hugging Face tensor names; GGUF sources translate from these.
public enum HFTensorName {
    public static let embedding = "model.embed_tokens.weight"
    public static let finalNorm = "model.norm.weight"
    public static let lmHead = "lm_head.weight"
    public static func layer(_ i: Int, _ suffix: String) -> String { "model.layers.\(i).\(suffix)" }
}

/// All weights of a Llama-family decoder, bound to their arenas.
public struct DecoderWeights: @unchecked Sendable {
    public let embedding: any WeightMatrix         // [vocab, hidden]
    public let layers: [DecoderLayerWeights]
    public let finalNorm: ArenaBuffer<Float>       // [hidden]
    /// The embedding itself when tied.
    public let lmHead: any WeightMatrix            // [vocab, hidden]
    /// The head's GGUF name: `output.weight`, or `token_embd.weight` when tied.
    public let lmHeadName: String

    /// The chosen experts per token, for models with sparse layers.
    public let expertsPerToken: Int

    /// Bytes one decode step reads from the weights: every layer's attention and MLP matrices (a
    /// sparse layer's router and its chosen experts only) and the LM head. The embedding lookup
    /// reads one row, and norms and biases are a few KiB, so neither is counted.
    public var decodeReadBytes: Int {
        layers.reduce(lmHead.byteCount) { $0 + $1.tokenReadBytes(expertsPerToken: expertsPerToken) }
    }

    /// `decodeReadBytes` if every expert were read: what a dense model of the same weights reads.
    public var denseEquivalentReadBytes: Int {
        layers.reduce(lmHead.byteCount) { total, layer in total + layer.matrices.reduce(0) { $0 + $1.byteCount } }
    }

    /// Whether `source` carries its own LM head for `config` (untied and present).
    public static func hasSeparateHead(config: ModelConfig, source: any WeightSource) -> Bool {
        !config.tieWordEmbeddings && source.contains(HFTensorName.lmHead)
    }

    /// Binds every tensor of `decoderInventory`, charging mapped matrices to the arena of their
    /// placement and allocating vectors there. Fails on the first missing or mis-shaped tensor.
    /// Matrices of the placements where `inPlace` is true are bound where they lie, never
    /// repacked, so a device can copy their stored blocks as they are (`storedBlocks`).
    public static func load(config: ModelConfig, source: any WeightSource,
                            arena: (WeightPlacement) -> MemoryArena,
                            inPlace: (WeightPlacement) -> Bool = { _ in false }) throws -> DecoderWeights {
        let separateHead = hasSeparateHead(config: config, source: source)
        let inventory = ModelArchitectures.of(config).tensorInventory(config, separateHead: separateHead)
        // The LM head's output is the logits: its activations get the fine rounding.
        let head = separateHead ? HFTensorName.lmHead : HFTensorName.embedding
        var matrices: [String: any WeightMatrix] = [:]
        var vectors: [String: ArenaBuffer<Float>] = [:]
        for spec in inventory {
            switch spec.kind {
            case .matrix:
                // An expert cut from a merged tensor that the source transposes has no stored
                // layout of its own: it is made in the arena even where the rest stays in place.
                let transposed = spec.expertSlice != nil && !source.contains(spec.name)
                let m = try source.matrix(for: spec, arena: inPlace(spec.placement) && !transposed ? nil : arena(spec.placement),
                                          activations: spec.name == head ? .fine : .standard)
                if !m.isArenaResident { try arena(spec.placement).charge(m.byteCount, label: "weights") }
                matrices[spec.name] = m
            case let .vector(count):
                let vector = try source.vector(for: spec, arena: arena(spec.placement))
                // Gemma's norms scale by 1 + w: folded in once here, as llama.cpp's converter does.
                if config.normWeightOffset != 0, spec.name.hasSuffix("norm.weight") {
                    for i in 0..<count { vector.pointer[i] += config.normWeightOffset }
                }
                vectors[spec.name] = vector
            }
        }
        let names = ModelArchitectures.of(config).expertNames
        let layers = (0..<config.layerCount).map { i -> DecoderLayerWeights in
            let n = { HFTensorName.layer(i, $0) }
            var mlp: GatedMLPWeights?
            var experts: SparseMLPWeights?
            if let moe = config.moe, moe.isSparse(layer: i) {
                experts = SparseMLPWeights(router: matrices[n(names.router)]!, experts: (0..<moe.expertCount).map { e in
                    let prefix = names.expertPrefix(e)
                    return GatedMLPWeights(gate: matrices[n(prefix + names.gate)]!, up: matrices[n(prefix + names.up)]!,
                                           down: matrices[n(prefix + names.down)]!, gateBias: vectors[n(prefix + names.gateBias)],
                                           upBias: vectors[n(prefix + names.upBias)], downBias: vectors[n(prefix + names.downBias)])
                }, routerBias: vectors[n(names.routerBias)])
            } else {
                mlp = GatedMLPWeights(gate: matrices[n("mlp.gate_proj.weight")]!, up: matrices[n("mlp.up_proj.weight")]!,
                                      down: matrices[n("mlp.down_proj.weight")]!)
            }
            var layer = DecoderLayerWeights(
                attentionNorm: vectors[n("input_layernorm.weight")]!,
                query: matrices[n("self_attn.q_proj.weight")]!,
                key: matrices[n("self_attn.k_proj.weight")]!,
                value: matrices[n("self_attn.v_proj.weight")]!,
                output: matrices[n("self_attn.o_proj.weight")]!,
                queryBias: vectors[n("self_attn.q_proj.bias")],
                keyBias: vectors[n("self_attn.k_proj.bias")],
                valueBias: vectors[n("self_attn.v_proj.bias")],
                outputBias: vectors[n("self_attn.o_proj.bias")],
                queryNorm: vectors[n("self_attn.q_norm.weight")],
                keyNorm: vectors[n("self_attn.k_norm.weight")],
                mlpNorm: vectors[n(config.sandwichNorms ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight")]!,
                postAttentionNorm: config.sandwichNorms ? vectors[n("post_attention_layernorm.weight")] : nil,
                postMLPNorm: vectors[n("post_feedforward_layernorm.weight")],
                mlp: mlp, experts: experts)
            layer.sinks = vectors[n("self_attn.sinks")]
            return layer
        }
        let embedding = matrices[HFTensorName.embedding]!
        return DecoderWeights(embedding: embedding, layers: layers, finalNorm: vectors[HFTensorName.finalNorm]!,
                              lmHead: matrices[HFTensorName.lmHead] ?? embedding,
                              lmHeadName: matrices[HFTensorName.lmHead] != nil ? "output.weight" : "token_embd.weight",
                              expertsPerToken: config.moe?.expertsPerToken ?? 0)
    }
}
