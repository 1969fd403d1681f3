import LoomCore
import LoomFormats
import LoomKernels

/// A model stored in one GGUF file: its config from the metadata and its tensors in place.
///
/// GGUF names tensors `blk.N.attn_q.weight` and lists dimensions innermost first, so a linear
/// weight [rows, cols] appears as [cols, rows]; this source answers in Hugging Face names and
/// shapes, so the rest of Loom sees one model layout.
public struct GGUFWeightSource: WeightSource {
    public let file: GGUFFile
    private let tensors: [String: GGUFTensorInfo]
    /// The GGUF name of each Hugging Face tensor name this source is asked for.
    private let naming: @Sendable (String) -> String
    /// Tensors served from memory instead of the file, by GGUF name.
    private let replacements: [String: ReplacementTensor]

    /// - Parameters:
    ///   - naming: the GGUF name of a Hugging Face name (default: the decoders' `ggufName`).
    ///   - replacements: matrices to serve from memory in place of the file's, by GGUF name (the
    ///     same shape in another type: how a quantizer tries one tensor at a candidate type).
    public init(file: GGUFFile, naming: @escaping @Sendable (String) -> String = GGUFWeightSource.ggufName,
                replacements: [String: ReplacementTensor] = [:]) {
        self.file = file
        self.naming = naming
        self.replacements = replacements
        var byName: [String: GGUFTensorInfo] = [:]
        for info in file.tensors { byName[info.name] = info }
        tensors = byName
    }

    public var sourceName: String { file.path }

    /// The GGUF name of a Hugging Face tensor name.
    public static func ggufName(_ hfName: String) -> String {
        switch hfName {
        case HFTensorName.embedding: return "token_embd.weight"
        case HFTensorName.finalNorm: return "output_norm.weight"
        case HFTensorName.lmHead: return "output.weight"
        default: break
        }
        let parts = hfName.split(separator: ".")
        guard parts.count >= 4, parts[0] == "model", parts[1] == "layers" else { return hfName }
        let suffix = parts[3...].joined(separator: ".")
        let map = [
            "input_layernorm.weight": "attn_norm.weight",
            "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
            "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
            "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
            "self_attn.o_proj.weight": "attn_output.weight", "self_attn.o_proj.bias": "attn_output.bias",
            "self_attn.q_norm.weight": "attn_q_norm.weight", "self_attn.k_norm.weight": "attn_k_norm.weight",
            "post_attention_layernorm.weight": "ffn_norm.weight",
            "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
            "mlp.down_proj.weight": "ffn_down.weight",
            "mlp.gate.weight": "ffn_gate_inp.weight", "block_sparse_moe.gate.weight": "ffn_gate_inp.weight",
            // Phi-3's fused tensors: llama.cpp's ffn_up holds gate then up.
            "self_attn.qkv_proj.weight": "attn_qkv.weight", "mlp.gate_up_proj.weight": "ffn_up.weight",
        ]
        return "blk.\(parts[2])." + (map[suffix] ?? suffix)
    }

    /// For a per-expert Hugging Face name (`model.layers.N.mlp.experts.E.gate_proj.weight`, or
    /// Mixtral's `block_sparse_moe.experts.E.w1.weight`, or a `.bias`): the merged tensor
    /// llama.cpp stores all of the layer's experts in ([cols, rows, experts],
    /// `blk.N.ffn_gate_exps.weight`; biases [rows, experts]), the per-expert name older
    /// converters wrote (`blk.N.ffn_gate.E.weight`), and E.
    static func expertTensor(_ hfName: String) -> (merged: String, single: String, expert: Int)? {
        let parts = hfName.split(separator: ".")
        guard parts.count == 8, parts[0] == "model", parts[1] == "layers", parts[4] == "experts", parts[7] == "weight" || parts[7] == "bias",
              parts[3] == "mlp" || parts[3] == "block_sparse_moe", let expert = Int(parts[5]) else { return nil }
        let roles = ["gate_proj": "ffn_gate", "w1": "ffn_gate", "up_proj": "ffn_up", "w3": "ffn_up", "down_proj": "ffn_down", "w2": "ffn_down"]
        guard let role = roles[String(parts[6])] else { return nil }
        return ("blk.\(parts[2]).\(role)_exps.\(parts[7])", "blk.\(parts[2]).\(role).\(expert).\(parts[7])", expert)
    }

