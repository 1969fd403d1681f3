/// The element type of a GGUF tensor: a plain float or integer, or a block quantization.
///
/// Block sizes and byte sizes follow ggml (`GGML_QUANT_SIZES` in gguf-py's constants). Types a
/// newer ggml adds that this table does not know are kept as `.unknown(id)`; a tensor of such a
/// type cannot be sized, so the reader rejects it with its id.
public enum GGMLType: Hashable, Sendable, CustomStringConvertible {
    case f32, f16, bf16, f64
    case i8, i16, i32, i64
    case q4_0, q4_1, q5_0, q5_1, q8_0, q8_1
    case q2_K, q3_K, q4_K, q5_K, q6_K, q8_K
    case iq2_xxs, iq2_xs, iq3_xxs, iq1_s, iq4_nl, iq3_s, iq2_s, iq4_xs, iq1_m
    case tq1_0, tq2_0, mxfp4
    case unknown(UInt32)

    private static let table: [(GGMLType, UInt32, String)] = [
        (.f32, 0, "F32"), (.f16, 1, "F16"), (.q4_0, 2, "Q4_0"), (.q4_1, 3, "Q4_1"),
        (.q5_0, 6, "Q5_0"), (.q5_1, 7, "Q5_1"), (.q8_0, 8, "Q8_0"), (.q8_1, 9, "Q8_1"),
        (.q2_K, 10, "Q2_K"), (.q3_K, 11, "Q3_K"), (.q4_K, 12, "Q4_K"), (.q5_K, 13, "Q5_K"),
        (.q6_K, 14, "Q6_K"), (.q8_K, 15, "Q8_K"), (.iq2_xxs, 16, "IQ2_XXS"), (.iq2_xs, 17, "IQ2_XS"),
        (.iq3_xxs, 18, "IQ3_XXS"), (.iq1_s, 19, "IQ1_S"), (.iq4_nl, 20, "IQ4_NL"), (.iq3_s, 21, "IQ3_S"),
        (.iq2_s, 22, "IQ2_S"), (.iq4_xs, 23, "IQ4_XS"), (.i8, 24, "I8"), (.i16, 25, "I16"),
        (.i32, 26, "I32"), (.i64, 27, "I64"), (.f64, 28, "F64"), (.iq1_m, 29, "IQ1_M"),
        (.bf16, 30, "BF16"), (.tq1_0, 34, "TQ1_0"), (.tq2_0, 35, "TQ2_0"), (.mxfp4, 39, "MXFP4"),
    ]

    /// The type with ggml id `id`; ids not in the table become `.unknown(id)`.
    public init(id: UInt32) {
        self = Self.table.first { $0.1 == id }?.0 ?? .unknown(id)
    }

    /// The ggml type id stored in GGUF tensor infos.
    public var id: UInt32 {
        if case let .unknown(id) = self { return id }
        return Self.table.first { $0.0 == self }!.1
    }

    /// The ggml name, such as `Q4_K`.
    public var name: String {
        if case let .unknown(id) = self { return "unknown(\(id))" }
        return Self.table.first { $0.0 == self }!.2
    }

    public var description: String { name }

    /// Elements per block (1 for plain types); nil for unknown types.
    public var blockSize: Int? {
        switch self {
        case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl, .mxfp4: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K, .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s,
             .iq3_s, .iq2_s, .iq4_xs, .iq1_m, .tq1_0, .tq2_0: return 256
        case .unknown: return nil
        }
    }

    /// Bytes per block; nil for unknown types.
    public var blockBytes: Int? {
        let qk = 256
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8: return 1
        case .q4_0, .iq4_nl: return 2 + 16
        case .q4_1: return 2 + 2 + 16
        case .q5_0: return 2 + 4 + 16
        case .q5_1: return 2 + 2 + 4 + 16
        case .q8_0: return 2 + 32
        case .q8_1: return 4 + 4 + 32
        case .q2_K: return 2 + 2 + qk / 16 + qk / 4
        case .q3_K: return 2 + qk / 4 + qk / 8 + 12
        case .q4_K: return 2 + 2 + qk / 2 + 12
        case .q5_K: return 2 + 2 + qk / 2 + qk / 8 + 12
        case .q6_K: return 2 + qk / 2 + qk / 4 + qk / 16
        case .q8_K: return 4 + qk + qk / 8
        case .iq2_xxs: return 2 + qk / 4
        case .iq2_xs: return 2 + qk / 4 + qk / 32
        case .iq3_xxs: return 2 + qk / 4 + qk / 8
        case .iq1_s: return 2 + qk / 8 + qk / 16
        case .iq3_s: return 2 + qk / 4 + qk / 8 + qk / 32 + 4
        case .iq2_s: return 2 + qk / 4 + qk / 16
        case .iq4_xs: return 2 + 2 + qk / 2 + qk / 64
        case .iq1_m: return qk / 8 + qk / 16 + qk / 32
        case .tq1_0: return 2 + 4 * 13
        case .tq2_0: return 2 + 64
        case .mxfp4: return 1 + 16
        case .unknown: return nil
        }
    }

    /// Bytes that `elements` elements occupy, or nil when the type is unknown, the count is not a
    /// whole number of blocks, or the size overflows.
    public func byteCount(elements: Int) -> Int? {
        guard let blockSize, let blockBytes, elements >= 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }
}
