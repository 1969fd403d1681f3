import LoomFormats

/// One tensor a decoder needs: its Hugging Face name, where it goes, and its shape.
///
/// The loader binds exactly these tensors and the planner counts exactly these, so the two
/// cannot disagree about what a model holds.
public struct TensorSpec: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A weight matrix [rows, cols], used in place in its stored format.
        case matrix(rows: Int, cols: Int)
        /// A norm weight or bias, held as f32.
        case vector(count: Int)
    }

    /// Rows of a fused stored tensor that a matrix is: Phi-3 stores q, k and v as one
    /// `qkv_proj` and gate and up as one `gate_up_proj`; each part is bound as a matrix of its own.
    public struct FusedRows: Sendable, Equatable {
        /// The stored tensor's Hugging Face name.
        public let stored: String
        /// The part's first row in it.
        public let offset: Int
        /// Rows of the whole stored tensor.
        public let storedRows: Int
    }

    /// Part of one expert in a stored tensor of all a layer's experts, kept input-major: gpt-oss's
    /// checkpoints store `mlp.experts.gate_up_proj` as [experts, hidden, 2·width] (gate the even
    /// columns, up the odd) and `down_proj` as [experts, width, hidden]. A matrix [rows, cols] is
    /// the transpose of columns `first`, `first + stride`, … of expert `expert`'s
    /// [cols, storedColumns] slice; a vector [count] is those elements of its [storedColumns] row.
    public struct ExpertSlice: Sendable, Equatable {
        public let stored: String
        public let expert: Int
        public let experts: Int
        public let first: Int
        public let stride: Int
        public let storedColumns: Int

        public init(stored: String, expert: Int, experts: Int, first: Int, stride: Int, storedColumns: Int) {
            self.stored = stored
            self.expert = expert
            self.experts = experts
            self.first = first
            self.stride = stride
            self.storedColumns = storedColumns
        }
    }

    public let name: String
    public let placement: WeightPlacement
    public let kind: Kind
    /// Where the matrix lies when it is part of a fused tensor; nil when stored as itself.
    public var fused: FusedRows? = nil
    /// Where the tensor lies in a source that stores all experts in one input-major tensor and
    /// lacks `name` itself; nil when there is no such layout.
    public var expertSlice: ExpertSlice? = nil

    /// Elements in the tensor.
    public var elementCount: Int {
        switch kind {
        case let .matrix(rows, cols): return rows * cols
        case let .vector(count): return count
        }
    }
}

/// Every tensor of a Llama-family decoder with `config`, in load order.
/// - Parameters:
///   - separateHead: whether the LM head is its own tensor (untied and present).
///   - expertNames: what the family calls its router and experts, for layers with a sparse MLP.
public func decoderInventory(config: ModelConfig, separateHead: Bool, expertNames: ExpertTensorNames = .qwen) -> [TensorSpec] {
    let hidden = config.hiddenSize
    var specs: [TensorSpec] = [
        TensorSpec(name: HFTensorName.embedding, placement: .embedding, kind: .matrix(rows: config.vocabSize, cols: hidden)),
    ]
    for i in 0..<config.layerCount {
        let p = WeightPlacement.layer(i)
        func matrix(_ suffix: String, _ rows: Int, _ cols: Int) {
            specs.append(TensorSpec(name: HFTensorName.layer(i, suffix), placement: p, kind: .matrix(rows: rows, cols: cols)))
        }
        func vector(_ suffix: String, _ count: Int, when wanted: Bool = true) {
            if wanted { specs.append(TensorSpec(name: HFTensorName.layer(i, suffix), placement: p, kind: .vector(count: count))) }
        }
        vector("input_layernorm.weight", hidden)
        matrix("self_attn.q_proj.weight", config.queryWidth, hidden)
        matrix("self_attn.k_proj.weight", config.kvWidth, hidden)
        matrix("self_attn.v_proj.weight", config.kvWidth, hidden)
        matrix("self_attn.o_proj.weight", hidden, config.queryWidth)
        vector("self_attn.q_proj.bias", config.queryWidth, when: config.qkvBias)
        vector("self_attn.k_proj.bias", config.kvWidth, when: config.qkvBias)
        vector("self_attn.v_proj.bias", config.kvWidth, when: config.qkvBias)
        vector("self_attn.o_proj.bias", hidden, when: config.outputBias)
        vector("self_attn.q_norm.weight", config.headDim, when: config.qkNorm)
        vector("self_attn.k_norm.weight", config.headDim, when: config.qkNorm)
        // Sandwich norms (Gemma): post_attention_layernorm follows the attention output, and the
        // MLP has its own norm before and after.
        vector("post_attention_layernorm.weight", hidden)
        vector("pre_feedforward_layernorm.weight", hidden, when: config.sandwichNorms)
        vector("post_feedforward_layernorm.weight", hidden, when: config.sandwichNorms)
        if let moe = config.moe, moe.isSparse(layer: i) {
            let width = moe.expertIntermediateSize
            matrix(expertNames.router, moe.expertCount, hidden)
            for e in 0..<moe.expertCount {
                let prefix = expertNames.expertPrefix(e)
                matrix(prefix + expertNames.gate, width, hidden)
                matrix(prefix + expertNames.up, width, hidden)
                matrix(prefix + expertNames.down, hidden, width)
            }
        } else {
            matrix("mlp.gate_proj.weight", config.intermediateSize, hidden)
            matrix("mlp.up_proj.weight", config.intermediateSize, hidden)
            matrix("mlp.down_proj.weight", hidden, config.intermediateSize)
        }
    }
    specs.append(TensorSpec(name: HFTensorName.finalNorm, placement: .head, kind: .vector(count: hidden)))
    if separateHead {
        specs.append(TensorSpec(name: HFTensorName.lmHead, placement: .head, kind: .matrix(rows: config.vocabSize, cols: hidden)))
    }
    return specs
}
