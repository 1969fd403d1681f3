/// Writes blocks of 32 signed integers and one fp16 scale into ggml's symmetric formats, for
/// weights that arrive already quantized (another format's integers and scales, repacked
/// without re-rounding): x = d · v with v in -8…7 (q4_0), -16…15 (q5_0) or -128…127 (q8_0).
public enum SymmetricBlocks {
    /// The smallest symmetric format holding integers of `bits` bits (offset to be signed).
    public static func format(holding bits: Int) -> QuantType {
        bits <= 4 ? .q4_0 : bits == 5 ? .q5_0 : .q8_0
    }

    /// Writes one block: `values` ([32], each within the format's range) times `scale`.
    public static func write(_ type: QuantType, scale: Float16, values: UnsafePointer<Int32>, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: scale.bitPattern.littleEndian, toByteOffset: 0, as: UInt16.self)
        switch type {
        case .q4_0:
            for j in 0..<16 {
                out.storeBytes(of: UInt8(values[j] + 8) | UInt8(values[j + 16] + 8) << 4, toByteOffset: 2 + j, as: UInt8.self)
            }
        case .q5_0:
            Quantize.pack5({ UInt8(values[$0] + 16) }, out, qhOffset: 2)
        case .q8_0:
            for j in 0..<32 { out.storeBytes(of: Int8(values[j]), toByteOffset: 2 + j, as: Int8.self) }
        default:
            preconditionFailure("\(type.name) is not a symmetric 32-block format")
        }
    }
}