    /// The stored tensor of `name`, and which expert of a merged expert tensor it is.
    private func locate(_ name: String) -> (info: GGUFTensorInfo, expert: Int?)? {
        if let info = tensors[naming(name)] { return (info, nil) }
        guard let slice = Self.expertTensor(name) else { return nil }
        // Merged weights are [cols, rows, experts], merged biases [rows, experts].
        if let merged = tensors[slice.merged], merged.dimensions.count == (name.hasSuffix(".bias") ? 2 : 3) { return (merged, slice.expert) }
        return tensors[slice.single].map { ($0, nil) }
    }

    public func contains(_ name: String) -> Bool { locate(name) != nil }

    private func found(_ name: String) throws -> (info: GGUFTensorInfo, expert: Int?) {
        guard let found = locate(name) else {
            throw SafeTensorsError.missingTensor(name: Self.expertTensor(name)?.merged ?? naming(name), searched: file.path)
        }
        return found
    }

    public func matrixBytes(_ name: String) throws -> Int {
        let (info, expert) = try found(name)
        if let replacement = replacements[info.name], expert == nil { return replacement.bytes.count }
        return expert == nil ? info.byteCount : info.byteCount / info.dimensions[2]
    }

    public func matrix(_ name: String, rows part: Range<Int>, of storedRows: Int, cols: Int, arena: MemoryArena?,
                       activations: ActivationRounding) throws -> any WeightMatrix {
        let (info, expert) = try found(name)
        let rows = part.count
        // A merged expert tensor must hold expert E: [cols, rows, at least E + 1].
        let expected = expert.map { [cols, storedRows, max(info.dimensions[2], $0 + 1)] } ?? [cols, storedRows]
        guard info.dimensions == expected else {
            throw ModelError.shapeMismatch(source: sourceName, tensor: info.name, expected: expected, actual: info.dimensions)
        }
        let replacement = expert == nil ? replacements[info.name] : nil
        guard let type = replacement?.type ?? QuantType(ggmlTypeID: info.type.id) else {
            throw ModelError.unsupportedDType(source: sourceName, tensor: info.name, dtype: info.type.name)
        }
        var bytes = replacement.map { UnsafeRawBufferPointer($0.bytes) } ?? file.data(for: info)
        if replacement != nil {
            guard bytes.count == storedRows * type.rowBytes(cols) else {
                throw KernelError.dataTooSmall(format: type.name, needed: storedRows * type.rowBytes(cols), available: bytes.count)
            }
        }
        if let expert {
            // Experts are stored one after another, each a whole [rows, cols] matrix.
            let each = bytes.count / info.dimensions[2]
            bytes = UnsafeRawBufferPointer(rebasing: bytes[(expert * each)..<((expert + 1) * each)])
        }
        bytes = rowSlice(bytes, rows: part, of: storedRows)
        let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!
        let owner: AnyObject = replacement ?? file
        if type.blockSize == 1 {
            return try FloatMatrix(type: type, data: base, byteCount: bytes.count, rows: rows, cols: cols, owner: owner)
        }
        // A repacked matrix never reads the file again: its pages leave the resident set as they
        // are copied, so the file's pages and the copy are never both resident for a whole matrix.
        let mapped = file.file
        let matrix = try QuantizedMatrix(type: type, data: base, byteCount: bytes.count, rows: rows, cols: cols, owner: owner,
                                         repackingInto: arena, activations: activations,
                                         consumed: { if replacement == nil { mapped.dropResidentPages($0) } })
        if matrix.isArenaResident && replacement == nil { mapped.dropResidentPages(bytes) }
        return matrix
    }

