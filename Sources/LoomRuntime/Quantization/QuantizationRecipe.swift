import LoomFormats
import LoomKernels

/// Which GGML type each tensor of a model gets: a single type, or one of llama.cpp's mixes.
///
/// The rules follow llama-quantize (`llama_tensor_get_type` in llama.cpp's src/llama-quant.cpp)
/// for dense Llama-family models:
/// - 1-D tensors, norms, names not ending in `weight`, and BERT's `position_embd` and
///   `token_types` are copied as they are.
/// - The output head (`output.weight`, or `token_embd.weight` when the embeddings are tied)
///   is q6_K, or q8_0 for the q8_0 scheme or when its rows are not whole 256-blocks.
/// - q4_k_m: `attn_v` and `ffn_down` of the layers i with i < n/8, i ≥ 7n/8 or
///   (i − n/8) mod 3 = 2 ("use more bits") are q6_K; the rest q4_K.
/// - q4_k_s: `attn_v` of layers 0–3 and `ffn_down` of layers i < n/8 are q5_K; the rest q4_K.
/// - q3_k_m: `attn_v` of layers 0–1 q5_K, of the others q4_K; `ffn_down` of layers i < n/16 q5_K,
///   of the others q4_K; `attn_output` q4_K; the rest q3_K.
/// - q4_0 / q5_0 with an importance matrix: `ffn_down` of layers i < n/8 are q4_1 / q5_1.
/// - iq4_nl / iq4_xs: `attn_v` is q5_K when four or more query heads share a key head;
///   without an importance matrix `ffn_down` of layers i < n/8 is q5_K.
/// - A single type puts every other quantized tensor at that type.
/// - Rows that are not whole blocks fall back: q4_K → q5_0, q5_K → q5_1, q6_K → q8_0,
///   iq4_xs → iq4_nl, q2_K and q3_K → q4_0, and to f16 when not whole 32-blocks.
public enum QuantizationScheme: String, CaseIterable, Sendable {
    case q8_0, q4_0, q5_0, q6_k, q5_k, q4_k, q3_k, q2_k
    case q4_k_m, q4_k_s, q3_k_m
    case iq4_nl, iq4_xs

    /// The type most tensors get.
    public var baseType: QuantType {
        switch self {
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q5_0: return .q5_0
        case .q6_k: return .q6_K
        case .q5_k: return .q5_K
        case .q4_k, .q4_k_m, .q4_k_s: return .q4_K
        case .q3_k, .q3_k_m: return .q3_K
        case .q2_k: return .q2_K
        case .iq4_nl: return .iq4_nl
        case .iq4_xs: return .iq4_xs
        }
    }

    /// llama.cpp's `general.file_type` (`llama_ftype`); single K types are labelled with the
    /// small mix of that type, the nearest llama.cpp has.
    public var fileType: UInt32 {
        switch self {
        case .q8_0: return 7
        case .q4_0: return 2
        case .q5_0: return 8
        case .q6_k: return 18
        case .q5_k: return 16
        case .q4_k, .q4_k_s: return 14
        case .q3_k: return 11
        case .q2_k: return 10
        case .q4_k_m: return 15
        case .q3_k_m: return 12
        case .iq4_nl: return 25
        case .iq4_xs: return 30
        }
    }

    /// The type for tensor `name` with ggml dimensions `dimensions`, or nil to copy it unchanged.
    /// - Parameters:
    ///   - layers: the model's layer count.
    ///   - tiedEmbeddings: whether `token_embd.weight` is also the output head.
    ///   - hasImportance: whether an importance matrix is in use.
    ///   - queriesPerKeyHead: query heads per key/value head (1 without grouped-query attention).
    public func type(for name: String, dimensions: [Int], layers: Int, tiedEmbeddings: Bool, hasImportance: Bool,
                     queriesPerKeyHead: Int = 1) -> QuantType? {
        // BERT's position and token-type embeddings stay as they are, as llama-quantize keeps them.
        guard dimensions.count >= 2, name.hasSuffix("weight"), !name.hasSuffix("_norm.weight"),
              !name.contains("ffn_gate_inp"), name != "position_embd.weight", name != "token_types.weight" else { return nil }
        let isHead = name == "output.weight" || (tiedEmbeddings && name == "token_embd.weight")
        var type = baseType
        if isHead {
            type = self == .q8_0 || dimensions[0] % 256 != 0 ? .q8_0 : .q6_K
        } else if let layer = Self.layer(of: name) {
            let n = layers
            let moreBits = layer < n / 8 || layer >= 7 * n / 8 || (layer - n / 8) % 3 == 2
            if name.hasSuffix("attn_v.weight") {
                switch self {
                case .q4_k_m where moreBits: type = .q6_K
                case .q4_k_s where layer < 4: type = .q5_K
                case .q3_k_m: type = layer < 2 ? .q5_K : .q4_K
                case .iq4_nl, .iq4_xs: if queriesPerKeyHead >= 4 { type = .q5_K }
                default: break
                }
            } else if name.hasSuffix("ffn_down.weight") {
                switch self {
                case .q4_k_m where moreBits: type = .q6_K
                case .q4_k_s where layer < n / 8: type = .q5_K
                case .q3_k_m: type = layer < n / 16 ? .q5_K : .q4_K
                case .q4_0 where hasImportance && layer < n / 8: type = .q4_1
                case .q5_0 where hasImportance && layer < n / 8: type = .q5_1
                case .iq4_nl where !hasImportance && layer < n / 8, .iq4_xs where !hasImportance && layer < n / 8: type = .q5_K
                default: break
                }
            } else if name.hasSuffix("attn_output.weight"), self == .q3_k_m {
                type = .q4_K
            }
        }
        return Self.fallback(type, columns: dimensions[0])
    }

    /// The layer index of a `blk.N.` tensor.
    static func layer(of name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        return Int(name.dropFirst(4).prefix { $0.isNumber })
    }

    static func fallback(_ type: QuantType, columns: Int) -> QuantType {
        if columns % type.blockSize == 0 { return type }
        let smaller: QuantType
        switch type {
        case .q4_K: smaller = .q5_0
        case .q5_K: smaller = .q5_1
        case .q6_K: smaller = .q8_0
        case .iq4_xs: smaller = .iq4_nl
        default: smaller = .q4_0
        }
        return columns % smaller.blockSize == 0 ? smaller : .f16
    }
}
