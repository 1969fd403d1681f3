import LoomCore
#if arch(x86_64)
import LoomKernelsAVX2
import LoomKernelsAVX512
#endif

/// Activations quantized to 8-bit blocks of 32 (Q8_0 style, with an f32 scale), so weight×activation
/// products become integer dot products.
///
/// Lives in the caller's scratch: `q` [batch, cols] int8, then `d` [batch, cols/32] f32 scales,
/// then `sums` [batch, cols/16] Σq over each 16 values (the min terms of affine formats need them).
/// Rounding each x to the nearest step of d = max|x|/127 errs by at most d/2 per value, which is
/// the tolerance the kernel tests use.
struct Q8Activations {
    let batch: Int
    let cols: Int
    let q: UnsafeMutablePointer<Int8>      // [batch, cols]
    let d: UnsafeMutablePointer<Float>     // [batch, cols / 32]
    let sums: UnsafeMutablePointer<Int32>  // [batch, cols / 16]

    static func scratchBytes(batch: Int, cols: Int) -> Int {
        let quants = (batch * cols + 63) & ~63
        let scales = (batch * (cols / 32) * 4 + 63) & ~63
        return quants + scales + batch * (cols / 16) * 4
    }

    init(scratch: UnsafeMutableRawPointer, batch: Int, cols: Int) {
        self.batch = batch
        self.cols = cols
        let quants = (batch * cols + 63) & ~63
        let scales = (batch * (cols / 32) * 4 + 63) & ~63
        q = scratch.bindMemory(to: Int8.self, capacity: batch * cols)
        d = (scratch + quants).bindMemory(to: Float.self, capacity: batch * (cols / 32))
        sums = (scratch + quants + scales).bindMemory(to: Int32.self, capacity: batch * (cols / 16))
    }

    /// The quantized row of batch entry `b`.
    func row(_ b: Int) -> Q8Row {
        Q8Row(q: q + b * cols, d: d + b * (cols / 32), sums: sums + b * (cols / 16))
    }

    /// Quantizes `x` ([batch, cols]); cols must be a multiple of 32. Blocks are independent and
    /// rows are contiguous, so the whole batch is one run of blocks.
    func quantize(_ x: UnsafePointer<Float>, path: KernelPath, pool: ThreadPool) {
        let (q, d, sums) = (q, d, sums)
        pool.parallelFor(batch * (cols / 32), grain: 256) { range in
            let first = range.lowerBound, count = range.count
            switch path {
            #if arch(x86_64)
            case .avx512: LoomKernelsAVX512.quantizeQ8Blocks(x + 32 * first, count, q + 32 * first, d + first, sums + 2 * first)
            case .avx2: LoomKernelsAVX2.quantizeQ8Blocks(x + 32 * first, count, q + 32 * first, d + first, sums + 2 * first)
            #endif
            default:
                for block in range {
                    Self.quantizeBlock(x + 32 * block, q: q + 32 * block, d: d + block, sums: sums + 2 * block)
                }
            }
        }
    }

    @inline(__always)
    static func quantizeBlock(_ x: UnsafePointer<Float>, q: UnsafeMutablePointer<Int8>, d: UnsafeMutablePointer<Float>,
                              sums: UnsafeMutablePointer<Int32>) {
        let v = UnsafeRawPointer(x).loadUnaligned(as: SIMD32<Float>.self)
        let amax = max(v.max(), -v.min())
        let scale = amax / 127
        let inverse: Float = scale == 0 ? 0 : 1 / scale
        d.pointee = scale
        var scaled = v * inverse
        scaled.replace(with: 0, where: scaled .!= scaled)  // NaN in, zero out: never trap
        // Round half away from zero, as ggml's quantize_row_q8_0 does.
        let ints = SIMD32<Int32>(scaled.rounded(.toNearestOrAwayFromZero))
        UnsafeMutableRawPointer(q).storeBytes(of: SIMD32<Int8>(truncatingIfNeeded: ints), as: SIMD32<Int8>.self)
        sums[0] = ints.lowHalf.wrappedSum()
        sums[1] = ints.highHalf.wrappedSum()
    }
}

/// One quantized activation row.
struct Q8Row {
    let q: UnsafePointer<Int8>      // [cols]
    let d: UnsafePointer<Float>     // [cols / 32]
    let sums: UnsafePointer<Int32>  // [cols / 16]

    init(q: UnsafePointer<Int8>, d: UnsafePointer<Float>, sums: UnsafePointer<Int32>) {
        self.q = q
        self.d = d
        self.sums = sums
    }
}