    public func vector(_ name: String, count: Int, arena: MemoryArena) throws -> ArenaBuffer<Float> {
        let (info, expert) = try found(name)
        // A merged expert bias must hold expert E: [count, at least E + 1].
        let expected = expert.map { [count, max(info.dimensions.last ?? 0, $0 + 1)] } ?? [count]
        guard info.dimensions == expected else {
            throw ModelError.shapeMismatch(source: sourceName, tensor: info.name, expected: expected, actual: info.dimensions)
        }
        guard let type = QuantType(ggmlTypeID: info.type.id), count % type.blockSize == 0 else {
            throw ModelError.unsupportedDType(source: sourceName, tensor: info.name, dtype: info.type.name)
        }
        let buffer = try arena.allocate(Float.self, count: count, label: "weights")
        let offset = (expert ?? 0) * count / type.blockSize * type.blockBytes
        Dequantize.run(type, file.data(for: info).baseAddress! + offset, count: count, into: buffer.pointer)
        return buffer
    }
}

extension ModelConfig {
    /// The config of a GGUF model from its `{arch}.*` metadata; the architecture must be one Loom runs.
    public static func load(gguf file: GGUFFile) throws -> ModelConfig {
        let path = file.path
        guard let archName = try file.string("general.architecture") else {
            throw ConfigError.missingField(file: path, field: "general.architecture")
        }
        guard let family = ModelArchitectures.named(gguf: archName) else {
            throw ConfigError.unknownArchitecture(file: path, name: archName, supported: Array(Set(ModelArchitectures.all.map(\.ggufName))).sorted())
        }
        typealias Bounds = ModelConfig.Bounds
        func required(_ key: String, atMost limit: Int = Int.max) throws -> Int {
            guard let value = try file.integer("\(archName).\(key)") else {
                throw ConfigError.missingField(file: path, field: "\(archName).\(key)")
            }
            return try ModelConfig.plausible(value, atMost: limit, file: path, field: "\(archName).\(key)")
        }
        let hidden = try required("embedding_length", atMost: Bounds.hiddenSize)
        let heads = try required("attention.head_count", atMost: Bounds.heads)
        let kvHeads = try file.integer("\(archName).attention.head_count_kv") ?? heads
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw ConfigError.invalidField(file: path, field: "\(archName).attention.head_count_kv", reason: "\(kvHeads) does not divide \(heads)")
        }
        let headDim = try ModelConfig.plausible(file.integer("\(archName).attention.key_length") ?? hidden / heads, atMost: Bounds.headDim,
                                                file: path, field: "\(archName).attention.key_length")
        _ = try ModelConfig.plausible(heads * headDim, atMost: Bounds.queryWidth, file: path, field: "\(archName).attention.head_count × key_length")
        guard let embedding = file.tensor(named: "token_embd.weight"), embedding.dimensions.count == 2 else {
            throw SafeTensorsError.missingTensor(name: "token_embd.weight", searched: path)
        }
        let vocab = try ModelConfig.plausible(embedding.dimensions[1], atMost: Bounds.vocabSize, file: path, field: "token_embd.weight rows")
        let context = try ModelConfig.plausible(file.integer("\(archName).context_length") ?? 2048, atMost: Bounds.positions, file: path,
                                                field: "\(archName).context_length")
        var scaling = RopeScaling.none
        if let type = try file.string("\(archName).rope.scaling.type"), type != "none" {
            let factor = try file.float("\(archName).rope.scaling.factor") ?? 1
            let original = try file.integer("\(archName).rope.scaling.original_context_length") ?? context
            switch type {
            case "linear": scaling = .linear(factor: factor)
            case "yarn":
                scaling = .yarn(factor: factor, originalMaxPositions: original, betaFast: 32, betaSlow: 1,
                                attentionFactor: factor <= 1 ? 1 : 0.1 * log(factor) + 1, truncate: true)
            default:
                throw ConfigError.invalidField(file: path, field: "\(archName).rope.scaling.type", reason: "unsupported '\(type)'")
            }
        }
        let eos = try file.integer("tokenizer.ggml.eos_token_id")
        let layers = try required("block_count", atMost: Bounds.layers)
        // Experts: llama.cpp writes them for every MoE family alike, and normalizes the chosen
        // experts' weights for Qwen3-MoE and Mixtral (its `llama` with experts).
        var moe: MixtureOfExperts?
        var architecture = family.architecture
        if let experts = try file.integer("\(archName).expert_count"), experts > 0 {
            let used = try required("expert_used_count")
            let width = try file.integer("\(archName).expert_feed_forward_length") ?? required("feed_forward_length")
            moe = MixtureOfExperts(expertCount: experts, expertsPerToken: used, expertIntermediateSize: width, normalizeTopK: true,
                                   denseLayers: (0..<layers).filter { file.tensor(named: "blk.\($0).ffn_gate_inp.weight") == nil })
            try moe!.validate(file: path, field: "\(archName).expert_used_count")
            // The metadata must agree with the router it describes.
            if let sparse = (0..<layers).first(where: { !moe!.denseLayers.contains($0) }),
               let router = file.tensor(named: "blk.\(sparse).ffn_gate_inp.weight"), router.dimensions != [hidden, experts] {
                throw ModelError.shapeMismatch(source: path, tensor: router.name, expected: [hidden, experts], actual: router.dimensions)
            }
            if architecture == .llama { architecture = .mixtral }
        }
        let dense = moe.map { !$0.denseLayers.isEmpty } ?? true
        var config = ModelConfig(
            architecture: architecture, hiddenSize: hidden, layerCount: layers,
            headCount: heads, kvHeadCount: kvHeads, headDim: headDim,
            intermediateSize: dense ? try required("feed_forward_length", atMost: Bounds.intermediateSize)
                : try file.integer("\(archName).feed_forward_length") ?? 0,
            vocabSize: vocab, maxPositionEmbeddings: context,
            rmsNormEps: Float(try file.float("\(archName).attention.layer_norm_rms_epsilon") ?? 1e-6),
            ropeTheta: try file.float("\(archName).rope.freq_base") ?? 10000, ropeScaling: scaling,
            qkvBias: file.tensor(named: "blk.0.attn_q.bias") != nil,
            outputBias: file.tensor(named: "blk.0.attn_output.bias") != nil,
            qkNorm: file.tensor(named: "blk.0.attn_q_norm.weight") != nil,
            tieWordEmbeddings: file.tensor(named: "output.weight") == nil, moe: moe,
            bosTokenId: try file.integer("tokenizer.ggml.bos_token_id"),
            eosTokenIds: eos.map { [$0] } ?? [])
        try family.specialize(&config, gguf: file)
        return config
    }
}

extension GGUFFile {
    /// The f32 values of the small tensor `name` (a rope-factor list), or nil when absent.
    public func floats(_ name: String) throws -> [Float]? {
        guard let info = tensor(named: name) else { return nil }
        guard let type = QuantType(ggmlTypeID: info.type.id), info.dimensions.count == 1 else {
            throw ModelError.unsupportedDType(source: path, tensor: name, dtype: info.type.name)
        }
        var values = [Float](repeating: 0, count: info.dimensions[0])
        values.withUnsafeMutableBufferPointer { Dequantize.run(type, data(for: info).baseAddress!, count: $0.count, into: $0.baseAddress!) }
        return values
    }
}

import Foundation

/// A matrix's bytes in some type, held in memory to stand in for a GGUF tensor of the same shape.
public final class ReplacementTensor: @unchecked Sendable {
    public let type: QuantType
    /// [rows][type.rowBytes(cols)], immutable once made.
    public let bytes: UnsafeMutableRawBufferPointer

    public init(type: QuantType, bytes: [UInt8]) {
        self.type = type
        self.bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 64)
        bytes.withUnsafeBytes { self.bytes.copyMemory(from: $0) }
    }

    deinit { bytes.deallocate() }
}
