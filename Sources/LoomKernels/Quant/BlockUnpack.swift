/// Block decoding into integers and per-group factors, the form integer dot products need:
/// weight i = scales[g]·q[i] − mins[g], with g = i / groupSize.
///
/// The portable kernels use this for every type; the SIMD kernels do the same arithmetic with
/// vector unpacking. Layouts and element orders are those of `Dequantize`.
enum BlockUnpack {
    /// Weights per group sharing one scale and min: 16 for q2_K, q3_K, q6_K, else 32.
    static func groupSize(_ type: QuantType) -> Int {
        switch type {
        case .q2_K, .q3_K, .q6_K: return 16
        default: return 32
        }
    }

    /// Whether the type has a min term (affine formats).
    static func hasMins(_ type: QuantType) -> Bool {
        switch type {
        case .q4_1, .q5_1, .q2_K, .q4_K, .q5_K: return true
        default: return false
        }
    }

    typealias Unpacker = (_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>,
                          _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) -> Void

    static func unpacker(_ type: QuantType) -> Unpacker {
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
        case .f32, .f16, .bf16: fatalError("plain types are not block-quantized")
        }
    }

    @inline(__always)
    static func nibbles(_ qs: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, offset: Int8) {
        for j in 0..<16 {
            let byte = qs.load(fromByteOffset: j, as: UInt8.self)
            q[j] = Int8(byte & 15) - offset
            q[j + 16] = Int8(byte >> 4) - offset
        }
    }

    static func q4_0(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) {
        scales[0] = loadF16(block, 0)
        mins[0] = 0
        nibbles(block + 2, q, offset: 8)
    }

    static func q4_1(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) {
        scales[0] = loadF16(block, 0)
        mins[0] = -loadF16(block, 2)
        nibbles(block + 4, q, offset: 0)
    }

    @inline(__always)
    static func fiveBit(_ qhOffset: Int, _ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, offset: Int8) {
        let qh = block.loadUnaligned(fromByteOffset: qhOffset, as: UInt32.self)
        nibbles(block + qhOffset + 4, q, offset: 0)
        for j in 0..<32 { q[j] = (q[j] | Int8((qh >> UInt32(j)) & 1) << 4) - offset }
    }

    static func q5_0(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) {
        scales[0] = loadF16(block, 0)
        mins[0] = 0
        fiveBit(2, block, q, offset: 16)
    }

    static func q5_1(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) {
        scales[0] = loadF16(block, 0)
        mins[0] = -loadF16(block, 2)
        fiveBit(4, block, q, offset: 0)
    }

    static func q8_0(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) {
        scales[0] = loadF16(block, 0)
        mins[0] = 0
        UnsafeMutableRawPointer(q).copyMemory(from: block + 2, byteCount: 32)
    }

    static func iq4_nl(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) {
        scales[0] = loadF16(block, 0)
        mins[0] = 0
        nibbles(block + 2, q, offset: 0)
        for j in 0..<32 { q[j] = iq4nlValues[Int(q[j])] }
    }

    static func mxfp4(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) {
        scales[0] = e8m0Half(block.load(as: UInt8.self))
        mins[0] = 0
        nibbles(block + 1, q, offset: 0)
        for j in 0..<32 { q[j] = mxfp4Values[Int(q[j])] }
    }

    static func q2_K(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) {
        let d = loadF16(block, 80), dmin = loadF16(block, 82)
        for g in 0..<16 {
            let packed = block.load(fromByteOffset: g, as: UInt8.self)
            scales[g] = d * Float(packed & 15)
            mins[g] = dmin * Float(packed >> 4)
        }
        for e in 0..<256 {
            q[e] = Int8((block.load(fromByteOffset: 16 + 32 * (e / 128) + e % 32, as: UInt8.self) >> UInt8(2 * ((e % 128) / 32))) & 3)
        }
    }

    static func q3_K(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) {
        let d = loadF16(block, 108)
        for g in 0..<16 {
            scales[g] = d * Float(Dequantize.q3_KScale(block + 96, g))
            mins[g] = 0
        }
        for e in 0..<256 {
            let low = Int8((block.load(fromByteOffset: 32 + 32 * (e / 128) + e % 32, as: UInt8.self) >> UInt8(2 * ((e % 128) / 32))) & 3)
            let high = (block.load(fromByteOffset: e % 32, as: UInt8.self) >> UInt8(e / 32)) & 1
            q[e] = low - (high == 0 ? 4 : 0)
        }
    }

    @inline(__always)
    static func kBlock(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>,
                       _ mins: UnsafeMutablePointer<Float>, qh: UnsafeRawPointer?, qs: UnsafeRawPointer) {
        let d = loadF16(block, 0), dmin = loadF16(block, 2)
        for g in 0..<8 {
            let (scale, min) = Dequantize.kScaleMin(block + 4, g)
            scales[g] = d * Float(scale)
            mins[g] = dmin * Float(min)
            let shift = UInt8(4 * (g % 2))
            for j in 0..<32 {
                let low = (qs.load(fromByteOffset: 32 * (g / 2) + j, as: UInt8.self) >> shift) & 15
                let high = qh.map { ($0.load(fromByteOffset: j, as: UInt8.self) >> UInt8(g)) & 1 } ?? 0
                q[32 * g + j] = Int8(low | high << 4)
            }
        }
    }

    static func q4_K(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) {
        kBlock(block, q, scales, mins, qh: nil, qs: block + 16)
    }

    static func q5_K(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) {
        kBlock(block, q, scales, mins, qh: block + 16, qs: block + 48)
    }

    static func q6_K(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) {
        let d = loadF16(block, 208)
        for g in 0..<16 {
            scales[g] = d * Float(block.load(fromByteOffset: 192 + g, as: Int8.self))
            mins[g] = 0
        }
        for e in 0..<256 {
            let g = e / 128, r = e % 128
            let low = (block.load(fromByteOffset: 64 * g + r % 64, as: UInt8.self) >> UInt8(4 * (r / 64))) & 15
            let high = (block.load(fromByteOffset: 128 + 32 * g + r % 32, as: UInt8.self) >> UInt8(2 * (r / 32))) & 3
            q[e] = Int8(low | high << 4) - 32
        }
    }

    static func iq4_xs(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ mins: UnsafeMutablePointer<Float>) {
        let d = loadF16(block, 0)
        let scalesHigh = block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)
        for g in 0..<8 {
            let low = (block.load(fromByteOffset: 4 + g / 2, as: UInt8.self) >> UInt8(4 * (g % 2))) & 15
            let high = UInt8(truncatingIfNeeded: scalesHigh >> UInt16(2 * g)) & 3
            scales[g] = d * Float(Int(low | high << 4) - 32)
            mins[g] = 0
            for j in 0..<32 {
                let nibble = (block.load(fromByteOffset: 8 + 16 * g + j % 16, as: UInt8.self) >> UInt8(4 * (j / 16))) & 15
                q[32 * g + j] = iq4nlValues[Int(nibble)]
            }
        }
    }
}
