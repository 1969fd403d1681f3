/// The portable kernel: decode each weight block to integers (`BlockUnpack`), then integer dot
/// products against the quantized activations, scaled per group. Any CPU runs it.
enum PortableDot {
    /// Σ_c W[row, c]·x[c] for one row of `blocks` blocks of `type`.
    static func row(_ type: QuantType, _ unpack: BlockUnpack.Unpacker, _ w: UnsafeRawPointer, blocks: Int, x: Q8Row) -> Float {
        let blockSize = type.blockSize, groupSize = BlockUnpack.groupSize(type)
        let groups = blockSize / groupSize
        let zero = SIMD32<Int8>.zero
        var unpacked = (zero, zero, zero, zero, zero, zero, zero, zero)  // [256] int8
        var scales = SIMD16<Float>.zero, mins = SIMD16<Float>.zero      // [16] per group
        var total: Float = 0
        withUnsafeMutableBytes(of: &unpacked) { qRaw in
            withUnsafeMutableBytes(of: &scales) { scaleRaw in
                withUnsafeMutableBytes(of: &mins) { minRaw in
                    let qs = qRaw.bindMemory(to: Int8.self).baseAddress!
                    let sc = scaleRaw.bindMemory(to: Float.self).baseAddress!
                    let mn = minRaw.bindMemory(to: Float.self).baseAddress!
                    for b in 0..<blocks {
                        unpack(w + b * type.blockBytes, qs, sc, mn)
                        let start = b * blockSize
                        for g in 0..<groups {
                            let base = start + g * groupSize
                            var dot: Int32 = 0
                            for i in 0..<groupSize { dot &+= Int32(qs[g * groupSize + i]) &* Int32(x.q[base + i]) }
                            let dx = x.d[base / 32]
                            var xsum = x.sums[base / 16]
                            if groupSize == 32 { xsum &+= x.sums[base / 16 + 1] }
                            total += dx * (sc[g] * Float(dot) - mn[g] * Float(xsum))
                        }
                    }
                }
            }
        }
        return total
    }
}
