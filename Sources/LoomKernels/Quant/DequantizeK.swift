/// The 256-weight "K" blocks and iq4_xs. Same operation order as gguf-py, so results are bit-exact.
extension Dequantize {
    /// Weight e: 2 bits at shift 2·((e % 128) / 32) of qs[32·(e / 128) + e % 32];
    /// sub-block e / 16 has scale d·(scales & 15) and min dmin·(scales >> 4).
    static func q2_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let scales = block, qs = block + 16  // [16], [64]
        let d = loadF16(block, 80), dmin = loadF16(block, 82)
        for sub in 0..<16 {
            let packed = scales.load(fromByteOffset: sub, as: UInt8.self)
            let dl = d * Float(packed & 15), ml = dmin * Float(packed >> 4)
            for e in (sub * 16)..<(sub * 16 + 16) {
                let shift = UInt8(2 * ((e % 128) / 32))
                let q = (qs.load(fromByteOffset: 32 * (e / 128) + e % 32, as: UInt8.self) >> shift) & 3
                out[e] = dl * Float(q) - ml
            }
        }
    }

    /// The 16 signed 6-bit scales of a q3_K block: low 4 bits from bytes 0–7 (low nibbles for
    /// scales 0–7, high nibbles for 8–15), high 2 bits from bytes 8–11.
    @inline(__always)
    static func q3_KScale(_ scales: UnsafeRawPointer, _ i: Int) -> Int {
        let lowByte = scales.load(fromByteOffset: i % 8, as: UInt8.self)
        let low = i < 8 ? lowByte & 15 : lowByte >> 4
        let high = (scales.load(fromByteOffset: 8 + i % 4, as: UInt8.self) >> UInt8(2 * (i / 4))) & 3
        return Int(low | high << 4) - 32
    }

    /// Weight e: 2 low bits as in q2_K, minus 4 when bit e / 32 of hmask[e % 32] is clear.
    static func q3_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let hmask = block, qs = block + 32, scales = block + 96  // [32], [64], [12]
        let d = loadF16(block, 108)
        for sub in 0..<16 {
            let dl = d * Float(q3_KScale(scales, sub))
            for e in (sub * 16)..<(sub * 16 + 16) {
                let shift = UInt8(2 * ((e % 128) / 32))
                let low = Int((qs.load(fromByteOffset: 32 * (e / 128) + e % 32, as: UInt8.self) >> shift) & 3)
                let high = (hmask.load(fromByteOffset: e % 32, as: UInt8.self) >> UInt8(e / 32)) & 1
                out[e] = dl * Float(low - (high == 0 ? 4 : 0))
            }
        }
    }

    /// The 6-bit scale and min of sub-block `i` (0..<8) of a q4_K or q5_K block.
    @inline(__always)
    static func kScaleMin(_ scales: UnsafeRawPointer, _ i: Int) -> (scale: UInt8, min: UInt8) {
        func byte(_ k: Int) -> UInt8 { scales.load(fromByteOffset: k, as: UInt8.self) }
        if i < 4 { return (byte(i) & 63, byte(4 + i) & 63) }
        return ((byte(4 + i) & 15) | ((byte(i - 4) >> 2) & 0x30),
                (byte(4 + i) >> 4) | ((byte(i) >> 2) & 0x30))
    }

    /// Weight e: nibble (e % 64) / 32 of qs[32·(e / 64) + e % 32]; sub-block e / 32.
    static func q4_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        kBlock(block, out, qh: nil, qs: block + 16)  // qs [128]
    }

    /// As q4_K, with bit 4 of weight e in bit e / 32 of qh[e % 32].
    static func q5_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        kBlock(block, out, qh: block + 16, qs: block + 48)  // qh [32], qs [128]
    }

    /// The q4_K / q5_K body: scale d·sc and min dmin·m per 32-weight sub-block.
    @inline(__always)
    static func kBlock(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, qh: UnsafeRawPointer?, qs: UnsafeRawPointer) {
        let d = loadF16(block, 0), dmin = loadF16(block, 2)
        let scales = block + 4  // [12]
        for sub in 0..<8 {
            let (scale, min) = kScaleMin(scales, sub)
            let dl = d * Float(scale), ml = dmin * Float(min)
            let shift = UInt8(4 * (sub % 2))
            for j in 0..<32 {
                let low = (qs.load(fromByteOffset: 32 * (sub / 2) + j, as: UInt8.self) >> shift) & 15
                let high = qh.map { ($0.load(fromByteOffset: j, as: UInt8.self) >> UInt8(sub)) & 1 } ?? 0
                out[sub * 32 + j] = dl * Float(low | high << 4) - ml
            }
        }
    }

    /// Weight e (g = e / 128, r = e % 128): low nibble (r / 64) of ql[64·g + r % 64], high 2 bits
    /// at shift 2·(r / 32) of qh[32·g + r % 32], minus 32; sub-block e / 16 has an int8 scale.
    static func q6_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let ql = block, qh = block + 128, scales = block + 192  // [128], [64], [16]
        let d = loadF16(block, 208)
        for sub in 0..<16 {
            let dl = d * Float(scales.load(fromByteOffset: sub, as: Int8.self))
            for e in (sub * 16)..<(sub * 16 + 16) {
                let g = e / 128, r = e % 128
                let low = (ql.load(fromByteOffset: 64 * g + r % 64, as: UInt8.self) >> UInt8(4 * (r / 64))) & 15
                let high = (qh.load(fromByteOffset: 32 * g + r % 32, as: UInt8.self) >> UInt8(2 * (r / 32))) & 3
                out[e] = dl * Float(Int(low | high << 4) - 32)
            }
        }
    }

    /// Sub-block i (32 weights) has the 6-bit scale from nibble i % 2 of scales_l[i / 2] and
    /// bits 2i of scales_h, minus 32; weight j of it is nibble j / 16 of qs[16·i + j % 16].
    static func iq4_xs(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadF16(block, 0)
        let scalesHigh = block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)
        let scalesLow = block + 4, qs = block + 8  // [4], [128]
        for sub in 0..<8 {
            let low = (scalesLow.load(fromByteOffset: sub / 2, as: UInt8.self) >> UInt8(4 * (sub % 2))) & 15
            let high = UInt8(truncatingIfNeeded: scalesHigh >> UInt16(2 * sub)) & 3
            let dl = d * Float(Int(low | high << 4) - 32)
            for j in 0..<32 {
                let nibble = (qs.load(fromByteOffset: 16 * sub + j % 16, as: UInt8.self) >> UInt8(4 * (j / 16))) & 15
                out[sub * 32 + j] = dl * Float(iq4nlValues[Int(nibble)])
            }
        }
    }
}
