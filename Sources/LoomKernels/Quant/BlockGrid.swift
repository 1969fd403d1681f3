/// The grid that a quantized block's stored scales leave each of its weights, and the packing of
/// its integers apart from its scales, so a block's integers can be chosen one weight at a time
/// after its scales are fixed (what error feedback needs: each weight is rounded after the
/// rounding errors of the weights before it have been passed on to it).
///
/// Weight j of a block decodes as stepⱼ·value(u) + offsetⱼ, u its stored integer in 0..<levels:
/// value(u) = u − bias for the linear formats, the non-linear table's entry u for iq4_nl and
/// iq4_xs. stepⱼ and offsetⱼ come from the block's scales (d·scale of the sub-block, −dmin·min).
public enum BlockGrid {
    /// The types whose integers can be re-chosen under fixed scales.
    public static let supported: [QuantType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs]

    /// How many stored integers a weight of `type` can take.
    public static func levels(_ type: QuantType) -> Int32 {
        switch type {
        case .q8_0: return 256
        case .q5_0, .q5_1, .q5_K: return 32
        case .q6_K: return 64
        case .q3_K: return 8
        case .q2_K: return 4
        default: return 16
        }
    }

    /// What the stored integer 0 stands for is −bias (linear formats).
    public static func bias(_ type: QuantType) -> Int32 {
        switch type {
        case .q8_0: return 128
        case .q4_0: return 8
        case .q5_0: return 16
        case .q6_K: return 32
        case .q3_K: return 4
        default: return 0
        }
    }

    static func isTable(_ type: QuantType) -> Bool { type == .iq4_nl || type == .iq4_xs }

    /// value(u) of the stored integer `u`.
    @inline(__always)
    public static func value(_ type: QuantType, _ u: Int32) -> Float {
        isTable(type) ? Float(iq4nlValues[Int(u)]) : Float(u - bias(type))
    }

    /// Writes the stored integers `u` ([blockSize], each in 0..<levels) into `block`'s integer
    /// fields, leaving its scales as they are.
    public static func pack(_ type: QuantType, _ u: UnsafePointer<Int32>, into block: UnsafeMutableRawPointer) {
        switch type {
        case .q8_0:
            for j in 0..<32 { block.storeBytes(of: Int8(u[j] - 128), toByteOffset: 2 + j, as: Int8.self) }
        case .q4_0, .iq4_nl:
            packNibbles(u, block + 2)
        case .q4_1:
            packNibbles(u, block + 4)
        case .q5_0:
            Quantize.pack5({ UInt8(u[$0]) }, block, qhOffset: 2)
        case .q5_1:
            Quantize.pack5({ UInt8(u[$0]) }, block, qhOffset: 4)
        case .iq4_xs:
            for g in 0..<8 { packNibbles(u + 32 * g, block + 8 + 16 * g) }
        case .q4_K, .q5_K:
            let qsOffset = type == .q4_K ? 16 : 48
            if type == .q5_K {
                for j in 0..<32 {
                    var h: UInt8 = 0
                    for g in 0..<8 { h |= UInt8((u[32 * g + j] >> 4) & 1) << UInt8(g) }
                    block.storeBytes(of: h, toByteOffset: 16 + j, as: UInt8.self)
                }
            }
            for pair in 0..<4 {
                for j in 0..<32 {
                    let low = UInt8(u[64 * pair + j] & 15), high = UInt8(u[64 * pair + 32 + j] & 15)
                    block.storeBytes(of: low | high << 4, toByteOffset: qsOffset + 32 * pair + j, as: UInt8.self)
                }
            }
        case .q6_K:
            for offset in 0..<192 { block.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self) }
            for e in 0..<256 {
                let v = UInt8(u[e])
                let g = e / 128, r = e % 128
                let lowAt = 64 * g + r % 64, highAt = 128 + 32 * g + r % 32
                let low = block.load(fromByteOffset: lowAt, as: UInt8.self) | (v & 15) << UInt8(4 * (r / 64))
                block.storeBytes(of: low, toByteOffset: lowAt, as: UInt8.self)
                let high = block.load(fromByteOffset: highAt, as: UInt8.self) | (v >> 4) << UInt8(2 * (r / 32))
                block.storeBytes(of: high, toByteOffset: highAt, as: UInt8.self)
            }
        case .q3_K:
            for j in 0..<32 {
                var h: UInt8 = 0
                for k in 0..<8 where u[32 * k + j] >= 4 { h |= 1 << UInt8(k) }
                block.storeBytes(of: h, toByteOffset: j, as: UInt8.self)
            }
            packTwoBits(u, block + 32)
        case .q2_K:
            packTwoBits(u, block + 16)
        default:
            preconditionFailure("BlockGrid.pack: \(type) is not supported")
        }
    }

    /// Stores 32 nibbles as q4_0, q4_1 and the iq4 formats pack them: weight j in the low nibble of
    /// byte j, weight j + 16 in the high nibble ([16] bytes).
    static func packNibbles(_ u: UnsafePointer<Int32>, _ out: UnsafeMutableRawPointer) {
        for j in 0..<16 {
            out.storeBytes(of: UInt8(u[j] & 15) | UInt8(u[j + 16] & 15) << 4, toByteOffset: j, as: UInt8.self)
        }
    }

    /// Weight e's 2 low bits at shift 2·((e % 128) / 32) of byte 32·(e / 128) + e % 32 ([64] bytes).
    static func packTwoBits(_ u: UnsafePointer<Int32>, _ out: UnsafeMutableRawPointer) {
        for byte in 0..<64 {
            let half = byte / 32, j = byte % 32
            var v: UInt8 = 0
            for k in 0..<4 { v |= UInt8(u[128 * half + 32 * k + j] & 3) << UInt8(2 * k) }
            out.storeBytes(of: v, toByteOffset: byte, as: UInt8.self)
        }
    }

    /// The step and offset of each weight of `block` ([blockSize] each), read through the
    /// dequantizer: the block decoded with every integer at two levels. The block's integers are
    /// left undefined; `pack` the chosen ones afterwards.
    public static func steps(_ type: QuantType, block: UnsafeMutableRawPointer, step: UnsafeMutablePointer<Float>,
                             offset: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Int32>) {
        let n = type.blockSize
        // Two integers whose values differ: the ends of the table, or 0 and 1 of the linear grid.
        let (u1, u2): (Int32, Int32) = isTable(type) ? (0, 15) : (bias(type), bias(type) + 1)
        let (v1, v2) = (value(type, u1), value(type, u2))
        scratch.update(repeating: u1, count: n)
        pack(type, scratch, into: block)
        Dequantize.run(type, UnsafeRawPointer(block), count: n, into: offset)  // offset holds x̂ at u1 for now
        scratch.update(repeating: u2, count: n)
        pack(type, scratch, into: block)
        Dequantize.run(type, UnsafeRawPointer(block), count: n, into: step)    // step holds x̂ at u2 for now
        for j in 0..<n {
            let s = (step[j] - offset[j]) / (v2 - v1)
            step[j] = s
            offset[j] -= s * v1
        }
    }

    /// The stored integer whose decoded value step·value(u) + offset is nearest to `x`.
    @inline(__always)
    public static func nearest(_ type: QuantType, _ x: Float, step: Float, offset: Float) -> Int32 {
        if isTable(type) {
            return WeightedQuantize.nearestTableIndex(step != 0 ? (x - offset) / step : 0)
        }
        guard step != 0 else { return bias(type) }
        let t = WeightedQuantize.nearest((x - offset) / step) + bias(type)
        return min(levels(type) - 1, max(0, t))
    }
}
