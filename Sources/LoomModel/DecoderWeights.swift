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
    public let gate: any WeightMatrix              // [intermediate, hidden]
    public let up: any WeightMatrix                // [intermediate, hidden]
    public let down: any WeightMatrix              // [hidden, intermediate]

    var matrices: [any WeightMatrix] { [query, key, value, output, gate, up, down] }
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

    /// Binds every tensor the config calls for, charging mapped weights to the arena of their
    /// placement. Fails on the first missing or mis-shaped tensor, naming it.
    public static func load(config: ModelConfig, source: any WeightSource,
                            arena: (WeightPlacement) -> MemoryArena) throws -> DecoderWeights {
        let hidden = config.hiddenSize
        func mapped(_ name: String, _ rows: Int, _ cols: Int, _ place: WeightPlacement) throws -> any WeightMatrix {
            let m = try source.matrix(name, rows: rows, cols: cols)
            try arena(place).charge(m.byteCount, label: "weights")
            return m
        }
        func vector(_ name: String, _ count: Int, _ place: WeightPlacement) throws -> ArenaBuffer<Float> {
            try source.vector(name, count: count, arena: arena(place))
        }
        func optionalVector(_ name: String, _ count: Int, _ place: WeightPlacement, _ wanted: Bool) throws -> ArenaBuffer<Float>? {
            wanted ? try vector(name, count, place) : nil
        }
        let embedding = try mapped(HFTensorName.embedding, config.vocabSize, hidden, .embedding)
        var layers: [DecoderLayerWeights] = []
        for i in 0..<config.layerCount {
            let p = WeightPlacement.layer(i)
            let n = { HFTensorName.layer(i, $0) }
            layers.append(DecoderLayerWeights(
                attentionNorm: try vector(n("input_layernorm.weight"), hidden, p),
                query: try mapped(n("self_attn.q_proj.weight"), config.queryWidth, hidden, p),
                key: try mapped(n("self_attn.k_proj.weight"), config.kvWidth, hidden, p),
                value: try mapped(n("self_attn.v_proj.weight"), config.kvWidth, hidden, p),
                output: try mapped(n("self_attn.o_proj.weight"), hidden, config.queryWidth, p),
                queryBias: try optionalVector(n("self_attn.q_proj.bias"), config.queryWidth, p, config.qkvBias),
                keyBias: try optionalVector(n("self_attn.k_proj.bias"), config.kvWidth, p, config.qkvBias),
                valueBias: try optionalVector(n("self_attn.v_proj.bias"), config.kvWidth, p, config.qkvBias),
                outputBias: try optionalVector(n("self_attn.o_proj.bias"), hidden, p, config.outputBias),
                queryNorm: try optionalVector(n("self_attn.q_norm.weight"), config.headDim, p, config.qkNorm),
                keyNorm: try optionalVector(n("self_attn.k_norm.weight"), config.headDim, p, config.qkNorm),
                mlpNorm: try vector(n("post_attention_layernorm.weight"), hidden, p),
                gate: try mapped(n("mlp.gate_proj.weight"), config.intermediateSize, hidden, p),
                up: try mapped(n("mlp.up_proj.weight"), config.intermediateSize, hidden, p),
                down: try mapped(n("mlp.down_proj.weight"), hidden, config.intermediateSize, p)
            ))
        }
        let finalNorm = try vector(HFTensorName.finalNorm, hidden, .head)
        // Some tied checkpoints still carry an lm_head copy; the config decides.
        let lmHead = config.tieWordEmbeddings || !source.contains(HFTensorName.lmHead)
            ? embedding
            : try mapped(HFTensorName.lmHead, config.vocabSize, hidden, .head)
        return DecoderWeights(embedding: embedding, layers: layers, finalNorm: finalNorm, lmHead: lmHead)
    }
}
