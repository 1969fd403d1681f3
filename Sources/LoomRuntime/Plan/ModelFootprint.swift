import LoomFormats
import LoomKernels
import LoomModel

/// Everything the planner needs to know about a model: its shape and the bytes of every tensor
/// in `decoderInventory`, exact when a file is at hand.
public struct ModelFootprint: Sendable {
    public let name: String
    public let config: ModelConfig
    /// Bytes of the weights of each layer (matrices as stored, vectors as f32).
    public let layerBytes: [Int]
    public let embeddingBytes: Int
    /// Final norm and, when untied, the LM head.
    public let headBytes: Int
    /// Largest kernel scratch for a chunk of `tokens` tokens.
    public let matmulScratch: @Sendable (_ tokens: Int) -> Int
    public let precision: WeightPrecision
    /// Bytes of every expert of the sparse layers (routers excluded); 0 for dense models.
    public let expertBytes: Int
    /// Bytes of the embedding matrix when it is also the LM head (tied); 0 when the head is its
    /// own. A device that computes logits while the embedding stays on the host holds a copy.
    public let tiedHeadBytes: Int

    public var weightBytes: Int { layerBytes.reduce(0, +) + embeddingBytes + headBytes }

    /// Sizes `config` at `precision` without any file (catalog models and "what if" questions).
    public init(name: String, config: ModelConfig, precision: WeightPrecision) {
        let tied = config.tieWordEmbeddings
        let inventory = ModelArchitectures.of(config).tensorInventory(config, separateHead: !tied)
        let fallback: WeightPrecision = precision == .file ? .ggufMix(.f16) : precision
        self.init(name: name, config: config, inventory: inventory, precision: precision) { spec in
            fallback.matrixBytes(spec, config: config, tied: tied) ?? 0
        } matmulScratch: { tokens in
            // Quantized kernels hold activations as 8-bit values with a scale and a sum per 16
            // (48 bytes per 32 values) and room for the LM head's residual and its sums (36 more),
            // each array on its own cache line (Q8Activations); f32 and f16 kernels need none, bf16
            // ones on AVX-512 BF16 hold activations split into two bf16 terms.
            let widest = max(config.hiddenSize, config.intermediateSize, config.queryWidth)
            if case .ggufMix(let mix) = fallback, [.f32, .f16, .bf16].contains(mix) {
                return mix == .bf16 ? FloatMatrix.scratchBytes(type: .bf16, cols: widest, batch: tokens) : 0
            }
            // A decoded token's experts quantize their down projections' inputs side by side.
            let experts = config.moe.map {
                $0.expertsPerToken * ((QuantizedMatrix.scratchBytes(batch: 1, cols: $0.expertIntermediateSize) + 63) & ~63)
            } ?? 0
            return max(tokens * widest / 32 * 84 + 4 * 64, experts)
        }
    }

    /// Sizes the model in `source` exactly: the bytes the loader will charge for each tensor.
    public init(name: String, config: ModelConfig, source: any WeightSource) throws {
        let separate = DecoderWeights.hasSeparateHead(config: config, source: source)
        let inventory = ModelArchitectures.of(config).tensorInventory(config, separateHead: separate)
        var bytes: [String: Int] = [:]
        var matrices: [any WeightMatrix] = []
        var expertDowns: [any WeightMatrix] = []
        let names = ModelArchitectures.of(config).expertNames
        for spec in inventory {
            if case .matrix = spec.kind {
                // Scratch does not depend on the rounding or on repacking (Q8Activations).
                let m = try source.matrix(for: spec, arena: nil, activations: .standard)
                bytes[spec.name] = m.byteCount
                matrices.append(m)
                if spec.name.hasSuffix("." + names.expertPrefix(0) + names.down) { expertDowns.append(m) }
            }
        }
        let all = matrices
        // A decoded token's experts run their down projections side by side (DecoderModel.matmulScratchBytes).
        let k = config.moe?.expertsPerToken ?? 0
        let experts = expertDowns.map { separateInputsScratchBytes(Array(repeating: $0, count: k)) }.max() ?? 0
        self.init(name: name, config: config, inventory: inventory, precision: .file) { bytes[$0.name] ?? 0 }
            matmulScratch: { tokens in max(experts, all.map { $0.scratchBytes(batch: tokens) }.max() ?? 0) }
    }

    private init(name: String, config: ModelConfig, inventory: [TensorSpec], precision: WeightPrecision,
                 matrixBytes: (TensorSpec) -> Int, matmulScratch: @escaping @Sendable (Int) -> Int) {
        self.name = name
        self.config = config
        self.precision = precision
        self.matmulScratch = matmulScratch
        var layers = [Int](repeating: 0, count: config.layerCount)
        var embedding = 0, head = 0, experts = 0, embeddingMatrix = 0
        let tied = !inventory.contains { $0.name == HFTensorName.lmHead }
        for spec in inventory {
            let size: Int
            switch spec.kind {
            case .matrix: size = matrixBytes(spec)
            case let .vector(count): size = count * 4
            }
            if spec.name.contains(".experts.") { experts += size }
            if spec.name == HFTensorName.embedding { embeddingMatrix = size }
            switch spec.placement {
            case .embedding: embedding += size
            case let .layer(i): layers[i] += size
            case .head: head += size
            }
        }
        layerBytes = layers
        expertBytes = experts
        embeddingBytes = embedding
        headBytes = head
        tiedHeadBytes = tied ? embeddingMatrix : 0
    }
}
