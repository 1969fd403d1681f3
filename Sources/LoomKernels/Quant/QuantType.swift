/// The weight storage formats the kernels understand, with ggml's block layouts.
///
/// Each block of `blockSize` weights is `blockBytes` bytes; fields are little-endian, scales
/// (`d`, `dmin`, `m`) are f16. Layouts, by byte offset inside a block:
/// - `q4_0`   d@0, qs[16]@2: weight j is (qs[j] & 15) - 8, weight j+16 is (qs[j] >> 4) - 8, times d.
/// - `q4_1`   d@0, m@2, qs[16]@4: as q4_0 without the -8, times d plus m.
/// - `q5_0`   d@0, qh(u32)@2, qs[16]@6: bit j of qh is bit 4 of weight j; values minus 16.
/// - `q5_1`   d@0, m@2, qh@4, qs[16]@8: as q5_0 without the -16, plus m.
/// - `q8_0`   d@0, qs[32] as int8 @2.
/// - `iq4_nl` d@0, qs[16]@2: nibbles index the 16-entry non-linear table `iq4nlValues`.
/// - `q2_K`   scales[16]@0 (low nibble scale, high nibble min), qs[64]@16 (2 bits), d@80, dmin@82.
/// - `q3_K`   hmask[32]@0, qs[64]@32 (2 bits), scales[12]@96 (16 6-bit signed scales), d@108.
/// - `q4_K`   d@0, dmin@2, scales[12]@4 (8 6-bit scales and mins), qs[128]@16.
/// - `q5_K`   d@0, dmin@2, scales[12]@4, qh[32]@16, qs[128]@48.
/// - `q6_K`   ql[128]@0, qh[64]@128, scales[16] as int8 @192, d@208.
/// - `iq4_xs` d@0, scales_h(u16)@2, scales_l[4]@4, qs[128]@8.
/// - `mxfp4`  e@0 (an E8M0 exponent byte), qs[16]@1: nibbles index the doubled E2M1 values
///            `mxfp4Values`, times 2^(e − 128) (half the block scale 2^(e − 127)).
/// The element order inside K-blocks is given by each dequantizer.
public enum QuantType: Sendable, CaseIterable {
    case f32, f16, bf16
    case q4_0, q4_1, q5_0, q5_1, q8_0
    case q2_K, q3_K, q4_K, q5_K, q6_K
    case iq4_nl, iq4_xs
    case mxfp4

    /// The type with ggml type id `id`, if the kernels support it.
    public init?(ggmlTypeID id: UInt32) {
        guard let type = Self.allCases.first(where: { $0.ggmlTypeID == id }) else { return nil }
        self = type
    }

    /// The id ggml and GGUF use for this type.
    public var ggmlTypeID: UInt32 {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q4_1: return 3
        case .q5_0: return 6
        case .q5_1: return 7
        case .q8_0: return 8
        case .q2_K: return 10
        case .q3_K: return 11
        case .q4_K: return 12
        case .q5_K: return 13
        case .q6_K: return 14
        case .iq4_nl: return 20
        case .iq4_xs: return 23
        case .mxfp4: return 39
        case .bf16: return 30
        }
    }

    /// Weights per block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_nl, .mxfp4: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs: return 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0, .iq4_nl: return 18
        case .mxfp4: return 17
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .iq4_xs: return 136
        }
    }

    /// Bytes of a row of `count` weights (`count` a multiple of `blockSize`).
    public func rowBytes(_ count: Int) -> Int { count / blockSize * blockBytes }

    /// The format name used in messages and `WeightMatrix.formatName`, such as `q4_K`.
    public var name: String {
        switch self {
        case .f32: return "f32"
        case .f16: return "f16"
        case .bf16: return "bf16"
        case .q4_0: return "q4_0"
        case .q4_1: return "q4_1"
        case .q5_0: return "q5_0"
        case .q5_1: return "q5_1"
        case .q8_0: return "q8_0"
        case .q2_K: return "q2_K"
        case .q3_K: return "q3_K"
        case .q4_K: return "q4_K"
        case .q5_K: return "q5_K"
        case .q6_K: return "q6_K"
        case .iq4_nl: return "iq4_nl"
        case .iq4_xs: return "iq4_xs"
        case .mxfp4: return "mxfp4"
        }
    }
}

/// The 16 values iq4_nl and iq4_xs nibbles stand for (ggml's `kvalues_iq4nl`).
let iq4nlValues: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

/// The 16 values mxfp4 nibbles stand for: E2M1 (±0, 0.5, 1, 1.5, 2, 3, 4, 6) doubled, so they
/// are integers (ggml's `kvalues_mxfp4`); the block scale is halved to match.
let mxfp4Values: [Int8] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]

/// Half of an E8M0 block scale, 2^(e − 128), exactly as ggml's `ggml_e8m0_to_fp32_half` builds
/// it from bits (subnormal for e < 2).
@inline(__always)
func e8m0Half(_ e: UInt8) -> Float {
    Float(bitPattern: e < 2 ? UInt32(0x0020_0000) << UInt32(e) : UInt32(e - 1) << 23)
}

/// Reads an f16 field at `offset` and widens it.
@inline(__always)
func loadF16(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}
