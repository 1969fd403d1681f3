// x86 kernels for f32 / f16 / bf16 weights against f32 activations, 8 lanes (AVX2 + FMA + F16C).
// Compiled twice like X86QuantKernels.swift; the AVX-512 module's copy gets the wider ISA's
// instruction selection for free, and X86Float512Kernels.swift adds 16-lane versions there.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The 8 weights at `p` widened to f32.
@inline(__always) func widen8F16(_ p: UnsafeRawPointer) -> __m256 { _mm256_cvtph_ps(load128(p)) }

@inline(__always) func widen8BF16(_ p: UnsafeRawPointer) -> __m256 {
    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16))
}

@inline(__always) func widen8F32(_ p: UnsafeRawPointer) -> __m256 { p.loadUnaligned(as: __m256.self) }

/// Rows start..<end of a [rows, cols] matrix with `elementBytes`-byte weights, four rows at a time
/// so each activation load feeds four FMAs; `scalar` handles the tail columns.
@inline(__always)
func floatRows8(_ w: UnsafeRawPointer, _ elementBytes: Int, _ cols: Int, _ start: Int, _ end: Int,
                _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                _ widen: (UnsafeRawPointer) -> __m256, _ scalar: (UnsafeRawPointer) -> Float) {
    let rowBytes = cols * elementBytes
    let vectorCols = cols & ~7
    var r = start
    while r < end {
        let n = min(4, end - r)
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps()
        let w0 = w + r * rowBytes
        let w1 = n > 1 ? w0 + rowBytes : w0, w2 = n > 2 ? w0 + 2 * rowBytes : w0, w3 = n > 3 ? w0 + 3 * rowBytes : w0
        var c = 0
        while c < vectorCols {
            let xv = UnsafeRawPointer(x + c).loadUnaligned(as: __m256.self)
            let offset = c * elementBytes
            acc0 = _mm256_fmadd_ps(widen(w0 + offset), xv, acc0)
            acc1 = _mm256_fmadd_ps(widen(w1 + offset), xv, acc1)
            acc2 = _mm256_fmadd_ps(widen(w2 + offset), xv, acc2)
            acc3 = _mm256_fmadd_ps(widen(w3 + offset), xv, acc3)
            c += 8
        }
        var sums = SIMD4<Float>(acc0.sum(), acc1.sum(), acc2.sum(), acc3.sum())
        for c in vectorCols..<cols {
            let offset = c * elementBytes
            sums[0] += scalar(w0 + offset) * x[c]
            sums[1] += scalar(w1 + offset) * x[c]
            sums[2] += scalar(w2 + offset) * x[c]
            sums[3] += scalar(w3 + offset) * x[c]
        }
        for i in 0..<n { y[r + i] = sums[i] }
        r += n
    }
}

public func f16Rows(_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatRows8(w, 2, cols, start, end, x, y, widen8F16, loadHalf)
}

public func bf16Rows(_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatRows8(w, 2, cols, start, end, x, y, widen8BF16) { Float(bitPattern: UInt32($0.loadUnaligned(as: UInt16.self)) << 16) }
}

public func f32Rows(_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatRows8(w, 4, cols, start, end, x, y, widen8F32) { $0.loadUnaligned(as: Float.self) }
}
#endif
