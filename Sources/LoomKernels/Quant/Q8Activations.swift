import LoomCore
#if arch(x86_64)
import LoomKernelsAVX2
import LoomKernelsAVX512
#endif

/// Activations quantized to 8-bit blocks (Q8_0 style, with f32 scales), so weight×activation
/// products become integer dot products.
///
/// Lives in the caller's scratch: `q` [batch, cols] int8, then `d` f32 scales, then `sums`
/// [batch, cols/16] Σq over each 16 values (the min terms of affine formats need them), then the
/// residual `r` [batch, cols] int8 and `rsums` [batch, cols/32] Σr per block.
/// Rounding each x to the nearest step of d = max|x|/127 errs by at most d/2 per value, which is
/// the tolerance the kernel tests use for kernels that read `q` only.
///
/// The roundings (`Rounding`) trade precision for work. Q8_0/Q4_0/Q5_0 weights are exact in the
/// float64 reference, so for them activation rounding is nearly all of the logit error; llama.cpp
/// rounds to blocks of 32 (`.blocks`). The x8 kernels take `.halves`, a scale per 16 values,
/// whose step is 11–18% smaller for bell-shaped to heavy-tailed activations, at the cost of a
/// second conversion per block. The LM head takes `.residual` (see `ActivationRounding`).
struct Q8Activations {
    /// How each block of 32 activations is rounded.
    enum Rounding {
        /// d = max|x|/127 over the block: `d` is [batch, cols/32].
        case blocks
        /// d over each half block of 16: `d` is [batch, cols/16].
        case halves
        /// `.blocks` plus the residual r = round(128·(x/d − q)), |r| ≤ 64, in steps of d/128:
        /// x ≈ d·(q + r/128) to within d/256, 128 times finer, for a second integer dot product
        /// per weight vector.
        case residual
    }

    let batch: Int
    let cols: Int
    let q: UnsafeMutablePointer<Int8>       // [batch, cols]
    let d: UnsafeMutablePointer<Float>      // [batch, cols / 32], or [batch, cols / 16] for .halves
    let sums: UnsafeMutablePointer<Int32>   // [batch, cols / 16]
    let r: UnsafeMutablePointer<Int8>       // [batch, cols], .residual only
    let rsums: UnsafeMutablePointer<Int32>  // [batch, cols / 32], .residual only

    private static func offsets(batch: Int, cols: Int) -> (d: Int, sums: Int, r: Int, rsums: Int, end: Int) {
        @inline(__always) func line(_ bytes: Int) -> Int { (bytes + 63) & ~63 }
        let d = line(batch * cols)
        let sums = d + line(batch * (cols / 16) * 4)
        let r = sums + line(batch * (cols / 16) * 4)
        let rsums = r + line(batch * cols)
        return (d, sums, r, rsums, rsums + batch * (cols / 32) * 4)
    }

    /// The same for every rounding, so a plan made before repacking (which decides the rounding)
    /// counts what the loaded matrices use.
    static func scratchBytes(batch: Int, cols: Int) -> Int { offsets(batch: batch, cols: cols).end }

    init(scratch: UnsafeMutableRawPointer, batch: Int, cols: Int) {
        self.batch = batch
        self.cols = cols
        let at = Self.offsets(batch: batch, cols: cols)
        q = scratch.bindMemory(to: Int8.self, capacity: batch * cols)
        d = (scratch + at.d).bindMemory(to: Float.self, capacity: batch * (cols / 16))
        sums = (scratch + at.sums).bindMemory(to: Int32.self, capacity: batch * (cols / 16))
        r = (scratch + at.r).bindMemory(to: Int8.self, capacity: batch * cols)
        rsums = (scratch + at.rsums).bindMemory(to: Int32.self, capacity: batch * (cols / 32))
    }

    /// The quantized row of batch entry `b` (`.blocks` rounding).
    func row(_ b: Int) -> Q8Row {
        Q8Row(q: q + b * cols, d: d + b * (cols / 32), sums: sums + b * (cols / 16))
    }

    /// Quantizes `x` ([batch, cols]); cols must be a multiple of 32. Blocks are independent and
    /// rows are contiguous, so the whole batch is one run of blocks. `.halves` and `.residual`
    /// exist on the x86 paths only (only their x8 kernels read them).
    func quantize(_ x: UnsafePointer<Float>, path: KernelPath, rounding: Rounding = .blocks, pool: ThreadPool) {
        precondition(rounding == .blocks || path != .portable, "the portable path rounds to .blocks only")
        let (q, d, sums) = (q, d, sums)
        let halves = rounding == .halves, scalesPerBlock = halves ? 2 : 1
        let (r, rsums) = rounding == .residual ? (Optional(r), Optional(rsums)) : (nil, nil)
        pool.parallelFor(batch * (cols / 32), grain: 256) { range in
            let first = range.lowerBound, count = range.count
            switch path {
            #if arch(x86_64)
            case .avx512:
                LoomKernelsAVX512.quantizeQ8Blocks(x + 32 * first, count, q + 32 * first, d + scalesPerBlock * first, sums + 2 * first,
                                                   halves: halves, r.map { $0 + 32 * first }, rsums.map { $0 + first })
            case .avx2:
                LoomKernelsAVX2.quantizeQ8Blocks(x + 32 * first, count, q + 32 * first, d + scalesPerBlock * first, sums + 2 * first,
                                                 halves: halves, r.map { $0 + 32 * first }, rsums.map { $0 + first })
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
