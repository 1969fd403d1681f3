import LoomFormats
import LoomKernels

/// One model family: its names in Hugging Face and GGUF files, what its config means beyond the
/// fields every decoder shares, its tensors, and the blocks each layer is made of.
///
/// Adding a family is one file with one of these (plus any new kernel or block), and an entry in
/// `ModelArchitectures.all`. The planner and the loader both read `tensorInventory`, so they
/// cannot disagree about what a model holds.
public protocol ModelArchitecture: Sendable {
    /// The config.json `architectures` name.
    var architecture: Architecture { get }
    /// The `general.architecture` value in GGUF files.
    var ggufName: String { get }
    /// How GGUF files of this family lay out q/k rows for RoPE.
    var ggufRopeLayout: RopeLayout { get }

    /// Sets the family's own meaning of `config` from its config.json fields.
    func specialize(_ config: inout ModelConfig, fields: ConfigFields) throws

    /// Sets what the family's GGUF files say beyond the metadata every decoder shares.
    func specialize(_ config: inout ModelConfig, gguf file: GGUFFile) throws

    /// What the family calls its router and experts in Hugging Face checkpoints.
    var expertNames: ExpertTensorNames { get }

    /// GGUF names of layer tensors (after `model.layers.N.`) that differ from the shared mapping
    /// (`GGUFWeightSource.ggufName`), by Hugging Face suffix.
    var ggufTensorNames: [String: String] { get }

    /// Every tensor of a model with `config`, in load order.
    /// - Parameter separateHead: whether the LM head is its own tensor (untied and present).
    func tensorInventory(_ config: ModelConfig, separateHead: Bool) -> [TensorSpec]

    /// The blocks of layer `layer`, in order.
    func layerBlocks(_ config: ModelConfig, layer: Int) -> [LayerBlock]
}

extension ModelArchitecture {
    public func specialize(_ config: inout ModelConfig, fields: ConfigFields) throws {}

    public func specialize(_ config: inout ModelConfig, gguf file: GGUFFile) throws {}

    public var expertNames: ExpertTensorNames { .qwen }

    public var ggufTensorNames: [String: String] { [:] }

    /// The GGUF name of a Hugging Face tensor name in this family's files.
    public func ggufTensorName(_ hfName: String) -> String {
        let parts = hfName.split(separator: ".")
        if parts.count >= 4, parts[0] == "model", parts[1] == "layers", let own = ggufTensorNames[parts[3...].joined(separator: ".")] {
            return "blk.\(parts[2]).\(own)"
        }
        return GGUFWeightSource.ggufName(hfName)
    }

    public func tensorInventory(_ config: ModelConfig, separateHead: Bool) -> [TensorSpec] {
        decoderInventory(config: config, separateHead: separateHead, expertNames: expertNames)
    }

    /// Attention, then the sparse MLP where the config routes the layer through experts, else the dense one.
    public func layerBlocks(_ config: ModelConfig, layer: Int) -> [LayerBlock] {
        [.attention, config.moe?.isSparse(layer: layer) == true ? .sparseMLP : .gatedMLP]
    }
}

/// A shared block a layer is built from (see `DecoderModel`). Each reads and updates the
/// residual stream of every row of the batch.
public enum LayerBlock: Sendable, Equatable {
    /// Pre-norm grouped-query attention over the paged cache: RMSNorm, q/k/v projections (with
    /// biases and q/k norms where the weights have them), RoPE, attention, output projection,
    /// residual add.
    case attention
    /// Pre-norm gated MLP: RMSNorm, gate and up projections, SwiGLU, down projection, residual add.
    case gatedMLP
    /// Pre-norm mixture of experts: RMSNorm, a router choosing the top-k experts of each token,
    /// each expert a gated MLP, their outputs summed with the router's weights, residual add.
    case sparseMLP
}

/// Hugging Face names of a layer's router and experts, after `model.layers.N.`.
public struct ExpertTensorNames: Sendable {
    /// The router, [experts, hidden].
    public let router: String
    /// The folder of expert `e`, such as `mlp.experts.3.`.
    public let expertPrefix: @Sendable (Int) -> String
    public let gate: String
    public let up: String
    public let down: String

    /// The biases of the router and of each projection, in families that have them.
    public var routerBias: String { String(router.dropLast("weight".count)) + "bias" }
    public var gateBias: String { String(gate.dropLast("weight".count)) + "bias" }
    public var upBias: String { String(up.dropLast("weight".count)) + "bias" }
    public var downBias: String { String(down.dropLast("weight".count)) + "bias" }

    /// Qwen3-MoE (and Qwen2-MoE, DeepSeek, OLMoE): `mlp.gate`, `mlp.experts.E.{gate,up,down}_proj`.
    public static let qwen = ExpertTensorNames(router: "mlp.gate.weight", expertPrefix: { "mlp.experts.\($0)." },
                                               gate: "gate_proj.weight", up: "up_proj.weight", down: "down_proj.weight")
    /// Mixtral: `block_sparse_moe.gate`, `block_sparse_moe.experts.E.w1` (gate), `w3` (up), `w2` (down).
    public static let mixtral = ExpertTensorNames(router: "block_sparse_moe.gate.weight",
                                                  expertPrefix: { "block_sparse_moe.experts.\($0)." },
                                                  gate: "w1.weight", up: "w3.weight", down: "w2.weight")
}

/// The families Loom runs.
public enum ModelArchitectures {
    public static let all: [any ModelArchitecture] = [Llama(), Mistral(), Qwen2(), Qwen3(), Qwen3Moe(), Mixtral(), Phi3(), Gemma2(), Gemma3(), GptOss()]

    /// The family config.json names `architecture`, if Loom runs it.
    public static func named(_ architecture: Architecture) -> (any ModelArchitecture)? {
        all.first { $0.architecture == architecture }
    }

    /// The family GGUF files call `ggufName`, if Loom runs it.
    public static func named(gguf ggufName: String) -> (any ModelArchitecture)? {
        all.first { $0.ggufName == ggufName }
    }

    /// The family of `config`; every config that got this far was checked at parsing.
    public static func of(_ config: ModelConfig) -> any ModelArchitecture {
        named(config.architecture) ?? Llama()
    }

    /// The family step of config.json parsing: finds the family and lets it set its fields.
    public static func specialize(_ config: inout ModelConfig, fields: ConfigFields) throws {
        guard let family = named(config.architecture) else {
            throw ConfigError.unknownArchitecture(file: fields.file, name: config.architecture.rawValue,
                                                  supported: all.map(\.architecture.rawValue))
        }
        try family.specialize(&config, fields: fields)
        try config.moe?.validate(file: fields.file, field: "num_experts_per_tok")
    }

    /// Reads config.json (and generation_config.json) in `directory` for a family Loom runs.
    public static func loadConfig(directory: String) throws -> ModelConfig {
        try ModelConfig.load(directory: directory, specialize: specialize)
    }
}
