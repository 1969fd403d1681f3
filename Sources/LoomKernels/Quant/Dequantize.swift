import LoomCore

/// Dequantization to f32, bit-exact with gguf-py's `gguf.quants.dequantize` (and so with ggml's
/// reference code): each weight is computed with the same float32 operations in the same order.
public enum Dequantize {
    /// Converts `count` weights of `type` at `source` (a multiple of the block size) into `out`.
    public static func run(_ type: QuantType, _ source: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32:
            out.update(from: source.assumingMemoryBound(to: Float.self), count: count)
            return
        case .f16:
            for i in 0..<count { out[i] = loadF16(source, 2 * i) }
            return
        case .bf16:
            for i in 0..<count { out[i] = bf16ToFloat(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            return
        default:
            break
        }
        let block = blockFunction(type)
        for b in 0..<(count / type.blockSize) {
            block(source + b * type.blockBytes, out + b * type.blockSize)
        }
    }

    /// The function that dequantizes one block of a block-quantized type.
    static func blockFunction(_ type: QuantType) -> (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void {
        switch type {
        case .q4_0: return q4_0
        case .q4_1: return q4_1
        case .q5_0: return q5_0
        case .q5_1: return q5_1
        case .q8_0: return q8_0
        case .iq4_nl: return iq4_nl
        case .mxfp4: return mxfp4
        case .q2_K: return q2_K
        case .q3_K: return q3_K
        case .q4_K: return q4_K
        case .q5_K: return q5_K
        case .q6_K: return q6_K
        case .iq4_xs: return iq4_xs
        case .f32, .f16, .bf16: fatalError("plain types have no blocks")
        }
    }

    // Block layouts: see `QuantType`.

    static func q4_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadF16(block, 0)
        let qs = block + 2  // [16]
        for j in 0..<16 {
            out[j] = d * Float(Int(qs.load(fromByteOffset: j, as: UInt8.self) & 15) - 8)
            out[j + 16] = d * Float(Int(qs.load(fromByteOffset: j, as: UInt8.self) >> 4) - 8)
        }
    }

    static func q4_1(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadF16(block, 0), m = loadF16(block, 2)
        let qs = block + 4  // [16]
        for j in 0..<16 {
            out[j] = d * Float(qs.load(fromByteOffset: j, as: UInt8.self) & 15) + m
            out[j + 16] = d * Float(qs.load(fromByteOffset: j, as: UInt8.self) >> 4) + m
        }
    }

    static func q5_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadF16(block, 0)
        let qh = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        let qs = block + 6  // [16]
        for j in 0..<16 {
            let low = qs.load(fromByteOffset: j, as: UInt8.self)
            let q0 = Int(low & 15) | Int((qh >> UInt32(j)) & 1) << 4
            let q1 = Int(low >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
            out[j] = d * Float(q0 - 16)
            out[j + 16] = d * Float(q1 - 16)
        }
    }

    static func q5_1(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadF16(block, 0), m = loadF16(block, 2)
        let qh = block.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let qs = block + 8  // [16]
        for j in 0..<16 {
            let low = qs.load(fromByteOffset: j, as: UInt8.self)
            let q0 = Int(low & 15) | Int((qh >> UInt32(j)) & 1) << 4
            let q1 = Int(low >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
            out[j] = d * Float(q0) + m
            out[j + 16] = d * Float(q1) + m
        }
    }

    static func q8_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadF16(block, 0)
        for j in 0..<32 { out[j] = Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }

    static func mxfp4(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = e8m0Half(block.load(as: UInt8.self))
        let qs = block + 1  // [16]
        for j in 0..<16 {
            let byte = qs.load(fromByteOffset: j, as: UInt8.self)
            out[j] = d * Float(mxfp4Values[Int(byte & 15)])
            out[j + 16] = d * Float(mxfp4Values[Int(byte >> 4)])
        }
    }

    static func iq4_nl(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadF16(block, 0)
        let qs = block + 2  // [16]
        for j in 0..<16 {
            let byte = qs.load(fromByteOffset: j, as: UInt8.self)
            out[j] = d * Float(iq4nlValues[Int(byte & 15)])
            out[j + 16] = d * Float(iq4nlValues[Int(byte >> 4)])
        }
    }
}
