import LoomFormats
import LoomModel

/// How the planner sizes weight matrices when it has no file, or to ask "what if".
public enum WeightPrecision: Sendable, Equatable {
    /// The file's actual tensors (exact bytes).
    case file
    /// EXL2-style average bits per weight over the layers, with the LM head at `headBits` and
    /// the embedding kept in fp16, as ExLlamaV2's converter writes them.
    case bitsPerWeight(Double, headBits: Double = 6)
    /// A GGUF type mix as llama.cpp's quantizer chooses it, such as `q4_k_m`.
    case ggufMix(GGUFMix)

    /// Bytes of matrix `spec` (rows × cols) at this precision, or nil for `.file`.
    func matrixBytes(_ spec: TensorSpec, config: ModelConfig, tied: Bool) -> Int? {
        guard case let .matrix(rows, cols) = spec.kind else { return nil }
        let elements = rows * cols
        switch self {
        case .file:
            return nil
        case let .bitsPerWeight(bits, headBits):
            let b: Double
            switch spec.placement {
            case .embedding: b = tied ? headBits : 16
            case .head: b = headBits
            case .layer: b = bits
            }
            return Int((Double(elements) * b / 8).rounded(.up))
        case let .ggufMix(mix):
            let type = mix.type(for: spec, config: config, tied: tied, cols: cols)
            return type.byteCount(elements: elements) ?? Int((Double(elements) * 16 / 8))
        }
    }
}

/// The GGUF quantization mixes the planner can size, following llama.cpp's per-tensor choices:
/// the K-quant "M" mixes give attn_v and ffn_down more bits in the first and last eighth of the
/// layers and every third one between, and the LM head Q6_K. A row width that is not a multiple
/// of 256 cannot hold K-quant blocks, so those tensors fall back as llama.cpp does.
public enum GGUFMix: String, Sendable, CaseIterable {
    case f32, f16, bf16, q8_0, q6_k, q5_k_m, q5_1, q5_0, q4_k_m, q4_1, q4_0, q3_k_m

    func type(for spec: TensorSpec, config: ModelConfig, tied: Bool, cols: Int) -> GGMLType {
        let n = config.layerCount
        func moreBits(_ i: Int) -> Bool { i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2 }
        let isHead = spec.placement == .head || (tied && spec.placement == .embedding)
        let chosen: GGMLType
        switch self {
        case .f32: chosen = .f32
        case .f16: chosen = .f16
        case .bf16: chosen = .bf16
        case .q8_0: chosen = .q8_0
        case .q6_k: chosen = .q6_K
        case .q5_1: chosen = isHead ? .q6_K : .q5_1
        case .q5_0: chosen = isHead ? .q6_K : .q5_0
        case .q4_1: chosen = isHead ? .q6_K : .q4_1
        case .q4_0: chosen = isHead ? .q6_K : .q4_0
        case .q5_k_m, .q4_k_m, .q3_k_m:
            let base: GGMLType = self == .q5_k_m ? .q5_K : self == .q4_k_m ? .q4_K : .q3_K
            if isHead { chosen = .q6_K; break }
            guard case let .layer(i) = spec.placement else { chosen = base; break }
            if spec.name.hasSuffix("v_proj.weight") || spec.name.hasSuffix("down_proj.weight") || spec.name.hasSuffix(".w2.weight") {
                if self == .q3_k_m { chosen = i < n / 16 || moreBits(i) ? .q5_K : .q4_K } else { chosen = moreBits(i) ? .q6_K : base }
            } else if self == .q3_k_m && spec.name.hasSuffix("o_proj.weight") {
                chosen = .q4_K
            } else {
                chosen = base
            }
        }
        guard cols % 256 != 0 else { return chosen }
        switch chosen {
        case .q2_K, .q3_K: return .iq4_nl
        case .q4_K: return .q5_0
        case .q5_K: return .q5_1
        case .q6_K: return .q8_0
        default: return chosen
        }
    }
}
